//! API tokens for the broker API: several named tokens per principal (person or system
//! account), each read-only or read-write, with an optional expiry; shown once, stored only as a
//! SHA-256 hash ([`provisioning::api_token`]), revocable, and rotatable (a new secret under the
//! same id; the old one stops working at once). Last-used times are written in batches by the
//! tenant API.
//!
//! `/api/settings/tokens` is a person's own tokens; `system_accounts` reuses the functions here
//! for the tokens administrators manage for CI. A token's scope never exceeds its principal's
//! role: a viewer cannot create a read-write token, and the tenant API's grant view caps any
//! token of a viewer to read-only.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use provisioning::api_token::{ApiToken, TokenScope};
use provisioning::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::body::{path_id, JsonOrForm};
use crate::client_ip::ClientIp;
use crate::error::{Error, FieldErrors, Result};
use crate::identity::current_user::CurrentUser;
use crate::identity::role::Role;
use crate::state::AppState;

/// Live tokens one principal may hold.
pub const MAX_TOKENS_PER_PRINCIPAL: i64 = 25;
const MAX_NAME: usize = 100;

/// A token as listed (never its secret).
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    #[sqlx(rename = "api_token_id")]
    pub id: Uuid,
    pub name: String,
    pub scope: String,
    /// The first characters, to tell tokens apart.
    #[sqlx(rename = "display_prefix")]
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A token just created or rotated: the only response that carries its value.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenCreated {
    #[serde(flatten)]
    pub token: TokenResponse,
    /// Shown once; only its hash is kept.
    pub value: String,
}

/// `POST …/tokens` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({"name": "ci", "scope": "read-write", "expiresInDays": 90}))]
pub struct CreateTokenRequest {
    name: Option<String>,
    /// `read-only` or `read-write`.
    scope: Option<String>,
    /// RFC 3339 time after which the token stops working.
    expires_at: Option<String>,
    /// Alternatively, days from now.
    expires_in_days: Option<i64>,
}

pub struct ValidToken {
    name: String,
    scope: TokenScope,
    expires_at: Option<DateTime<Utc>>,
}

impl CreateTokenRequest {
    pub fn validate(self) -> Result<ValidToken> {
        let mut errors = FieldErrors::new();
        let name = self.name.unwrap_or_default().trim().to_owned();
        if name.is_empty() {
            errors.entry("name").or_default().push("is required".into());
        } else if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            errors
                .entry("name")
                .or_default()
                .push(format!("must be at most {MAX_NAME} printable characters"));
        }
        let scope = match self.scope.as_deref() {
            None => {
                errors
                    .entry("scope")
                    .or_default()
                    .push("is required (read-only or read-write)".into());
                None
            }
            Some(text) => match text.parse::<TokenScope>() {
                Ok(scope) => Some(scope),
                Err(_) => {
                    errors
                        .entry("scope")
                        .or_default()
                        .push("must be read-only or read-write".into());
                    None
                }
            },
        };
        let expires_at = match (self.expires_at.as_deref(), self.expires_in_days) {
            (Some(_), Some(_)) => {
                errors
                    .entry("expiresAt")
                    .or_default()
                    .push("give expiresAt or expiresInDays, not both".into());
                None
            }
            (Some(text), None) => match DateTime::parse_from_rfc3339(text) {
                Ok(at) if at.with_timezone(&Utc) > Utc::now() => Some(at.with_timezone(&Utc)),
                Ok(_) => {
                    errors
                        .entry("expiresAt")
                        .or_default()
                        .push("must be in the future".into());
                    None
                }
                Err(_) => {
                    errors
                        .entry("expiresAt")
                        .or_default()
                        .push("must be an RFC 3339 time".into());
                    None
                }
            },
            (None, Some(days)) if (1..=3650).contains(&days) => {
                Some(Utc::now() + ChronoDuration::days(days))
            }
            (None, Some(_)) => {
                errors
                    .entry("expiresInDays")
                    .or_default()
                    .push("must be between 1 and 3650".into());
                None
            }
            (None, None) => None,
        };
        match scope {
            Some(scope) if errors.is_empty() => Ok(ValidToken {
                name,
                scope,
                expires_at,
            }),
            _ => Err(Error::Validation(errors)),
        }
    }
}

const COLUMNS: &str =
    "api_token_id, name, scope, display_prefix, created_at, expires_at, last_used_at";

/// The live (unrevoked) tokens of a principal.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    principal: Uuid,
) -> Result<Vec<TokenResponse>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from api_token
         where tenant_id = $1 and user_id = $2 and revoked_at is null
         order by created_at, api_token_id"
    ))
    .bind(tenant)
    .bind(principal)
    .fetch_all(conn)
    .await?)
}

