-- language=PostgreSQL
-- Webhook definitions. Secrets are stored sealed under the tenant's data key (purpose
-- `webhook-credential`, bound to the webhook's uuid): the password, and sensitive header values
-- (names matching /authorization/i or /token/i). Values that are only `${…}` templates are not
-- secrets and stay readable, as the broker shows them.

create table webhook (
    webhook_id            bigint generated always as identity primary key,
    uuid                  text not null constraint webhook_uuid_key unique,
    description           text,
    consumer_id           bigint references pacticipant on delete cascade,
    consumer_label        text,
    provider_id           bigint references pacticipant on delete cascade,
    provider_label        text,
    enabled               boolean not null default true,
    events                text[] not null,
    method                text not null,
    url                   text not null,
    -- Headers shown as they are; secret ones are listed by name and sealed together.
    headers               jsonb not null default '{}',
    secret_header_names   text[] not null default '{}',
    secret_headers_sealed bytea,
    -- A JSON document, or a JSON string for a non-JSON body.
    body                  jsonb,
    username              text,
    password_template     text,
    password_sealed       bytea,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now()
);

create index webhook_consumer_idx on webhook (consumer_id);
create index webhook_provider_idx on webhook (provider_id);

create trigger webhook_updated_at before update on webhook for each row execute function trigger_updated_at();
