//! Pacts for verification (`/pacts/provider/{provider}/for-verification`): which pacts a
//! provider build should verify, chosen by consumer version selectors (or the broker's defaults),
//! de-duplicated by content, each with its pending state for the provider branch or tags, plus
//! the work-in-progress pacts, and the notices verifiers print.
//!
//! The steps follow the broker (`PactsForVerificationRepository`, `SquashPactsForVerification`):
//! each selector is one set-based query; pacts with the same content from the same consumer are
//! merged, keeping every selector that chose them; pending state is computed for all selected
//! content at once; WIP pacts are computed last and exclude what was explicitly selected.

pub mod notices;
pub mod query;
pub mod selectors;
pub mod verifiable;

use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use self::query::ForVerificationQuery;
use self::selectors::{ResolvedSelector, Selector};
use self::verifiable::VerifiablePact;
use super::http::extract::{JsonBytes, PathParams};
use super::http::hal::HalBody;
use super::metadata;
use super::pacts::links::pact_version_url_with_metadata;
use super::pacts::lookup::require_pacticipant;
use super::store::for_verification::{self as store, Candidates, SelectedRow, WipFor, WipRow};
use crate::error::{Error, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// Pacts for verification (`GET` is the deprecated form).
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/pacts/provider/{provider}/for-verification",
        get(get_pacts_for_verification).post(post_pacts_for_verification),
    )
}

/// Runs one selector; each row comes with the selector resolved to its consumer version.
async fn run_selector(
    conn: &mut PgConnection,
    provider_id: i64,
    selector: &Selector,
) -> Result<Vec<(SelectedRow, ResolvedSelector)>> {
    let consumers = selector.consumer.clone().map(|c| vec![c]);
    let consumers = consumers.as_deref();
    let env = selector.environment_name.as_deref();
    let kinds: Vec<Candidates<'_>> = if selector.currently_deployed {
        vec![Candidates::Deployed(env)]
    } else if selector.currently_supported {
        vec![Candidates::Released(env)]
    } else if selector.is_all_for_tag() {
        vec![Candidates::AllTagged(
            selector.tag.as_deref().unwrap_or_default(),
        )]
    } else if selector.is_in_environment() {
        vec![Candidates::Deployed(env), Candidates::Released(env)]
    } else if selector.main_branch {
        vec![Candidates::MainBranchHeads]
    } else if selector.is_latest_for_each_branch() {
        vec![Candidates::AllBranchHeads]
    } else if let (true, Some(branch)) =
        (selector.is_latest_for_branch(None), selector.branch_name())
    {
        vec![Candidates::BranchHeads(branch)]
    } else if let (true, Some(tag)) = (selector.is_latest_for_tag(None), selector.tag.as_deref()) {
        vec![Candidates::LatestTagged(tag)]
    } else if selector.is_overall_latest() {
        vec![Candidates::OverallLatest]
    } else {
        Vec::new()
    };
    let mut selected = Vec::new();
    for kind in kinds {
        for row in store::select(conn, provider_id, consumers, kind).await? {
            let mut resolved = ResolvedSelector::resolve(
                selector,
                row.consumer_version_id,
                &row.consumer_version_number,
            );
            if let (Some(name), Some(production)) =
                (&row.environment_name, row.environment_production)
            {
                resolved.environment = Some((name.clone(), production));
                resolved.target = row.target.clone();
            }
            selected.push((row, resolved));
        }
    }
    Ok(selected)
}

