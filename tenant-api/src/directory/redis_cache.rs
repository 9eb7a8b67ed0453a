//! The shared level of the tenant-route cache, in Redis (through a bb8 pool).
//!
//! Strictly an accelerator: every Redis failure is logged and treated as a miss, with short
//! timeouts, so Redis going away slows cold lookups down but never fails a request.

use std::time::Duration;

use bb8::Pool;
use bb8_redis::redis::{self, AsyncCommands};
use bb8_redis::RedisConnectionManager;

use super::TenantRoute;

const KEY_PREFIX: &str = "treaty:tenant-route:";

#[derive(Clone)]
pub struct RedisCache {
    pool: Pool<RedisConnectionManager>,
    ttl: Duration,
}

impl RedisCache {
    /// A pool that connects lazily: the tenant API starts even if Redis is down.
    pub fn new(url: &str, ttl: Duration) -> anyhow::Result<Self> {
        let manager = RedisConnectionManager::new(url)?;
        let pool = Pool::builder()
            .max_size(16)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(250))
            .build_unchecked(manager);
        Ok(Self { pool, ttl })
    }

    fn key(cache_key: &str) -> String {
        format!("{KEY_PREFIX}{cache_key}")
    }

    pub async fn get(&self, subdomain: &str) -> Option<TenantRoute> {
        let result: anyhow::Result<Option<String>> = async {
            let mut conn = self.pool.get().await?;
            Ok(conn.get(Self::key(subdomain)).await?)
        }
        .await;
        match result {
            Ok(Some(json)) => serde_json::from_str(&json).ok(),
            Ok(None) => None,
            Err(err) => {
                tracing::debug!(error = %err, "redis route cache unavailable");
                None
            }
        }
    }

    pub async fn put(&self, cache_key: &str, route: &TenantRoute) {
        let Ok(json) = serde_json::to_string(route) else {
            return;
        };
        let result: anyhow::Result<()> = async {
            let mut conn = self.pool.get().await?;
            let () = conn
                .set_ex(Self::key(cache_key), json, self.ttl.as_secs().max(1))
                .await?;
            Ok(())
        }
        .await;
        if let Err(err) = result {
            tracing::debug!(error = %err, "redis route cache unavailable");
        }
    }

    pub async fn delete(&self, subdomain: &str) {
        let result: anyhow::Result<()> = async {
            let mut conn = self.pool.get().await?;
            let _: i64 = conn.del(Self::key(subdomain)).await?;
            Ok(())
        }
        .await;
        if let Err(err) = result {
            tracing::debug!(error = %err, "redis route cache unavailable");
        }
    }

    /// `PING`, for the dependencies endpoint.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await?;
        let _: String = redis::cmd("PING").query_async(&mut *conn).await?;
        Ok(())
    }
}
