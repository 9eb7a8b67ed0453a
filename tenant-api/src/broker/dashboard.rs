//! The dashboard (`GET /dashboard`, `GET /dashboard/provider/{p}/consumer/{c}`): the "head"
//! pacts — the latest of each integration, the latest for each consumer tag, and those of
//! consumer versions currently in an environment — with their latest verification, as HAL+JSON
//! (`DashboardDecorator`) or a text table. Paginated by `page`/`size` (or the legacy
//! `pageNumber`/`pageSize`); 30 items without them, as the broker's index service.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;

use super::badges::PseudoBranchStatus;
use super::http::extract::{PathParams, Query};
use super::http::hal::{self, HalBody};
use super::http::pagination::MAX_PAGE_SIZE;
use super::matrix::render::{format_date, table};
use super::matrix::{text_response, wants_text};
use super::store::matrix as matrix_store;
use super::store::reports::{self, BadgePact, BadgeVerification, DashboardItem};
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// The dashboard, whole or for one integration.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(get_dashboard)).route(
        "/dashboard/provider/{provider}/consumer/{consumer}",
        get(get_integration_dashboard),
    )
}

/// The page asked for: `(page, size)`.
fn pagination(query: &HashMap<String, String>) -> Result<(i64, i64)> {
    let mut errors = FieldErrors::new();
    let mut number = |key: &str| -> Option<i64> {
        let value = query.get(key)?;
        let is_size = key == "size" || key == "pageSize";
        match value.parse::<i64>() {
            Ok(n) if is_size && n > MAX_PAGE_SIZE => {
                errors.insert(
                    key.to_owned(),
                    vec![format!("must be less than or equal to {MAX_PAGE_SIZE}")],
                );
                None
            }
            Ok(n) if n >= 1 => Some(n),
            Ok(_) => {
                errors.insert(
                    key.to_owned(),
                    vec!["must be greater than or equal to 1".into()],
                );
                None
            }
            Err(_) => {
                errors.insert(key.to_owned(), vec!["must be an integer".into()]);
                None
            }
        }
    };
    let (page, size) = (number("page"), number("size"));
    let (legacy_page, legacy_size) = (number("pageNumber"), number("pageSize"));
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    Ok(
        if query.contains_key("page") || query.contains_key("size") {
            (page.unwrap_or(1), size.unwrap_or(100))
        } else if query.contains_key("pageNumber") || query.contains_key("pageSize") {
            (legacy_page.unwrap_or(1), legacy_size.unwrap_or(100))
        } else {
            (1, 30)
        },
    )
}

fn status(item: &DashboardItem) -> PseudoBranchStatus {
    let pact = BadgePact {
        consumer_name: String::new(),
        provider_name: String::new(),
        consumer_version_number: String::new(),
        revision_number: item.revision_number,
        sha: String::new(),
    };
    let verification = item.verification_success.map(|success| BadgeVerification {
        success,
        pact_pending: item.verification_pending,
        number: 0,
        // The dashboard's verification is of the item's own pact content: never stale.
        sha: String::new(),
        provider_version_number: String::new(),
    });
    PseudoBranchStatus::of(Some(&pact), verification.as_ref())
}

