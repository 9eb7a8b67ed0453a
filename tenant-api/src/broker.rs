//! The Pact Broker HTTP API, as the official clients use it.
//!
//! Handlers live in one module per resource and take a [`crate::gate::TenantContext`]; data
//! access goes through [`store`] over that tenant's connection. Responses use the broker's
//! media type and link shapes ([`hal`]), with links built from the tenant's base URL; the
//! broker's HTTP conventions (OPTIONS, 405/406/415, extensions, headers) are in [`conventions`],
//! collection paging in [`pagination`].
//! `shared/reference/pact-broker-api.md` is the specification this follows.

mod badges;
mod body;
pub use body::BodyLimit;
pub use webhooks::definition::WebhookPolicy;
mod branches;
mod contracts;
pub mod conventions;
mod dashboard;
mod deployments;
mod environments;
mod for_verification;
pub mod hal;
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
pub mod pagination;
pub mod query;
mod relationships;
mod store;
mod tags;
mod verifications;
mod versions;
mod webhooks;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The broker routes. The broker matches routes in declaration order; axum prefers static
/// segments over parameters, which gives the same answers for the overlapping paths here
/// (`/pacticipants/label/{label}` before `/pacticipants/{pacticipant}`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index::get_index))
        .merge(pact_routes())
        .merge(resource_routes())
        .merge(matrix_routes())
        // The broker's HTTP conventions, on every route above (keep these last): a 405 for a
        // method a route lacks (set here so that the tenant gate also guards it; `OPTIONS` is
        // answered from it), and content negotiation around each handler.
        .method_not_allowed_fallback(conventions::method_not_allowed)
        .route_layer(axum::middleware::from_fn(conventions::negotiate))
}

