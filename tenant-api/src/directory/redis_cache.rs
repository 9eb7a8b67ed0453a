//! The shared level of the tenant-route cache, in Redis (through a bb8 pool).
//!
//! Strictly an accelerator: every Redis failure is treated as a miss, with short timeouts, so
//! Redis going away never fails a request. After a failure Redis is skipped for a short window
//! ([`Outage`]) rather than paying the timeout on every call; the first failure and the recovery
//! are logged at warn level.

use std::sync::Arc;
use std::time::Duration;

use bb8::Pool;
use bb8_redis::redis::{self, AsyncCommands};
use bb8_redis::RedisConnectionManager;
use provisioning::outage::Outage;

use super::route::TenantRoute;

const KEY_PREFIX: &str = "treaty:tenant-route:";

#[derive(Clone)]
pub struct RedisCache {
    pool: Pool<RedisConnectionManager>,
    ttl: Duration,
    outage: Arc<Outage>,
}

/// How long Redis is skipped after a failure.
const SKIP_AFTER_FAILURE: Duration = Duration::from_secs(5);

impl RedisCache {
    /// A pool that connects lazily: the tenant API starts even if Redis is down.
    pub fn new(url: &str, ttl: Duration) -> anyhow::Result<Self> {
        let manager = RedisConnectionManager::new(url)?;
        let pool = Pool::builder()
            .max_size(16)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(250))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            ttl,
            outage: Arc::new(Outage::new(
                "redis (tenant-route cache)",
                SKIP_AFTER_FAILURE,
            )),
        })
    }

    fn key(cache_key: &str) -> String {
        format!("{KEY_PREFIX}{cache_key}")
    }

    /// Records how a call went; `None` on failure.
    fn outcome<T>(&self, result: anyhow::Result<T>) -> Option<T> {
        match result {
            Ok(value) => {
                self.outage.succeeded();
                Some(value)
            }
            Err(err) => {
                self.outage.failed(&err);
                None
            }
        }
    }

    pub async fn get(&self, subdomain: &str) -> Option<TenantRoute> {
        if self.outage.skip() {
            return None;
        }
        let result: anyhow::Result<Option<String>> = async {
            let mut conn = self.pool.get().await?;
            Ok(conn.get(Self::key(subdomain)).await?)
        }
        .await;
        serde_json::from_str(&self.outcome(result)??).ok()
    }

    pub async fn put(&self, cache_key: &str, route: &TenantRoute) {
        let Ok(json) = serde_json::to_string(route) else {
            return;
        };
        if self.outage.skip() {
            return;
        }
        let result: anyhow::Result<()> = async {
            let mut conn = self.pool.get().await?;
            let () = conn
                .set_ex(Self::key(cache_key), json, self.ttl.as_secs().max(1))
                .await?;
            Ok(())
        }
        .await;
        self.outcome(result);
    }

    pub async fn delete(&self, subdomain: &str) {
        if self.outage.skip() {
            return;
        }
        let result: anyhow::Result<()> = async {
            let mut conn = self.pool.get().await?;
            let _: i64 = conn.del(Self::key(subdomain)).await?;
            Ok(())
        }
        .await;
        self.outcome(result);
    }

    /// `PING`, for the dependencies endpoint.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await?;
        let _: String = redis::cmd("PING").query_async(&mut *conn).await?;
        Ok(())
    }
}
