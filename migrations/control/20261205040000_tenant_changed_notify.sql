-- language=PostgreSQL
-- Wake-ups for `GET /api/signups/{id}?wait=N`: one listener per control-plane process hears the
-- tenant id whenever what the status resource shows changes, and wakes the requests waiting on
-- it (instead of each of them polling the database).
create or replace function notify_tenant_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('treaty_tenant_changed', coalesce(new.tenant_id, old.tenant_id)::text);
    return null;
end
$$;

create trigger tenant_changed
    after delete or update of lifecycle, failed_at, suspended_at, confirmed_at
    on tenant
    for each row execute function notify_tenant_changed();
