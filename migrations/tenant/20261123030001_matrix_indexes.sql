-- language=PostgreSQL
-- Indexes for the matrix, can-i-deploy and the dashboard (tenant-api broker::store::matrix and
-- broker::store::reports). Those queries resolve selectors to version ids first and then read
-- only the rows of those versions; these indexes cover the reads that are not already served by
-- a key of the foundation schema:
--
-- * the newest publications of one consumer/provider pair (`order by updated_at desc limit n`):
--   name-only matrix selectors (`q[][pacticipant]=Foo&q[][pacticipant]=Bar`) and the one-selector
--   matrix read a bounded number of rows per integration instead of sorting all of them;
-- * the verifications of a pact content by given provider versions, with the columns a matrix
--   row shows, so that lookup is an index-only scan (the latest per provider version is the
--   first entry of each (pact_version_id, provider_version_id) group).

create index pact_publication_pair_published_idx
    on pact_publication (consumer_id, provider_id, updated_at desc);

create index verification_matrix_idx
    on verification (pact_version_id, provider_version_id, verification_id desc)
    include (provider_id, success, number, created_at, execution_date);
