//! `GET /api/signups/{id}`: where a signup's tenant is, optionally waiting for it.
//!
//! `?wait=N` holds the request until the tenant is ready (or N seconds, at most 30, have
//! passed), so scripts need no loop. Waiting costs no queries: the request sleeps until the
//! process's one listener hears that this tenant changed ([`super::tenant_changes`]), and waiting
//! requests are rate-limited per client IP (`RATE_LIMIT_SIGNUP_WAIT`).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use provisioning::registry;
use provisioning::{Subdomain, TenantId, TenantStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::body::QueryParams;
use crate::client_ip::ClientIp;
use crate::error::{Error, Result};
use crate::signup::tenant_changes::FALLBACK_CHECK;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Seconds to wait for the tenant to become ready.
    wait: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupStatus {
    #[schema(value_type = Uuid)]
    tenant_id: TenantId,
    subdomain: String,
    /// `requested`, `database_created`, `schema_applied`, `key_created`, `active`, `failed` or `suspended`.
    #[schema(value_type = String)]
    status: TenantStatus,
    /// Whether the signup e-mail address has been confirmed.
    confirmed: bool,
    /// Provisioned and confirmed: the tenant API serves it.
    ready: bool,
    base_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

const MAX_WAIT: Duration = Duration::from_secs(30);

/// Where a signup's tenant is in provisioning.
#[utoipa::path(
    get, path = "/api/signups/{id}", tag = "signup",
    params(("id" = Uuid, Path, description = "The tenant id from the signup answer"), StatusQuery),
    responses((status = 200, description = "Where the signup is", body = SignupStatus)),
)]
pub async fn get_signup(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<StatusQuery>,
) -> Result<impl IntoResponse> {
    let not_found = || Error::NotFound(format!("no signup {id:?}"));
    let tenant_id = Uuid::parse_str(&id)
        .map(TenantId)
        .map_err(|_| not_found())?;
    let wait = Duration::from_secs(query.wait.unwrap_or(0)).min(MAX_WAIT);
    if !wait.is_zero() {
        state
            .limiter
            .check(
                &format!("signup-wait:ip:{}", ip.key()),
                state.config.rate_limit_signup_wait,
            )
            .await?;
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut changes = state.tenant_changes.subscribe();
    loop {
        let tenant = registry::find(&state.db, tenant_id)
            .await?
            .ok_or_else(not_found)?;
        let confirmed = tenant.confirmed_at.is_some();
        let status = tenant.status();
        let ready = tenant.is_ready();
        if ready
            || !(status.is_provisioning() || status == TenantStatus::Active)
            || tokio::time::Instant::now() >= deadline
        {
            let subdomain = Subdomain::parse(&tenant.subdomain)
                .map_err(|e| anyhow::anyhow!("stored subdomain: {e}"))?;
            let body = SignupStatus {
                tenant_id,
                subdomain: tenant.subdomain.clone(),
                status,
                confirmed,
                ready,
                base_url: state.config.tenant_urls.base_url(&subdomain),
                message: (status == TenantStatus::Failed).then_some(
                    "provisioning failed; the operators have been alerted and will retry it",
                ),
            };
            return Ok(Json(body));
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        changes.changed(tenant_id, left.min(FALLBACK_CHECK)).await;
    }
}
