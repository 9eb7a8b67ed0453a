//! The control plane's optional Redis: one bb8 pool shared by the session store and the rate
//! limiter, and the key namespace that keeps several deployments (or test runs) on one server
//! apart.

use std::time::Duration;

use anyhow::Context;
use bb8::Pool;
use bb8_redis::RedisConnectionManager;

pub use bb8_redis::redis;

/// A Redis pool and the prefix of every key this process writes.
#[derive(Clone)]
pub struct Redis {
    pub pool: Pool<RedisConnectionManager>,
    namespace: String,
}

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
        })
    }

    /// `<namespace>:<kind>:<rest>`.
    pub fn key(&self, kind: &str, rest: &str) -> String {
        format!("{}:{kind}:{rest}", self.namespace)
    }
}
