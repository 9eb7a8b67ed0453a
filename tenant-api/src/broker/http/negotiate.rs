//! Content negotiation, around each broker handler: the `Accept` header is matched against the
//! media types the resource provides ([`provided_types`], by route shape) with Webmachine's rules;
//! nothing acceptable is a 406. The chosen type travels to the handler as [`Negotiated`].
//! (415, the other direction, is the body extractors' answer: `super::extract`.)
//!
//! Deliberate leniencies, where the broker's behaviour would only break clients: an `Accept` of
//! `application/problem+json` (how clients ask for error details) is acceptable everywhere, a
//! `charset` parameter in `Accept` is ignored (we always answer UTF-8), and `q=0` excludes a type.

use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{Error, Result};

/// The broker's response type for HAL resources (without the charset it is sent with).
const HAL_JSON: &str = "application/hal+json";

/// The media type chosen for the response, for resources that provide more than one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated(pub &'static str);

const PACT_TYPES: &[&str] = &[
    "application/hal+json",
    "application/json",
    "text/html",
    "application/vnd.pactbrokerextended.v1+json",
];
const VERIFICATION_TYPES: &[&str] = &[
    "application/hal+json",
    "application/json",
    "application/vnd.pactbrokerextended.v1+json",
];
const HAL_OR_TEXT: &[&str] = &["application/hal+json", "text/plain"];