/// Pacts, verification results and pacts for verification (`pact-broker-api.md` §1.5–1.7).
///
/// axum matches static segments before parameters, which gives the broker's first-match order
/// (`…/branch/latest/versions` before `…/branch/{branch}`, `…/latest-untagged` before
/// `…/latest/{tag}`); the deprecated `/pacts/…/versions/{version}` and `/pact/…` spellings
/// are served by the same handlers.
fn pact_routes() -> Router<AppState> {
    use for_verification as fv;
    use pacts::{collections as list, diff, provider_states as states, publish, read};
    use verifications as vr;

    const INTEGRATION: &str = "/pacts/provider/{provider}/consumer/{consumer}";
    let at = |rest: &str| format!("{INTEGRATION}{rest}");
    let pact_by_version = || {
        get(read::get_pact_for_version)
            .put(publish::put_pact)
            .patch(publish::patch_pact)
            .delete(publish::delete_pact)
    };
    Router::new()
        // Publishing.
        .route("/contracts/publish", post(contracts::publish_contracts))
        // One pact, by consumer version, content or recency.
        .route(&at("/version/{version}"), pact_by_version())
        .route(&at("/versions/{version}"), pact_by_version())
        .route(
            "/pact/provider/{provider}/consumer/{consumer}/version/{version}",
            pact_by_version(),
        )
        .route(
            &at("/version/{version}/previous-distinct"),
            get(read::get_previous_distinct),
        )
        .route(
            &at("/version/{version}/diff/previous-distinct"),
            get(diff::get_diff_with_previous_distinct),
        )
        .route(
            &at("/version/{version}/diff/version/{other}"),
            get(diff::get_diff_with_version),
        )
        .route(&at("/pact-version/{sha}"), get(read::get_pact_version))
        .route(
            &at("/pact-version/{sha}/metadata/{metadata}"),
            get(read::get_pact_version_with_metadata),
        )
        .route(
            &at("/pact-version/{sha}/diff/pact-version/{other}"),
            get(diff::get_diff_with_pact_version),
        )
        .route(&at("/latest"), get(read::get_latest_pact))
        .route(
            "/pact/provider/{provider}/consumer/{consumer}/latest",
            get(read::get_latest_pact),
        )
        .route(&at("/latest/{tag}"), get(read::get_latest_tagged_pact))
        .route(&at("/latest-untagged"), get(read::get_latest_untagged_pact))
        .route(
            &at("/branch/{branch}/latest"),
            get(read::get_latest_pact_for_branch),
        )
        // An integration's pact versions.
        .route(
            &at("/versions"),
            get(list::get_pact_versions).delete(list::delete_pact_versions),
        )
        .route(
            &at("/tag/{tag}"),
            get(list::get_tagged_pact_versions).delete(list::delete_tagged_pact_versions),
        )
        .route(
            &at("/branch/versions"),
            get(list::get_main_branch_pact_versions).delete(list::delete_main_branch_pact_versions),
        )
        .route(
            &at("/branch/latest/versions"),
            get(list::get_latest_main_branch_pact_versions)
                .delete(list::delete_latest_main_branch_pact_versions),
        )
        .route(
            &at("/branch/{branch}"),
            get(list::get_branch_pact_versions).delete(list::delete_branch_pact_versions),
        )
        .route(
            &at("/branch/{branch}/latest/versions"),
            get(list::get_latest_branch_pact_versions)
                .delete(list::delete_latest_branch_pact_versions),
        )
        // A provider's pacts.
        .route("/pacts/latest", get(list::get_latest_pacts))
        .route("/pacts/provider/{provider}", get(list::get_provider_pacts))
        .route(
            "/pacts/provider/{provider}/tag/{tag}",
            get(list::get_tagged_provider_pacts),
        )
        .route(
            "/pacts/provider/{provider}/latest",
            get(list::get_latest_provider_pacts),
        )
        .route(
            "/pacts/provider/{provider}/latest/{tag}",
            get(list::get_latest_tagged_provider_pacts),
        )
        .route(
            "/pacts/provider/{provider}/branch",
            get(list::get_main_branch_provider_pacts),
        )
        .route(
            "/pacts/provider/{provider}/branch/latest",
            get(list::get_latest_main_branch_provider_pacts),
        )
        .route(
            "/pacts/provider/{provider}/branch/{branch}",
            get(list::get_branch_provider_pacts),
        )
        .route(
            "/pacts/provider/{provider}/branch/{branch}/latest",
            get(list::get_latest_branch_provider_pacts),
        )
        .route(
            "/pacts/provider/{provider}/provider-states",
            get(states::get_provider_states),
        )
        .route(
            "/pacts/provider/{provider}/provider-states/branch/{branch}",
            get(states::get_provider_states_for_branch),
        )
        .route(
            "/pacts/provider/{provider}/provider-states/environment/{uuid}",
            get(states::get_provider_states_for_environment),
        )
        // Pacts for verification.
        .route(
            "/pacts/provider/{provider}/for-verification",
            get(fv::get_pacts_for_verification).post(fv::post_pacts_for_verification),
        )
        // Verification results.
        .route(
            &at("/pact-version/{sha}/verification-results"),
            post(vr::create_verification),
        )
        .route(
            &at("/pact-version/{sha}/metadata/{metadata}/verification-results"),
            post(vr::create_verification_with_metadata),
        )
        .route(
            &at("/pact-version/{sha}/verification-results/latest"),
            get(vr::get_latest_for_pact_version).delete(vr::delete_latest_for_pact_version),
        )
        .route(
            &at("/pact-version/{sha}/verification-results/{number}"),
            get(vr::get_verification).delete(vr::delete_verification),
        )
        .route(
            &at("/pact-version/{sha}/metadata/{metadata}/verification-results/{number}"),
            get(vr::get_verification_with_metadata).delete(vr::delete_verification_with_metadata),
        )
        .route(
            &at("/version/{version}/verification-results/latest"),
            get(vr::get_latest_for_consumer_version_pact)
                .delete(vr::delete_latest_for_consumer_version_pact),
        )
        .route(
            &at("/latest/verification-results/latest"),
            get(vr::get_latest_for_latest_pact).delete(vr::delete_latest_for_latest_pact),
        )
        .route(
            &at("/latest/{tag}/verification-results/latest"),
            get(vr::get_latest_for_latest_tagged_pact)
                .delete(vr::delete_latest_for_latest_tagged_pact),
        )
        .route(
            "/verification-results/consumer/{consumer}/version/{version}/latest",
            get(vr::get_latest_for_consumer_version),
        )
}

