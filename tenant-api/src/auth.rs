//! API-token authentication for the broker API.
//!
//! Clients send `Authorization: Bearer trty_…` (the Pact CLIs' `--broker-token`), or HTTP basic
//! auth whose password is a token (legacy clients configured with a username and password). The
//! token's shape and checksum are checked first, so garbage never reaches the database; then its
//! SHA-256 is looked up in `router.api_token_grant` and the grant cached by hash until the
//! control database notifies a change to it. "No such token" is cached apart, in a smaller cache
//! with a short life (so made-up tokens cannot evict real grants), and each client may cause
//! only so many such misses a minute ([`crate::failed_lookups`]): beyond that its unknown tokens
//! are refused (429) without a query. A token only works on the host of the tenant it belongs
//! to: another tenant's token is as unknown as a made-up one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use moka::future::Cache;
use provisioning::api_token::{ApiToken, TokenHash, TokenScope};
use provisioning::TenantId;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Error;
use crate::failed_lookups::{ClientKey, FailedLookups};

/// Who is calling, once authenticated.
#[derive(Clone, Debug)]
pub struct Principal {
    pub token_id: Uuid,
    pub scope: TokenScope,
}

#[derive(Clone, Debug, sqlx::FromRow)]
struct Grant {
    api_token_id: Uuid,
    tenant_id: TenantId,
    #[sqlx(try_from = "String")]
    scope: TokenScope,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

pub struct TokenVerifier {
    db: PgPool,
    grants: Cache<[u8; 32], Arc<Grant>>,
    /// Hashes of tokens no grant has: bounded and short-lived.
    unknown: Cache<[u8; 32], ()>,
    failures: Arc<FailedLookups>,
    /// Queries made on the router database, for tests and metrics.
    queries: AtomicU64,
}

const REQUIRED: &str =
    "a valid API token for this tenant is required (Authorization: Bearer <token>)";

const TOO_MANY: &str =
    "too many requests with unknown API tokens from this address; try again in a minute";

/// How long "no such token" is believed (a new token's notification clears it anyway).
const UNKNOWN_TTL: Duration = Duration::from_secs(30);

/// Why a grant could not be loaded (the first is not cached as a grant).
#[derive(Debug)]
enum LoadError {
    Unknown,
    Database(sqlx::Error),
}

impl TokenVerifier {
    pub fn new(db: PgPool, ttl: Duration, failures: Arc<FailedLookups>) -> Self {
        Self {
            db,
            grants: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(ttl)
                .build(),
            unknown: Cache::builder()
                .max_capacity(50_000)
                .time_to_live(ttl.min(UNKNOWN_TTL))
                .build(),
            failures,
            queries: AtomicU64::new(0),
        }
    }

    /// How many token lookups reached the router database so far.
    pub fn database_queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Authenticates the request's credentials for `tenant`, on behalf of `client`.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        tenant: TenantId,
        client: ClientKey,
    ) -> Result<Principal, Error> {
        let presented = presented_token(headers).ok_or(Error::Unauthenticated(REQUIRED))?;
        let token = ApiToken::parse(&presented).ok_or(Error::Unauthenticated(REQUIRED))?;
        let hash = token.hash();
        if self.unknown.contains_key(&hash.0) {
            return Err(Error::Unauthenticated(REQUIRED));
        }
        let grant = match self.grants.get(&hash.0).await {
            Some(grant) => grant,
            None => {
                if self.failures.exhausted(client).await {
                    return Err(Error::TooManyRequests(TOO_MANY));
                }
                let loaded = self.grants.try_get_with(hash.0, self.load(hash)).await;
                match loaded {
                    Ok(grant) => grant,
                    Err(err) => match err.as_ref() {
                        LoadError::Unknown => {
                            self.unknown.insert(hash.0, ()).await;
                            self.failures.record(client).await;
                            return Err(Error::Unauthenticated(REQUIRED));
                        }
                        LoadError::Database(db) => {
                            return Err(Error::Internal(anyhow::anyhow!("token lookup: {db}")))
                        }
                    },
                }
            }
        };
        if grant.tenant_id == tenant
            && grant.revoked_at.is_none()
            && grant.expires_at.is_none_or(|at| at > Utc::now())
        {
            Ok(Principal {
                token_id: grant.api_token_id,
                scope: grant.scope,
            })
        } else {
            Err(Error::Unauthenticated(REQUIRED))
        }
    }

    async fn load(&self, hash: TokenHash) -> Result<Arc<Grant>, LoadError> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let grant: Option<Grant> = sqlx::query_as(
            "select api_token_id, tenant_id, scope, expires_at, revoked_at
             from router.api_token_grant where token_hash = $1",
        )
        .bind(hash.0.as_slice())
        .fetch_optional(&self.db)
        .await
        .map_err(LoadError::Database)?;
        grant.map(Arc::new).ok_or(LoadError::Unknown)
    }

    /// Forgets the grant of the token with this hex-encoded hash.
    pub async fn invalidate_hex(&self, hex_hash: &str) {
        if let Ok(bytes) = hex::decode(hex_hash) {
            if let Ok(hash) = <[u8; 32]>::try_from(bytes.as_slice()) {
                self.grants.invalidate(&hash).await;
                self.unknown.invalidate(&hash).await;
            }
        }
    }

    pub fn invalidate_all(&self) {
        self.grants.invalidate_all();
        self.unknown.invalidate_all();
    }
}

/// The token from `Authorization: Bearer …` or from the password of `Authorization: Basic …`.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = B64.decode(credentials).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (_user, password) = decoded.split_once(':')?;
        return Some(password.to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).unwrap(),
        );
        headers
    }

    #[test]
    fn tokens_come_from_bearer_or_from_the_basic_password() {
        assert_eq!(
            presented_token(&headers("Bearer trty_abc")).as_deref(),
            Some("trty_abc")
        );
        assert_eq!(
            presented_token(&headers("bearer  trty_abc ")).as_deref(),
            Some("trty_abc")
        );
        let basic = format!("Basic {}", B64.encode("ci:trty_xyz"));
        assert_eq!(
            presented_token(&headers(&basic)).as_deref(),
            Some("trty_xyz")
        );
        assert_eq!(presented_token(&headers("Digest x")), None);
        assert_eq!(presented_token(&headers("Basic !!!")), None);
        assert_eq!(presented_token(&HeaderMap::new()), None);
    }
}
