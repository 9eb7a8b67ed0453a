-- language=PostgreSQL
-- Tenants reachable at a domain of their own (pact.acme.example) as well as at their subdomain.
-- The tenant API routes a request whose host is not `<subdomain>.<base domain>` by this column,
-- and builds links from the host the client used.

alter table tenant add column custom_domain text constraint tenant_custom_domain_key unique
    constraint tenant_custom_domain_check check (custom_domain = lower(custom_domain));

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
       custom_domain
from public.tenant;

-- Cache keys of the tenant API: the subdomain, and `domain:<host>` for a custom domain.
create or replace function notify_tenant_route_changed() returns trigger language plpgsql as $$
begin
    if tg_op <> 'INSERT' then
        perform pg_notify('treaty_tenant_route', old.subdomain);
        if old.custom_domain is not null then
            perform pg_notify('treaty_tenant_route', 'domain:' || old.custom_domain);
        end if;
    end if;
    if tg_op <> 'DELETE' then
        perform pg_notify('treaty_tenant_route', new.subdomain);
        if new.custom_domain is not null then
            perform pg_notify('treaty_tenant_route', 'domain:' || new.custom_domain);
        end if;
    end if;
    return null;
end
$$;

drop trigger tenant_route_changed on tenant;
create trigger tenant_route_changed
    after insert or delete or update of subdomain, custom_domain, lifecycle, failed_at, suspended_at, plan,
        db_host, db_port, db_name, db_role, key_provider, wrapped_data_key, data_key_version,
        db_password_sealed, generation, confirmed_at
    on tenant
    for each row execute function notify_tenant_route_changed();
