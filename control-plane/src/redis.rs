//! The control plane's optional Redis: one bb8 pool shared by the session store and the rate
//! limiter, and the key namespace that keeps several deployments (or test runs) on one server
//! apart. After a failure, Redis is skipped for a short window ([`Outage`]): callers fail (or
//! fall back) at once instead of each paying the connection timeout.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bb8::{Pool, PooledConnection};
use bb8_redis::RedisConnectionManager;
use provisioning::outage::Outage;

pub use bb8_redis::redis;

/// A Redis pool and the prefix of every key this process writes.
#[derive(Clone)]
pub struct Redis {
    pub pool: Pool<RedisConnectionManager>,
    namespace: String,
    outage: Arc<Outage>,
}

/// How long Redis is skipped after a failure.
const SKIP_AFTER_FAILURE: Duration = Duration::from_secs(2);

impl Redis {
    /// Connects lazily: the control plane starts while Redis is down, and requests that need it
    /// fail cleanly (sessions) or fall back (nothing: rate limits need it too) until it is back.
    pub fn new(url: &str, namespace: &str) -> anyhow::Result<Self> {
        let manager = RedisConnectionManager::new(url).context("REDIS_URL")?;
        let pool = Pool::builder()
            .max_size(16)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(500))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            namespace: namespace.to_owned(),
            outage: Arc::new(Outage::new("redis", SKIP_AFTER_FAILURE)),
        })
    }

    /// Runs `call` on a pooled connection, unless Redis failed within the last moments (then it
    /// fails at once). Failures and recovery are recorded.
    pub async fn run<T, F>(&self, call: F) -> anyhow::Result<T>
    where
        F: for<'c> AsyncFnOnce(
            &'c mut PooledConnection<'_, RedisConnectionManager>,
        ) -> anyhow::Result<T>,
    {
        if self.outage.skip() {
            anyhow::bail!("redis is unavailable (skipped after a recent failure)");
        }
        let result = async {
            let mut conn = self.pool.get().await?;
            call(&mut conn).await
        }
        .await;
        match &result {
            Ok(_) => self.outage.succeeded(),
            Err(err) => self.outage.failed(err),
        }
        result
    }

    /// `<namespace>:<kind>:<rest>`.
    pub fn key(&self, kind: &str, rest: &str) -> String {
        format!("{}:{kind}:{rest}", self.namespace)
    }
}
