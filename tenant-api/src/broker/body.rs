//! Request bodies of the broker API: JSON only (415 otherwise), parsed with the failing field
//! named, size-limited (413), and never a 500.
//!
//! A JSON string with a NUL character (`\u0000`) is refused with a 400 as soon as the body is
//! read ([`refuse_nul`]): PostgreSQL can store NUL neither in `text` nor in `jsonb`, and would
//! otherwise refuse it deep inside a write.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::state::BodyLimit;

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
        refuse_nul(&bytes)?;
        Ok(Self(bytes))
    }
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
pub fn refuse_nul(json: &[u8]) -> Result<(), Error> {
    if has_nul_escape(json) {
        return Err(Error::BadRequest(
            "the request body cannot contain a NUL character (\\u0000) in a JSON string".into(),
        ));
    }
    Ok(())
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
