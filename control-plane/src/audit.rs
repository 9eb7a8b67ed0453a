//! The audit log: every security-relevant event of a tenant (signup, confirmation, logins,
//! invitations, role changes, tokens, plan changes, payment failures and recoveries) with its
//! actor (Stripe's events are recorded as the actor `stripe`), time, source IP and target;
//! and `GET /api/audit` for administrators, filtered by `since`, `type` and `actor`, paginated
//! by an opaque cursor (at most 100 events a page), oldest first.
//!
//! Events are written in the transaction of the change they describe, so the log cannot claim
//! something that did not happen, nor miss something that did. Details never hold secrets.

use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use provisioning::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::client_ip::ClientIp;
use crate::error::{Error, Result};
use crate::identity::current_user::{Administrator, CurrentUser};
use crate::state::AppState;

/// Who did it, and from where.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub label: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn user(user: &CurrentUser, ip: &ClientIp) -> Self {
        Self {
            id: Some(user.user_id),
            label: Some(user.email.clone()),
            ip: ip.text(),
        }
    }

    /// Someone not (yet) signed in, known by what they claimed to be.
    pub fn anonymous(label: Option<&str>, ip: &ClientIp) -> Self {
        Self {
            id: None,
            label: label.map(str::to_owned),
            ip: ip.text(),
        }
    }

    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = Some(id);
        self
    }
}

/// Records one event; the caller owns the transaction.
pub async fn record(
    db: impl PgExecutor<'_>,
    tenant: TenantId,
    actor: &Actor,
    kind: &str,
    target: Option<&str>,
    details: Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_event (tenant_id, type, actor_id, actor_label, source_ip, target, details)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant)
    .bind(kind)
    .bind(actor.id)
    .bind(actor.label.as_deref())
    .bind(actor.ip.as_deref())
    .bind(target)
    .bind(details)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    since: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    /// An actor's id or e-mail address.
    actor: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventResponse {
    #[serde(skip)]
    audit_event_id: i64,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    kind: String,
    occurred_at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor_label: Option<String>,
    source_ip: Option<String>,
    target: Option<String>,
    details: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    events: Vec<AuditEventResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub const MAX_PAGE: i64 = 100;

/// `GET /api/audit`: the tenant's audit events, oldest first.
#[utoipa::path(
    get, path = "/api/audit", tag = "audit", security(("session" = [])),
    params(AuditQuery),
    responses((status = 200, description = "A page of audit events, oldest first", body = AuditPage)),
)]
pub async fn list_audit_events(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>> {
    let limit = match query.limit.as_deref() {
        None => 50,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => return Err(Error::field("limit", format!("must be 1 to {MAX_PAGE}"))),
        },
    };
    let since = query
        .since
        .as_deref()
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| {
                    Error::field(
                        "since",
                        "must be an RFC 3339 time, e.g. 2026-11-23T10:00:00Z",
                    )
                })
        })
        .transpose()?;
    let after = query
        .cursor
        .as_deref()
        .map(|text| {
            text.strip_prefix("ae")
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| Error::field("cursor", "is not a cursor from a previous page"))
        })
        .transpose()?
        .unwrap_or(0);
    let (actor_id, actor_label) = match query.actor.as_deref() {
        None => (None, None),
        Some(text) => match Uuid::parse_str(text) {
            Ok(id) => (Some(id), None),
            Err(_) => (None, Some(text.to_lowercase())),
        },
    };
    let mut events: Vec<AuditEventResponse> = sqlx::query_as(
        "select audit_event_id, type, occurred_at, actor_id, actor_label, source_ip, target, details
         from audit_event
         where tenant_id = $1 and audit_event_id > $2
           and ($3::timestamptz is null or occurred_at >= $3)
           and ($4::text is null or type = $4)
           and ($5::uuid is null or actor_id = $5)
           and ($6::text is null or lower(actor_label) = $6)
         order by audit_event_id
         limit $7",
    )
    .bind(admin.tenant_id)
    .bind(after)
    .bind(since)
    .bind(query.kind.as_deref())
    .bind(actor_id)
    .bind(actor_label)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    let next_cursor = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| format!("ae{}", e.audit_event_id))
    } else {
        None
    };
    Ok(Json(AuditPage {
        events,
        next_cursor,
    }))
}
