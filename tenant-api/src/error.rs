//! The tenant API's one error type, and the one place errors become HTTP responses.
//!
//! Two wire shapes exist. Routing and authentication failures (unknown tenant, tenant not ready,
//! suspended, bad token) are always RFC 9457 problem JSON, as the platform's own. Broker API
//! failures take the Pact Broker's shapes, which its clients parse: `{"errors": {field: [msg]}}`
//! for validation, `{"error": msg}` otherwise — unless the request's `Accept` asks for
//! `application/problem+json`, in which case [`render_problem_when_asked`] re-renders them as
//! problem JSON. Server-side failures are logged once, here, with their cause chain.
//!
//! Billing refusals carry their particulars in both shapes: a plan limit (403, broker shape:
//! `error` plus `limit`, `plan`, `upgradeUrl`) and an unpaid, read-only tenant (402, problem
//! JSON with `billingUrl`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use provisioning::db_failure::{classify, DbFailure};
use serde_json::{json, Map, Value};

/// Messages per request field, keyed by the broker's dotted names (`contracts.0.content`).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no tenant is served at host {0:?}")]
    UnknownHost(String),
    /// A `Host` that is not a DNS name or an IP literal (refused before any lookup).
    #[error(transparent)]
    InvalidHost(#[from] crate::host::InvalidHost),
    /// Too many failed lookups (unknown tokens or hosts) from this client: refused without one.
    #[error("{0}")]
    TooManyRequests(&'static str),
    #[error("there is no tenant {0:?}")]
    UnknownTenant(String),
    #[error("tenant {subdomain:?} is being provisioned ({status}); try again shortly")]
    TenantNotReady { subdomain: String, status: String },
    #[error("tenant {0:?} is waiting for its signup e-mail address to be confirmed")]
    TenantUnconfirmed(String),
    #[error("tenant {0:?} is suspended")]
    TenantSuspended(String),
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    /// Well-formed but refused (the broker's 422 with a validation-error body).
    #[error("the request cannot be processed")]
    Unprocessable(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    /// A matrix query the broker refuses: its errors are a plain array (`{"errors": [..]}`).
    #[error("{}", .0.join("; "))]
    InvalidQuery(Vec<String>),
    /// A conflict with a body in the broker's shape (e.g. publication notices).
    #[error("{message}")]
    Conflict {
        message: String,
        body: Option<Value>,
    },
    /// `POST /contracts/publish` refused (409): the broker's `notices` and `errors`, served as
    /// the broker serves them (plain JSON, never re-rendered as problem JSON); the CLIs print
    /// the notices.
    #[error("the contracts were not published")]
    ContractsRefused(Value),
    /// A pact whose pacticipant names look like existing ones (409): the broker's messages, as
    /// plain text (never re-rendered as problem JSON).
    #[error("{0}")]
    PotentialDuplicateNames(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Unavailable(String),
    /// The tenant's database server cannot be reached or is shutting down (see
    /// [`provisioning::db_failure`]); `connection_lost` when a pooled connection died under the
    /// request, which the tenant gate may retry.
    #[error("the tenant database is unavailable; try again shortly")]
    DatabaseUnavailable { connection_lost: bool },
    /// A statement ran past the tenant connections' `statement_timeout`.
    #[error("the request took too long in the database and was cancelled; try again")]
    StatementTimeout,
    /// A serialization failure or deadlock between concurrent writes.
    #[error("a concurrent change conflicted with this one; retry the request")]
    Contention,
    /// A write the plan does not allow (an integration beyond its limit).
    #[error(
        "Plan limit reached: the {plan} plan allows {limit} {resource}, and {what} would be a new one. \
         Existing {resource} can still be published to. Upgrade the plan at {upgrade_url}"
    )]
    PlanLimit {
        resource: &'static str,
        limit: i64,
        plan: String,
        what: String,
        upgrade_url: String,
    },
    /// The tenant is read-only because its subscription is unpaid past the grace period.
    #[error(
        "this organisation's Treaty subscription is unpaid, so it is read-only: reads and \
         verification fetches work, writes do not until the payment goes through. Manage \
         billing at {billing_url}"
    )]
    PaymentRequired { billing_url: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The code → status table.
    pub fn code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::UnknownHost(_) | Self::UnknownTenant(_) => {
                (StatusCode::NOT_FOUND, "unknown_tenant")
            }
            Self::TenantNotReady { .. } | Self::TenantUnconfirmed(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "tenant_not_ready")
            }
            Self::TenantSuspended(_) => (StatusCode::FORBIDDEN, "tenant_suspended"),
            Self::InvalidHost(_) => (StatusCode::BAD_REQUEST, "invalid_host"),
            Self::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "validation_failed"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable_entity"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            Self::Conflict { .. }
            | Self::ContractsRefused(_)
            | Self::PotentialDuplicateNames(_) => (StatusCode::CONFLICT, "conflict"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::NotAcceptable(_) => (StatusCode::NOT_ACCEPTABLE, "not_acceptable"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::DatabaseUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            Self::StatementTimeout => (StatusCode::SERVICE_UNAVAILABLE, "statement_timeout"),
            Self::Contention => (StatusCode::CONFLICT, "concurrent_update"),
            Self::PlanLimit { .. } => (StatusCode::FORBIDDEN, "plan_limit_reached"),
            Self::PaymentRequired { .. } => (StatusCode::PAYMENT_REQUIRED, "payment_required"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    /// One invalid field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::from([(field.into(), vec![message.into()])]))
    }

    /// Errors of the platform (routing, authentication) rather than of the broker API.
    fn is_platform(&self) -> bool {
        matches!(
            self,
            Self::UnknownHost(_)
                | Self::InvalidHost(_)
                | Self::TooManyRequests(_)
                | Self::UnknownTenant(_)
                | Self::TenantNotReady { .. }
                | Self::TenantUnconfirmed(_)
                | Self::TenantSuspended(_)
                | Self::Unauthenticated(_)
                | Self::PaymentRequired { .. }
                | Self::Unavailable(_)
                | Self::DatabaseUnavailable { .. }
                | Self::StatementTimeout
        )
    }

    /// Fields beside the message, in either shape: which limit, which plan, where to upgrade.
    fn extra(&self) -> Map<String, Value> {
        let mut extra = Map::new();
        match self {
            Self::PlanLimit {
                limit,
                plan,
                upgrade_url,
                ..
            } => {
                extra.insert("limit".into(), json!(limit));
                extra.insert("plan".into(), json!(plan));
                extra.insert("upgradeUrl".into(), json!(upgrade_url));
            }
            Self::PaymentRequired { billing_url } => {
                extra.insert("billingUrl".into(), json!(billing_url));
            }
            _ => {}
        }
        extra
    }
}

/// Database errors, classified once ([`provisioning::db_failure`]): never a 500 for a dead
/// connection, a server going down, a timeout, a conflict or bad data.
impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match classify(&err) {
            DbFailure::ConnectionLost => {
                tracing::warn!(error = %err, "a tenant database connection failed");
                Self::DatabaseUnavailable {
                    connection_lost: true,
                }
            }
            DbFailure::Unavailable => {
                tracing::warn!(error = %err, "a tenant database is unavailable");
                Self::DatabaseUnavailable {
                    connection_lost: false,
                }
            }
            DbFailure::Timeout => Self::StatementTimeout,
            DbFailure::Contention => Self::Contention,
            DbFailure::DataException(message) => {
                Self::BadRequest(format!("invalid input: {message}"))
            }
            DbFailure::Other => Self::Internal(err.into()),
        }
    }
}

