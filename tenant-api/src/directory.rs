//! The tenant directory: subdomain (or custom domain) → routing record, read from the control
//! database's `router.tenant_route` view and cached.
//!
//! Two cache levels: an in-process cache in front of everything (most requests never leave the
//! process), and Redis, when configured, shared by every tenant-API instance so a cold instance
//! does not stampede the control database. Both are invalidated by the control database's
//! `NOTIFY` on every routing-relevant change (see [`crate::invalidation`]); TTLs bound the
//! staleness should a notification be missed. Unknown subdomains and domains are cached too
//! (in-process only, apart from the records and weighed by their length, so random hosts can
//! neither evict real records nor grow the cache without bound); the `INSERT` trigger clears
//! them the moment a signup claims the name. A client may only cause so many misses a minute
//! ([`crate::failed_lookups`]): beyond that its uncached lookups are refused without a query,
//! so random `Host` headers cannot load the router database.
//!
//! The record is also all the tenant API knows about billing: the plan's name, its integration
//! limit and the payment state, computed by the control plane whenever the plan or the payment
//! state changes — so a plan change reaches this process with the same invalidation.

mod redis_cache;
mod route;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use sqlx::PgPool;

pub use redis_cache::RedisCache;
pub use route::{BillingState, RouteKey, TenantRoute};

use crate::failed_lookups::{ClientKey, FailedLookups};

/// Total length of the keys of cached misses, in bytes (hosts are at most 253 characters).
const MISSES_CAPACITY_BYTES: u64 = 4 * 1024 * 1024;

pub struct TenantDirectory {
    db: PgPool,
    local: Cache<String, Arc<TenantRoute>>,
    /// Keys no tenant has, weighed by their length.
    misses: Cache<String, ()>,
    redis: Option<RedisCache>,
    failures: Arc<FailedLookups>,
    /// Bumped by every invalidation, so a load that overlapped one can drop what it cached.
    invalidations: AtomicU64,
    /// Queries made on the router database, for tests and metrics.
    queries: AtomicU64,
}

/// Why a lookup found no record.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The client has caused too many misses this minute; nothing was looked up.
    #[error("too many requests for unknown hosts from this address; try again in a minute")]
    TooManyMisses,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// A load's outcome that is not a record (not cached as one).
#[derive(Debug)]
enum LoadError {
    Missing,
    Failed(anyhow::Error),
}

impl TenantDirectory {
    pub fn new(
        db: PgPool,
        redis: Option<RedisCache>,
        ttl: Duration,
        failures: Arc<FailedLookups>,
    ) -> Self {
        let local = Cache::builder()
            .max_capacity(100_000)
            .time_to_live(ttl)
            .build();
        let misses = Cache::builder()
            .weigher(|key: &String, _: &()| u32::try_from(key.len()).unwrap_or(u32::MAX))
            .max_capacity(MISSES_CAPACITY_BYTES)
            .time_to_live(ttl)
            .build();
        Self {
            db,
            local,
            misses,
            redis,
            failures,
            invalidations: AtomicU64::new(0),
            queries: AtomicU64::new(0),
        }
    }

    /// How many lookups reached the router database so far.
    pub fn database_queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// The routing record for `key`, or `None` when no tenant has it; looked up on behalf of
    /// `client`, whose misses are counted.
    ///
    /// A record read from the database just before a change commits would be cached after the
    /// change's invalidation had already run (the cache inserts whatever a load returns), and
    /// served until the TTL — a plan change or a suspension missed for a minute. So a load that
    /// overlapped any invalidation drops what it cached; the request itself, which began before
    /// the change, may still use it.
    pub async fn lookup(
        &self,
        key: &RouteKey,
        client: ClientKey,
    ) -> Result<Option<Arc<TenantRoute>>, LookupError> {
        let cache_key = key.cache_key();
        if let Some(route) = self.local.get(cache_key.as_str()).await {
            return Ok(Some(route));
        }
        if self.misses.contains_key(cache_key.as_str()) {
            return Ok(None);
        }
        if self.failures.exhausted(client).await {
            return Err(LookupError::TooManyMisses);
        }
        let seen = self.invalidations.load(Ordering::Acquire);
        let loaded = AtomicBool::new(false);
        let outcome = self
            .local
            .try_get_with_by_ref(cache_key.as_str(), async {
                loaded.store(true, Ordering::Relaxed);
                match self.load(key, &cache_key).await {
                    Ok(Some(route)) => Ok(route),
                    Ok(None) => Err(LoadError::Missing),
                    Err(err) => Err(LoadError::Failed(err)),
                }
            })
            .await;
        let overlapped = self.invalidations.load(Ordering::Acquire) != seen;
        match outcome {
            Ok(route) => {
                if loaded.load(Ordering::Relaxed) && overlapped {
                    self.forget(&cache_key).await;
                }
                Ok(Some(route))
            }
            Err(err) => match err.as_ref() {
                LoadError::Missing => {
                    if !overlapped {
                        self.misses.insert(cache_key, ()).await;
                    }
                    self.failures.record(client).await;
                    Ok(None)
                }
                LoadError::Failed(cause) => Err(LookupError::Failed(anyhow::anyhow!("{cause:#}"))),
            },
        }
    }

    async fn load(
        &self,
        key: &RouteKey,
        cache_key: &str,
    ) -> anyhow::Result<Option<Arc<TenantRoute>>> {
        if let Some(redis) = &self.redis {
            if let Some(route) = redis.get(cache_key).await {
                return Ok(Some(Arc::new(route)));
            }
        }
        let (column, value) = match key {
            RouteKey::Subdomain(subdomain) => ("subdomain", subdomain.as_str()),
            RouteKey::CustomDomain(host) => ("custom_domain", host.as_str()),
        };
        self.queries.fetch_add(1, Ordering::Relaxed);
        let route: Option<TenantRoute> = sqlx::query_as(&format!(
            "select tenant_id, subdomain, status, plan, db_host, db_port, db_name, db_role, key_provider,
                    wrapped_data_key, data_key_version, db_password_sealed, generation, confirmed,
                    plan_name, max_integrations, billing_state
             from router.tenant_route where {column} = $1"
        ))
        .bind(value)
        .fetch_optional(&self.db)
        .await?;
        if let (Some(redis), Some(route)) = (&self.redis, &route) {
            redis.put(cache_key, route).await;
        }
        Ok(route.map(Arc::new))
    }

    /// Forgets the entry under `cache_key` (a subdomain, or `domain:<host>`) in every cache level.
    pub async fn invalidate(&self, cache_key: &str) {
        self.invalidations.fetch_add(1, Ordering::AcqRel);
        self.forget(cache_key).await;
    }

    async fn forget(&self, cache_key: &str) {
        self.local.invalidate(cache_key).await;
        self.misses.invalidate(cache_key).await;
        if let Some(redis) = &self.redis {
            redis.delete(cache_key).await;
        }
    }

    /// Forgets everything cached in-process (after a missed-notification window).
    pub fn invalidate_all(&self) {
        self.invalidations.fetch_add(1, Ordering::AcqRel);
        self.local.invalidate_all();
        self.misses.invalidate_all();
    }

    pub fn redis(&self) -> Option<&RedisCache> {
        self.redis.as_ref()
    }
}
