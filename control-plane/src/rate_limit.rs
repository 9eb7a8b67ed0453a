//! Rate limits on the endpoints people could be attacked through: login, signup, password
//! reset, resending confirmation, and redeeming e-mail links.
//!
//! Fixed windows, counted per key (`login:ip:…`, `login:email:…`): in Redis when it is
//! configured, so every control-plane instance shares the count; in process otherwise. A request
//! over the limit is refused with 429 and `Retry-After` before any password is checked or any
//! e-mail is sent. When Redis is configured but unreachable, the limiter fails closed (503): an
//! attacker must not get unlimited guesses by taking Redis down.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use moka::future::Cache;

use crate::error::Error;
use crate::redis::{redis, Redis};

/// `N/S`: at most N requests per S seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub window: Duration,
}

impl Limit {
    pub fn parse(value: &str) -> Result<Self, String> {
        let (count, secs) = value
            .split_once('/')
            .ok_or_else(|| format!("{value:?} is not COUNT/SECONDS, e.g. 10/60"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("{value:?}: bad count"))?;
        let secs: u64 = secs
            .trim()
            .trim_end_matches('s')
            .parse()
            .map_err(|_| format!("{value:?}: bad number of seconds"))?;
        if count == 0 || secs == 0 {
            return Err(format!("{value:?}: count and seconds must be positive"));
        }
        Ok(Self {
            count,
            window: Duration::from_secs(secs),
        })
    }
}

/// The limits, one per kind of action (see `.env.sample`).
#[derive(Clone, Debug, clap::Args)]
pub struct RateLimitSettings {
    /// Login attempts per client IP and per e-mail address: COUNT/SECONDS.
    #[arg(long = "rate-limit-login", env = "RATE_LIMIT_LOGIN", default_value = "10/60", value_parser = Limit::parse)]
    pub login: Limit,
    /// Signups per client IP.
    #[arg(long = "rate-limit-signup", env = "RATE_LIMIT_SIGNUP", default_value = "20/3600", value_parser = Limit::parse)]
    pub signup: Limit,
    /// Password-reset and resend-confirmation requests per client IP and per e-mail address.
    #[arg(long = "rate-limit-mail", env = "RATE_LIMIT_MAIL", default_value = "5/3600", value_parser = Limit::parse)]
    pub mail: Limit,
    /// Redemptions of e-mail links (confirm, reset, accept invitation) per client IP.
    #[arg(long = "rate-limit-links", env = "RATE_LIMIT_LINKS", default_value = "30/60", value_parser = Limit::parse)]
    pub links: Limit,
}

#[derive(Clone)]
pub struct RateLimiter {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Redis(Redis),
    Local(Cache<String, Arc<AtomicU32>>),
}

impl RateLimiter {
    pub fn new(redis: Option<Redis>) -> Self {
        let backend = match redis {
            Some(redis) => Backend::Redis(redis),
            // Entries outlive the longest sensible window; keys carry their window number.
            None => Backend::Local(
                Cache::builder()
                    .max_capacity(1_000_000)
                    .time_to_live(Duration::from_secs(24 * 3600))
                    .build(),
            ),
        };
        Self { backend }
    }

    /// Counts one request against `key` (`<action>:<dimension>:<value>`); refuses it with 429
    /// when the window's count is used up.
    pub async fn check(&self, key: &str, limit: Limit) -> Result<(), Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let window = limit.window.as_secs();
        let slot = now / window;
        let retry_after = (slot + 1) * window - now;
        let windowed = format!("{key}:{window}:{slot}");
        let count = match &self.backend {
            Backend::Local(cache) => cache
                .get_with(windowed, async { Arc::new(AtomicU32::new(0)) })
                .await
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1),
            Backend::Redis(redis) => {
                let key = redis.key("rate", &windowed);
                let result: anyhow::Result<u32> = redis
                    .run(async |conn| {
                        let (count,): (u32,) = redis::pipe()
                            .atomic()
                            .incr(&key, 1)
                            .expire(&key, window as i64 + 1)
                            .ignore()
                            .query_async(&mut **conn)
                            .await?;
                        Ok(count)
                    })
                    .await;
                result.map_err(|err| {
                    tracing::debug!(error = %err, "rate limiter cannot reach Redis");
                    Error::Unavailable("rate limiting is unavailable; try again shortly".into())
                })?
            }
        };
        if count > limit.count {
            return Err(Error::RateLimited {
                retry_after_secs: retry_after.max(1),
            });
        }
        Ok(())
    }
}

/// The key of a per-address limit: addresses are compared case-insensitively, and hashed so
/// that Redis holds no e-mail addresses.
pub fn address_key(action: &str, email: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!("{action}:email:{}", hex::encode(&digest[..12]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_as_count_per_seconds() {
        assert_eq!(
            Limit::parse("10/60").unwrap(),
            Limit {
                count: 10,
                window: Duration::from_secs(60)
            }
        );
        assert_eq!(Limit::parse("5/3600s").unwrap().count, 5);
        for bad in ["10", "0/60", "10/0", "x/60", "10/y"] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_local_limiter_refuses_past_the_count_with_a_retry_after() {
        let limiter = RateLimiter::new(None);
        let limit = Limit::parse("3/60").unwrap();
        for _ in 0..3 {
            limiter.check("login:ip:1", limit).await.unwrap();
        }
        match limiter.check("login:ip:1", limit).await {
            Err(Error::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("expected 429, got {other:?}"),
        }
        limiter.check("login:ip:2", limit).await.unwrap();
    }
}
