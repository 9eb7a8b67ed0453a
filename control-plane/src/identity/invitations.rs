//! Accepting an invitation: the invitee shows the link's token (`GET /api/invitations/accept`
//! tells them what it is for without using it up) and chooses a password (`POST`), which
//! activates their account — once; the address is thereby confirmed.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, Actor};
use crate::body::{JsonOrForm, QueryParams};
use crate::client_ip::ClientIp;
use crate::email_address::limit_link_use;
use crate::error::{Error, FieldErrors, Result};
use crate::identity::link_password;
use crate::identity::links::{self, Purpose};
use crate::identity::principals::{is_printable_name, NAME_RULE};
use crate::identity::role::Role;
use crate::identity::users::{find_person, UserResponse};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenParam {
    token: Option<String>,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationResponse {
    email: Option<String>,
    organisation: String,
    subdomain: String,
    #[sqlx(try_from = "String")]
    role: Role,
    expires_at: DateTime<Utc>,
}

/// `GET /api/invitations/accept?token=…`: what the invitation is for (does not use it up).
#[utoipa::path(
    get, path = "/api/invitations/accept", tag = "users",
    params(TokenParam),
    responses((status = 200, description = "What the invitation is for", body = InvitationResponse)),
)]
pub async fn get_invitation(
    State(state): State<AppState>,
    ip: ClientIp,
    QueryParams(params): QueryParams<TokenParam>,
) -> Result<Json<InvitationResponse>> {
    limit_link_use(&state, &ip).await?;
    let token = params.token.unwrap_or_default();
    let mut conn = state.db.acquire().await?;
    let link = links::peek(&mut conn, &token, Purpose::AcceptInvitation)
        .await?
        .ok_or(Error::LinkInvalid)?;
    let invitation = sqlx::query_as(
        "select u.email, t.organisation, t.subdomain, u.role, l.expires_at
         from app_user u join tenant t using (tenant_id)
         join email_link l on l.user_id = u.user_id and l.purpose = 'accept_invitation' and l.used_at is null
         where u.user_id = $1
         order by l.created_at desc limit 1",
    )
    .bind(link.user_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::LinkInvalid)?;
    Ok(Json(invitation))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    token: Option<String>,
    password: Option<String>,
    name: Option<String>,
}

/// `POST /api/invitations/accept`: sets the invitee's password (and name), activating them.
#[utoipa::path(
    post, path = "/api/invitations/accept", tag = "users",
    request_body(content((AcceptRequest = "application/json"), (AcceptRequest = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "The invitee is active and can sign in", body = UserResponse)),
)]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<AcceptRequest>,
) -> Result<Json<UserResponse>> {
    limit_link_use(&state, &ip).await?;
    let mut errors = FieldErrors::new();
    let (token, password) = link_password::required(request.token, request.password, &mut errors);
    let name = request.name.map(|n| n.trim().to_owned());
    if name.as_deref().is_some_and(|n| !is_printable_name(n)) {
        errors.insert("name", vec![NAME_RULE.into()]);
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let (hash, email) =
        link_password::checked_hash(&state.db, &token, Purpose::AcceptInvitation, password).await?;

    let mut tx = state.db.begin().await?;
    let redeemed = links::redeem(&mut tx, &token, Purpose::AcceptInvitation)
        .await?
        .ok_or(Error::LinkInvalid)?;
    let activated = sqlx::query(
        "update app_user set password_hash = $2, name = coalesce($3, name),
                email_confirmed_at = coalesce(email_confirmed_at, now()), auth_epoch = auth_epoch + 1
         where user_id = $1 and deactivated_at is null and password_hash is null",
    )
    .bind(redeemed.user_id)
    .bind(hash)
    .bind(name.as_deref())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if activated == 0 {
        return Err(Error::LinkInvalid);
    }
    audit::record(
        &mut *tx,
        redeemed.tenant_id,
        &Actor::anonymous(email.as_deref(), &ip).with_id(redeemed.user_id),
        "invitation_accepted",
        email.as_deref(),
        json!({}),
    )
    .await?;
    let user = find_person(&mut tx, redeemed.tenant_id, redeemed.user_id).await?;
    tx.commit().await?;
    Ok(Json(user))
}
