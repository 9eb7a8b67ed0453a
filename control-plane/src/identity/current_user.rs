//! Who is asking: the extractors that turn a request's session cookie into the person behind it
//! ([`CurrentUser`]), or refuse it, and [`Administrator`] for administrators only.
//!
//! A session is valid while its person is active, has a password and has not changed it since
//! (`auth_epoch`); state-changing requests must also carry the session's CSRF token. Apart from
//! the session store ([`super::session`]) so that the application state, which holds the store,
//! does not depend on what reads it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use chrono::{DateTime, Utc};
use provisioning::TenantId;
use uuid::Uuid;

use crate::error::Error;
use crate::identity::role::Role;
use crate::identity::session::{constant_time_eq, presented_secret, CSRF_HEADER};
use crate::state::AppState;

/// A signed-in person, established from the session cookie (and, for state-changing requests,
/// the CSRF header).
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user_id: Uuid,
    pub tenant_id: TenantId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The CSRF token of this session.
    pub csrf_token: String,
}

#[derive(sqlx::FromRow)]
struct SessionUser {
    email: Option<String>,
    name: String,
    #[sqlx(try_from = "String")]
    role: Role,
    auth_epoch: i32,
    deactivated_at: Option<DateTime<Utc>>,
    password_hash: Option<String>,
}

const SIGN_IN: &str = "sign in first (POST /api/login); this needs a session";

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let secret = presented_secret(&parts.headers).ok_or(Error::Unauthenticated(SIGN_IN))?;
        let record = state
            .sessions
            .load(&secret)
            .await?
            .ok_or(Error::Unauthenticated(SIGN_IN))?;
        let user: Option<SessionUser> = sqlx::query_as(
            "select email, name, role, auth_epoch, deactivated_at, password_hash
             from app_user where user_id = $1 and tenant_id = $2 and kind = 'person'",
        )
        .bind(record.user_id)
        .bind(record.tenant_id)
        .fetch_optional(&state.db)
        .await?;
        let Some(user) = user.filter(|u| {
            u.deactivated_at.is_none()
                && u.auth_epoch == record.auth_epoch
                && u.password_hash.is_some()
        }) else {
            state.sessions.destroy(&secret).await?;
            return Err(Error::Unauthenticated(SIGN_IN));
        };
        let csrf_token = secret.csrf_token();
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !constant_time_eq(presented.as_bytes(), csrf_token.as_bytes()) {
                return Err(Error::CsrfFailed);
            }
        }
        let current = CurrentUser {
            user_id: record.user_id,
            tenant_id: record.tenant_id,
            email: user.email.unwrap_or_default(),
            name: user.name,
            role: user.role,
            csrf_token,
        };
        parts.extensions.insert(current.clone());
        Ok(current)
    }
}

/// A signed-in administrator of their tenant.
#[derive(Clone, Debug)]
pub struct Administrator(pub CurrentUser);

impl FromRequestParts<AppState> for Administrator {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.role != Role::Administrator {
            return Err(Error::Forbidden(
                "only administrators may do this".to_owned(),
            ));
        }
        Ok(Self(user))
    }
}
