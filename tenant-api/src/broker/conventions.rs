//! The Pact Broker's HTTP conventions, applied to every broker route
//! (`pact-broker-api.md` §0; `lib/rack/pact_broker/*` and Webmachine in the Ruby broker).
//!
//! - **Before routing** ([`before_routing`]): a host that is no DNS name or IP literal is a 400
//!   (problem JSON); a path with an empty segment (`//`) is a 404, a decoded path with a new
//!   line or tab a 422 and one with a NUL a 400, all as problem JSON; a query string with a NUL
//!   (`%00`) is a 400 in the broker's shape (PostgreSQL cannot store NUL in text); a path ending in `.json`,
//!   `.csv`, `.svg` or `.yaml` loses the extension and gets the matching `Accept`
//!   (`/…/badge.svg` is `/…/badge` with `Accept: image/svg+xml`).
//! - **Methods** (also in [`before_routing`], on the way out; the 405 itself comes from the
//!   route, behind the tenant gate): `OPTIONS` on any route answers 200 with
//!   `Access-Control-Allow-Methods`; a method the route does not have is a 405 whose `Allow` lists
//!   the route's methods the broker's way (`GET, POST, OPTIONS`). This has to wrap the router:
//!   axum adds `Allow` after every route-level layer has run.
//! - **Content negotiation** ([`negotiate`], around each handler): the `Accept` header is matched
//!   against the media types the resource provides ([`provided_types`]) with Webmachine's rules;
//!   nothing acceptable is a 406. The chosen type travels to the handler as [`Negotiated`].
//! - **Request bodies** ([`RequestBody`]): a content type the resource does not accept is a 415;
//!   a JSON body that does not parse (or is not an object) is a 400.
//! - **Response headers** ([`broker_headers`]): `x-pact-broker-version`, `vary: Accept` and a
//!   default `cache-control: no-cache` on every response.
//!
//! Deliberate leniencies, where the broker's behaviour would only break clients: an `Accept` of
//! `application/problem+json` (how clients ask for error details) is acceptable everywhere, a
//! `charset` parameter in `Accept` is ignored (we always answer UTF-8), and `q=0` excludes a type.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::host;
use crate::state::BodyLimit;

/// The Pact Broker release whose API this one reproduces (sent as `x-pact-broker-version`).
pub const PACT_BROKER_VERSION: &str = "2.120.0";

const X_PACT_BROKER_VERSION: HeaderName = HeaderName::from_static("x-pact-broker-version");
const ACCESS_CONTROL_ALLOW_METHODS: HeaderName =
    HeaderName::from_static("access-control-allow-methods");

/// The broker's response type for HAL resources.
pub const HAL_JSON: &str = "application/hal+json";

// ---------------------------------------------------------------------------------------------
// Before routing

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

// ---------------------------------------------------------------------------------------------
// Response headers

/// Adds the headers the broker puts on every response.
pub async fn broker_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_broker_headers(&mut response);
    response
}

fn add_broker_headers(response: &mut Response) {
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

// ---------------------------------------------------------------------------------------------
// Methods

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
fn allowed_methods(is_options: bool, mut response: Response) -> Response {
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

// ---------------------------------------------------------------------------------------------
// Content negotiation

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

// ---------------------------------------------------------------------------------------------
// Request bodies and path parameters

/// A request body with its content type, read within the body limit.
pub struct RequestBody {
    media_type: Option<String>,
    pub bytes: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for RequestBody
where
    BodyLimit: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request(request: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let media_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::PayloadTooLarge(BodyLimit::from_ref(state).0)
                } else {
                    Error::BadRequest(rejection.body_text())
                }
            })?;
        Ok(Self { media_type, bytes })
    }
}

impl RequestBody {
    /// The body's media type without parameters (`application/octet-stream` when unnamed).
    pub fn media_type(&self) -> &str {
        self.media_type
            .as_deref()
            .unwrap_or("application/octet-stream")
    }

    /// 415 unless the body's media type is one of `accepted`; the one it is.
    pub fn require(&self, accepted: &[&'static str]) -> Result<&'static str> {
        let media_type = self.media_type();
        accepted
            .iter()
            .find(|a| **a == media_type)
            .copied()
            .ok_or_else(|| {
                Error::UnsupportedMediaType(format!(
                    "expected a request body of type {}, got {media_type}",
                    accepted.join(" or ")
                ))
            })
    }

    /// The body as a JSON object; `None` when empty. 400 when it is not JSON or not an object.
    pub fn json_object(&self) -> Result<Option<Map<String, Value>>> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if let Err(err) = std::str::from_utf8(&self.bytes) {
            let valid = &self.bytes[..err.valid_up_to()];
            let text = String::from_utf8_lossy(valid);
            let index = text.chars().count();
            let fragment: String = text.chars().skip(index.saturating_sub(100)).collect();
            return Err(Error::BadRequest(format!(
                "Request body has a non UTF-8 character at char {} and cannot be parsed as JSON. \
                 Fragment preceding invalid character is: '{fragment}'",
                index + 1
            )));
        }
        super::body::refuse_nul(&self.bytes)?;
        match serde_json::from_slice::<Value>(&self.bytes) {
            Ok(Value::Object(object)) => Ok(Some(object)),
            Ok(other) => Err(Error::BadRequest(format!(
                "Expected JSON Object in request body but found {}",
                json_kind(&other)
            ))),
            Err(err) => Err(Error::BadRequest(format!(
                "the request body is not valid JSON: {err}"
            ))),
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Path parameters (URL-decoded), with a malformed path answered in the broker's error shape.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|rejection| Error::BadRequest(rejection.body_text()))
    }
}

/// The flat query parameters of a request (`+` and `%XX` decoded), in order.
#[derive(Clone, Debug, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            query
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query()))
    }
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
