//! End-to-end tests: every capability through HTTP on real sockets, against a real PostgreSQL,
//! with the real Pact CLI and moto where they apply. One binary, one module per area.

mod accounts;
mod aws_kms;
mod broker_conventions;
mod broker_environments;
mod broker_integrations;
mod broker_pacticipants;
mod broker_resources_cli;
mod broker_support;
mod broker_versions;
mod compat;
mod contracts_publish;
mod crash_resume;
mod data_plane;
mod identity_flow;
mod isolation;
mod matrix;
mod matrix_cli;
mod matrix_reports;
mod migrate;
mod pact_cli_verification;
mod pact_fixtures;
mod pact_js;
mod pact_routes;
mod pacts_for_verification;
mod pipeline_scenario;
mod pool_budget;
mod publish;
mod routing;
mod sessions;
mod signup;
mod tokens;
mod verification_results;
mod webhooks;
