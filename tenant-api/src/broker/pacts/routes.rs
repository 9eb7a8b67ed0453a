//! The URL table of the pacts family (`pact-broker-api.md` §1.5–1.6): one pact by consumer
//! version, content or recency, with its diffs ([`super::read`], [`super::publish`],
//! [`super::diff`]); an integration's pact versions and a provider's pacts
//! ([`super::collections`]); provider states ([`super::provider_states`]).
//!
//! It is a module of its own, not a function in `pacts.rs`, because it names the handlers of
//! every submodule while those use `pacts.rs`'s helpers: in `pacts.rs` it would make them a
//! cycle.
//!
//! axum matches static segments before parameters, which gives the broker's first-match order
//! (`…/branch/latest/versions` before `…/branch/{branch}`, `…/latest-untagged` before
//! `…/latest/{tag}`); the deprecated `/pacts/…/versions/{version}` and `/pact/…` spellings are
//! served by the same handlers.

use axum::routing::get;
use axum::Router;

use super::collections as list;
use super::provider_states as states;
use super::{diff, publish, read};
use crate::state::AppState;

/// Every pact URL but verification results and pacts for verification (their own modules').
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(one_pact())
        .merge(integration_pacts())
        .merge(provider_pacts())
}

const INTEGRATION: &str = "/pacts/provider/{provider}/consumer/{consumer}";

fn at(rest: &str) -> String {
    format!("{INTEGRATION}{rest}")
}

/// One pact, by consumer version, content or recency, and the diffs between two.
fn one_pact() -> Router<AppState> {
    let pact_by_version = || {
        get(read::get_pact_for_version)
            .put(publish::put_pact)
            .patch(publish::patch_pact)
            .delete(publish::delete_pact)
    };
    Router::new()
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
}

/// An integration's pact versions: all, by tag, by branch, the latest per branch.
fn integration_pacts() -> Router<AppState> {
    Router::new()
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
}

/// A provider's pacts, latest or by tag or branch, and the provider states they name.
fn provider_pacts() -> Router<AppState> {
    Router::new()
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
}
