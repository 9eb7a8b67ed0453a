//! Password reset by e-mail: `POST /api/password-reset` with `{email}` sends each account of
//! that address a single-use link (default: valid 60 minutes) and answers 202 whether or not
//! there is one — and answers before looking, so its timing does not tell either; `POST /api/password-reset/confirm` with `{token, password}` sets the new
//! password, once, and ends every session opened with the old one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use provisioning::TenantId;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::body::JsonOrForm;
use crate::client_ip::ClientIp;
use crate::email_address::{limit_link_use, limit_mail, EmailAddress};
use crate::error::{Error, FieldErrors, Result};
use crate::identity::link_password;
use crate::identity::links::{self, Purpose};
use crate::mail::Email;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "lead@acme.example"}))]
pub struct ResetRequest {
    email: Option<String>,
}

/// `POST /api/password-reset`: e-mails reset links. Always 202.
#[utoipa::path(
    post, path = "/api/password-reset", tag = "passwords",
    request_body(content((ResetRequest = "application/json"), (ResetRequest = "application/x-www-form-urlencoded"))),
    responses((status = 202, description = "Sent if the address has an account (the answer does not say)", body = crate::email_address::Message)),
)]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<ResetRequest>,
) -> Result<impl IntoResponse> {
    let email = EmailAddress::parse(request.email).map_err(|m| Error::field("email", m))?;
    limit_mail(&state, &ip, &email).await?;

    // Looking the address up, issuing links and auditing happen after the answer: doing them
    // first made the answer measurably slower for addresses that have accounts.
    tokio::spawn(async move {
        if let Err(err) = send_reset_links(&state, &ip, email.as_str()).await {
            tracing::warn!(error = %err, "could not send password-reset links: {err}");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(crate::email_address::Message {
            message: "if this address has an account, a reset link is on its way",
        }),
    ))
}

/// Issues, audits and e-mails a reset link for every account of `email` (none: nothing).
async fn send_reset_links(state: &AppState, ip: &ClientIp, email: &str) -> Result<()> {
    let accounts: Vec<(Uuid, TenantId, String, String)> = sqlx::query_as(
        "select u.user_id, u.tenant_id, u.email, t.organisation
         from app_user u join tenant t using (tenant_id)
         where lower(u.email) = lower($1) and u.kind = 'person' and u.deactivated_at is null
           and u.password_hash is not null
         limit 5",
    )
    .bind(email)
    .fetch_all(&state.db)
    .await?;
    for (user, tenant, address, organisation) in accounts {
        let mut tx = state.db.begin().await?;
        let token = links::issue(
            &mut tx,
            tenant,
            user,
            Purpose::ResetPassword,
            state.config.reset_ttl(),
        )
        .await?;
        audit::record(
            &mut *tx,
            tenant,
            &Actor::anonymous(Some(&address), ip),
            "password_reset_requested",
            Some(&address),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        let link = links::url(
            &state.config.public_url,
            "/api/password-reset/confirm",
            &token,
        );
        let minutes = state.config.password_reset_ttl_minutes;
        state.mailer.send_in_background(
            Email {
                to: address,
                subject: "Reset your Treaty password".into(),
                body: format!(
                    "Hello,\n\n\
                     someone asked to reset the password of your {organisation} account on Treaty.\n\
                     To choose a new one, POST it with this link's token within {minutes} minutes:\n\n\
                     {link}\n\n\
                     (curl: curl {public}/api/password-reset/confirm --json '{{\"token\":\"{token}\",\"password\":\"…\"}}')\n\n\
                     The link works once. If you did not ask for this, ignore this e-mail; your password is unchanged.\n",
                    public = state.config.public_url.trim_end_matches('/'),
                    token = token.as_str(),
                ),
                message_id: None,
            },
            "password reset",
        );
    }
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    token: Option<String>,
    password: Option<String>,
}

/// `POST /api/password-reset/confirm`: sets the new password with a reset link's token.
#[utoipa::path(
    post, path = "/api/password-reset/confirm", tag = "passwords",
    request_body(content((NewPassword = "application/json"), (NewPassword = "application/x-www-form-urlencoded"))),
    responses((status = 204, description = "The password is changed; every session of the account is ended")),
)]
pub async fn reset_password(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<NewPassword>,
) -> Result<StatusCode> {
    limit_link_use(&state, &ip).await?;
    let mut errors = FieldErrors::new();
    let (token, password) = link_password::required(request.token, request.password, &mut errors);
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    // Check the password against its owner before spending the link on it.
    let (hash, email) =
        link_password::checked_hash(&state.db, &token, Purpose::ResetPassword, password).await?;

    let mut tx = state.db.begin().await?;
    let redeemed = links::redeem(&mut tx, &token, Purpose::ResetPassword)
        .await?
        .ok_or(Error::LinkInvalid)?;
    sqlx::query(
        "update app_user set password_hash = $2, auth_epoch = auth_epoch + 1
         where user_id = $1 and deactivated_at is null",
    )
    .bind(redeemed.user_id)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        redeemed.tenant_id,
        &Actor::anonymous(email.as_deref(), &ip).with_id(redeemed.user_id),
        "password_reset",
        email.as_deref(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
