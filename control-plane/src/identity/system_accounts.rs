//! System accounts: non-human principals for CI, with role `ci` (read-write on the broker, no
//! user administration, no login), each with its own named tokens. Administrators manage them at
//! `/api/admin/system-accounts` (PactFlow's shape); the plan limits how many are active.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use provisioning::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::billing::limits::{self, Principal};
use crate::body::{path_id, JsonOrForm};
use crate::client_ip::ClientIp;
use crate::error::{Error, Result};
use crate::identity::api_tokens::{self, CreateTokenRequest, TokenCreated, TokenResponse};
use crate::identity::current_user::Administrator;
use crate::identity::principals::{self, activation_change, is_printable_name, NAME_RULE};
use crate::identity::role::Role;
use crate::state::AppState;

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemAccountResponse {
    #[sqlx(rename = "user_id")]
    id: Uuid,
    name: String,
    role: String,
    active: bool,
    created_at: DateTime<Utc>,
}

const COLUMNS: &str = "user_id, name, role, deactivated_at is null as active, created_at";

async fn find(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<SystemAccountResponse> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from app_user where tenant_id = $1 and user_id = $2 and kind = 'system'"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::NotFound(format!("no system account {id}")))
}

fn valid_name(name: Option<String>) -> Result<String> {
    let name = name.unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        return Err(Error::field("name", "is required"));
    }
    if !is_printable_name(&name) {
        return Err(Error::field("name", NAME_RULE));
    }
    Ok(name)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemAccountList {
    system_accounts: Vec<SystemAccountResponse>,
}

/// `GET /api/admin/system-accounts`.
#[utoipa::path(
    get, path = "/api/admin/system-accounts", tag = "system accounts", security(("session" = [])),
    responses((status = 200, description = "The organisation's system accounts", body = SystemAccountList)),
)]
pub async fn list_system_accounts(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
) -> Result<Json<SystemAccountList>> {
    let system_accounts = sqlx::query_as(&format!(
        "select {COLUMNS} from app_user where tenant_id = $1 and kind = 'system' order by created_at, user_id"
    ))
    .bind(admin.tenant_id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(SystemAccountList { system_accounts }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "ci-pipeline"}))]
pub struct CreateSystemAccountRequest {
    name: Option<String>,
}

/// `POST /api/admin/system-accounts`: 201 with `Location`.
#[utoipa::path(
    post, path = "/api/admin/system-accounts", tag = "system accounts", security(("session" = [], "csrf" = [])),
    request_body(content((CreateSystemAccountRequest = "application/json"), (CreateSystemAccountRequest = "application/x-www-form-urlencoded"))),
    responses((status = 201, description = "Created", body = SystemAccountResponse,
        headers(("Location" = String, description = "The system account's URL")))),
)]
pub async fn create_system_account(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<CreateSystemAccountRequest>,
) -> Result<impl IntoResponse> {
    let name = valid_name(request.name)?;
    let mut tx = state.db.begin().await?;
    let plan = limits::lock_tenant(&mut tx, admin.tenant_id).await?;
    limits::check_room_for(
        &mut tx,
        &state,
        admin.tenant_id,
        &plan,
        Principal::SystemAccount,
    )
    .await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into app_user (user_id, tenant_id, name, role, kind, invited_by)
         values ($1, $2, $3, 'ci', 'system', $4)",
    )
    .bind(id)
    .bind(admin.tenant_id)
    .bind(&name)
    .bind(admin.user_id)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        admin.tenant_id,
        &Actor::user(&admin, &ip),
        "system_account_created",
        Some(&name),
        json!({"systemAccountId": id}),
    )
    .await?;
    let account = find(&mut tx, admin.tenant_id, id).await?;
    tx.commit().await?;
    let location = format!("/api/admin/system-accounts/{id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(account),
    ))
}

/// `GET /api/admin/system-accounts/{id}`.
#[utoipa::path(
    get, path = "/api/admin/system-accounts/{id}", tag = "system accounts", security(("session" = [])),
    params(("id" = Uuid, Path, description = "The system account's id")),
    responses((status = 200, description = "The system account", body = SystemAccountResponse)),
)]
pub async fn get_system_account(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    Path(id): Path<String>,
) -> Result<Json<SystemAccountResponse>> {
    let id = path_id(&id, "system account")?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(find(&mut conn, admin.tenant_id, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "ci-pipeline", "active": true}))]
pub struct UpdateSystemAccountRequest {
    name: Option<String>,
    active: Option<bool>,
}