/// Set on responses whose request met a database failure that a retry on a fresh connection may
/// cure (a dead pooled connection, a serialization conflict): the tenant gate reads it.
#[derive(Clone, Copy, Debug)]
pub struct RetryOnFreshConnection {
    /// The connection died: the pool's other idle connections are suspect too.
    pub connection_lost: bool,
}

/// What an error response carries for [`render_problem_when_asked`].
#[derive(Clone, Debug)]
struct Report {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Option<FieldErrors>,
    extra: Map<String, Value>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if matches!(
            self,
            Self::ContractsRefused(_) | Self::PotentialDuplicateNames(_)
        ) {
            return verbatim_refusal(self);
        }
        let (status, code) = self.code();
        let detail = match &self {
            Self::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed: {cause:#}");
                "an internal error occurred; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let report = Report {
            status,
            code,
            detail,
            errors: match &self {
                Self::Validation(errors) | Self::Unprocessable(errors) => Some(errors.clone()),
                _ => None,
            },
            extra: self.extra(),
        };
        let retry = match &self {
            Self::DatabaseUnavailable {
                connection_lost: true,
            } => Some(true),
            Self::Contention => Some(false),
            _ => None,
        };
        let mut response = if self.is_platform() {
            problem(&report)
        } else {
            let body = match self {
                Self::Validation(errors) | Self::Unprocessable(errors) => {
                    json!({ "errors": errors })
                }
                Self::InvalidQuery(errors) => json!({ "errors": errors }),
                Self::Conflict {
                    body: Some(body), ..
                } => body,
                _ => {
                    let mut body = report.extra.clone();
                    body.insert("error".into(), json!(report.detail));
                    Value::Object(body)
                }
            };
            crate::media::HalBody(body).into_response()
        };
        *response.status_mut() = status;
        let headers = response.headers_mut();
        match report.code {
            "tenant_not_ready"
            | "unavailable"
            | "database_unavailable"
            | "statement_timeout"
            | "too_many_requests" => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            "unauthenticated" => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"treaty\""),
                );
            }
            _ => {}
        }
        if let Some(connection_lost) = retry {
            response
                .extensions_mut()
                .insert(RetryOnFreshConnection { connection_lost });
        }
        response.extensions_mut().insert(Arc::new(report));
        response
    }
}

/// The broker's publication refusals, with the bodies and content types it sends: no report is
/// attached, so [`render_problem_when_asked`] leaves them as they are.
fn verbatim_refusal(error: Error) -> Response {
    let (status, _) = error.code();
    match error {
        Error::ContractsRefused(body) => {
            let content_type = HeaderValue::from_static("application/json;charset=utf-8");
            let body = serde_json::to_vec(&body).unwrap_or_default();
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Error::PotentialDuplicateNames(text) => {
            let content_type = HeaderValue::from_static("text/plain");
            (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
        }
        other => other.into_response(),
    }
}

fn problem(report: &Report) -> Response {
    let mut body = json!({
        "type": format!("/problems/{}", report.code.replace('_', "-")),
        "title": report.status.canonical_reason().unwrap_or("Error"),
        "status": report.status.as_u16(),
        "detail": report.detail,
        "code": report.code,
    });
    if let Some(errors) = &report.errors {
        body["errors"] = json!(errors);
    }
    for (key, value) in &report.extra {
        body[key.as_str()] = value.clone();
    }
    (
        report.status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

/// Middleware: re-renders any error response as problem JSON when the client's `Accept` asks
/// for `application/problem+json`, keeping status and headers.
pub async fn render_problem_when_asked(request: Request, next: Next) -> Response {
    let wants_problem = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/problem+json"));
    let response = next.run(request).await;
    if !wants_problem {
        return response;
    }
    let Some(report) = response.extensions().get::<Arc<Report>>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let rendered = problem(&report);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, rendered.into_body())
}
