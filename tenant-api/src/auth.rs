//! API-token authentication for the broker API.
//!
//! Clients send `Authorization: Bearer trty_…` (the Pact CLIs' `--broker-token`), or HTTP basic
//! auth whose password is a token (legacy clients configured with a username and password). The
//! token's shape and checksum are checked first, so garbage never reaches the database; then its
//! SHA-256 is looked up in `router.api_token_grant` and the grant cached by hash, including "no
//! such token", until the control database notifies a change to it. A token only works on the
//! host of the tenant it belongs to: another tenant's token is as unknown as a made-up one.

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
    grants: Cache<[u8; 32], Option<Arc<Grant>>>,
}

const REQUIRED: &str =
    "a valid API token for this tenant is required (Authorization: Bearer <token>)";

impl TokenVerifier {
    pub fn new(db: PgPool, ttl: Duration) -> Self {
        Self {
            db,
            grants: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Authenticates the request's credentials for `tenant`.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        tenant: TenantId,
    ) -> Result<Principal, Error> {
        let presented = presented_token(headers).ok_or(Error::Unauthenticated(REQUIRED))?;
        let token = ApiToken::parse(&presented).ok_or(Error::Unauthenticated(REQUIRED))?;
        let hash = token.hash();
        let grant = self
            .grants
            .try_get_with(hash.0, self.load(hash))
            .await
            .map_err(|err: Arc<sqlx::Error>| {
                Error::Internal(anyhow::anyhow!("token lookup: {err}"))
            })?;
        match grant {
            Some(grant)
                if grant.tenant_id == tenant
                    && grant.revoked_at.is_none()
                    && grant.expires_at.is_none_or(|at| at > Utc::now()) =>
            {
                Ok(Principal {
                    token_id: grant.api_token_id,
                    scope: grant.scope,
                })
            }
            _ => Err(Error::Unauthenticated(REQUIRED)),
        }
    }

    async fn load(&self, hash: TokenHash) -> Result<Option<Arc<Grant>>, sqlx::Error> {
        let grant: Option<Grant> = sqlx::query_as(
            "select api_token_id, tenant_id, scope, expires_at, revoked_at
             from router.api_token_grant where token_hash = $1",
        )
        .bind(hash.0.as_slice())
        .fetch_optional(&self.db)
        .await?;
        Ok(grant.map(Arc::new))
    }

    /// Forgets the grant of the token with this hex-encoded hash.
    pub async fn invalidate_hex(&self, hex_hash: &str) {
        if let Ok(bytes) = hex::decode(hex_hash) {
            if let Ok(hash) = <[u8; 32]>::try_from(bytes.as_slice()) {
                self.grants.invalidate(&hash).await;
            }
        }
    }

    pub fn invalidate_all(&self) {
        self.grants.invalidate_all();
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
