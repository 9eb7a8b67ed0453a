//! The Pact Broker HTTP API, as the official clients use it.
//!
//! Handlers live in one module per resource and take a [`crate::gate::TenantContext`]; data
//! access goes through [`store`] over that tenant's connection. Responses use the broker's
//! media type and link shapes ([`hal`]), with links built from the tenant's base URL.
//! `shared/reference/pact-broker-api.md` is the specification this follows.

mod body;
pub use body::BodyLimit;
mod contracts;
pub mod hal;
mod index;
mod pact_document;
mod pacts;
pub mod query;
mod store;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The broker routes, matched in the broker's order (more specific first).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index::get_index))
        .route("/contracts/publish", post(contracts::publish_contracts))
        .route(
            "/pacts/provider/{provider}/consumer/{consumer}/version/{version}",
            get(pacts::get_pact_for_version).put(pacts::put_pact),
        )
        .route(
            "/pacts/provider/{provider}/consumer/{consumer}/latest",
            get(pacts::get_latest_pact),
        )
}
