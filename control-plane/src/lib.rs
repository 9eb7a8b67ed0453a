//! Treaty's control plane: signup and its confirmation, identity and access (login sessions,
//! users and seats, roles, system accounts, API tokens, the audit log), the provisioning worker
//! and the mail outbox, billing (plans, Stripe, webhooks); the operator console as that issue lands.
//!
//! `main.rs` is a thin shell around [`cli::main`]; tests build an [`app::Application`] directly
//! and drive it over a real socket.

pub mod app;
mod audit;
pub mod billing;
mod body;
pub mod cli;
mod client_ip;
pub mod config;
mod email_address;
pub mod error;
mod http;
mod identity;
pub mod mail;
mod openapi;
mod outbox;
pub mod rate_limit;
mod redis;
mod routes;
pub mod setup;
mod signup;
mod state;
pub mod worker;

pub use routes::router;
