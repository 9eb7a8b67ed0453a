-- language=PostgreSQL
-- The control database: tenants and their lifecycle, the people and tokens that reach them, and
-- the narrow read-only window the tenant API routes through.

-- Keeps `updated_at` honest on every table that has one.
create or replace function trigger_updated_at() returns trigger language plpgsql as $$
begin
    new.updated_at = now();
    return new;
end
$$;

-- One row per customer organisation. `lifecycle` is the last provisioning step known to be
-- complete; `failed_at` and `suspended_at` are flags beside it (see provisioning::lifecycle).
-- Database and role names are fixed at signup from the tenant id, so a crash can never leave a
-- database that no row points at.
create table tenant (
    tenant_id          uuid primary key,
    subdomain          text not null constraint tenant_subdomain_key unique,
    organisation       text not null,
    lifecycle          text not null default 'requested'
        constraint tenant_lifecycle_check
        check (lifecycle in ('requested', 'database_created', 'schema_applied', 'key_created', 'active')),
    plan               text not null default 'starter',
    -- Where the tenant database lives, as the tenant API reaches it.
    db_host            text not null,
    db_port            integer not null,
    db_name            text not null constraint tenant_db_name_key unique,
    db_role            text not null constraint tenant_db_role_key unique,
    -- Envelope encryption: the data key only in wrapped form, the password only sealed under it.
    key_provider       text,
    wrapped_data_key   bytea,
    data_key_version   integer not null default 1,
    db_password_sealed bytea,
    schema_version     bigint,
    -- Bumped whenever something the tenant API caches about the tenant's pool changes.
    generation         bigint not null default 1,
    -- Provisioning work queue: consecutive failures, back-off, and the worker lease.
    attempts           integer not null default 0,
    last_error         text,
    next_attempt_at    timestamptz not null default now(),
    lease_owner        uuid,
    lease_expires_at   timestamptz,
    failed_at          timestamptz,
    suspended_at       timestamptz,
    activated_at       timestamptz,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);

-- The worker's queue: only tenants with steps left are in this index.
create index tenant_due_idx on tenant (next_attempt_at) where lifecycle <> 'active' and failed_at is null;

create trigger tenant_updated_at before update on tenant
    for each row execute function trigger_updated_at();

-- People. The first administrator is created at signup; invitations come with identity management.
create table app_user (
    user_id       uuid primary key,
    tenant_id     uuid not null references tenant on delete cascade,
    email         text not null,
    password_hash text not null,
    role          text not null constraint app_user_role_check
        check (role in ('administrator', 'user', 'viewer', 'ci')),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);

create unique index app_user_tenant_email_key on app_user (tenant_id, lower(email));

create trigger app_user_updated_at before update on app_user
    for each row execute function trigger_updated_at();

-- API tokens: stored only as SHA-256 hashes; `display_prefix` lets people tell them apart.
create table api_token (
    api_token_id   uuid primary key,
    tenant_id      uuid not null references tenant on delete cascade,
    user_id        uuid references app_user on delete cascade,
    name           text not null,
    scope          text not null constraint api_token_scope_check check (scope in ('read-only', 'read-write')),
    token_hash     bytea not null constraint api_token_hash_key unique,
    display_prefix text not null,
    expires_at     timestamptz,
    revoked_at     timestamptz,
    last_used_at   timestamptz,
    created_at     timestamptz not null default now()
);

create index api_token_tenant_idx on api_token (tenant_id);

-- The tenant API's window onto this database: two views and nothing else. It connects as a
-- login role that is a member of `treaty_tenant_api` (see infra/README.md).
create schema router;

create view router.tenant_route as
select tenant_id,
       subdomain,
       case
           when suspended_at is not null then 'suspended'
           when failed_at is not null then 'failed'
           else lifecycle
       end as status,
       plan,
       db_host,
       db_port,
       db_name,
       db_role,
       key_provider,
       wrapped_data_key,
       data_key_version,
       db_password_sealed,
       generation
from public.tenant;

create view router.api_token_grant as
select token_hash, api_token_id, tenant_id, scope, expires_at, revoked_at
from public.api_token;

-- Roles are server-wide: several control databases on one server (tests) share this one.
do $$
begin
    create role treaty_tenant_api nologin;
exception
    when duplicate_object or unique_violation then null;
end
$$;

revoke all on schema router from public;
grant usage on schema router to treaty_tenant_api;
grant select on router.tenant_route, router.api_token_grant to treaty_tenant_api;

-- Cache invalidation: the tenant API LISTENs and drops what it cached. Payloads are the
-- subdomain and the hex token hash, the keys of its caches.
create or replace function notify_tenant_route_changed() returns trigger language plpgsql as $$
begin
    if tg_op <> 'INSERT' then
        perform pg_notify('treaty_tenant_route', old.subdomain);
    end if;
    if tg_op <> 'DELETE' and (tg_op = 'INSERT' or new.subdomain is distinct from old.subdomain) then
        perform pg_notify('treaty_tenant_route', new.subdomain);
    end if;
    return null;
end
$$;

create trigger tenant_route_changed
    after insert or delete or update of subdomain, lifecycle, failed_at, suspended_at, plan, db_host,
        db_port, db_name, db_role, key_provider, wrapped_data_key, data_key_version, db_password_sealed,
        generation
    on tenant
    for each row execute function notify_tenant_route_changed();

create or replace function notify_api_token_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('treaty_api_token', encode(coalesce(new.token_hash, old.token_hash), 'hex'));
    return null;
end
$$;

create trigger api_token_changed
    after insert or delete or update of token_hash, tenant_id, scope, expires_at, revoked_at
    on api_token
    for each row execute function notify_api_token_changed();
