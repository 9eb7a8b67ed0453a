//! Cross-cutting HTTP behaviour: request ids, one tracing span per request (with the request id
//! and, once the gate knows it, the tenant), a timeout, panics answered as 500s, broker errors
//! re-rendered as problem JSON when asked for, and one body-limit rejection for every route.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request as AxumRequest, State};
use axum::http::{header, HeaderName, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::{self, Error};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn layers(router: Router, config: &Config) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(
            config.max_body_bytes,
            limit_body,
        ))
        // The extractors' own limit is off: the middleware above decides, for every route.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(error::render_problem_when_asked))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout(),
        ))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                        tenant = tracing::field::Empty,
                    )
                })
                .on_response(
                    |response: &axum::http::Response<_>,
                     latency: Duration,
                     _span: &tracing::Span| {
                        tracing::debug!(
                            status = response.status().as_u16(),
                            duration_ms = latency.as_millis() as u64,
                            "response"
                        )
                    },
                ),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// One body limit and one rejection for every route: a body declared (`Content-Length`) or found
/// (read in chunks) larger than the limit is answered 413 `payload_too_large` in the service's
/// error format, never with axum's plain-text "Failed to buffer the request body".
async fn limit_body(State(limit): State<usize>, request: AxumRequest, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Error::PayloadTooLarge(limit).into_response();
    }
    let request =
        request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    let response = next.run(request).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && plain {
        return Error::PayloadTooLarge(limit).into_response();
    }
    response
}
