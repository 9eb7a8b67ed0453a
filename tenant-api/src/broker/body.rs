//! Request bodies of the broker API: JSON only (415 otherwise), parsed with the failing field
//! named, size-limited (413), and never a 500.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// The configured body limit, so a 413 can say what it is.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The raw bytes of a JSON request body (content type checked, size limited).
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes
where
    BodyLimit: FromRef<S>,
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
        match media_type.as_deref() {
            Some("application/json") => {}
            Some(t) if t.starts_with("application/") && t.ends_with("+json") => {}
            other => {
                return Err(Error::UnsupportedMediaType(format!(
                    "expected a request body of type application/json, got {}",
                    other.unwrap_or("none")
                )))
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge(BodyLimit::from_ref(state).0)
            } else {
                Error::BadRequest(rejection.body_text())
            }
        })?;
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

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse(&bytes).map(Self)
    }
}

/// Parses JSON, naming the path of the offending field when the shape is wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
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
