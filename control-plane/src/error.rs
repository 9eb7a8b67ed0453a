//! The control plane's one error type, and the one place it becomes an HTTP response.
//!
//! Every error is answered as RFC 9457 problem JSON with a stable snake_case `code` from the table
//! in [`Error::code`]; validation failures add `errors: {field: [message, …]}`. Server-side
//! failures are logged once, here, with their cause chain, and answered with a generic message.

use std::collections::BTreeMap;

use axum::http::{header, StatusCode};
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
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    /// One invalid field.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::from([(field, vec![message.into()])]))
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<provisioning::ProvisionError> for Error {
    fn from(err: provisioning::ProvisionError) -> Self {
        match err {
            provisioning::ProvisionError::SubdomainTaken(subdomain) => {
                Self::SubdomainTaken(subdomain)
            }
            other => Self::Internal(other.into()),
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
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
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}
