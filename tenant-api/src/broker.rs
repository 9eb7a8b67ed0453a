//! The Pact Broker HTTP API, as the official clients use it.
//!
//! Handlers live in one module per resource and take a [`crate::gate::TenantContext`]; data
//! access goes through [`store`] over that tenant's connection. Responses use the broker's
//! media type and link shapes ([`hal`]), with links built from the tenant's base URL.
//! `shared/reference/pact-broker-api.md` is the specification this follows.

mod body;
pub use body::BodyLimit;
mod contracts;
pub mod events;
mod for_verification;
pub mod hal;
mod index;
pub mod metadata;
mod pact_document;
mod pacts;
mod store;
mod verifications;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The broker routes, matched in the broker's order (more specific first).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index::get_index))
        .merge(pact_routes())
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