/// The broker's default selectors, run: for each consumer, the head of its main branch (or,
/// without versions on it, the latest version tagged with its name, or else the latest); plus
/// every deployed and every released version.
async fn run_default_selectors(
    conn: &mut PgConnection,
    provider_id: i64,
) -> Result<Vec<(SelectedRow, ResolvedSelector)>> {
    let consumers = store::consumers_for_defaults(conn, provider_id).await?;
    let (mut main, mut tagged, mut latest) = (Vec::new(), Vec::new(), Vec::new());
    for consumer in consumers {
        match &consumer.main_branch {
            Some(_) if consumer.main_branch_has_versions => main.push(consumer.name),
            Some(_) if consumer.main_branch_tag_exists => tagged.push(consumer.name),
            _ => latest.push(consumer.name),
        }
    }
    let mut selected = Vec::new();
    let batches = [
        (main, Candidates::MainBranchHeads),
        (tagged, Candidates::LatestTaggedWithMainBranch),
        (latest, Candidates::OverallLatest),
    ];
    for (names, kind) in batches {
        if names.is_empty() {
            continue;
        }
        for row in store::select(conn, provider_id, Some(&names), kind).await? {
            let selector = match kind {
                Candidates::MainBranchHeads => Selector::latest_for_main_branch(),
                Candidates::LatestTaggedWithMainBranch => {
                    Selector::latest_for_tag(row.tag_name.as_deref().unwrap_or_default())
                }
                _ => Selector::overall_latest(),
            }
            .for_consumer(&row.consumer_name);
            let resolved = ResolvedSelector::resolve(
                &selector,
                row.consumer_version_id,
                &row.consumer_version_number,
            );
            selected.push((row, resolved));
        }
    }
    for selector in [
        Selector::currently_deployed(),
        Selector::currently_supported(),
    ] {
        selected.extend(run_selector(conn, provider_id, &selector).await?);
    }
    Ok(selected)
}

/// The broker's fallbacks: a `fallbackTag` (`fallbackBranch`) selector whose tag (branch)
/// selected no pact at all selects the latest for the fallback instead.
async fn run_fallbacks(
    conn: &mut PgConnection,
    provider_id: i64,
    selectors: &[Selector],
    selected: &[(SelectedRow, ResolvedSelector)],
) -> Result<Vec<(SelectedRow, ResolvedSelector)>> {
    let mut found = Vec::new();
    for selector in selectors {
        let consumers = selector.consumer.clone().map(|c| vec![c]);
        if let (Some(tag), Some(fallback)) = (&selector.tag, &selector.fallback_tag) {
            let covered = selected
                .iter()
                .any(|(_, r)| r.selector.is_latest_for_tag(Some(tag)));
            if !covered {
                let rows = store::select(
                    conn,
                    provider_id,
                    consumers.as_deref(),
                    Candidates::LatestTagged(fallback),
                )
                .await?;
                for row in rows {
                    let resolved = ResolvedSelector::resolve_for_fallback(
                        selector,
                        row.consumer_version_id,
                        &row.consumer_version_number,
                    );
                    found.push((row, resolved));
                }
            }
        }
        if let (Some(branch), Some(fallback)) = (selector.branch_name(), &selector.fallback_branch)
        {
            let covered = selected
                .iter()
                .any(|(_, r)| r.selector.is_latest_for_branch(Some(branch)));
            if !covered {
                let rows = store::select(
                    conn,
                    provider_id,
                    consumers.as_deref(),
                    Candidates::BranchHeads(fallback),
                )
                .await?;
                for row in rows {
                    let resolved = ResolvedSelector::resolve_for_fallback(
                        selector,
                        row.consumer_version_id,
                        &row.consumer_version_number,
                    );
                    found.push((row, resolved));
                }
            }
        }
    }
    Ok(found)
}

/// Merges selections of the same content from the same consumer (the broker's
/// `merge_by_pact_version_sha`): the latest consumer version's publication, every selector.
fn merge_by_content(selected: Vec<(SelectedRow, ResolvedSelector)>) -> Vec<VerifiablePact> {
    let mut merged: Vec<VerifiablePact> = Vec::new();
    for (row, resolved) in selected {
        match merged
            .iter_mut()
            .find(|p| p.pact.consumer_name == row.consumer_name && p.pact.sha == row.sha)
        {
            Some(existing) => {
                existing.selectors.push(resolved);
                if row.consumer_version_id > existing.pact.consumer_version_id {
                    existing.pact = row;
                }
            }
            None => merged.push(VerifiablePact {
                pact: row,
                selectors: vec![resolved],
                pending: None,
                pending_provider_tags: Vec::new(),
                non_pending_provider_tags: Vec::new(),
                provider_branch: None,
                wip: false,
            }),
        }
    }
    for pact in &mut merged {
        selectors::sort(&mut pact.selectors);
    }
    merged.sort_by(|a, b| {
        (
            a.pact.consumer_name.to_lowercase(),
            a.pact.provider_name.to_lowercase(),
            a.pact.consumer_version_id,
        )
            .cmp(&(
                b.pact.consumer_name.to_lowercase(),
                b.pact.provider_name.to_lowercase(),
                b.pact.consumer_version_id,
            ))
    });
    merged
}

