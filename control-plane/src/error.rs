//! The control plane's one error type, and the one place it becomes an HTTP response.
//!
//! Every error is answered as RFC 9457 problem JSON with a stable snake_case `code` from the table
//! in [`Error::code`]; validation failures add `errors: {field: [message, …]}`. Server-side
//! failures are logged once, here, with their cause chain, and answered with a generic message.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Messages per request field, for validation failures.
pub type FieldErrors = BTreeMap<&'static str, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the subdomain {0:?} is already taken")]
    SubdomainTaken(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Wrong e-mail or password — the same answer for both, so nobody learns which.
    #[error("the e-mail address or password is wrong")]
    InvalidCredentials,
    #[error("confirm your e-mail address first: follow the link in the confirmation e-mail (or ask for a new one at POST /api/signup/resend-confirmation)")]
    EmailUnconfirmed,
    #[error("{0}")]
    Forbidden(String),
    #[error("state-changing requests signed in by cookie need the X-CSRF-Token header from the login response")]
    CsrfFailed,
    #[error("a {role} may not hold {scope} tokens")]
    ScopeExceedsRole { role: String, scope: &'static str },
    #[error("the {plan} plan allows {limit} {resource}; remove some or upgrade the plan")]
    PlanLimit {
        resource: &'static str,
        limit: i64,
        plan: String,
        upgrade_url: String,
    },
    /// Unknown, expired and already-used links get the same answer.
    #[error("this link is invalid, has expired or has already been used")]
    LinkInvalid,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("too many requests; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// A Stripe webhook delivery whose signature does not verify.
    #[error("{0}")]
    WebhookSignature(crate::billing::signature::SignatureError),
    /// Stripe failed or refused a call billing needed.
    #[error("the payment provider failed: {0}")]
    PaymentProvider(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The code → status table.
    pub fn code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::SubdomainTaken(_) => (StatusCode::CONFLICT, "subdomain_taken"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::EmailUnconfirmed => (StatusCode::FORBIDDEN, "email_unconfirmed"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::CsrfFailed => (StatusCode::FORBIDDEN, "csrf_failed"),
            Self::ScopeExceedsRole { .. } => (StatusCode::FORBIDDEN, "scope_exceeds_role"),
            Self::PlanLimit { .. } => (StatusCode::FORBIDDEN, "plan_limit_reached"),
            Self::LinkInvalid => (StatusCode::GONE, "link_invalid"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::WebhookSignature(_) => (StatusCode::BAD_REQUEST, "invalid_signature"),
            Self::PaymentProvider(_) => (StatusCode::BAD_GATEWAY, "payment_provider_error"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    /// One invalid field.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::from([(field, vec![message.into()])]))
    }
}

/// Database errors, classified once ([`provisioning::db_failure`]): a control database that is
/// down, restarting, out of resources or too slow is a 503 with `Retry-After`, a write conflict a
/// 409, bad data a 400 — never a 500.
impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        use provisioning::db_failure::{classify, DbFailure};
        match classify(&err) {
            failure if failure.is_transient() => {
                tracing::warn!(error = %err, "the control database is unavailable");
                Self::Unavailable("the control database is unavailable; try again".into())
            }
            DbFailure::Contention => Self::Conflict {
                code: "concurrent_update",
                message: "a concurrent change conflicted with this one; retry the request".into(),
            },
            DbFailure::DataException(message) => Self::BadRequest(format!(
                "the request has a value that cannot be stored or compared: {message}"
            )),
            _ => Self::Internal(err.into()),
        }
    }
}

impl From<provisioning::ProvisionError> for Error {
    fn from(err: provisioning::ProvisionError) -> Self {
        match err {
            provisioning::ProvisionError::SubdomainTaken(subdomain) => {
                Self::SubdomainTaken(subdomain)
            }
            provisioning::ProvisionError::Database(db) => Self::from(db),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crate::billing::stripe_api::StripeApiError> for Error {
    fn from(err: crate::billing::stripe_api::StripeApiError) -> Self {
        tracing::warn!(error = %err, "Stripe call failed: {err}");
        Self::PaymentProvider(err.to_string())
    }
}

/// The body of every error answer (described as `Problem` in the OpenAPI document).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// `/problems/<code>`.
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    /// Stable and snake_case: what went wrong, for programs.
    code: &'static str,
    /// Validation failures: messages by request field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, Vec<String>>>)]
    errors: Option<&'a FieldErrors>,
    /// Plan limits: which limit, on which plan, and where to upgrade.
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a str>,
    #[serde(rename = "upgradeUrl", skip_serializing_if = "Option::is_none")]
    upgrade_url: Option<&'a str>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        let detail = match &self {
            Self::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed: {cause:#}");
                "an internal error occurred; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let problem = Problem {
            kind: format!("/problems/{}", code.replace('_', "-")),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            code,
            errors: match &self {
                Self::Validation(errors) => Some(errors),
                _ => None,
            },
            limit: None,
            plan: None,
            upgrade_url: None,
        };
        let problem = match &self {
            Self::PlanLimit {
                limit,
                plan,
                upgrade_url,
                ..
            } => Problem {
                limit: Some(*limit),
                plan: Some(plan),
                upgrade_url: Some(upgrade_url),
                ..problem
            },
            _ => problem,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        match &self {
            Self::RateLimited { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::Unauthenticated(_) | Self::InvalidCredentials => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Cookie realm=\"treaty\""),
                );
            }
            _ => {}
        }
        response
    }
}
