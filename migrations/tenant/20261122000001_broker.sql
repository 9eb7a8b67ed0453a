-- language=PostgreSQL
-- One tenant's Pact Broker data. Every tenant database is created from a template built from
-- these files (see provisioning::template), so this schema is what a new tenant starts with.
--
-- Conventions: `bigint` identity keys (joins over hundreds of thousands of rows stay narrow);
-- creation order is key order, so "latest" means "highest id"; `uuid` only where the broker API
-- exposes one. Names are case-sensitive, as in the Pact Broker.

create or replace function trigger_updated_at() returns trigger language plpgsql as $$
begin
    new.updated_at = now();
    return new;
end
$$;

-- Applications taking part in contracts (consumers, providers, or both).
create table pacticipant (
    pacticipant_id       bigint generated always as identity primary key,
    name                 text not null constraint pacticipant_name_key unique,
    display_name         text,
    repository_url       text,
    repository_name      text,
    repository_namespace text,
    main_branch          text,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);

-- Application versions. `version_id` order is the broker's version order.
create table version (
    version_id     bigint generated always as identity primary key,
    pacticipant_id bigint not null references pacticipant on delete cascade,
    number         text not null,
    build_url      text,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    constraint version_pacticipant_number_key unique (pacticipant_id, number)
);

create index version_pacticipant_latest_idx on version (pacticipant_id, version_id desc);

create table branch (
    branch_id      bigint generated always as identity primary key,
    pacticipant_id bigint not null references pacticipant on delete cascade,
    name           text not null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    constraint branch_pacticipant_name_key unique (pacticipant_id, name)
);

-- Which versions are on which branch; the branch head is the highest version_id per branch.
create table branch_version (
    branch_id      bigint not null references branch on delete cascade,
    version_id     bigint not null references version on delete cascade,
    pacticipant_id bigint not null references pacticipant on delete cascade,
    auto_created   boolean not null default false,
    created_at     timestamptz not null default now(),
    primary key (branch_id, version_id)
);

create index branch_version_version_idx on branch_version (version_id);

create table tag (
    version_id     bigint not null references version on delete cascade,
    name           text not null,
    pacticipant_id bigint not null references pacticipant on delete cascade,
    created_at     timestamptz not null default now(),
    primary key (version_id, name)
);

-- "Latest version of P with tag T".
create index tag_pacticipant_name_idx on tag (pacticipant_id, name, version_id desc);

-- Pact content, stored once per distinct content: `sha` is the SHA-1 of the canonical JSON
-- (keys sorted, no insignificant white space), so re-publishing the same contract is free.
create table pact_version (
    pact_version_id    bigint generated always as identity primary key,
    consumer_id        bigint not null references pacticipant on delete cascade,
    provider_id        bigint not null references pacticipant on delete cascade,
    sha                text not null,
    content            text not null,
    interactions_count integer not null default 0,
    messages_count     integer not null default 0,
    created_at         timestamptz not null default now(),
    constraint pact_version_sha_key unique (consumer_id, provider_id, sha)
);

-- The pact a consumer version currently has with a provider (one row per pair); content
-- replaced by a later publication of the same consumer version is kept in `pact_revision`.
create table pact_publication (
    pact_publication_id bigint generated always as identity primary key,
    consumer_id         bigint not null references pacticipant on delete cascade,
    provider_id         bigint not null references pacticipant on delete cascade,
    consumer_version_id bigint not null references version on delete cascade,
    pact_version_id     bigint not null references pact_version on delete cascade,
    revision_number     integer not null default 1,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint pact_publication_version_provider_key unique (consumer_version_id, provider_id)
);

create index pact_publication_integration_idx
    on pact_publication (provider_id, consumer_id, consumer_version_id desc);
create index pact_publication_pact_version_idx on pact_publication (pact_version_id);

