-- Tenant roles create nothing: no schema, no object in `public` (which could shadow a broker
-- table on the search path). Owning the database, setting the role's search_path and revoking
-- CREATE on the database happen in provisioning's `apply_schema`, which every tenant passes
-- through again because this migration raises the schema version. Idempotent.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
