//! Signing in and out: `POST /api/login` (e-mail + password, optionally the organisation's
//! subdomain), `POST /api/logout`, and `GET /api/user` for the signed-in person.
//!
//! Login is rate-limited per client IP and per address before any password is checked. Unknown
//! addresses and wrong passwords get the same 401, after the same Argon2 work (a dummy hash is
//! verified when there is no account), so neither the answer nor its timing tells whether an
//! address has an account. A person with accounts in several organisations who gives no
//! subdomain is asked to choose — only once the password has proven who they are. A form post
//! that a browser marks as cross-site is refused (login CSRF, see `cross_site`).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use provisioning::TenantId;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::body::JsonOrForm;
use crate::client_ip::ClientIp;
use crate::error::{Error, Result};
use crate::identity::current_user::CurrentUser;
use crate::identity::password;
use crate::identity::role::Role;
use crate::identity::session::{self, SessionRecord};
use crate::rate_limit::address_key;
use crate::state::AppState;

/// `POST /api/login` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "lead@acme.example", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    email: Option<String>,
    password: Option<String>,
    /// The organisation, when the address has accounts in several.
    subdomain: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    user_id: Uuid,
    tenant_id: TenantId,
    subdomain: String,
    password_hash: Option<String>,
    email_confirmed_at: Option<DateTime<Utc>>,
    auth_epoch: i32,
}

/// Who is signed in, and the CSRF token their state-changing requests must carry.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    user: SessionUser,
    organisation: Organisation,
    csrf_token: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionUser {
    id: Uuid,
    email: String,
    name: String,
    role: Role,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Organisation {
    #[sqlx(rename = "tenant_id")]
    #[schema(value_type = Uuid)]
    id: TenantId,
    name: String,
    subdomain: String,
    plan: String,
}

async fn organisation(state: &AppState, tenant: TenantId) -> Result<Organisation> {
    Ok(sqlx::query_as(
        "select tenant_id, organisation as name, subdomain, plan from tenant where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&state.db)
    .await?)
}

/// `POST /api/login`: opens a session (a new one, whatever cookie came with the request).
#[utoipa::path(
    post, path = "/api/login", tag = "sessions",
    request_body(content((LoginRequest = "application/json"), (LoginRequest = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "Signed in", body = SessionResponse,
        headers(("Set-Cookie" = String, description = "The session cookie")))),
)]
pub async fn create_session(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    JsonOrForm(request): JsonOrForm<LoginRequest>,
) -> Result<Response> {
    crate::identity::cross_site::check_form_post(&headers, &state.config.public_url)?;
    let subdomain = request.subdomain.clone();
    let (email, password) = request.credentials()?;
    let limit = state.config.rate_limits.login;
    state
        .limiter
        .check(&format!("login:ip:{}", ip.key()), limit)
        .await?;
    state
        .limiter
        .check(&address_key("login", &email), limit)
        .await?;

    let candidates = candidates(&state, &email, subdomain.as_deref()).await?;
    let chosen = choose(
        &state,
        &ip,
        &email,
        &candidates,
        SecretString::from(password),
    )
    .await?;
    if chosen.email_confirmed_at.is_none() {
        return Err(Error::EmailUnconfirmed);
    }
    open_session(&state, &ip, &headers, chosen, email).await
}

impl LoginRequest {
    /// The address (trimmed) and password, both required; an address or password too long to be
    /// anyone's is refused as wrong credentials, before any work is spent on it.
    fn credentials(self) -> Result<(String, String)> {
        let email = self.email.unwrap_or_default().trim().to_owned();
        let password = self.password.unwrap_or_default();
        if email.is_empty() || password.is_empty() {
            let mut errors = crate::error::FieldErrors::new();
            if email.is_empty() {
                errors.insert("email", vec!["is required".into()]);
            }
            if password.is_empty() {
                errors.insert("password", vec!["is required".into()]);
            }
            return Err(Error::Validation(errors));
        }
        if email.len() > 254 || password.chars().count() > password::MAX_LENGTH {
            return Err(Error::InvalidCredentials);
        }
        Ok((email, password))
    }
}

/// The active people with a password at `email` (in the named organisation, if one is named),
/// whose organisation is not suspended; oldest first, at most five.
async fn candidates(
    state: &AppState,
    email: &str,
    subdomain: Option<&str>,
) -> Result<Vec<Candidate>> {
    Ok(sqlx::query_as(
        "select u.user_id, u.tenant_id, t.subdomain, u.password_hash, u.email_confirmed_at, u.auth_epoch
         from app_user u join tenant t using (tenant_id)
         where lower(u.email) = lower($1) and u.kind = 'person' and u.deactivated_at is null
           and u.password_hash is not null and t.suspended_at is null
           and ($2::text is null or t.subdomain = lower($2))
         order by u.created_at
         limit 5",
    )
    .bind(email)
    .bind(subdomain.map(str::trim).filter(|s| !s.is_empty()))
    .fetch_all(&state.db)
    .await?)
}

/// The one candidate whose password matches, after the same Argon2 work whether or not there is
/// any. None matching is 401 (audited in every candidate's organisation, after answering);
/// several ask for the organisation.
async fn choose<'a>(
    state: &AppState,
    ip: &ClientIp,
    email: &str,
    candidates: &'a [Candidate],
    secret: SecretString,
) -> Result<&'a Candidate> {
    let mut matches = Vec::new();
    if candidates.is_empty() {
        password::verify_or_waste(secret.clone(), None).await?;
    }
    for candidate in candidates {
        if password::verify_or_waste(secret.clone(), candidate.password_hash.clone()).await? {
            matches.push(candidate);
        }
    }
    match matches.as_slice() {
        [] => {
            // Audited after answering: writing first would make wrong passwords for existing
            // accounts slower to answer than unknown addresses.
            let tenants: Vec<TenantId> = candidates.iter().map(|c| c.tenant_id).collect();
            let (db, actor) = (state.db.clone(), Actor::anonymous(Some(email), ip));
            tokio::spawn(async move {
                for tenant in tenants {
                    let recorded = audit::record(
                        &db,
                        tenant,
                        &actor,
                        "login_failed",
                        actor.label.as_deref(),
                        json!({"reason": "wrong password"}),
                    )
                    .await;
                    if let Err(err) = recorded {
                        tracing::warn!(error = %err, "could not audit a failed login: {err}");
                    }
                }
            });
            Err(Error::InvalidCredentials)
        }
        [one] => Ok(*one),
        several => {
            let subdomains: Vec<&str> = several.iter().map(|c| c.subdomain.as_str()).collect();
            Err(Error::Conflict {
                code: "organisation_required",
                message: format!(
                    "this address signs in to several organisations; add \"subdomain\": one of {}",
                    subdomains.join(", ")
                ),
            })
        }
    }
}