/// Sets each pact's pending state for the provider branch, or tags, or any provider version.
async fn squash_pending(
    conn: &mut PgConnection,
    provider_id: i64,
    query: &ForVerificationQuery,
    pacts: &mut [VerifiablePact],
) -> Result<()> {
    if !query.include_pending_status || pacts.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = pacts.iter().map(|p| p.pact.pact_version_id).collect();
    let branch = query.provider_version_branch.as_deref();
    let tags = &query.provider_version_tags;
    let states = store::verification_states(conn, provider_id, &ids, branch, tags).await?;
    for pact in pacts.iter_mut() {
        let Some(state) = states
            .iter()
            .find(|s| s.pact_version_id == pact.pact.pact_version_id)
        else {
            continue;
        };
        pact.provider_branch = query.provider_version_branch.clone();
        if branch.is_some() {
            pact.pending =
                Some(!state.verified_by_branch && !state.verified_by_other_branch_before);
        } else if !tags.is_empty() {
            pact.pending_provider_tags = tags
                .iter()
                .filter(|t| {
                    !state.verified_tags.contains(t)
                        && !state.verified_before_tag_existed.contains(t)
                })
                .cloned()
                .collect();
            pact.non_pending_provider_tags = tags
                .iter()
                .filter(|t| !pact.pending_provider_tags.contains(t))
                .cloned()
                .collect();
            pact.pending = Some(!pact.pending_provider_tags.is_empty());
        } else {
            pact.pending = Some(!state.verified);
        }
    }
    Ok(())
}

/// The work-in-progress pacts (none without a provider branch or tags).
async fn wip_pacts(
    conn: &mut PgConnection,
    provider_id: i64,
    since: DateTime<Utc>,
    query: &ForVerificationQuery,
    explicit: &[VerifiablePact],
) -> Result<Vec<VerifiablePact>> {
    let provider = match (&query.provider_version_branch, &query.provider_version_tags) {
        (Some(branch), _) => WipFor::Branch(branch),
        (None, tags) if !tags.is_empty() => WipFor::Tags(tags),
        _ => return Ok(Vec::new()),
    };
    let mut found: Vec<VerifiablePact> = Vec::new();
    for WipRow {
        pact: row,
        provider_tag,
    } in store::wip(conn, provider_id, since, provider).await?
    {
        if explicit
            .iter()
            .any(|e| e.pact.consumer_id == row.consumer_id && e.pact.sha == row.sha)
        {
            continue;
        }
        let selector = match (&row.tag_name, &row.branch_name) {
            (Some(tag), _) => Selector::latest_for_tag(tag),
            (None, Some(branch)) => Selector::latest_for_branch(branch),
            (None, None) => continue,
        };
        let resolved = ResolvedSelector::resolve(
            &selector,
            row.consumer_version_id,
            &row.consumer_version_number,
        );
        let pending_tags: Vec<String> = provider_tag.into_iter().collect();
        match found
            .iter_mut()
            .find(|p| p.pact.consumer_name == row.consumer_name && p.pact.sha == row.sha)
        {
            Some(existing) => {
                if !existing.selectors.contains(&resolved) {
                    existing.selectors.push(resolved);
                }
                for tag in pending_tags {
                    if !existing.pending_provider_tags.contains(&tag) {
                        existing.pending_provider_tags.push(tag);
                    }
                }
                if row.consumer_version_id > existing.pact.consumer_version_id {
                    existing.pact = row;
                }
            }
            None => found.push(VerifiablePact {
                pact: row,
                selectors: vec![resolved],
                pending: Some(true),
                pending_provider_tags: pending_tags,
                non_pending_provider_tags: Vec::new(),
                provider_branch: query.provider_version_branch.clone(),
                wip: true,
            }),
        }
    }
    found.sort_by(|a, b| {
        (&a.pact.consumer_name, a.pact.consumer_version_id)
            .cmp(&(&b.pact.consumer_name, b.pact.consumer_version_id))
    });
    Ok(found)
}

