//! People and seats, for administrators: `GET /api/admin/users`, invite, change role, deactivate
//! and reactivate, remove — shaped like PactFlow's `/admin/users`.
//!
//! Every person holds a seat while not deactivated, a pending invitation included; the plan's
//! user limit is checked under the tenant's row lock (see `limits`). The last active
//! administrator can be neither demoted, deactivated nor removed. Deactivating or removing a
//! person ends their sessions and stops their tokens at once (the tenant API's grant view joins
//! the person, and a trigger tells it to forget cached grants). On a per-seat plan every change
//! of who holds a seat asks for the subscription's quantity to follow (`billing::seats`).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use provisioning::{registry, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::billing::limits::{self, Principal};
use crate::billing::seats;
use crate::body::{path_id, JsonOrForm, QueryParams};
use crate::client_ip::ClientIp;
use crate::email_address::EmailAddress;
use crate::error::{Error, FieldErrors, Result};
use crate::identity::current_user::{Administrator, CurrentUser};
use crate::identity::links::{self, Purpose};
use crate::identity::principals::{self, activation_change, is_printable_name, NAME_RULE};
use crate::identity::role::Role;
use crate::mail::Email;
use crate::state::AppState;

/// A person as administrators see them.
#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    #[sqlx(rename = "user_id")]
    pub id: Uuid,
    pub email: Option<String>,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// `invited` (no password yet), `active` or `deactivated`.
    pub status: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

pub const USER_COLUMNS: &str = "user_id, email, name, role,
    case when deactivated_at is not null then 'deactivated'
         when password_hash is null then 'invited' else 'active' end as status,
    deactivated_at is null as active, created_at, last_login_at";

pub async fn find_person(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<UserResponse> {
    sqlx::query_as(&format!(
        "select {USER_COLUMNS} from app_user where tenant_id = $1 and user_id = $2 and kind = 'person'"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::NotFound(format!("no user {id}")))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    active: Option<bool>,
    /// Part of an e-mail address or name.
    q: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserList {
    users: Vec<UserResponse>,
}

/// `GET /api/admin/users`.
#[utoipa::path(
    get, path = "/api/admin/users", tag = "users", security(("session" = [])),
    params(ListQuery),
    responses((status = 200, description = "The organisation's people", body = UserList)),
)]
pub async fn list_users(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<UserList>> {
    let users = sqlx::query_as(&format!(
        "select {USER_COLUMNS} from app_user
         where tenant_id = $1 and kind = 'person'
           and ($2::bool is null or (deactivated_at is null) = $2)
           and ($3::text is null or strpos(lower(email), lower($3)) > 0 or strpos(lower(name), lower($3)) > 0)
         order by created_at, user_id"
    ))
    .bind(admin.tenant_id)
    .bind(query.active)
    .bind(query.q.as_deref().filter(|q| !q.is_empty()))
    .fetch_all(&state.db)
    .await?;
    Ok(Json(UserList { users }))
}

/// `GET /api/admin/users/{id}`.
#[utoipa::path(
    get, path = "/api/admin/users/{id}", tag = "users", security(("session" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    responses((status = 200, description = "The person", body = UserResponse)),
)]
pub async fn get_user(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    Path(id): Path<String>,
) -> Result<Json<UserResponse>> {
    let id = path_id(&id, "user")?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(find_person(&mut conn, admin.tenant_id, id).await?))
}

/// `POST /api/admin/users/invite-user` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "dev@acme.example", "name": "Dev", "role": "user"}))]
pub struct InviteRequest {
    email: Option<String>,
    name: Option<String>,
    /// `administrator`, `user` (default) or `viewer`.
    role: Option<String>,
}

/// `POST /api/admin/users/invite-user`: takes a seat for the address and e-mails an invitation
/// link; inviting a pending invitee again sends a fresh link.
#[utoipa::path(
    post, path = "/api/admin/users/invite-user", tag = "users", security(("session" = [], "csrf" = [])),
    request_body(content((InviteRequest = "application/json"), (InviteRequest = "application/x-www-form-urlencoded"))),
    responses((status = 201, description = "Invited: a seat is taken and the invitation e-mailed", body = UserResponse,
        headers(("Location" = String, description = "The user's URL")))),
)]
pub async fn invite_user(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<InviteRequest>,
) -> Result<impl IntoResponse> {
    let invite = request.validate()?;
    let mut tx = state.db.begin().await?;
    let user_id = take_seat(&mut tx, &state, &admin, &invite).await?;
    let token = links::issue(
        &mut tx,
        admin.tenant_id,
        user_id,
        Purpose::AcceptInvitation,
        state.config.invitation_ttl(),
    )
    .await?;
    audit::record(
        &mut *tx,
        admin.tenant_id,
        &Actor::user(&admin, &ip),
        "user_invited",
        Some(&invite.email),
        json!({"userId": user_id, "role": invite.role}),
    )
    .await?;
    let organisation = registry::organisation(&mut *tx, admin.tenant_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let user = find_person(&mut tx, admin.tenant_id, user_id).await?;
    tx.commit().await?;
    state.billing.kick();

    let mail = invitation_mail(&state, &admin, invite, &organisation, &token);
    state.mailer.send_in_background(mail, "invitation");
    let location = format!("/api/admin/users/{user_id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(user),
    ))
}

