//! The Pact Broker HTTP API, as the official clients use it.
//!
//! Handlers live in one module per resource and take a [`crate::gate::TenantContext`]; data
//! access goes through [`store`] over that tenant's connection. Responses use the broker's
//! media type and link shapes ([`hal`]), with links built from the tenant's base URL.
//! `shared/reference/pact-broker-api.md` is the specification this follows.

mod body;
pub use body::BodyLimit;
pub use webhooks::definition::WebhookPolicy;
mod contracts;
pub mod hal;
mod index;
mod pact_document;
mod pacts;
mod store;
mod webhooks;

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
        // --- webhooks (definitions; execution comes with the webhooks issue) ---
        .route(
            "/webhooks",
            get(webhooks::list_webhooks).post(webhooks::create_webhook),
        )
        .route(
            "/webhooks/provider/{provider}/consumer/{consumer}",
            get(webhooks::list_integration_webhooks).post(webhooks::create_integration_webhook),
        )
        .route(
            "/pacts/provider/{provider}/consumer/{consumer}/webhooks",
            get(webhooks::list_integration_webhooks).post(webhooks::create_integration_webhook),
        )
        .route(
            "/webhooks/provider/{provider}",
            get(webhooks::list_provider_webhooks).post(webhooks::create_provider_webhook),
        )
        .route(
            "/webhooks/consumer/{consumer}",
            get(webhooks::list_consumer_webhooks).post(webhooks::create_consumer_webhook),
        )
        .route(
            "/webhooks/{uuid}",
            get(webhooks::get_webhook)
                .put(webhooks::put_webhook)
                .delete(webhooks::delete_webhook),
        )
}
