//! `GET /pacts/provider/{provider}/provider-states` (and `/branch/{branch}`,
//! `/environment/{uuid}`): the provider states the provider must support, gathered from the
//! pacts of each consumer's main branch head (or branch head, or the versions deployed or
//! released in the environment), with the consumers that need each.

use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::lookup::require_pacticipant;
use crate::broker::http::extract::PathParams;
use crate::broker::http::hal::HalBody;
use crate::broker::pact_document::PactDocument;
use crate::broker::store::for_verification::{self as selection, Candidates};
use crate::broker::store::pacts as pact_store;
use crate::error::Result;
use crate::gate::TenantContext;

enum Scope {
    MainBranch,
    Branch(String),
    Environment(String),
}

async fn provider_states(tenant: &TenantContext, provider: &str, scope: Scope) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let (provider_id, _) = require_pacticipant(&mut conn, provider, "provider").await?;
    let kinds: Vec<Candidates<'_>> = match &scope {
        Scope::MainBranch => vec![Candidates::MainBranchHeads],
        Scope::Branch(name) => vec![Candidates::BranchHeads(name)],
        Scope::Environment(uuid) => match uuid::Uuid::parse_str(uuid) {
            Ok(uuid) => match selection::environment_name(&mut conn, uuid).await? {
                Some(name) => {
                    let mut rows = Vec::new();
                    for kind in [
                        Candidates::Deployed(Some(&name)),
                        Candidates::Released(Some(&name)),
                    ] {
                        rows.extend(selection::select(&mut conn, provider_id, None, kind).await?);
                    }
                    return render(&mut conn, rows).await;
                }
                None => Vec::new(),
            },
            Err(_) => Vec::new(),
        },
    };
    let mut rows = Vec::new();
    for kind in kinds {
        rows.extend(selection::select(&mut conn, provider_id, None, kind).await?);
    }
    render(&mut conn, rows).await
}

async fn render(
    conn: &mut sqlx::PgConnection,
    rows: Vec<selection::SelectedRow>,
) -> Result<Response> {
    let ids: Vec<i64> = rows.iter().map(|r| r.pact_publication_id).collect();
    let contents = pact_store::contents(conn, &ids).await?;
    // (name, params) → consumers, in order of first appearance.
    let mut states: Vec<(Value, Option<Value>, Vec<String>)> = Vec::new();
    for row in &rows {
        let Some((_, content)) = contents
            .iter()
            .find(|(id, _)| *id == row.pact_publication_id)
        else {
            continue;
        };
        let Ok(document) = PactDocument::parse(content.as_bytes()) else {
            continue;
        };
        for state in document.provider_states() {
            match states
                .iter_mut()
                .find(|(name, params, _)| *name == state.name && *params == state.params)
            {
                Some((_, _, consumers)) => {
                    if !consumers.contains(&row.consumer_name) {
                        consumers.push(row.consumer_name.clone());
                    }
                }
                None => states.push((state.name, state.params, vec![row.consumer_name.clone()])),
            }
        }
    }
    states.sort_by(|a, b| {
        let key = |v: &Value| {
            v.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string())
        };
        key(&a.0).cmp(&key(&b.0))
    });
    let list: Vec<Value> = states
        .into_iter()
        .map(|(name, params, consumers)| {
            let mut state = json!({ "name": name, "consumers": consumers });
            if let Some(params) = params {
                state["params"] = params;
            }
            state
        })
        .collect();
    Ok(HalBody(json!({ "providerStates": list })).into_response())
}

/// `GET /pacts/provider/{provider}/provider-states`.
pub async fn get_provider_states(
    tenant: TenantContext,
    PathParams(provider): PathParams<String>,
) -> Result<Response> {
    provider_states(&tenant, &provider, Scope::MainBranch).await
}

/// `GET /pacts/provider/{provider}/provider-states/branch/{branch}`.
pub async fn get_provider_states_for_branch(
    tenant: TenantContext,
    PathParams((provider, branch)): PathParams<(String, String)>,
) -> Result<Response> {
    provider_states(&tenant, &provider, Scope::Branch(branch)).await
}

/// `GET /pacts/provider/{provider}/provider-states/environment/{uuid}`.
pub async fn get_provider_states_for_environment(
    tenant: TenantContext,
    PathParams((provider, uuid)): PathParams<(String, String)>,
) -> Result<Response> {
    provider_states(&tenant, &provider, Scope::Environment(uuid)).await
}