/// Pacticipants, labels, versions, branches, tags, environments, deployed and released versions,
/// integrations (`pact-broker-api.md` §1.1–1.4), and webhook definitions (§1.9).
fn resource_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/pacticipants",
            get(pacticipants::list_pacticipants).post(pacticipants::create_pacticipant),
        )
        .route(
            "/pacticipants/label/{label}",
            get(pacticipants::list_pacticipants_for_label),
        )
        .route(
            "/pacticipants/{pacticipant}",
            get(pacticipants::get_pacticipant)
                .put(pacticipants::put_pacticipant)
                .patch(pacticipants::patch_pacticipant)
                .delete(pacticipants::delete_pacticipant),
        )
        .route(
            "/pacticipants/{pacticipant}/labels/{label}",
            get(labels::get_label)
                .put(labels::put_label)
                .delete(labels::delete_label),
        )
        .route("/labels", get(labels::list_labels))
        .route(
            "/pacticipants/{pacticipant}/versions",
            get(versions::list_versions),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/versions",
            get(versions::list_branch_versions),
        )
        .route(
            "/pacticipants/{pacticipant}/environments/{uuid}/versions",
            get(versions::list_environment_versions),
        )
        .route(
            "/pacticipants/{pacticipant}/versions/{version}",
            get(versions::get_version)
                .put(versions::put_version)
                .patch(versions::patch_version)
                .delete(versions::delete_version),
        )
        .route(
            "/pacticipants/{pacticipant}/latest-version/{tag}",
            get(versions::get_latest_tagged_version),
        )
        .route(
            "/pacticipants/{pacticipant}/latest-version",
            get(versions::get_latest_version),
        )
        .route(
            "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}",
            get(tags::get_tag)
                .put(tags::put_tag)
                .delete(tags::delete_tag),
        )
        .route(
            "/pacticipants/{pacticipant}/branches",
            get(branches::list_branches).delete(branches::delete_branches),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}",
            get(branches::get_branch).delete(branches::delete_branch),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version",
            get(versions::get_latest_branch_version),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}",
            get(branches::get_branch_version)
                .put(branches::put_branch_version)
                .delete(branches::delete_branch_version),
        )
        .route(
            "/pacticipants/{pacticipant}/tags/{tag}/versions",
            get(versions::list_tag_versions),
        )
        .route(
            "/environments",
            get(environments::list_environments).post(environments::create_environment),
        )
        .route(
            "/environments/{uuid}",
            get(environments::get_environment)
                .put(environments::put_environment)
                .delete(environments::delete_environment),
        )
        .route(
            "/environments/{uuid}/deployed-versions/currently-deployed",
            get(environments::list_currently_deployed),
        )
        .route(
            "/environments/{uuid}/released-versions/currently-supported",
            get(environments::list_currently_supported),
        )
        .route(
            "/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{uuid}",
            get(deployments::list_deployed_versions).post(deployments::record_deployment),
        )
        .route(
            "/pacticipants/{pacticipant}/versions/{version}/released-versions/environment/{uuid}",
            get(deployments::list_released_versions).post(deployments::record_release),
        )
        .route(
            "/released-versions/{uuid}",
            get(deployments::get_released_version).patch(deployments::patch_released_version),
        )
        .route(
            "/deployed-versions/{uuid}",
            get(deployments::get_deployed_version).patch(deployments::patch_deployed_version),
        )
        .route(
            "/integrations",
            get(integrations::list_integrations).delete(integrations::delete_integrations),
        )
        .route(
            "/integrations/provider/{provider}/consumer/{consumer}",
            axum::routing::delete(integrations::delete_integration),
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
