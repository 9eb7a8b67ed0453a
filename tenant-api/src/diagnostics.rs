//! `/diagnostic/status/heartbeat` and `/diagnostic/status/dependencies`, as the Pact Broker has
//! them.
//!
//! The heartbeat answers on any host, without authentication and without touching a database,
//! so load balancers can use it even while a database is down. The dependencies check reports
//! the control database, Redis (when configured) and — on a tenant's host, for an authenticated
//! caller — that tenant's database; it answers 503 when any of them is down. On a bare host,
//! where nobody authenticates, it says only ok or failed: error texts would tell an anonymous
//! caller the names of hosts, users and databases.

use std::time::Duration;

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sqlx::Executor;

use crate::error::Error;
use crate::gate;
use crate::host::{self, HostTarget};
use crate::media::HalBody;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

fn base_url(state: &AppState, parts: &Parts) -> String {
    host::request_host(
        parts,
        state.config.trust_forwarded_headers,
        &state.config.tenant_urls.scheme,
    )
    .ok()
    .flatten()
    .map(|h| h.base_url)
    .unwrap_or_default()
}

/// `GET /diagnostic/status/heartbeat`.
#[utoipa::path(
    get,
    path = "/diagnostic/status/heartbeat",
    tag = "platform",
    responses((status = 200, description = "The tenant API is up (answered without touching a database)",
        content_type = "application/hal+json", body = serde_json::Value,
        example = json!({"ok": true, "_links": {"self": {"href": "https://acme.pactbroker.example/diagnostic/status/heartbeat"}}}))),
)]
pub async fn heartbeat(State(state): State<AppState>, parts: Parts) -> HalBody {
    let href = format!("{}/diagnostic/status/heartbeat", base_url(&state, &parts));
    HalBody(json!({ "ok": true, "_links": { "self": { "href": href } } }))
}

/// One check's entry. Only an authenticated caller on a tenant's host (`detailed`) learns why a
/// check failed: error texts name hosts, users and databases.
fn outcome<E: std::fmt::Display>(
    result: Result<Result<(), E>, tokio::time::error::Elapsed>,
    detailed: bool,
) -> Value {
    match result {
        Ok(Ok(())) => json!({ "ok": true }),
        _ if !detailed => json!({ "ok": false }),
        Ok(Err(err)) => json!({ "ok": false, "error": { "message": err.to_string() } }),
        Err(_) => json!({ "ok": false, "error": { "message": "timed out" } }),
    }
}

/// `GET /diagnostic/status/dependencies`.
#[utoipa::path(
    get,
    path = "/diagnostic/status/dependencies",
    tag = "platform",
    responses(
        (status = 200, description = "Every dependency answers: the router database, Redis when configured, and on a tenant's host (authenticated) the tenant's database",
            content_type = "application/hal+json", body = serde_json::Value,
            example = json!({"controlDatabase": {"ok": true}, "redis": {"ok": true}, "_links": {"self": {"href": "https://acme.pactbroker.example/diagnostic/status/dependencies"}}})),
        (status = 503, description = "A dependency is down", content_type = "application/hal+json", body = serde_json::Value),
    ),
)]
pub async fn dependencies(State(state): State<AppState>, parts: Parts) -> Result<Response, Error> {
    let base = base_url(&state, &parts);
    let on_tenant_host = host::request_host(
        &parts,
        state.config.trust_forwarded_headers,
        &state.config.tenant_urls.scheme,
    )
    .ok()
    .flatten()
    .map(|h| host::target(&h.name, &state.config.tenant_urls.base_domain))
    .is_some_and(|t| !matches!(t, HostTarget::Bare));

    let mut report = serde_json::Map::new();
    let control = tokio::time::timeout(CHECK_TIMEOUT, async {
        state.router_db.execute("select 1").await.map(drop)
    })
    .await;
    // On a tenant's host the report is only sent once the caller has authenticated (below).
    let detailed = on_tenant_host;
    report.insert("controlDatabase".into(), outcome(control, detailed));
    if let Some(redis) = state.directory.redis() {
        report.insert(
            "redis".into(),
            outcome(
                tokio::time::timeout(CHECK_TIMEOUT, redis.ping()).await,
                detailed,
            ),
        );
    }
    if on_tenant_host {
        let context = gate::resolve(&state, &parts).await?;
        let tenant = tokio::time::timeout(CHECK_TIMEOUT, async {
            let mut conn = context
                .db()
                .await
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            conn.execute("select 1").await?;
            anyhow::Ok(())
        })
        .await;
        report.insert("database".into(), outcome(tenant, detailed));
    }
    let healthy = report.values().all(|check| check["ok"] == json!(true));
    report.insert(
        "_links".into(),
        json!({ "self": { "href": format!("{base}/diagnostic/status/dependencies") } }),
    );
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, HalBody(Value::Object(report))).into_response())
}
