//! HAL+JSON as the Pact Broker writes it: absolute links built from the tenant's base URL (and
//! the request's own URL, [`resource_url`]), path segments percent-encoded the way the broker
//! encodes names, timestamps and `curies`. The
//! document types themselves ([`HalBody`], [`HalText`]) are the platform core's
//! ([`crate::media`]): errors and diagnostics are written in them too.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

pub use crate::media::{HalBody, HalText};

/// Everything but RFC 3986 unreserved characters is encoded (`Pricing Service` → `Pricing%20Service`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A created resource: 201 with `Location`.
pub fn created(location: String, body: impl IntoResponse) -> Response {
    let mut response = (StatusCode::CREATED, body).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `base` followed by the percent-encoded `segments`.
pub fn url(base: &str, segments: &[&str]) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    for segment in segments {
        url.push('/');
        url.extend(utf8_percent_encode(segment, SEGMENT));
    }
    url
}

/// The URL of the requested resource: the tenant's base URL and the request path, without the
/// query string or a trailing slash (what the broker's `self` links and page links use).
pub fn resource_url(base_url: &str, uri: &Uri) -> String {
    format!(
        "{}{}",
        base_url.trim_end_matches('/'),
        uri.path().trim_end_matches('/')
    )
}

/// [`resource_url`] with the query string, when there is one.
pub fn request_url(base_url: &str, uri: &Uri) -> String {
    match uri.query().filter(|q| !q.is_empty()) {
        Some(query) => format!("{}?{query}", resource_url(base_url, uri)),
        None => resource_url(base_url, uri),
    }
}

/// `{"href": …}`.
pub fn link(href: String) -> Value {
    json!({ "href": href })
}

/// `{"title": …, "name": …, "href": …}`.
pub fn named_link(href: String, title: &str, name: &str) -> Value {
    json!({ "title": title, "name": name, "href": href })
}

/// The `curies` entry every broker resource carries.
pub fn curies(base: &str) -> Value {
    json!([{ "name": "pb", "href": format!("{}/doc/{{rel}}?context=index", base.trim_end_matches('/')), "templated": true }])
}

/// A timestamp as the broker writes it (UTC, seconds, `+00:00`).
pub fn date(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Adds `createdAt`, and `updatedAt` when it differs from it (the broker's `Timestamps`).
pub fn timestamps(
    object: &mut serde_json::Map<String, Value>,
    created_at: &chrono::DateTime<chrono::Utc>,
    updated_at: Option<&chrono::DateTime<chrono::Utc>>,
) {
    if let Some(updated_at) = updated_at.filter(|u| date(u) != date(created_at)) {
        object.insert("updatedAt".into(), Value::String(date(updated_at)));
    }
    object.insert("createdAt".into(), Value::String(date(created_at)));
}

/// The `curies` entry of a resource documented under `context`.
pub fn curies_for(base: &str, context: &str) -> Value {
    json!([{ "name": "pb", "href": format!("{}/doc/{{rel}}?context={context}", base.trim_end_matches('/')), "templated": true }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_like_the_broker_encodes_names() {
        assert_eq!(
            url("http://x/", &["pacticipants", "Pricing Service"]),
            "http://x/pacticipants/Pricing%20Service"
        );
        assert_eq!(
            url("http://x", &["a/b", "1.0.0-rc~1_x"]),
            "http://x/a%2Fb/1.0.0-rc~1_x"
        );
    }
}
