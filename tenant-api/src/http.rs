//! Cross-cutting HTTP behaviour: request ids, one tracing span per request (with the request id
//! and, once the gate knows it, the tenant), a timeout, panics answered as 500s, and broker
//! errors re-rendered as problem JSON when asked for.

use std::time::Duration;

use axum::http::{HeaderName, Request, StatusCode};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn layers(router: Router, config: &Config) -> Router {
    router
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