fn item_json(base: &str, item: &DashboardItem) -> Value {
    let (c, p) = (&item.consumer_name, &item.provider_name);
    let consumer_version_url = hal::url(
        base,
        &["pacticipants", c, "versions", &item.consumer_version_number],
    );
    let pact_url = hal::url(
        base,
        &[
            "pacts",
            "provider",
            p,
            "consumer",
            c,
            "version",
            &item.consumer_version_number,
        ],
    );
    let provider_version = match (&item.provider_version_number, &item.provider_branch_heads) {
        (Some(number), heads) => {
            let heads = heads.clone().unwrap_or_default();
            json!({ "number": number, "branch": heads.last(), "headBranchNames": heads })
        }
        _ => Value::Null,
    };
    let verification = match item.verification_success {
        Some(success) => json!({
            "success": success,
            "verifiedAt": item.verification_created_at.as_ref().map(format_date),
            "_links": { "self": { "href": format!("{pact_url}/verification-results/latest") } }
        }),
        None => Value::Null,
    };
    let tag_json = |pacticipant: &str, number: &str, name: &str, latest: bool| {
        json!({
            "name": name,
            "latest": latest,
            "_links": { "self": { "href": hal::url(base, &["pacticipants", pacticipant, "versions", number, "tags", name]) } }
        })
    };
    json!({
        "consumer": {
            "name": c,
            "version": {
                "number": item.consumer_version_number,
                "branch": item.consumer_branch_heads.last(),
                "headBranchNames": item.consumer_branch_heads,
                "_links": { "self": { "href": consumer_version_url } }
            },
            "_links": { "self": { "href": hal::url(base, &["pacticipants", c]) } }
        },
        "provider": {
            "name": p,
            "version": provider_version,
            "_links": { "self": { "href": hal::url(base, &["pacticipants", p]) } }
        },
        "pact": {
            "createdAt": format_date(&item.pact_created_at),
            "_links": { "self": { "href": pact_url } }
        },
        "pactTags": item.head_tags.iter().map(|t| tag_json(c, &item.consumer_version_number, t, true)).collect::<Vec<_>>(),
        "latestVerificationResult": verification,
        "latestVerificationResultTags": item.provider_version_number.as_deref().map(|number| {
            item.provider_head_tags.iter().map(|t| tag_json(p, number, t, true)).collect::<Vec<_>>()
        }).unwrap_or_default(),
        "verificationStatus": status(item).as_str(),
        "webhookStatus": "none",
        "latestWebhookExecution": Value::Null,
        "_links": {
            "pb:webhook-status": {
                "title": format!("Status of webhooks for {c}/{p} pact"),
                "href": hal::url(base, &["pacts", "provider", p, "consumer", c, "webhooks", "status"]),
            }
        }
    })
}

async fn dashboard(
    tenant: TenantContext,
    headers: HeaderMap,
    query: HashMap<String, String>,
    integration: Option<(String, String)>,
) -> Result<Response> {
    let (page, size) = pagination(&query)?;
    let mut conn = tenant.db().await?;
    if let Some((consumer, provider)) = &integration {
        for name in [consumer, provider] {
            if matrix_store::pacticipant_id(&mut conn, name)
                .await?
                .is_none()
            {
                return Err(Error::NotFound(format!(
                    "No pacticipant with name '{name}' found"
                )));
            }
        }
    }
    let items = reports::dashboard(
        &mut conn,
        integration.as_ref().map(|(c, p)| (c.as_str(), p.as_str())),
        page,
        size,
    )
    .await?;
    if wants_text(&headers) {
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|item| {
                vec![
                    item.consumer_name.clone(),
                    item.consumer_version_number.clone(),
                    item.head_tags.join(", "),
                    item.provider_name.clone(),
                    item.provider_version_number.clone().unwrap_or_default(),
                    item.provider_head_tags.join(", "),
                    status(item).as_str().to_owned(),
                ]
            })
            .collect();
        return Ok(text_response(
            table(
                &[
                    "consumer_name",
                    "c_version",
                    "c_tags",
                    "provider_name",
                    "p_version",
                    "p_tags",
                    "success",
                ],
                &rows,
            ) + "\n",
        ));
    }
    // Newest activity first (the pact, or its verification if later).
    let mut sorted: Vec<&DashboardItem> = items.iter().collect();
    let activity = |item: &DashboardItem| {
        item.verification_executed_at
            .map_or(item.pact_created_at, |v| v.max(item.pact_created_at))
    };
    sorted.sort_by_key(|item| std::cmp::Reverse(activity(item)));
    let items: Vec<Value> = sorted
        .into_iter()
        .map(|item| item_json(&tenant.base_url, item))
        .collect();
    Ok(HalBody(json!({ "items": items })).into_response())
}

/// `GET /dashboard`.
pub async fn get_dashboard(
    tenant: TenantContext,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response> {
    dashboard(tenant, headers, query, None).await
}

/// `GET /dashboard/provider/{provider}/consumer/{consumer}`.
pub async fn get_integration_dashboard(
    tenant: TenantContext,
    headers: HeaderMap,
    PathParams((provider, consumer)): PathParams<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response> {
    dashboard(tenant, headers, query, Some((consumer, provider))).await
}
