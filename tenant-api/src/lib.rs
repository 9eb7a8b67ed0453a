//! Treaty's data plane: one process serving the Pact Broker API for every tenant.
//!
//! A request's host names its tenant ([`host`]); the [`gate`] looks the tenant up in the
//! [`directory`] (cached, invalidated by the control database — see [`invalidation`]), checks its
//! status and the API token ([`auth`]), and hands the [`broker`] handlers a context whose only
//! way to data is that tenant's own pool from the [`pools`] manager, opened with credentials the
//! [`keyring`] unseals. The plan's limits and payment state arrive with the tenant's routing
//! record ([`plan_limits`], and the gate's read-only check). This crate depends on `provisioning`, never on `control-plane`: the data
//! plane keeps serving while the control plane is down.

pub mod app;
pub mod auth;
pub mod broker;
pub mod config;
mod diagnostics;
pub mod directory;
pub mod error;
pub mod events;
pub mod failed_lookups;
mod gate;
pub mod host;
mod http;
mod invalidation;
mod keyring;
mod media;
mod openapi;
mod plan_limits;
pub mod pools;
mod routes;
mod state;
pub mod token_usage;

pub use routes::router;
