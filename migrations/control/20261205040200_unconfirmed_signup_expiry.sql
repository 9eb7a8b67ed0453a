-- language=PostgreSQL
-- Unconfirmed signups expire: `expired_at` marks a tenant whose address was never confirmed in
-- time. The provisioning worker then claims it (same lease and back-off columns as
-- provisioning), drops its database and role, and deletes the row, which frees the subdomain.
alter table tenant add column expired_at timestamptz;

create index tenant_unconfirmed_idx on tenant (created_at) where confirmed_at is null and expired_at is null;
create index tenant_expired_idx on tenant (next_attempt_at) where expired_at is not null;
