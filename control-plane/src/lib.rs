//! Treaty's control plane: signup and its confirmation, identity and access (login sessions,
//! users and seats, roles, system accounts, API tokens, the audit log), the provisioning worker
//! and the mail outbox, billing (plans, Stripe, webhooks); the operator console as that issue lands.
//!
//! `main.rs` is a thin shell around [`cli::main`]; tests build an [`app::Application`] directly
//! and drive it over a real socket.

mod api_tokens;
pub mod app;
mod audit;
pub mod billing;
mod body;
pub mod cli;
mod client_ip;
pub mod config;
mod confirmation;
mod cross_site;
pub mod error;
mod http;
mod invitations;
mod limits;
mod links;
mod login;
pub mod mail;
mod openapi;
mod outbox;
mod password;
mod password_reset;
pub mod plans;
pub mod rate_limit;
mod redis;
mod role;
mod routes;
mod session;
pub mod setup;
mod signup;
mod state;
mod system_accounts;
mod tenant_changes;
mod users;
pub mod worker;

pub use routes::router;
