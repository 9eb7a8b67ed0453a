//! End-to-end tests: every capability through HTTP on real sockets, against a real PostgreSQL,
//! with the real Pact CLI and moto where they apply. One binary, one module per area.

mod accounts;
mod aws_kms;
mod crash_resume;
mod data_plane;
mod identity_flow;
mod isolation;
mod migrate;
mod pool_budget;
mod publish;
mod routing;
mod sessions;
mod signup;
mod tokens;
