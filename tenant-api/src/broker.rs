//! The Pact Broker HTTP API, as the official clients use it.
//!
//! Handlers live in one module per resource and take a [`crate::gate::TenantContext`]; data
//! access goes through [`store`] over that tenant's connection. Responses use the broker's
//! media type and link shapes ([`hal`]), with links built from the tenant's base URL.
//! `shared/reference/pact-broker-api.md` is the specification this follows.

mod badges;
mod body;
pub use body::BodyLimit;
mod contracts;
mod dashboard;
pub mod hal;
mod index;
pub mod matrix;
mod metrics;
mod pact_document;
mod pacts;
pub mod query;
mod relationships;
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
    // Badge paths also answer with a `.svg` suffix, the way READMEs embed them.
    let badge =
        |router: Router<AppState>, path: &str, handler: axum::routing::MethodRouter<AppState>| {
            router
                .route(&format!("{path}/badge"), handler.clone())
                .route(&format!("{path}/badge.svg"), handler)
        };
    let mut router = Router::new()
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
        .route("/dashboard", get(dashboard::get_dashboard))
        .route(
            "/dashboard/provider/{provider}/consumer/{consumer}",
            get(dashboard::get_integration_dashboard),
        )
        .route("/metrics", get(metrics::get_metrics))
        .route("/relationships", get(relationships::get_relationships))
        .route("/relationships.csv", get(relationships::get_relationships))
        .route("/groups/{pacticipant}", get(relationships::get_group));
    for (path, handler) in [
        (
            "/pacts/provider/{provider}/consumer/{consumer}/latest",
            get(badges::get_latest_pact_badge),
        ),
        (
            "/pacts/provider/{provider}/consumer/{consumer}/latest/{tag}",
            get(badges::get_latest_tagged_pact_badge),
        ),
        (
            "/pacts/provider/{provider}/consumer/{consumer}/latest-untagged",
            get(badges::get_latest_untagged_pact_badge),
        ),
        (
            "/matrix/provider/{provider}/latest/{provider_tag}/consumer/{consumer}/latest/{tag}",
            get(badges::get_matrix_badge),
        ),
        (
            "/pacticipants/{pacticipant}/latest-version/{tag}/can-i-deploy/to/{to}",
            get(badges::get_can_i_deploy_tag_to_tag_badge),
        ),
        (
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version/can-i-deploy/to-environment/{environment}",
            get(badges::get_can_i_deploy_branch_to_environment_badge),
        ),
        (
            "/pacticipants/{pacticipant}/main-branch/can-i-merge",
            get(badges::get_can_i_merge_badge),
        ),
    ] {
        router = badge(router, path, handler);
    }
    router
}
