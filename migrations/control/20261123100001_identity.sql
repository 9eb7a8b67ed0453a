-- language=PostgreSQL
-- Identity and access: confirmed signups, people and system accounts with roles, sessions,
-- single-use e-mail links, the mail outbox, the audit log, and what the tenant API may learn
-- about all of it (effective token scope, confirmation, last-used times).

-- A tenant is usable once it is provisioned *and* its signup e-mail address is confirmed.
-- Tenants created before confirmation existed returned working tokens at signup: they count as
-- confirmed and already welcomed.
alter table tenant
    add column confirmed_at      timestamptz,
    -- Set in the statement that queues the welcome e-mail, so it is queued exactly once.
    add column welcome_queued_at timestamptz;
update tenant set confirmed_at = created_at, welcome_queued_at = created_at;

create index tenant_welcome_due_idx on tenant (tenant_id)
    where welcome_queued_at is null and confirmed_at is not null;

-- People (kind `person`: e-mail, password once they have set one) and system accounts (kind
-- `system`, role `ci`: a name, never a password, reached only through their tokens).
alter table app_user
    alter column email drop not null,
    alter column password_hash drop not null,
    add column kind               text not null default 'person',
    add column name               text not null default '',
    -- When the address was proven to belong to the person (signup confirmation, invitation).
    add column email_confirmed_at timestamptz,
    add column invited_by         uuid references app_user on delete set null,
    add column deactivated_at     timestamptz,
    add column last_login_at      timestamptz,
    -- Bumped when the password changes: sessions opened before are no longer valid.
    add column auth_epoch         integer not null default 0,
    add constraint app_user_kind_check check (kind in ('person', 'system')),
    add constraint app_user_kind_role_check check ((kind = 'system') = (role = 'ci')),
    add constraint app_user_person_email_check check (kind = 'system' or email is not null),
    add constraint app_user_system_password_check check (kind = 'person' or password_hash is null);
update app_user set email_confirmed_at = created_at;

create index app_user_email_idx on app_user (lower(email)) where email is not null;

-- Single-use links sent by e-mail: signup confirmation, password reset, invitation. Only the
-- SHA-256 of the link's token is stored; `used_at` makes it single-use.
create table email_link (
    email_link_id uuid primary key,
    tenant_id     uuid not null references tenant on delete cascade,
    user_id       uuid not null references app_user on delete cascade,
    purpose       text not null constraint email_link_purpose_check
        check (purpose in ('confirm_signup', 'reset_password', 'accept_invitation')),
    token_hash    bytea not null constraint email_link_token_hash_key unique,
    expires_at    timestamptz not null,
    used_at       timestamptz,
    created_at    timestamptz not null default now()
);

create index email_link_user_idx on email_link (user_id, purpose) where used_at is null;

-- Login sessions when no Redis is configured. Keyed by the SHA-256 of the cookie's value.
create table user_session (
    session_hash bytea primary key,
    user_id      uuid not null references app_user on delete cascade,
    tenant_id    uuid not null references tenant on delete cascade,
    auth_epoch   integer not null,
    expires_at   timestamptz not null,
    created_at   timestamptz not null default now()
);

create index user_session_expires_idx on user_session (expires_at);

-- E-mails that must go out even if the process dies (welcome, billing notices). Never holds a
-- secret: mails with single-use links are sent directly and can be requested again.
-- `dedupe_key` makes each notice exist once; `next_attempt_at` doubles as the sender's lease.
create table mail_outbox (
    mail_id         uuid primary key,
    tenant_id       uuid references tenant on delete cascade,
    dedupe_key      text not null constraint mail_outbox_dedupe_key unique,
    recipient       text not null,
    subject         text not null,
    body            text not null,
    attempts        integer not null default 0,
    last_error      text,
    next_attempt_at timestamptz not null default now(),
    sent_at         timestamptz,
    created_at      timestamptz not null default now()
);

create index mail_outbox_due_idx on mail_outbox (next_attempt_at) where sent_at is null;

-- The audit log: one row per security-relevant event, per tenant. `audit_event_id` orders
-- events and is the pagination cursor.
create table audit_event (
    audit_event_id bigint generated always as identity primary key,
    tenant_id      uuid not null references tenant on delete cascade,
    occurred_at    timestamptz not null default now(),
    type           text not null,
    actor_id       uuid,
    actor_label    text,
    source_ip      text,
    target         text,
    details        jsonb not null default '{}'
);

create index audit_event_tenant_idx on audit_event (tenant_id, audit_event_id);

-- The tenant API's view of tenants gains confirmation. Columns may only be appended.
create or replace view router.tenant_route as
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
       generation,
       confirmed_at is not null as confirmed
from public.tenant;

-- A token's effective grant: never more than its principal's role allows (a viewer's token is
-- read-only whatever it was created as), and nothing once the principal is deactivated.
create or replace view router.api_token_grant as
select t.token_hash,
       t.api_token_id,
       t.tenant_id,
       case when u.role = 'viewer' then 'read-only' else t.scope end as scope,
       t.expires_at,
       coalesce(t.revoked_at, u.deactivated_at) as revoked_at
from public.api_token t
join public.app_user u on u.user_id = t.user_id;

-- Last-used times arrive in batches from the tenant API, which has no UPDATE on any table: this
-- function is the only write it can make, and it can only move `last_used_at` forward (never
-- past now).
create or replace function router.record_token_use(ids uuid[], used timestamptz[])
    returns void
    language sql
    security definer
    set search_path = pg_catalog, public
as $$
    update public.api_token t
    set last_used_at = least(u.used_at, now())
    from unnest(ids, used) as u(id, used_at)
    where t.api_token_id = u.id
      and (t.last_used_at is null or t.last_used_at < u.used_at);
$$;

revoke all on function router.record_token_use(uuid[], timestamptz[]) from public;
grant execute on function router.record_token_use(uuid[], timestamptz[]) to treaty_tenant_api;

-- Rotation replaces a token's hash: the tenant API must forget the old hash as well as the new.
create or replace function notify_api_token_changed() returns trigger language plpgsql as $$
begin
    if tg_op <> 'INSERT' then
        perform pg_notify('treaty_api_token', encode(old.token_hash, 'hex'));
    end if;
    if tg_op <> 'DELETE' and (tg_op = 'INSERT' or new.token_hash is distinct from old.token_hash) then
        perform pg_notify('treaty_api_token', encode(new.token_hash, 'hex'));
    end if;
    return null;
end
$$;

-- A principal's role or activation changes what its tokens may do.
create or replace function notify_user_tokens_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('treaty_api_token', encode(token_hash, 'hex'))
    from public.api_token where user_id = new.user_id;
    return null;
end
$$;

create trigger app_user_tokens_changed
    after update of role, deactivated_at on app_user
    for each row
    when (old.role is distinct from new.role or old.deactivated_at is distinct from new.deactivated_at)
    execute function notify_user_tokens_changed();

-- Confirmation changes whether the tenant API serves a tenant.
drop trigger tenant_route_changed on tenant;
create trigger tenant_route_changed
    after insert or delete or update of subdomain, lifecycle, failed_at, suspended_at, plan, db_host,
        db_port, db_name, db_role, key_provider, wrapped_data_key, data_key_version, db_password_sealed,
        generation, confirmed_at
    on tenant
    for each row execute function notify_tenant_route_changed();