/// Creates a token for `principal` (holding `role`); the caller owns the transaction.
pub async fn create(
    conn: &mut PgConnection,
    tenant: TenantId,
    principal: Uuid,
    role: Role,
    token: ValidToken,
    actor: &Actor,
) -> Result<TokenCreated> {
    if !role.allows(token.scope) {
        return Err(Error::ScopeExceedsRole {
            role: role.to_string(),
            scope: token.scope.as_str(),
        });
    }
    // Serialise token creation per principal, so the count below holds.
    sqlx::query("select 1 from app_user where user_id = $1 for update")
        .bind(principal)
        .execute(&mut *conn)
        .await?;
    let live: i64 = sqlx::query_scalar(
        "select count(*) from api_token where user_id = $1 and revoked_at is null",
    )
    .bind(principal)
    .fetch_one(&mut *conn)
    .await?;
    if live >= MAX_TOKENS_PER_PRINCIPAL {
        return Err(Error::Conflict {
            code: "too_many_tokens",
            message: format!(
                "a principal may hold at most {MAX_TOKENS_PER_PRINCIPAL} live tokens; revoke one first"
            ),
        });
    }
    let secret = ApiToken::generate();
    let created: TokenResponse = sqlx::query_as(&format!(
        "insert into api_token (api_token_id, tenant_id, user_id, name, scope, token_hash, display_prefix, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         returning {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(tenant)
    .bind(principal)
    .bind(&token.name)
    .bind(token.scope.as_str())
    .bind(secret.hash().0.as_slice())
    .bind(secret.display_prefix())
    .bind(token.expires_at)
    .fetch_one(&mut *conn)
    .await?;
    audit::record(
        &mut *conn,
        tenant,
        actor,
        "token_created",
        Some(&created.id.to_string()),
        json!({"principal": principal, "name": created.name, "scope": created.scope, "expiresAt": created.expires_at}),
    )
    .await?;
    Ok(TokenCreated {
        token: created,
        value: secret.reveal().to_owned(),
    })
}

/// Revokes one of `principal`'s tokens; unknown ids (or another principal's) are 404.
pub async fn revoke(
    conn: &mut PgConnection,
    tenant: TenantId,
    principal: Uuid,
    token: Uuid,
    actor: &Actor,
) -> Result<()> {
    let revoked = sqlx::query(
        "update api_token set revoked_at = now()
         where api_token_id = $1 and tenant_id = $2 and user_id = $3 and revoked_at is null",
    )
    .bind(token)
    .bind(tenant)
    .bind(principal)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if revoked == 0 {
        return Err(Error::NotFound(format!("no live token {token}")));
    }
    record_token_event(conn, tenant, actor, "token_revoked", token, principal).await?;
    Ok(())
}

/// Gives one of `principal`'s tokens a new secret; the old one stops working at once.
pub async fn rotate(
    conn: &mut PgConnection,
    tenant: TenantId,
    principal: Uuid,
    token: Uuid,
    actor: &Actor,
) -> Result<TokenCreated> {
    let secret = ApiToken::generate();
    let rotated: Option<TokenResponse> = sqlx::query_as(&format!(
        "update api_token set token_hash = $4, display_prefix = $5, last_used_at = null
         where api_token_id = $1 and tenant_id = $2 and user_id = $3 and revoked_at is null
         returning {COLUMNS}"
    ))
    .bind(token)
    .bind(tenant)
    .bind(principal)
    .bind(secret.hash().0.as_slice())
    .bind(secret.display_prefix())
    .fetch_optional(&mut *conn)
    .await?;
    let rotated = rotated.ok_or_else(|| Error::NotFound(format!("no live token {token}")))?;
    record_token_event(conn, tenant, actor, "token_rotated", token, principal).await?;
    Ok(TokenCreated {
        token: rotated,
        value: secret.reveal().to_owned(),
    })
}

/// The audit event of a change to one of `principal`'s tokens, named by the token's id.
async fn record_token_event(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    kind: &str,
    token: Uuid,
    principal: Uuid,
) -> Result<()> {
    audit::record(
        &mut *conn,
        tenant,
        actor,
        kind,
        Some(&token.to_string()),
        json!({"principal": principal}),
    )
    .await?;
    Ok(())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenList {
    tokens: Vec<TokenResponse>,
}

/// `GET /api/settings/tokens`: the signed-in person's live tokens.
#[utoipa::path(
    get, path = "/api/settings/tokens", tag = "tokens", security(("session" = [])),
    responses((status = 200, description = "The signed-in person's live tokens", body = TokenList)),
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<TokenList>> {
    let mut conn = state.db.acquire().await?;
    let tokens = list(&mut conn, user.tenant_id, user.user_id).await?;
    Ok(Json(TokenList { tokens }))
}

/// `POST /api/settings/tokens`: a new token for the signed-in person, shown once.
#[utoipa::path(
    post, path = "/api/settings/tokens", tag = "tokens", security(("session" = [], "csrf" = [])),
    request_body(content((CreateTokenRequest = "application/json"), (CreateTokenRequest = "application/x-www-form-urlencoded"))),
    responses((status = 201, description = "The new token, with its value (shown once)", body = TokenCreated,
        headers(("Location" = String, description = "The token's URL")))),
)]
pub async fn create_token(
    State(state): State<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<CreateTokenRequest>,
) -> Result<impl IntoResponse> {
    let token = request.validate()?;
    let mut tx = state.db.begin().await?;
    let created = create(
        &mut tx,
        user.tenant_id,
        user.user_id,
        user.role,
        token,
        &Actor::user(&user, &ip),
    )
    .await?;
    tx.commit().await?;
    let location = format!("/api/settings/tokens/{}", created.token.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    ))
}

/// `DELETE /api/settings/tokens/{id}`: revokes one of the signed-in person's tokens.
#[utoipa::path(
    delete, path = "/api/settings/tokens/{id}", tag = "tokens", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked")),
)]
pub async fn delete_token(
    State(state): State<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let token = path_id(&id, "token")?;
    let mut tx = state.db.begin().await?;
    revoke(
        &mut tx,
        user.tenant_id,
        user.user_id,
        token,
        &Actor::user(&user, &ip),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/settings/tokens/{id}/regenerate`: a new secret for one of the person's tokens.
#[utoipa::path(
    post, path = "/api/settings/tokens/{id}/regenerate", tag = "tokens", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 200, description = "The token with its new value (shown once)", body = TokenCreated)),
)]
pub async fn regenerate_token(
    State(state): State<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Json<TokenCreated>> {
    let token = path_id(&id, "token")?;
    let mut tx = state.db.begin().await?;
    let rotated = rotate(
        &mut tx,
        user.tenant_id,
        user.user_id,
        token,
        &Actor::user(&user, &ip),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(rotated))
}