/// Opens a new session for `chosen` (ending any the client brought along), records the login
/// and answers with the person, the organisation, the CSRF token and the cookie.
async fn open_session(
    state: &AppState,
    ip: &ClientIp,
    headers: &HeaderMap,
    chosen: &Candidate,
    email: String,
) -> Result<Response> {
    // Never adopt a session id the client brought along (session fixation).
    if let Some(old) = session::presented_secret(headers) {
        state.sessions.destroy(&old).await?;
    }
    let secret = state
        .sessions
        .create(&SessionRecord {
            user_id: chosen.user_id,
            tenant_id: chosen.tenant_id,
            auth_epoch: chosen.auth_epoch,
        })
        .await?;
    let mut tx = state.db.begin().await?;
    let (name, role): (String, String) = sqlx::query_as(
        "update app_user set last_login_at = now() where user_id = $1 returning name, role",
    )
    .bind(chosen.user_id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        chosen.tenant_id,
        &Actor::anonymous(Some(&email), ip).with_id(chosen.user_id),
        "login_succeeded",
        Some(&email),
        json!({}),
    )
    .await?;
    tx.commit().await?;

    let body = SessionResponse {
        user: SessionUser {
            id: chosen.user_id,
            email,
            name,
            role: role.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        },
        organisation: organisation(state, chosen.tenant_id).await?,
        csrf_token: secret.csrf_token(),
    };
    let cookie = session::set_cookie(&secret, state.sessions.ttl(), state.config.secure_cookies());
    Ok((StatusCode::OK, [(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `POST /api/logout`: ends the session and clears the cookie.
#[utoipa::path(
    post, path = "/api/logout", tag = "sessions", security(("session" = [], "csrf" = [])),
    responses((status = 204, description = "Signed out; the cookie is cleared")),
)]
pub async fn delete_session(
    State(state): State<AppState>,
    ip: ClientIp,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<Response> {
    if let Some(secret) = session::presented_secret(&headers) {
        state.sessions.destroy(&secret).await?;
    }
    audit::record(
        &state.db,
        user.tenant_id,
        &Actor::user(&user, &ip),
        "logout",
        Some(&user.email),
        json!({}),
    )
    .await?;
    let cookie = session::clear_cookie(state.config.secure_cookies());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// `GET /api/user`: the signed-in person, their organisation and their CSRF token.
#[utoipa::path(
    get, path = "/api/user", tag = "sessions", security(("session" = [])),
    responses((status = 200, description = "The signed-in person and organisation", body = SessionResponse)),
)]
pub async fn get_current_user(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<SessionResponse>> {
    Ok(Json(SessionResponse {
        organisation: organisation(&state, user.tenant_id).await?,
        user: SessionUser {
            id: user.user_id,
            email: user.email,
            name: user.name,
            role: user.role,
        },
        csrf_token: user.csrf_token,
    }))
}