/// A route template with its parameters replaced by `*`
/// (`/pacticipants/{pacticipant}/versions` → `/pacticipants/*/versions`).
fn shape(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The media types a broker resource provides, in preference order (the first answers `*/*` or
/// a missing `Accept`), by route shape; HAL+JSON unless listed. Empty: no negotiation.
pub fn provided_types(template: &str) -> &'static [&'static str] {
    let shape = shape(template);
    let s = shape.as_str();
    let pact_pair = |rest: &str| {
        s.strip_prefix("/pacts/provider/*/consumer/*")
            .or_else(|| s.strip_prefix("/pact/provider/*/consumer/*"))
            == Some(rest)
    };
    if s.ends_with("/badge") {
        &["image/svg+xml"]
    } else if s.contains("/diff/") {
        &["text/plain"]
    } else if s.ends_with("/verification-results/*") || s.ends_with("/verification-results/latest")
    {
        VERIFICATION_TYPES
    } else if [
        "/version/*",
        "/versions/*",
        "/pact-version/*",
        "/pact-version/*/metadata/*",
        "/latest",
        "/latest/*",
        "/latest-untagged",
        "/branch/*/latest",
    ]
    .into_iter()
    .any(pact_pair)
    {
        PACT_TYPES
    } else if matches!(
        s,
        "/matrix"
            | "/can-i-deploy"
            | "/dashboard"
            | "/dashboard/provider/*/consumer/*"
            | "/pacticipants/*/latest-version/*/can-i-deploy/to/*"
            | "/pacticipants/*/branches/*/latest-version/can-i-deploy/to-environment/*"
    ) {
        HAL_OR_TEXT
    } else if s == "/triggered-webhooks/*/logs" {
        &["text/plain", "application/hal+json"]
    } else if s == "/relationships" || s == "/groups/*" {
        &["text/csv"]
    } else if s == "/integrations" {
        &["text/vnd.graphviz", "application/hal+json"]
    } else if s == "/integrations/provider/*/consumer/*" {
        // The broker's resource declares no type (only DELETE): nothing to negotiate.
        &[]
    } else {
        &[HAL_JSON]
    }
}

struct MediaRange {
    kind: String,
    params: Vec<(String, String)>,
    q: f32,
}

fn parse_media_range(raw: &str) -> Option<MediaRange> {
    let mut pieces = raw.split(';');
    let kind = pieces.next()?.trim().to_ascii_lowercase();
    if kind.is_empty() || kind.contains(char::is_whitespace) {
        return None;
    }
    let mut params = Vec::new();
    let mut q = 1.0;
    for param in pieces {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        if name == "q" {
            q = value.parse().unwrap_or(1.0);
        } else if !name.is_empty() {
            params.push((name, value));
        }
    }
    Some(MediaRange { kind, params, q })
}

/// Webmachine's choice of a provided media type for an `Accept` header: ranges in order of
/// preference (`q`, then position), each taking the first provided type it matches; `None` when
/// nothing is acceptable. A missing or empty header takes the first provided type.
pub fn choose_media_type(accept: Option<&str>, provided: &[&'static str]) -> Option<&'static str> {
    let accept = accept.map(str::trim).unwrap_or_default();
    if accept.is_empty() {
        return provided.first().copied();
    }
    let mut ranges: Vec<MediaRange> = accept
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .filter_map(parse_media_range)
        .collect();
    // Stable: equal preferences keep the client's order.
    ranges.sort_by(|a, b| b.q.total_cmp(&a.q));
    for range in ranges.iter().filter(|r| r.q > 0.0) {
        let params_ok = range.params.iter().all(|(name, _)| name == "charset");
        if !params_ok {
            continue;
        }
        if range.kind == "application/problem+json" {
            return provided.first().copied();
        }
        let (major, minor) = range.kind.split_once('/').unwrap_or((&range.kind, ""));
        let found = provided.iter().find(|p| {
            range.kind == "*" || range.kind == "*/*" || **p == range.kind || {
                let (p_major, _) = p.split_once('/').unwrap_or((p, ""));
                minor == "*" && p_major == major
            }
        });
        if let Some(found) = found {
            return Some(found);
        }
    }
    None
}

/// Refuses (406) a request whose `Accept` admits none of the types its resource provides, and
/// tells the handler which one was chosen.
pub async fn negotiate(
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Result<Response> {
    let Some(matched) = matched else {
        return Ok(next.run(request).await);
    };
    let provided = provided_types(matched.as_str());
    if provided.is_empty() {
        return Ok(next.run(request).await);
    }
    let accept = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let header = (!accept.is_empty()).then_some(accept.as_str());
    match choose_media_type(header, provided) {
        Some(chosen) => {
            request.extensions_mut().insert(Negotiated(chosen));
            Ok(next.run(request).await)
        }
        None => Err(Error::NotAcceptable(format!(
            "this resource can only be represented as {}",
            provided.join(", ")
        ))),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Negotiated {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Negotiated>()
            .copied()
            .unwrap_or(Negotiated(HAL_JSON)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_are_matched_the_webmachine_way() {
        let hal = &["application/hal+json"][..];
        let dot = &["text/vnd.graphviz", "application/hal+json"][..];
        let cases: &[(Option<&str>, &[&'static str], Option<&str>)] = &[
            (None, hal, Some("application/hal+json")),
            (Some(""), dot, Some("text/vnd.graphviz")),
            (Some("*/*"), dot, Some("text/vnd.graphviz")),
            (Some("application/*"), dot, Some("application/hal+json")),
            (
                Some("application/hal+json, application/json"),
                hal,
                Some("application/hal+json"),
            ),
            (Some("application/json"), hal, None),
            (Some("text/html"), hal, None),
            (
                Some("text/html, application/hal+json;q=0.9"),
                dot,
                Some("application/hal+json"),
            ),
            (
                Some("text/vnd.graphviz;q=0.5, application/hal+json"),
                dot,
                Some("application/hal+json"),
            ),
            (Some("application/hal+json;q=0"), hal, None),
            (
                Some("application/hal+json;charset=utf-8"),
                hal,
                Some("application/hal+json"),
            ),
            (Some("application/hal+json;version=2"), hal, None),
            (
                Some("application/problem+json"),
                hal,
                Some("application/hal+json"),
            ),
            (
                Some("APPLICATION/HAL+JSON"),
                hal,
                Some("application/hal+json"),
            ),
        ];
        for (accept, provided, expected) in cases {
            assert_eq!(
                choose_media_type(*accept, provided),
                *expected,
                "Accept: {accept:?}"
            );
        }
    }

    #[test]
    fn route_shapes_name_the_types_a_resource_provides() {
        assert_eq!(provided_types("/pacticipants/{pacticipant}"), &[HAL_JSON]);
        assert_eq!(
            provided_types("/integrations"),
            &["text/vnd.graphviz", "application/hal+json"]
        );
        assert_eq!(
            provided_types("/pacts/provider/{p}/consumer/{c}/version/{v}"),
            PACT_TYPES
        );
        assert_eq!(
            provided_types("/pacts/provider/{p}/consumer/{c}/latest/{tag}/badge"),
            &["image/svg+xml"]
        );
        assert_eq!(
            provided_types(
                "/pacts/provider/{p}/consumer/{c}/pact-version/{sha}/verification-results/{n}"
            ),
            VERIFICATION_TYPES
        );
        assert!(provided_types("/integrations/provider/{p}/consumer/{c}").is_empty());
    }
}
