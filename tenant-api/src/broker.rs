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
pub mod matrix;
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
        .merge(matrix_routes())
}

/// Matrix, can-i-deploy, can-i-merge, badges, dashboard, metrics, relationships and groups
/// (the "matrix and can-i-deploy" part of the API). Static segments (`…/latest/badge`) take
/// precedence over parameters (`…/latest/{tag}`), as the broker's route order has it.
fn matrix_routes() -> Router<AppState> {
    Router::new()
        .route("/matrix", get(matrix::get_matrix))
        .route("/can-i-deploy", get(matrix::get_can_i_deploy))
        .route(
            "/matrix/provider/{provider}/consumer/{consumer}",
            get(matrix::get_matrix_for_consumer_and_provider),
        )
        .route(
            "/pacticipants/{pacticipant}/latest-version/{tag}/can-i-deploy/to/{to}",
            get(matrix::get_can_i_deploy_tag_to_tag),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version/can-i-deploy/to-environment/{environment}",
            get(matrix::get_can_i_deploy_branch_to_environment),
        )
}
