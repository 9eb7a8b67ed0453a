//! End-to-end tests: every capability through HTTP on real sockets, against a real PostgreSQL,
//! with the real Pact CLI and moto where they apply. One binary, one module per area.

mod aws_kms;
mod contracts_publish;
mod crash_resume;
mod data_plane;
mod isolation;
mod migrate;
mod pact_cli_verification;
mod pact_fixtures;
mod pact_routes;
mod pacts_at_scale;
mod pacts_for_verification;
mod pool_budget;
mod publish;
mod routing;
mod signup;
mod verification_results;
