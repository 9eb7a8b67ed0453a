-- language=PostgreSQL
-- Pacts, verification results and pacts for verification: what the broker's routes need beyond
-- the first schema. The indexes serve the set-based queries in tenant-api's
-- broker/store/for_verification.rs, which must stay fast (p95 ≤ 20 ms) on a tenant with
-- hundreds of thousands of versions and publications and a million verifications.

-- Verification numbers come from one sequence per tenant, as the broker's do
-- (`verification_sequence_number`): `…/verification-results/{number}` is known once inserted.
create sequence verification_number_seq owned by verification.number;
select setval('verification_number_seq', coalesce((select max(number) from verification), 0) + 1, false);
alter table verification alter column number set default nextval('verification_number_seq');

-- What a verifier says about itself (`verifiedBy.clientLanguage`), and which consumer version
-- selectors chose the pact it verified (from the pact URL's metadata; webhooks use them to
-- report back to the right consumer versions).
alter table verification
    add column verified_by_client_implementation text,
    add column verified_by_client_version        text,
    add column verified_by_client_test_framework text,
    add column consumer_version_selectors        jsonb;

-- WIP pacts: a provider's publications by when their current content was published (covering,
-- so that the candidates are read from the index alone).
create index pact_publication_provider_published_idx
    on pact_publication (provider_id, updated_at)
    include (pact_publication_id, consumer_version_id, pact_version_id);

-- WIP pacts: is a consumer version the head of one of its branches, or of one of its tags?
-- (covering the probes the first schema's indexes answer only with a heap fetch)
create index branch_version_version_branch_idx on branch_version (version_id, branch_id);
create index tag_version_covering_idx on tag (version_id) include (pacticipant_id, name);

-- Pending: has this content been verified successfully, by which provider version, when?
create index verification_successful_idx
    on verification (pact_version_id, provider_version_id)
    include (wip, execution_date, created_at)
    where success;

-- WIP: recent successful verifications of this content that were not themselves WIP.
create index verification_successful_not_wip_idx
    on verification (pact_version_id, execution_date)
    include (provider_version_id)
    where success and not wip;

-- Pending by provider tag: when a tag was first used.
create index tag_pacticipant_name_created_idx on tag (pacticipant_id, name, created_at);

-- Selectors `released`/`environment`: a consumer's versions still supported somewhere.
create index released_version_pacticipant_supported_idx
    on released_version (pacticipant_id) where support_ended_at is null;
