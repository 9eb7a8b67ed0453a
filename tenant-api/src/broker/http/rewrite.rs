//! What happens to a broker request before routing (`pact-broker-api.md` §0;
//! `lib/rack/pact_broker/*` in the Ruby broker), in [`before_routing`], which wraps the whole
//! application (middleware on a `Router` runs after it has matched):
//!
//! - a host that is no DNS name or IP literal is a 400 (problem JSON);
//! - a path with an empty segment (`//`) is a 404, a decoded path with a new line or tab a 422
//!   and one with a NUL a 400, all as problem JSON; a query string with a NUL (`%00`) is a 400 in
//!   the broker's shape (PostgreSQL cannot store NUL in text);
//! - a path ending in `.json`, `.csv`, `.svg` or `.yaml` loses the extension and gets the
//!   matching `Accept` (`/…/badge.svg` is `/…/badge` with `Accept: image/svg+xml`);
//! - on the way out, `OPTIONS` and 405 answers get their methods listed the broker's way
//!   ([`super::methods`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;

use super::headers::add_broker_headers;
use super::methods::allowed_methods;
use crate::config::Config;
use crate::error::Error;
use crate::host;

/// File extensions that stand for an `Accept` header (`ConvertFileExtensionToAcceptHeader`).
const EXTENSIONS: &[(&str, &str)] = &[
    (".csv", "text/csv"),
    (".svg", "image/svg+xml"),
    (".json", "application/hal+json"),
    (".yaml", "application/yaml"),
];

/// Wraps the whole application so that path checks and the extension → `Accept` rewrite happen
/// before routing (middleware on a `Router` runs after it has matched), and `OPTIONS`/405 are
/// finished after it.
pub fn before_routing(app: Router, config: Arc<Config>) -> Router {
    let service = tower::Layer::layer(
        &axum::middleware::from_fn_with_state(config, rewrite_request),
        app,
    );
    Router::new().fallback_service(service)
}

fn problem(status: StatusCode, base_url: &str, kind: &str, title: &str, detail: &str) -> Response {
    let body = json!({
        "title": title,
        "type": format!("{base_url}/problem/{kind}"),
        "detail": detail,
        "status": status.as_u16(),
    });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response();
    add_broker_headers(&mut response);
    response
}

/// The path without a recognised file extension, and the `Accept` that extension stands for.
pub fn strip_extension(path: &str) -> Option<(&str, &'static str)> {
    let last_segment_start = path.rfind('/').map_or(0, |i| i + 1);
    let dot = path[last_segment_start..].rfind('.')? + last_segment_start;
    let extension = &path[dot..];
    // Ruby's `\.\w+$`: the extension is only word characters.
    if extension.len() < 2
        || !extension[1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    EXTENSIONS
        .iter()
        .find(|(ext, _)| *ext == extension)
        .map(|(_, accept)| (&path[..dot], *accept))
}

async fn rewrite_request(
    State(config): State<Arc<Config>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let base_url = match host::request_host(
        &parts,
        config.trust_forwarded_headers,
        &config.tenant_urls.scheme,
    ) {
        Ok(host) => host.map(|h| h.base_url).unwrap_or_default(),
        Err(invalid) => {
            let mut response = Error::from(invalid).into_response();
            add_broker_headers(&mut response);
            return response;
        }
    };
    let mut request = Request::from_parts(parts, body);
    let path = request.uri().path().to_owned();
    let decoded = percent_encoding::percent_decode_str(&path).collect::<Vec<u8>>();
    let refusal = if path.contains("//") {
        Some((
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "Empty path component found",
        ))
    } else if decoded.contains(&b'\n') {
        Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request-parameter-value",
            "Unprocessable",
            "URL path cannot contain a new line character.",
        ))
    } else if decoded.contains(&b'\t') {
        Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request-parameter-value",
            "Unprocessable",
            "URL path cannot contain a tab character.",
        ))
    } else if decoded.contains(&0) {
        // PostgreSQL cannot store a NUL in text: refused here rather than by the database.
        Some((
            StatusCode::BAD_REQUEST,
            "invalid-request-parameter-value",
            "Bad Request",
            "URL path cannot contain a NUL character (%00).",
        ))
    } else {
        None
    };
    if let Some((status, kind, title, detail)) = refusal {
        return problem(status, &base_url, kind, title, detail);
    }
    if request.uri().query().is_some_and(has_nul) {
        let mut response =
            Error::BadRequest("the query string cannot contain a NUL character (%00)".to_owned())
                .into_response();
        add_broker_headers(&mut response);
        return response;
    }
    if let Some((stripped, accept)) = strip_extension(&path) {
        let path_and_query = match request.uri().query() {
            Some(query) => format!("{stripped}?{query}"),
            None => stripped.to_owned(),
        };
        let mut uri_parts = request.uri().clone().into_parts();
        if let Ok(rewritten) = path_and_query.parse() {
            uri_parts.path_and_query = Some(rewritten);
            if let Ok(uri) = Uri::from_parts(uri_parts) {
                *request.uri_mut() = uri;
                request
                    .headers_mut()
                    .insert(header::ACCEPT, HeaderValue::from_static(accept));
            }
        }
    }
    let is_options = request.method() == Method::OPTIONS;
    allowed_methods(is_options, next.run(request).await)
}

/// Whether form-decoding `text` gives a NUL byte (only `%00` can: a raw NUL is no valid URI).
fn has_nul(text: &str) -> bool {
    percent_encoding::percent_decode_str(text).any(|b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_extensions_become_an_accept_header() {
        assert_eq!(
            strip_extension("/pacts/provider/P/consumer/C/latest/badge.svg"),
            Some(("/pacts/provider/P/consumer/C/latest/badge", "image/svg+xml"))
        );
        assert_eq!(
            strip_extension("/groups/Foo.csv"),
            Some(("/groups/Foo", "text/csv"))
        );
        assert_eq!(
            strip_extension("/pacticipants.json"),
            Some(("/pacticipants", "application/hal+json"))
        );
        assert_eq!(strip_extension("/pacticipants/Foo/versions/1.2.3"), None);
        assert_eq!(strip_extension("/pacticipants/a.b/versions"), None);
        assert_eq!(strip_extension("/x.json-y"), None);
    }
}