create table pact_revision (
    pact_publication_id bigint not null references pact_publication on delete cascade,
    revision_number     integer not null,
    pact_version_id     bigint not null references pact_version on delete cascade,
    created_at          timestamptz not null,
    primary key (pact_publication_id, revision_number)
);

-- Verification results, attached to pact content (not to a consumer version): one result
-- verifies every consumer version that published the same content.
create table verification (
    verification_id            bigint generated always as identity primary key,
    pact_version_id            bigint not null references pact_version on delete cascade,
    consumer_id                bigint not null references pacticipant on delete cascade,
    provider_id                bigint not null references pacticipant on delete cascade,
    provider_version_id        bigint not null references version on delete cascade,
    number                     integer not null,
    success                    boolean not null,
    execution_date             timestamptz not null default now(),
    build_url                  text,
    test_results               jsonb,
    pact_pending               boolean,
    wip                        boolean not null default false,
    verified_by_implementation text,
    verified_by_version        text,
    created_at                 timestamptz not null default now(),
    constraint verification_pact_number_key unique (pact_version_id, number)
);

create index verification_pact_provider_version_idx
    on verification (pact_version_id, provider_version_id, verification_id desc);
create index verification_provider_version_idx on verification (provider_version_id);

-- Consumer/provider pairs that share a pact: what plans count.
create table integration (
    consumer_id              bigint not null references pacticipant on delete cascade,
    provider_id              bigint not null references pacticipant on delete cascade,
    created_at               timestamptz not null default now(),
    contract_data_updated_at timestamptz not null default now(),
    primary key (consumer_id, provider_id)
);

create index integration_provider_idx on integration (provider_id);

create table environment (
    environment_id bigint generated always as identity primary key,
    uuid           uuid not null constraint environment_uuid_key unique,
    name           text not null constraint environment_name_key unique,
    display_name   text,
    production     boolean not null,
    contacts       jsonb,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

-- One currently deployed version per pacticipant, environment and application instance.
create table deployed_version (
    deployed_version_id  bigint generated always as identity primary key,
    uuid                 uuid not null constraint deployed_version_uuid_key unique,
    version_id           bigint not null references version on delete cascade,
    pacticipant_id       bigint not null references pacticipant on delete cascade,
    environment_id       bigint not null references environment on delete cascade,
    application_instance text,
    auto_created         boolean not null default false,
    undeployed_at        timestamptz,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);

create unique index deployed_version_current_key
    on deployed_version (pacticipant_id, environment_id, coalesce(application_instance, ''))
    where undeployed_at is null;
create index deployed_version_version_idx on deployed_version (version_id);

create table released_version (
    released_version_id bigint generated always as identity primary key,
    uuid                uuid not null constraint released_version_uuid_key unique,
    version_id          bigint not null references version on delete cascade,
    pacticipant_id      bigint not null references pacticipant on delete cascade,
    environment_id      bigint not null references environment on delete cascade,
    support_ended_at    timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint released_version_version_environment_key unique (version_id, environment_id)
);

create index released_version_supported_idx
    on released_version (environment_id, pacticipant_id) where support_ended_at is null;

create table label (
    pacticipant_id bigint not null references pacticipant on delete cascade,
    name           text not null,
    created_at     timestamptz not null default now(),
    primary key (pacticipant_id, name)
);

create index label_name_idx on label (name);

create trigger pacticipant_updated_at before update on pacticipant for each row execute function trigger_updated_at();
create trigger version_updated_at before update on version for each row execute function trigger_updated_at();
create trigger branch_updated_at before update on branch for each row execute function trigger_updated_at();
create trigger pact_publication_updated_at before update on pact_publication for each row execute function trigger_updated_at();
create trigger environment_updated_at before update on environment for each row execute function trigger_updated_at();
create trigger deployed_version_updated_at before update on deployed_version for each row execute function trigger_updated_at();
create trigger released_version_updated_at before update on released_version for each row execute function trigger_updated_at();