/// An invitation that passed validation.
struct ValidInvite {
    email: String,
    name: String,
    role: Role,
}

impl InviteRequest {
    /// Every invalid field at once.
    fn validate(self) -> Result<ValidInvite> {
        let mut errors = FieldErrors::new();
        let email = EmailAddress::parse(self.email)
            .map_err(|message| errors.entry("email").or_default().push(message.into()))
            .ok();
        let name = self.name.unwrap_or_default().trim().to_owned();
        if !is_printable_name(&name) {
            errors.entry("name").or_default().push(NAME_RULE.into());
        }
        let role = match self.role.as_deref() {
            None => Some(Role::User),
            Some(text) => Role::parse_person(text),
        };
        if role.is_none() {
            errors
                .entry("role")
                .or_default()
                .push("must be administrator, user or viewer".into());
        }
        let (Some(role), Some(email)) = (role.filter(|_| errors.is_empty()), email) else {
            return Err(Error::Validation(errors));
        };
        Ok(ValidInvite {
            email: email.into_string(),
            name,
            role,
        })
    }
}

/// The invitee's account, under the tenant's row lock: a pending invitee's is updated with the
/// new role and name; otherwise a new one takes a seat (if the plan has room). An address that
/// is already an active or deactivated user is a conflict.
async fn take_seat(
    tx: &mut PgConnection,
    state: &AppState,
    admin: &CurrentUser,
    invite: &ValidInvite,
) -> Result<Uuid> {
    let plan = limits::lock_tenant(tx, admin.tenant_id).await?;
    let existing: Option<(Uuid, bool)> = sqlx::query_as(
        "select user_id, password_hash is null and deactivated_at is null from app_user
         where tenant_id = $1 and lower(email) = lower($2)",
    )
    .bind(admin.tenant_id)
    .bind(&invite.email)
    .fetch_optional(&mut *tx)
    .await?;
    match existing {
        Some((id, true)) => {
            sqlx::query("update app_user set role = $2, name = $3 where user_id = $1")
                .bind(id)
                .bind(invite.role.as_str())
                .bind(&invite.name)
                .execute(&mut *tx)
                .await?;
            Ok(id)
        }
        Some(_) => Err(Error::Conflict {
            code: "user_exists",
            message: format!("{} is already a user of this organisation", invite.email),
        }),
        None => {
            limits::check_room_for(tx, state, admin.tenant_id, &plan, Principal::Person).await?;
            let id = Uuid::new_v4();
            sqlx::query(
                "insert into app_user (user_id, tenant_id, email, name, role, kind, invited_by)
                 values ($1, $2, $3, $4, $5, 'person', $6)",
            )
            .bind(id)
            .bind(admin.tenant_id)
            .bind(&invite.email)
            .bind(&invite.name)
            .bind(invite.role.as_str())
            .bind(admin.user_id)
            .execute(&mut *tx)
            .await?;
            seats::request_sync(tx, admin.tenant_id).await?;
            Ok(id)
        }
    }
}

/// The invitation e-mail, with the link's token.
fn invitation_mail(
    state: &AppState,
    admin: &CurrentUser,
    invite: ValidInvite,
    organisation: &str,
    token: &links::LinkToken,
) -> Email {
    let link = links::url(&state.config.public_url, "/api/invitations/accept", token);
    let days = state.config.invitation_ttl_hours / 24;
    let role = invite.role;
    Email {
        to: invite.email,
        subject: format!("You are invited to {organisation} on Treaty"),
        body: format!(
            "Hello,\n\n\
             {inviter} invited you to {organisation} on Treaty, the contract-testing broker, as {role}.\n\
             Accept by choosing a password with this link's token within {days} days:\n\n\
             {link}\n\n\
             (curl: curl {public}/api/invitations/accept --json '{{\"token\":\"{token}\",\"password\":\"…\",\"name\":\"…\"}}')\n\n\
             The link works once.\n",
            inviter = admin.email,
            public = state.config.public_url.trim_end_matches('/'),
            token = token.as_str(),
        ),
        message_id: None,
    }
}

/// `PUT /api/admin/users/{id}` body: any of the fields.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "viewer"}))]
pub struct UpdateUserRequest {
    name: Option<String>,
    role: Option<String>,
    active: Option<bool>,
}

