//! The Pact Broker HTTP API, as the official clients use it.
//!
//! Handlers live in one module per resource and take a [`crate::gate::TenantContext`]; data
//! access goes through [`store`] over that tenant's connection. Input is read, and responses
//! written, by the broker's HTTP rules in [`http`]: extractors answering bad input in the
//! broker's shapes, content negotiation, OPTIONS/405, extensions, headers, the broker's media
//! type and link shapes ([`http::hal`], links built from the tenant's base URL) and paging.
//! `shared/reference/pact-broker-api.md` is the specification this follows.

mod badges;
mod branches;
mod contracts;
mod dashboard;
mod deployments;
mod environments;
mod for_verification;
pub mod http;
mod index;
mod integrations;
mod labels;
pub mod matrix;
pub mod metadata;
mod metrics;
pub mod model;
pub mod names;
pub mod pact_document;
mod pacticipants;
mod pacts;
pub mod query;
mod relationships;
mod store;
mod tags;
mod verifications;
mod versions;
mod webhooks;

use axum::Router;

use crate::state::AppState;

/// The broker routes: each resource module's table (its `routes()`), merged. The broker matches
/// routes in declaration order; axum matches static segments before parameters whatever the
/// order, which gives the same answers for the overlapping paths here
/// (`/pacticipants/label/{label}` before `/pacticipants/{pacticipant}`, `…/latest/badge` before
/// `…/latest/{tag}`), so the tables can be merged in any order.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(index::routes())
        // Pacts, publishing, verification results, pacts for verification (§1.5–1.7).
        .merge(contracts::routes())
        .merge(pacts::routes::routes())
        .merge(verifications::routes())
        .merge(for_verification::routes())
        // Pacticipants and what belongs to them, environments, integrations (§1.1–1.4).
        .merge(pacticipants::routes())
        .merge(labels::routes())
        .merge(versions::routes())
        .merge(tags::routes())
        .merge(branches::routes())
        .merge(environments::routes())
        .merge(deployments::routes())
        .merge(integrations::routes())
        // Webhook definitions (§1.9).
        .merge(webhooks::routes())
        // Matrix and can-i-deploy, badges, dashboard, metrics, relationships and groups.
        .merge(matrix::routes())
        .merge(badges::routes())
        .merge(dashboard::routes())
        .merge(metrics::routes())
        .merge(relationships::routes())
        // The broker's HTTP conventions, on every route above (keep these last): a 405 for a
        // method a route lacks (set here so that the tenant gate also guards it; `OPTIONS` is
        // answered from it), and content negotiation around each handler.
        .method_not_allowed_fallback(http::methods::method_not_allowed)
        .route_layer(axum::middleware::from_fn(http::negotiate::negotiate))
}