/// `PUT /api/admin/system-accounts/{id}`: rename, deactivate or reactivate.
#[utoipa::path(
    put, path = "/api/admin/system-accounts/{id}", tag = "system accounts", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The system account's id")),
    request_body(content((UpdateSystemAccountRequest = "application/json"), (UpdateSystemAccountRequest = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "The system account as changed", body = SystemAccountResponse)),
)]
pub async fn update_system_account(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    Path(id): Path<String>,
    JsonOrForm(request): JsonOrForm<UpdateSystemAccountRequest>,
) -> Result<Json<SystemAccountResponse>> {
    let id = path_id(&id, "system account")?;
    let name = request.name.map(|n| valid_name(Some(n))).transpose()?;
    let mut tx = state.db.begin().await?;
    let plan = limits::lock_tenant(&mut tx, admin.tenant_id).await?;
    let before = find(&mut tx, admin.tenant_id, id).await?;
    if !before.active && request.active == Some(true) {
        limits::check_room_for(
            &mut tx,
            &state,
            admin.tenant_id,
            &plan,
            Principal::SystemAccount,
        )
        .await?;
    }
    principals::update(&mut tx, id, name.as_deref(), None, request.active).await?;
    if let Some(active) = activation_change(before.active, request.active) {
        let kind = if active {
            "system_account_reactivated"
        } else {
            "system_account_deactivated"
        };
        audit::record(
            &mut *tx,
            admin.tenant_id,
            &Actor::user(&admin, &ip),
            kind,
            Some(&before.name),
            json!({"systemAccountId": id}),
        )
        .await?;
    }
    let after = find(&mut tx, admin.tenant_id, id).await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// `DELETE /api/admin/system-accounts/{id}`: removes it and its tokens.
#[utoipa::path(
    delete, path = "/api/admin/system-accounts/{id}", tag = "system accounts", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The system account's id")),
    responses((status = 204, description = "Removed, with its tokens")),
)]
pub async fn delete_system_account(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = path_id(&id, "system account")?;
    let mut tx = state.db.begin().await?;
    let before = find(&mut tx, admin.tenant_id, id).await?;
    principals::remove(&mut tx, id).await?;
    audit::record(
        &mut *tx,
        admin.tenant_id,
        &Actor::user(&admin, &ip),
        "system_account_removed",
        Some(&before.name),
        json!({"systemAccountId": id}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SystemAccountTokenList)]
pub struct TokenList {
    tokens: Vec<TokenResponse>,
}

/// `GET /api/admin/system-accounts/{id}/tokens`.
#[utoipa::path(
    get, path = "/api/admin/system-accounts/{id}/tokens", tag = "system accounts", security(("session" = [])),
    params(("id" = Uuid, Path, description = "The system account's id")),
    responses((status = 200, description = "The system account's live tokens", body = TokenList)),
)]
pub async fn list_system_account_tokens(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    Path(id): Path<String>,
) -> Result<Json<TokenList>> {
    let id = path_id(&id, "system account")?;
    let mut conn = state.db.acquire().await?;
    find(&mut conn, admin.tenant_id, id).await?;
    let tokens = api_tokens::list(&mut conn, admin.tenant_id, id).await?;
    Ok(Json(TokenList { tokens }))
}

/// `POST /api/admin/system-accounts/{id}/tokens`: a new token, shown once.
#[utoipa::path(
    post, path = "/api/admin/system-accounts/{id}/tokens", tag = "system accounts", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The system account's id")),
    request_body(content((CreateTokenRequest = "application/json"), (CreateTokenRequest = "application/x-www-form-urlencoded"))),
    responses((status = 201, description = "The new token, with its value (shown once)", body = TokenCreated,
        headers(("Location" = String, description = "The token's URL")))),
)]
pub async fn create_system_account_token(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    Path(id): Path<String>,
    JsonOrForm(request): JsonOrForm<CreateTokenRequest>,
) -> Result<impl IntoResponse> {
    let id = path_id(&id, "system account")?;
    let token = request.validate()?;
    let mut tx = state.db.begin().await?;
    let account = find(&mut tx, admin.tenant_id, id).await?;
    if !account.active {
        return Err(Error::Conflict {
            code: "principal_deactivated",
            message: "reactivate the system account before giving it tokens".into(),
        });
    }
    let created = api_tokens::create(
        &mut tx,
        admin.tenant_id,
        id,
        Role::Ci,
        token,
        &Actor::user(&admin, &ip),
    )
    .await?;
    tx.commit().await?;
    let location = format!(
        "/api/admin/system-accounts/{id}/tokens/{}",
        created.token.id
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    ))
}

/// `DELETE /api/admin/system-accounts/{id}/tokens/{token}`: revokes it.
#[utoipa::path(
    delete, path = "/api/admin/system-accounts/{id}/tokens/{token}", tag = "system accounts", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The system account's id"), ("token" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked")),
)]
pub async fn delete_system_account_token(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    Path((id, token)): Path<(String, String)>,
) -> Result<StatusCode> {
    let (id, token) = (path_id(&id, "system account")?, path_id(&token, "token")?);
    let mut tx = state.db.begin().await?;
    api_tokens::revoke(
        &mut tx,
        admin.tenant_id,
        id,
        token,
        &Actor::user(&admin, &ip),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/admin/system-accounts/{id}/tokens/{token}/regenerate`: a new secret.
#[utoipa::path(
    post, path = "/api/admin/system-accounts/{id}/tokens/{token}/regenerate", tag = "system accounts", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The system account's id"), ("token" = Uuid, Path, description = "The token's id")),
    responses((status = 200, description = "The token with its new value (shown once)", body = TokenCreated)),
)]
pub async fn regenerate_system_account_token(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    Path((id, token)): Path<(String, String)>,
) -> Result<Json<TokenCreated>> {
    let (id, token) = (path_id(&id, "system account")?, path_id(&token, "token")?);
    let mut tx = state.db.begin().await?;
    let rotated = api_tokens::rotate(
        &mut tx,
        admin.tenant_id,
        id,
        token,
        &Actor::user(&admin, &ip),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(rotated))
}
