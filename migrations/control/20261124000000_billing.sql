-- language=PostgreSQL
-- Billing: what each tenant's plan lets it do (computed by the control plane from the plan
-- catalogue and the Stripe subscription, and handed to the tenant API through its route view),
-- the tenant's Stripe customer and subscription, and the Stripe events received — each stored
-- once, processed once.

-- What the tenant API enforces, written whenever the plan or the payment state changes:
-- `plan_name` names the plan in refusals, `max_integrations` (null: unlimited) caps new
-- integrations, and `billing_state` is `ok`, `grace` (a payment failed; still writable until the
-- grace period ends) or `read_only` (the grace period ended unpaid: reads only).
alter table tenant
    add column plan_name        text,
    add column max_integrations integer,
    add column billing_state    text not null default 'ok'
        constraint tenant_billing_state_check check (billing_state in ('ok', 'grace', 'read_only'));

-- A tenant's Stripe side. The customer is created the first time someone starts a checkout or
-- opens the billing portal; the subscription fields are a copy of what Stripe last said (the
-- webhook handler re-reads the subscription from Stripe rather than trusting event order).
create table billing_account (
    tenant_id               uuid primary key references tenant on delete cascade,
    stripe_customer_id      text constraint billing_account_customer_key unique,
    stripe_subscription_id  text constraint billing_account_subscription_key unique,
    subscription_status     text,
    subscription_price      text,
    subscription_item_id    text,
    subscription_quantity   integer,
    current_period_end      timestamptz,
    cancel_at_period_end    boolean not null default false,
    -- The grace period after a failed payment: when it started and when writes stop.
    payment_failed_at       timestamptz,
    grace_ends_at           timestamptz,
    -- Set in the transaction that adds or removes a seat; the billing job clears it once the
    -- subscription's quantity matches, so a crash in between only delays the sync.
    seats_sync_requested_at timestamptz,
    synced_at               timestamptz,
    created_at              timestamptz not null default now(),
    updated_at              timestamptz not null default now()
);

create index billing_account_grace_idx on billing_account (grace_ends_at)
    where grace_ends_at is not null;
create index billing_account_seats_idx on billing_account (seats_sync_requested_at)
    where seats_sync_requested_at is not null;

create trigger billing_account_updated_at before update on billing_account
    for each row execute function trigger_updated_at();

-- Every Stripe event received, by Stripe's id: inserted before it is processed, marked processed
-- in the transaction that applies it. A redelivery of a processed event is acknowledged without
-- effect; an unprocessed one (its processing failed, or the process died) is processed by the
-- redelivery or by the billing job's retry, whichever comes first — the row lock decides.
create table stripe_event (
    event_id        text primary key,
    type            text not null,
    payload         jsonb not null,
    tenant_id       uuid references tenant on delete set null,
    received_at     timestamptz not null default now(),
    processed_at    timestamptz,
    -- What processing did: `applied`, or why it was ignored.
    outcome         text,
    attempts        integer not null default 0,
    last_error      text,
    next_attempt_at timestamptz not null default now() + interval '1 minute'
);

create index stripe_event_pending_idx on stripe_event (next_attempt_at) where processed_at is null;

-- The tenant API's view gains the plan's name, its integration limit and the billing state.
-- Columns may only be appended.
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
       confirmed_at is not null as confirmed,
       custom_domain,
       coalesce(plan_name, plan) as plan_name,
       max_integrations,
       billing_state
from public.tenant;

-- A plan or billing change takes effect in the tenant API at once.
drop trigger tenant_route_changed on tenant;
create trigger tenant_route_changed
    after insert or delete or update of subdomain, custom_domain, lifecycle, failed_at, suspended_at, plan,
        db_host, db_port, db_name, db_role, key_provider, wrapped_data_key, data_key_version,
        db_password_sealed, generation, confirmed_at, plan_name, max_integrations, billing_state
    on tenant
    for each row execute function notify_tenant_route_changed();
