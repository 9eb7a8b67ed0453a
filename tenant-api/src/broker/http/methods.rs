//! Methods the broker's way: `OPTIONS` on any route answers 200 with
//! `Access-Control-Allow-Methods`, and a method the route does not have is a 405 whose `Allow`
//! lists the route's methods as the broker does (`GET, POST, OPTIONS`).
//!
//! The 405 itself comes from the route ([`method_not_allowed`], behind the tenant gate, so that
//! the broker authenticates before it looks at the method); the header is rewritten by
//! [`allowed_methods`] outside the router (`super::rewrite`), because axum adds `Allow` after
//! every route-level layer has run.

use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::Error;

const ACCESS_CONTROL_ALLOW_METHODS: HeaderName =
    HeaderName::from_static("access-control-allow-methods");

/// The handler for a method a broker route does not have (axum adds the `Allow` header).
pub async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// axum's `Allow` (`GET,HEAD,PUT`) the broker's way: `GET, PUT, OPTIONS`.
fn broker_allow(axum_allow: Option<&HeaderValue>) -> String {
    let mut methods: Vec<&str> = axum_allow
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty() && *m != "HEAD" && *m != "OPTIONS")
        .collect();
    methods.push("OPTIONS");
    methods.join(", ")
}

/// `OPTIONS` → 200 with `Access-Control-Allow-Methods`; 405 → `Allow` in the broker's format.
pub fn allowed_methods(is_options: bool, mut response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = broker_allow(response.headers().get(header::ALLOW));
    let Ok(allow) = HeaderValue::from_str(&allow) else {
        return response;
    };
    if is_options {
        let mut options = StatusCode::OK.into_response();
        for (name, value) in response.headers() {
            if name != header::ALLOW
                && name != header::CONTENT_TYPE
                && name != header::CONTENT_LENGTH
            {
                options.headers_mut().insert(name.clone(), value.clone());
            }
        }
        options
            .headers_mut()
            .insert(ACCESS_CONTROL_ALLOW_METHODS, allow);
        return options;
    }
    response.headers_mut().insert(header::ALLOW, allow);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_header_lists_methods_the_broker_way() {
        let allow = HeaderValue::from_static("GET,HEAD,PUT,PATCH,DELETE");
        assert_eq!(
            broker_allow(Some(&allow)),
            "GET, PUT, PATCH, DELETE, OPTIONS"
        );
        assert_eq!(broker_allow(None), "OPTIONS");
    }
}
