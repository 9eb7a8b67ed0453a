//! Login sessions: a random secret in an HttpOnly cookie, its SHA-256 as the key of a session
//! record in Redis (when configured) or in the `user_session` table; the extractors that turn a
//! request's cookie into the person behind it are in [`super::current_user`].
//!
//! * A new secret is minted at every login (a session id chosen before login is never adopted:
//!   no session fixation), and the record is deleted at logout.
//! * A session names the person's `auth_epoch`; a password change bumps it, so every session
//!   opened before dies. A deactivated or removed person's sessions die with them.
//! * State-changing requests authenticated by the cookie must carry `X-CSRF-Token`, a value
//!   derived from the session secret that the login response (and `GET /api/user`) returns. A
//!   cross-site form or `fetch` can send the cookie but cannot read or compute the token.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use provisioning::TenantId;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Error;
use crate::redis::{redis, Redis};

pub const COOKIE: &str = "treaty_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What a session remembers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: Uuid,
    pub tenant_id: TenantId,
    pub auth_epoch: i32,
}

#[derive(Clone)]
pub struct SessionStore {
    backend: Backend,
    ttl: Duration,
}

#[derive(Clone)]
enum Backend {
    Redis(Redis),
    Database(PgPool),
}

/// A session's secret: the cookie's value. Never logged.
pub struct SessionSecret(String);

impl SessionSecret {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(B64.encode(bytes))
    }

    fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The CSRF token that goes with this session.
    pub fn csrf_token(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"treaty-csrf\0");
        hasher.update(self.0.as_bytes());
        B64.encode(hasher.finalize())
    }
}

impl SessionStore {
    pub fn new(db: PgPool, redis: Option<Redis>, ttl: Duration) -> Self {
        let backend = match redis {
            Some(redis) => Backend::Redis(redis),
            None => Backend::Database(db),
        };
        Self { backend, ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a session for `record`; the returned secret goes into the cookie.
    pub async fn create(&self, record: &SessionRecord) -> Result<SessionSecret, Error> {
        let secret = SessionSecret::generate();
        let hash = secret.hash();
        match &self.backend {
            Backend::Database(db) => {
                sqlx::query(
                    "insert into user_session (session_hash, user_id, tenant_id, auth_epoch, expires_at)
                     values ($1, $2, $3, $4, now() + make_interval(secs => $5))",
                )
                .bind(hash.as_slice())
                .bind(record.user_id)
                .bind(record.tenant_id)
                .bind(record.auth_epoch)
                .bind(self.ttl.as_secs_f64())
                .execute(db)
                .await?;
            }
            Backend::Redis(redis) => {
                let json = serde_json::to_string(record).map_err(anyhow::Error::from)?;
                let key = redis.key("session", &hex::encode(hash));
                let mut conn = redis.pool.get().await.map_err(redis_down)?;
                let () = redis::cmd("SET")
                    .arg(&key)
                    .arg(json)
                    .arg("EX")
                    .arg(self.ttl.as_secs().max(1))
                    .query_async(&mut *conn)
                    .await
                    .map_err(redis_down)?;
            }
        }
        Ok(secret)
    }

    /// The live session with this secret, if any.
    pub async fn load(&self, secret: &SessionSecret) -> Result<Option<SessionRecord>, Error> {
        let hash = secret.hash();
        match &self.backend {
            Backend::Database(db) => {
                let row: Option<(Uuid, TenantId, i32)> = sqlx::query_as(
                    "select user_id, tenant_id, auth_epoch from user_session
                     where session_hash = $1 and expires_at > now()",
                )
                .bind(hash.as_slice())
                .fetch_optional(db)
                .await?;
                Ok(row.map(|(user_id, tenant_id, auth_epoch)| SessionRecord {
                    user_id,
                    tenant_id,
                    auth_epoch,
                }))
            }
            Backend::Redis(redis) => {
                let key = redis.key("session", &hex::encode(hash));
                let mut conn = redis.pool.get().await.map_err(redis_down)?;
                let json: Option<String> = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut *conn)
                    .await
                    .map_err(redis_down)?;
                Ok(json.and_then(|json| serde_json::from_str(&json).ok()))
            }
        }
    }

    /// Ends a session (logout). Unknown secrets are fine.
    pub async fn destroy(&self, secret: &SessionSecret) -> Result<(), Error> {
        let hash = secret.hash();
        match &self.backend {
            Backend::Database(db) => {
                sqlx::query("delete from user_session where session_hash = $1")
                    .bind(hash.as_slice())
                    .execute(db)
                    .await?;
            }
            Backend::Redis(redis) => {
                let key = redis.key("session", &hex::encode(hash));
                let mut conn = redis.pool.get().await.map_err(redis_down)?;
                let _: i64 = redis::cmd("DEL")
                    .arg(&key)
                    .query_async(&mut *conn)
                    .await
                    .map_err(redis_down)?;
            }
        }
        Ok(())
    }

    /// Deletes expired database sessions (Redis expires its own).
    pub async fn sweep(&self) -> Result<u64, sqlx::Error> {
        match &self.backend {
            Backend::Database(db) => Ok(sqlx::query(
                "delete from user_session where expires_at < now()",
            )
            .execute(db)
            .await?
            .rows_affected()),
            Backend::Redis(_) => Ok(0),
        }
    }
}

fn redis_down(err: impl std::fmt::Display) -> Error {
    tracing::warn!(error = %err, "session store (Redis) unavailable");
    Error::Unavailable("sessions are unavailable; try again shortly".into())
}

/// The session secret from the request's cookies.
pub fn presented_secret(headers: &HeaderMap) -> Option<SessionSecret> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| value.len() == 43 && value.bytes().all(is_base64url))
        .map(|value| SessionSecret(value.to_owned()))
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(secret: &SessionSecret, ttl: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        secret.0,
        ttl.as_secs()
    ))
    .expect("cookie values are base64url")
}

/// `Set-Cookie` that deletes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .expect("static cookie")
}

/// Compares in time that depends on the lengths only (CSRF tokens).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others_and_malformed_values_are_ignored() {
        let secret = SessionSecret::generate();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE}={}; c=d", secret.0)).unwrap(),
        );
        assert_eq!(presented_secret(&headers).unwrap().0, secret.0);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("treaty_session=short"),
        );
        assert!(presented_secret(&headers).is_none());
    }

    #[test]
    fn cookies_are_http_only_same_site_and_secure_outside_development() {
        let secret = SessionSecret::generate();
        let cookie = set_cookie(&secret, Duration::from_secs(60), true);
        let cookie = cookie.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Lax", "Secure", "Max-Age=60", "Path=/"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(!set_cookie(&secret, Duration::from_secs(60), false)
            .to_str()
            .unwrap()
            .contains("Secure"));
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_in_constant_time() {
        let (a, b) = (SessionSecret::generate(), SessionSecret::generate());
        assert_ne!(a.csrf_token(), b.csrf_token());
        assert!(constant_time_eq(
            a.csrf_token().as_bytes(),
            a.csrf_token().as_bytes()
        ));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
