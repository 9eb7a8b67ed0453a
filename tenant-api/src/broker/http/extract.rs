//! How a broker handler reads its input: path parameters, the query string and the request
//! body, each answering bad input in the broker's error shapes (`crate::error::Error`: a 400
//! `{"error": …}`, field errors, 413, 415) — never axum's plain-text rejections, never a 500.
//!
//! - Path: [`PathParams<T>`] (URL-decoded; a segment that is not UTF-8, such as `%FF`, is a 400).
//! - Query: [`QueryParams`] (flat pairs, in order), [`Query<T>`] (deserialised; a duplicate or
//!   malformed key is a 400), [`RawQuery`] (the string as sent, for the Rack nested-query parser
//!   in `broker/query.rs`). Paging is [`super::pagination::Pagination`].
//! - Body: [`RequestBody`] (bytes and media type; the handler chooses the accepted types, 415
//!   otherwise), [`JsonBytes`] / [`JsonBody<T>`] (JSON only, 415 otherwise; `T` parsed with the
//!   failing field named). All read the body through [`read_body`], within the body limit (413).
//!
//! A JSON string with a NUL character (`\u0000`) is refused with a 400 as soon as a JSON body is
//! read ([`refuse_nul`]): PostgreSQL can store NUL neither in `text` nor in `jsonb`, and would
//! otherwise refuse it deep inside a write. (NUL in paths and query strings is refused before
//! routing, in [`super::rewrite`].)

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::state::BodyLimit;

// ---------------------------------------------------------------------------------------------
// Path

/// Path parameters (URL-decoded), with a malformed path answered in the broker's error shape.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|rejection| Error::BadRequest(rejection.body_text()))
    }
}

// ---------------------------------------------------------------------------------------------
// Query

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

/// The query string deserialised into `T` (form encoding, as axum's `Query`); a key given twice
/// for a single-valued field, or a value of the wrong type, is a 400 in the broker's shape.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| Error::BadRequest(rejection.body_text()))
    }
}

/// The query string as sent (not decoded), if there is one.
pub struct RawQuery(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(Self(parts.uri.query().map(str::to_owned)))
    }
}

// ---------------------------------------------------------------------------------------------
// Body

/// The `Content-Type` without parameters, lower-cased (`None` without a readable header).
fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

/// Reads a request's body within the body limit: 413 beyond it, 400 when it cannot be read.
/// Every body extractor reads through this.
pub async fn read_body<S: Send + Sync>(request: Request<Body>, state: &S) -> Result<Bytes>
where
    BodyLimit: FromRef<S>,
{
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge(BodyLimit::from_ref(state).0)
            } else {
                Error::BadRequest(rejection.body_text())
            }
        })
}

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
        let media_type = content_type(request.headers()).filter(|v| !v.is_empty());
        let bytes = read_body(request, state).await?;
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
        refuse_nul(&self.bytes)?;
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

/// The raw bytes of a JSON request body (content type checked, size limited, no NUL).
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes
where
    BodyLimit: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match content_type(request.headers()).as_deref() {
            Some("application/json") => {}
            Some(t) if t.starts_with("application/") && t.ends_with("+json") => {}
            other => {
                return Err(Error::UnsupportedMediaType(format!(
                    "expected a request body of type application/json, got {}",
                    other.unwrap_or("none")
                )))
            }
        }
        let bytes = read_body(request, state).await?;
        refuse_nul(&bytes)?;
        Ok(Self(bytes))
    }
}

/// A JSON request body deserialised into `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T>
where
    BodyLimit: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(request, state).await?;
        parse(&bytes).map(Self)
    }
}

/// Parses JSON, naming the path of the offending field when the shape is wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Error::BadRequest(format!("the request body is not valid JSON: {inner}"))
        } else if path == "." {
            Error::BadRequest(format!("the request body has the wrong shape: {inner}"))
        } else {
            Error::field(path, inner.to_string())
        }
    })
}

/// Whether a JSON text has a string with a NUL character. In valid JSON a NUL can only be
/// written as the escape `\u0000` (a raw control character is a syntax error), and a backslash
/// only occurs inside strings, so following the escapes is enough: no full parse.
pub fn has_nul_escape(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == 0 {
            return true;
        }
        if json[i] == b'\\' {
            if json.get(i + 1) == Some(&b'u')
                && json
                    .get(i + 2..i + 6)
                    .is_some_and(|hex| hex.iter().all(|b| *b == b'0'))
            {
                return true;
            }
            // Skip the escaped character, so `\\u0000` (a backslash, then text) is not a NUL.
            i += 2;
            continue;
        }
        i += 1;
    }
    false
}

/// 400 when a JSON body has a string with a NUL character.
pub fn refuse_nul(json: &[u8]) -> Result<()> {
    if has_nul_escape(json) {
        return Err(Error::BadRequest(
            "the request body cannot contain a NUL character (\\u0000) in a JSON string".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_found_in_json_strings_only_as_escapes() {
        assert!(has_nul_escape(br#"{"name":"a\u0000b"}"#));
        assert!(has_nul_escape(br#"{"a\u0000":1}"#));
        assert!(has_nul_escape(b"{\"name\":\"a\0b\"}"));
        assert!(has_nul_escape(br#"["\\\u0000"]"#));
        assert!(!has_nul_escape(br#"{"name":"a\\u0000b"}"#));
        assert!(!has_nul_escape(br#"{"name":"a\u0001b \u1000"}"#));
        assert!(!has_nul_escape(br#"{"name":"trailing\"#));
        assert!(!has_nul_escape(br#"{"n":"\u000"}"#));
    }
}