/// Computes the pacts for verification of `provider_id`.
pub async fn pacts_for_verification(
    conn: &mut PgConnection,
    provider_id: i64,
    query: &ForVerificationQuery,
) -> Result<Vec<VerifiablePact>> {
    let mut selected = if query.selectors.is_empty() {
        run_default_selectors(conn, provider_id).await?
    } else {
        let mut selected = Vec::new();
        for selector in &query.selectors {
            selected.extend(run_selector(conn, provider_id, selector).await?);
        }
        selected
    };
    let fallbacks = run_fallbacks(conn, provider_id, &query.selectors, &selected).await?;
    selected.extend(fallbacks);
    let mut explicit = merge_by_content(selected);
    squash_pending(conn, provider_id, query, &mut explicit).await?;
    let wip = match query.include_wip_pacts_since {
        Some(since) => wip_pacts(conn, provider_id, since, query, &explicit).await?,
        None => Vec::new(),
    };
    explicit.extend(wip);
    Ok(explicit)
}

/// One entry of the response (`VerifiablePactDecorator`).
fn verifiable_pact_body(
    base: &str,
    pact: &VerifiablePact,
    include_pending_status: bool,
    deprecated: bool,
) -> Value {
    let pact_ref = pact.pact_ref();
    let self_metadata = metadata::for_verification(
        &pact
            .selectors
            .iter()
            .map(ResolvedSelector::metadata)
            .collect::<Vec<_>>(),
        pact.pending,
        pact.wip,
    );
    let notice_metadata = if pact.wip {
        metadata::for_wip_notice()
    } else {
        metadata::Nested::Hash(Vec::new())
    };
    let notice_url = pact_version_url_with_metadata(base, &pact_ref, &notice_metadata);
    let mut properties = json!({
        "notices": notices::notices(pact, &notice_url, include_pending_status, deprecated),
    });
    if include_pending_status {
        properties["pending"] = json!(pact.pending.unwrap_or(false));
    }
    if pact.wip {
        properties["wip"] = json!(true);
    }
    json!({
        "shortDescription": notices::short_description(pact),
        "verificationProperties": properties,
        "_links": { "self": {
            "href": pact_version_url_with_metadata(base, &pact_ref, &self_metadata),
            "name": pact_ref.name(),
        } },
    })
}

async fn respond(
    tenant: &TenantContext,
    uri: &OriginalUri,
    provider: &str,
    unchecked: query::Unchecked,
    deprecated: bool,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    // One snapshot for the several queries, planned as short OLTP reads.
    let mut tx = conn.begin().await?;
    super::store::pacts::plan_for_oltp(&mut tx).await?;
    let names = unchecked.environment_names();
    let existing = if names.is_empty() {
        Vec::new()
    } else {
        store::existing_environments(&mut tx, &names).await?
    };
    let query = unchecked.check(&existing).map_err(Error::Validation)?;
    let (provider_id, _) = require_pacticipant(&mut tx, provider, "provider").await?;
    let pacts = pacts_for_verification(&mut tx, provider_id, &query).await?;
    tx.commit().await?;
    let base = tenant.base_url.as_ref();
    let entries: Vec<Value> = pacts
        .iter()
        .map(|p| verifiable_pact_body(base, p, query.include_pending_status, deprecated))
        .collect();
    Ok(HalBody(json!({
        "_embedded": { "pacts": entries },
        "_links": { "self": {
            "href": format!("{}{}", base.trim_end_matches('/'), uri.path()),
            "title": "Pacts to be verified",
        } },
    }))
    .into_response())
}

/// `POST /pacts/provider/{provider}/for-verification`: the pacts to verify for the selectors,
/// provider branch/tags, pending and WIP options in the body. A read: read-only tokens may.
pub async fn post_pacts_for_verification(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams(provider): PathParams<String>,
    JsonBytes(body): JsonBytes,
) -> Result<Response> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&body).map_err(|err| {
            Error::BadRequest(format!("the request body is not valid JSON: {err}"))
        })?
    };
    let unchecked = query::from_json(&value).map_err(Error::Validation)?;
    respond(&tenant, &uri, &provider, unchecked, false).await
}

/// `GET /pacts/provider/{provider}/for-verification` (deprecated; snake_case query, and every
/// pact carries a deprecation notice). Verifiers fetch it first for its `self` link.
pub async fn get_pacts_for_verification(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams(provider): PathParams<String>,
) -> Result<Response> {
    let unchecked = query::from_query(uri.query().unwrap_or_default());
    respond(&tenant, &uri, &provider, unchecked, true).await
}
