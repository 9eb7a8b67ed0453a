//! Treaty's control plane: signup, the provisioning worker, and (as the issues land) identity,
//! billing and the operator console.
//!
//! `main.rs` is a thin shell around [`cli::main`]; tests build an [`app::Application`] directly
//! and drive it over a real socket.

pub mod app;
mod body;
pub mod cli;
pub mod config;
pub mod error;
mod http;
mod password;
mod routes;
pub mod setup;
mod signup;
mod state;
mod tokens;
pub mod worker;

pub use routes::router;