/// Refuses to leave the tenant without an active administrator who can sign in.
async fn keep_an_administrator(
    conn: &mut PgConnection,
    tenant: TenantId,
    leaving: Uuid,
) -> Result<()> {
    let others: i64 = sqlx::query_scalar(
        "select count(*) from app_user
         where tenant_id = $1 and user_id <> $2 and role = 'administrator'
           and deactivated_at is null and password_hash is not null",
    )
    .bind(tenant)
    .bind(leaving)
    .fetch_one(conn)
    .await?;
    if others == 0 {
        return Err(Error::Conflict {
            code: "last_administrator",
            message: "the organisation's last administrator cannot be removed, deactivated or demoted; make someone else an administrator first".into(),
        });
    }
    Ok(())
}

/// `PUT /api/admin/users/{id}`: rename, change role, deactivate (`active: false`) or
/// reactivate.
#[utoipa::path(
    put, path = "/api/admin/users/{id}", tag = "users", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body(content((UpdateUserRequest = "application/json"), (UpdateUserRequest = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "The person as changed", body = UserResponse)),
)]
pub async fn update_user(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    Path(id): Path<String>,
    JsonOrForm(request): JsonOrForm<UpdateUserRequest>,
) -> Result<Json<UserResponse>> {
    let id = path_id(&id, "user")?;
    let role = match request.role.as_deref() {
        None => None,
        Some(text) => Some(
            Role::parse_person(text)
                .ok_or_else(|| Error::field("role", "must be administrator, user or viewer"))?,
        ),
    };
    if let Some(name) = &request.name {
        if !is_printable_name(name) {
            return Err(Error::field("name", NAME_RULE));
        }
    }
    let mut tx = state.db.begin().await?;
    let plan = limits::lock_tenant(&mut tx, admin.tenant_id).await?;
    let before = find_person(&mut tx, admin.tenant_id, id).await?;
    let actor = Actor::user(&admin, &ip);
    let target = before.email.clone().unwrap_or_default();
    let demoted =
        before.role == Role::Administrator && role.is_some_and(|r| r != Role::Administrator);
    let deactivated = before.active && request.active == Some(false);
    if before.role == Role::Administrator && (demoted || deactivated) {
        keep_an_administrator(&mut tx, admin.tenant_id, id).await?;
    }
    if !before.active && request.active == Some(true) {
        limits::check_room_for(&mut tx, &state, admin.tenant_id, &plan, Principal::Person).await?;
    }
    principals::update(
        &mut tx,
        id,
        request.name.as_deref().map(str::trim),
        role.map(Role::as_str),
        request.active,
    )
    .await?;
    if let Some(role) = role.filter(|r| *r != before.role) {
        audit::record(
            &mut *tx,
            admin.tenant_id,
            &actor,
            "user_role_changed",
            Some(&target),
            json!({"userId": id, "from": before.role, "to": role}),
        )
        .await?;
    }
    if let Some(active) = activation_change(before.active, request.active) {
        let kind = if active {
            "user_reactivated"
        } else {
            "user_deactivated"
        };
        audit::record(
            &mut *tx,
            admin.tenant_id,
            &actor,
            kind,
            Some(&target),
            json!({"userId": id}),
        )
        .await?;
    }
    let after = find_person(&mut tx, admin.tenant_id, id).await?;
    if after.active != before.active {
        seats::request_sync(&mut tx, admin.tenant_id).await?;
    }
    tx.commit().await?;
    state.billing.kick();
    Ok(Json(after))
}

/// `DELETE /api/admin/users/{id}`: removes the person, their tokens and sessions.
#[utoipa::path(
    delete, path = "/api/admin/users/{id}", tag = "users", security(("session" = [], "csrf" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    responses((status = 204, description = "Removed, with their tokens and sessions")),
)]
pub async fn delete_user(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = path_id(&id, "user")?;
    let mut tx = state.db.begin().await?;
    limits::lock_tenant(&mut tx, admin.tenant_id).await?;
    let before = find_person(&mut tx, admin.tenant_id, id).await?;
    if before.role == Role::Administrator && before.active {
        keep_an_administrator(&mut tx, admin.tenant_id, id).await?;
    }
    principals::remove(&mut tx, id).await?;
    audit::record(
        &mut *tx,
        admin.tenant_id,
        &Actor::user(&admin, &ip),
        "user_removed",
        before.email.as_deref(),
        json!({"userId": id}),
    )
    .await?;
    if before.active {
        seats::request_sync(&mut tx, admin.tenant_id).await?;
    }
    tx.commit().await?;
    state.billing.kick();
    Ok(StatusCode::NO_CONTENT)
}
