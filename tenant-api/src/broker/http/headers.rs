//! The headers the broker puts on every response: `x-pact-broker-version`, `vary: Accept` and a
//! default `cache-control: no-cache` ([`broker_headers`], a layer over the whole app; the
//! refusals made before routing add them with [`add_broker_headers`]).

use axum::extract::Request;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The Pact Broker release whose API this one reproduces (sent as `x-pact-broker-version`).
pub const PACT_BROKER_VERSION: &str = "2.120.0";

const X_PACT_BROKER_VERSION: HeaderName = HeaderName::from_static("x-pact-broker-version");

/// Adds the headers the broker puts on every response.
pub async fn broker_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_broker_headers(&mut response);
    response
}

/// Adds them to one response.
pub fn add_broker_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        X_PACT_BROKER_VERSION,
        HeaderValue::from_static(PACT_BROKER_VERSION),
    );
    headers
        .entry(header::VARY)
        .or_insert(HeaderValue::from_static("Accept"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
}
