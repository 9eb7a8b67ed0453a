//! Confirming the signup e-mail address: the link in the confirmation e-mail, and asking for a
//! new one.
//!
//! Following the link (`GET /api/signup/confirm?token=…`, or `POST` with `{token}`) marks the
//! address and the tenant confirmed, once; a used, expired or unknown link is 410. The tenant
//! becomes *active* — served by the tenant API — when it is both provisioned and confirmed, and
//! then the welcome e-mail is queued (see `outbox`). `POST /api/signup/resend-confirmation`
//! sends a fresh link (retiring the old one) and answers 202 whether or not the address has an
//! unconfirmed signup — answering before it looks — so it tells nobody which addresses exist.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use provisioning::registry;
use provisioning::{Subdomain, TenantId, TenantStatus};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::body::{JsonOrForm, QueryParams};
use crate::client_ip::ClientIp;
use crate::email_address::{limit_link_use, limit_mail, EmailAddress};
use crate::error::{Error, Result};
use crate::identity::links::{self, Purpose};
use crate::mail::Email;
use crate::state::AppState;

/// Issues a confirmation link for the signup's administrator and composes the e-mail with it.
pub async fn confirmation_mail(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: TenantId,
    user: Uuid,
    email: &str,
    organisation: &str,
) -> Result<Email> {
    let token = links::issue(
        conn,
        tenant,
        user,
        Purpose::ConfirmSignup,
        state.config.confirmation_ttl(),
    )
    .await?;
    let link = links::url(&state.config.public_url, "/api/signup/confirm", &token);
    let hours = state.config.confirmation_ttl_hours;
    Ok(Email {
        to: email.to_owned(),
        subject: "Confirm your Treaty signup".into(),
        body: format!(
            "Hello,\n\n\
             someone (hopefully you) signed up {organisation} for Treaty with this address.\n\
             Confirm it by opening this link within {hours} hours:\n\n\
             {link}\n\n\
             The link works once. If you did not sign up, ignore this e-mail.\n"
        ),
        message_id: None,
    })
}

#[derive(Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenParam {
    token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Confirmed {
    confirmed: bool,
    #[schema(value_type = Uuid)]
    tenant_id: TenantId,
    subdomain: String,
    /// `requested`, `database_created`, `schema_applied`, `key_created`, `active`, `failed` or `suspended`.
    #[schema(value_type = String)]
    status: TenantStatus,
    /// Whether the tenant API serves the tenant yet (it may still be provisioning).
    ready: bool,
    base_url: String,
    login_url: String,
    message: &'static str,
}

/// `GET /api/signup/confirm?token=…`: the link in the confirmation e-mail.
#[utoipa::path(
    get, path = "/api/signup/confirm", tag = "signup",
    params(TokenParam),
    responses((status = 200, description = "The address is confirmed", body = Confirmed)),
)]
pub async fn confirm_signup_link(
    State(state): State<AppState>,
    ip: ClientIp,
    QueryParams(params): QueryParams<TokenParam>,
) -> Result<Json<Confirmed>> {
    confirm(&state, &ip, params.token).await.map(Json)
}

/// `POST /api/signup/confirm` with `{token}`.
#[utoipa::path(
    post, path = "/api/signup/confirm", tag = "signup",
    request_body(content((TokenParam = "application/json"), (TokenParam = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "The address is confirmed", body = Confirmed)),
)]
pub async fn confirm_signup(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonOrForm(params): JsonOrForm<TokenParam>,
) -> Result<Json<Confirmed>> {
    confirm(&state, &ip, params.token).await.map(Json)
}

async fn confirm(state: &AppState, ip: &ClientIp, token: Option<String>) -> Result<Confirmed> {
    limit_link_use(state, ip).await?;
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::field("token", "is required"))?;
    let mut tx = state.db.begin().await?;
    let redeemed = links::redeem(&mut tx, &token, Purpose::ConfirmSignup)
        .await?
        .ok_or(Error::LinkInvalid)?;
    let email: Option<String> = sqlx::query_scalar(
        "update app_user set email_confirmed_at = coalesce(email_confirmed_at, now())
         where user_id = $1 returning email",
    )
    .bind(redeemed.user_id)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    let tenant = registry::mark_confirmed(&mut tx, redeemed.tenant_id)
        .await?
        .ok_or(Error::LinkInvalid)?;
    audit::record(
        &mut *tx,
        tenant.tenant_id,
        &Actor::anonymous(email.as_deref(), ip).with_id(redeemed.user_id),
        "email_confirmed",
        email.as_deref(),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    state.outbox.kick();
    tracing::info!(tenant.id = %tenant.tenant_id, "tenant {} confirmed its signup address", tenant.tenant_id);
    let subdomain = Subdomain::parse(&tenant.subdomain)
        .map_err(|e| anyhow::anyhow!("stored subdomain: {e}"))?;
    Ok(Confirmed {
        confirmed: true,
        tenant_id: tenant.tenant_id,
        subdomain: tenant.subdomain.clone(),
        status: tenant.status(),
        ready: tenant.is_ready(),
        base_url: state.config.tenant_urls.base_url(&subdomain),
        login_url: format!(
            "{}/api/login",
            state.config.public_url.trim_end_matches('/')
        ),
        message:
            "confirmed: sign in (POST /api/login) and create API tokens (POST /api/settings/tokens)",
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "lead@acme.example"}))]
pub struct ResendRequest {
    email: Option<String>,
}

/// `POST /api/signup/resend-confirmation`: a fresh confirmation link for every unconfirmed
/// signup of this address. Always 202.
#[utoipa::path(
    post, path = "/api/signup/resend-confirmation", tag = "signup",
    request_body(content((ResendRequest = "application/json"), (ResendRequest = "application/x-www-form-urlencoded"))),
    responses((status = 202, description = "Sent if the address has an unconfirmed signup (the answer does not say)", body = crate::email_address::Message)),
)]
pub async fn resend_confirmation(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<ResendRequest>,
) -> Result<impl IntoResponse> {
    let email = EmailAddress::parse(request.email).map_err(|m| Error::field("email", m))?;
    limit_mail(&state, &ip, &email).await?;

    // Looking the address up, issuing links and auditing happen after the answer, so its timing
    // does not tell whether the address has an unconfirmed signup.
    tokio::spawn(async move {
        if let Err(err) = resend_links(&state, &ip, email.as_str()).await {
            tracing::warn!(error = %err, "could not resend confirmation links: {err}");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(crate::email_address::Message {
            message:
                "if this address has an unconfirmed signup, a new confirmation link is on its way",
        }),
    ))
}

/// Issues, audits and e-mails a fresh confirmation link for every unconfirmed signup of `email`.
async fn resend_links(state: &AppState, ip: &ClientIp, email: &str) -> Result<()> {
    let pending: Vec<(Uuid, TenantId, String, String)> = sqlx::query_as(
        "select u.user_id, u.tenant_id, u.email, t.organisation
         from app_user u join tenant t using (tenant_id)
         where lower(u.email) = lower($1) and u.kind = 'person' and u.role = 'administrator'
           and u.email_confirmed_at is null and t.confirmed_at is null
         limit 5",
    )
    .bind(email)
    .fetch_all(&state.db)
    .await?;
    for (user, tenant, address, organisation) in pending {
        let mut tx = state.db.begin().await?;
        let mail = confirmation_mail(&mut tx, state, tenant, user, &address, &organisation).await?;
        audit::record(
            &mut *tx,
            tenant,
            &Actor::anonymous(Some(&address), ip),
            "confirmation_resent",
            Some(&address),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        state.mailer.send_in_background(mail, "confirmation");
    }
    Ok(())
}
