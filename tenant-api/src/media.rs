//! The response media types the whole tenant API shares: HAL+JSON as the Pact Broker writes it.
//!
//! It lives in the platform core, not in `broker/`, because the core answers in it too: broker
//! errors ([`crate::error`]) and the diagnostic endpoints ([`crate::diagnostics`]) are HAL
//! documents. Links and the rest of the broker's HAL conventions are in `broker/http/hal.rs`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The broker's response media type, charset included (clients match it literally).
pub const HAL_JSON: &str = "application/hal+json;charset=utf-8";

/// A HAL document.
pub struct HalBody(pub Value);

impl IntoResponse for HalBody {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON))],
            body,
        )
            .into_response()
    }
}

/// A HAL document already serialised (pacts are spliced, not re-serialised).
pub struct HalText(pub String);

impl IntoResponse for HalText {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(HAL_JSON))],
            self.0,
        )
            .into_response()
    }
}
