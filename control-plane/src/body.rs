//! Reading request bodies into typed values, with every failure answered in our problem format.
//!
//! [`JsonOrForm`] accepts `application/json` (API clients) and
//! `application/x-www-form-urlencoded` (HTML forms). A form-encoded body that is itself a JSON
//! document is read as JSON: that is what `curl -d '{…}'` sends, and signup is safe to accept it
//! from (it needs no session, so there is nothing to forge).

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A body deserialised from JSON or a form.
pub struct JsonOrForm<T>(pub T);

/// The configured body limit, so a 413 can say what it is.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<S, T> FromRequest<S> for JsonOrForm<T>
where
    S: Send + Sync,
    BodyLimit: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let kind = match media_type.as_deref() {
            Some("application/json") => Kind::Json,
            Some(t) if t.starts_with("application/") && t.ends_with("+json") => Kind::Json,
            Some("application/x-www-form-urlencoded") => Kind::Form,
            Some(other) => {
                return Err(Error::UnsupportedMediaType(format!(
                    "Content-Type {other} is not supported; send application/json"
                )))
            }
            None => {
                return Err(Error::UnsupportedMediaType(
                    "the request has no Content-Type; send application/json".into(),
                ))
            }
        };
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge(BodyLimit::from_ref(state).0)
            } else {
                Error::BadRequest(rejection.body_text())
            }
        })?;
        let looks_like_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        match kind {
            Kind::Json => parse_json(&bytes),
            Kind::Form if looks_like_json => parse_json(&bytes),
            Kind::Form => serde_urlencoded_from(&bytes),
        }
        .map(JsonOrForm)
    }
}

enum Kind {
    Json,
    Form,
}

/// Parses a JSON body, naming the path of the offending field when the shape is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Error::BadRequest(format!("the body is not valid JSON: {inner}"))
        } else if path == "." {
            Error::BadRequest(format!("the body has the wrong shape: {inner}"))
        } else {
            Error::BadRequest(format!("field {path}: {inner}"))
        }
    })
}

fn serde_urlencoded_from<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|err| Error::BadRequest(format!("the body is not a valid form: {err}")))
}

/// A query string deserialised into `T`, failures answered as problem JSON (axum's own `Query`
/// answers plain text).
pub struct QueryParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(QueryParams)
            .map_err(|err| Error::BadRequest(format!("bad query string: {err}")))
    }
}

/// A resource id from the path: anything that is not a UUID names nothing.
pub fn path_id(id: &str, what: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(id).map_err(|_| Error::NotFound(format!("no {what} {id:?}")))
}
