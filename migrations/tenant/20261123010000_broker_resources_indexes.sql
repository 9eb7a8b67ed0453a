-- language=PostgreSQL
-- Indexes for the broker-resource listings (pacticipants, branches, environments).

-- A pacticipant's branches, most recently updated first (`GET /pacticipants/{p}/branches`).
create index branch_pacticipant_updated_idx on branch (pacticipant_id, updated_at desc, branch_id desc);

-- What is currently deployed to an environment, newest first
-- (`GET /environments/{uuid}/deployed-versions/currently-deployed`).
create index deployed_version_environment_current_idx
    on deployed_version (environment_id, created_at desc) where undeployed_at is null;

-- Every deployment and release of a version (the version resource's environment links).
create index released_version_version_idx on released_version (version_id);
