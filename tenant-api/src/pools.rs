//! Per-tenant connection pools under one global connection budget.
//!
//! Each tenant gets its own sqlx pool, connecting as the tenant's own role to the tenant's own
//! database — the only way the tenant API reaches tenant data. Pools are opened lazily on a
//! tenant's first request (single-flight: concurrent first requests share one opening), closed
//! when idle, and evicted least-recently-used first when the budget is needed elsewhere.
//!
//! **Invariant: this process never holds more PostgreSQL connections than the budget.** A pool
//! may open at most `per_pool` connections, and it is only created after reserving that many
//! permits from a semaphore of `budget` permits. The permits go back only once the pool is fully
//! closed (sqlx's `close()` resolves after every connection, including checked-out ones, is gone).
//! So the connections that exist are always ≤ the permits reserved ≤ the budget, whatever the
//! number of tenants. When a new tenant needs room, the least recently used open pool (preferring
//! one with nothing checked out) is closed; a request that cannot get room within the acquire
//! timeout is answered 503 rather than queued without bound. Once the budget is full, each new
//! pool also closes one more least-recently-used pool in the background, so that the next cold
//! tenant finds room at once instead of waiting on its request path for a pool to close.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provisioning::TenantId;
use secrecy::ExposeSecret;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{PgPool, Postgres};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use crate::directory::TenantRoute;
use crate::keyring::Keyring;

/// Tuning of the pools.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// Connections across every pool of this process.
    pub budget: u32,
    /// Connections one tenant's pool may open.
    pub per_pool: u32,
    /// A pool unused this long is closed.
    pub idle: Duration,
    /// How long a request may wait for room in the budget or for a connection.
    pub acquire_timeout: Duration,
    pub ssl_mode: PgSslMode,
}

/// Why no connection could be had.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(
        "no connection could be had within {0:?}: the tenant API's connection budget is in use"
    )]
    Exhausted(Duration),
    #[error("the tenant's database credentials could not be opened: {0}")]
    Credentials(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("shutting down")]
    ShuttingDown,
}

/// Which pools an eviction may close.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Victims {
    /// Only pools with nothing checked out.
    IdleOnly,
    /// Busy pools too, when nothing else can make room.
    BusyToo,
}

struct OpenPool {
    pool: PgPool,
    /// The budget this pool reserved; taken and released only after the pool is closed.
    permits: Mutex<Option<OwnedSemaphorePermit>>,
}

struct Entry {
    generation: i64,
    pool: OnceCell<OpenPool>,
    /// Milliseconds since the manager started, for LRU and idleness.
    last_used: AtomicU64,
}

impl Entry {
    fn is_open(&self) -> bool {
        self.pool.get().is_some_and(|open| !open.pool.is_closed())
    }

    /// Connections checked out of this pool right now.
    fn in_use(&self) -> u32 {
        self.pool.get().map_or(0, |open| {
            open.pool.size().saturating_sub(open.pool.num_idle() as u32)
        })
    }
}

struct Inner {
    entries: Mutex<HashMap<TenantId, Arc<Entry>>>,
    budget: Arc<Semaphore>,
    settings: PoolSettings,
    keyring: Arc<Keyring>,
    started: Instant,
}

/// The registry of tenant pools. Cheap to clone.
#[derive(Clone)]
pub struct PoolManager {
    inner: Arc<Inner>,
}

/// A point-in-time view, for diagnostics and tests.
#[derive(Clone, Copy, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolStats {
    pub open_pools: usize,
    pub reserved_connections: u32,
    pub budget: u32,
}

impl PoolManager {
    pub fn new(settings: PoolSettings, keyring: Arc<Keyring>) -> Self {
        let per_pool = settings.per_pool.clamp(1, settings.budget.max(1));
        let settings = PoolSettings {
            per_pool,
            ..settings
        };
        Self {
            inner: Arc::new(Inner {
                entries: Mutex::new(HashMap::new()),
                budget: Arc::new(Semaphore::new(settings.budget as usize)),
                settings,
                keyring,
                started: Instant::now(),
            }),
        }
    }

    fn now_ms(&self) -> u64 {
        self.inner.started.elapsed().as_millis() as u64
    }

    /// A connection to the tenant's database, as the tenant's role.
    pub async fn acquire(
        &self,
        route: &TenantRoute,
    ) -> Result<PoolConnection<Postgres>, PoolError> {
        // A pool evicted between lookup and acquire answers PoolClosed: look it up again.
        for _ in 0..3 {
            let pool = self.pool_for(route).await?;
            match pool.acquire().await {
                Ok(conn) => return Ok(conn),
                Err(sqlx::Error::PoolClosed) => continue,
                Err(sqlx::Error::PoolTimedOut) => {
                    return Err(PoolError::Exhausted(self.inner.settings.acquire_timeout))
                }
                Err(err) => {
                    // Bad credentials after a rotation, a moved database: start afresh next time.
                    self.evict(route.tenant_id);
                    return Err(err.into());
                }
            }
        }
        Err(PoolError::Exhausted(self.inner.settings.acquire_timeout))
    }

    /// The open pool for `route`, opening it (once, however many ask at the same time).
    async fn pool_for(&self, route: &TenantRoute) -> Result<PgPool, PoolError> {
        loop {
            let entry = self.entry_for(route);
            entry.last_used.store(self.now_ms(), Ordering::Relaxed);
            let open = entry.pool.get_or_try_init(|| self.open(route)).await?;
            if self.is_current(route.tenant_id, &entry) {
                return Ok(open.pool.clone());
            }
            // Replaced (new generation) or drained while it was opening: nobody else will close
            // it, so close it here and use the current one.
            self.close_in_background(entry);
        }
    }

    /// The registry entry for the tenant's current generation, created if missing.
    fn entry_for(&self, route: &TenantRoute) -> Arc<Entry> {
        let mut entries = self.inner.entries.lock().expect("pool registry lock");
        let usable = |e: &&Arc<Entry>| {
            e.generation == route.generation
                && !e.pool.get().is_some_and(|open| open.pool.is_closed())
        };
        if let Some(entry) = entries.get(&route.tenant_id).filter(usable) {
            return entry.clone();
        }
        let fresh = Arc::new(Entry {
            generation: route.generation,
            pool: OnceCell::new(),
            last_used: AtomicU64::new(self.now_ms()),
        });
        if let Some(stale) = entries.insert(route.tenant_id, fresh.clone()) {
            if stale.pool.initialized() {
                self.close_in_background(stale);
            }
        }
        fresh
    }

    fn is_current(&self, tenant: TenantId, entry: &Arc<Entry>) -> bool {
        let entries = self.inner.entries.lock().expect("pool registry lock");
        entries
            .get(&tenant)
            .is_some_and(|current| Arc::ptr_eq(current, entry))
    }

    async fn open(&self, route: &TenantRoute) -> Result<OpenPool, PoolError> {
        let settings = &self.inner.settings;
        let password = self
            .inner
            .keyring
            .database_password(route)
            .await
            .map_err(|err| PoolError::Credentials(err.to_string()))?;
        let permits = self.reserve(route.tenant_id).await?;
        self.keep_room_for_the_next(route.tenant_id);
        let port = u16::try_from(route.db_port).unwrap_or(5432);
        let options = PgConnectOptions::new()
            .host(&route.db_host)
            .port(port)
            .database(&route.db_name)
            .username(&route.db_role)
            .password(password.expose_secret())
            .ssl_mode(settings.ssl_mode)
            .application_name("treaty-tenant-api")
            // Short OLTP statements throughout: JIT compilation and parallel workers cost
            // milliseconds each when an index walk's cost estimate triggers them, and win nothing.
            .options([("jit", "off"), ("max_parallel_workers_per_gather", "0")]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.per_pool)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(settings.idle)
            .max_lifetime(Duration::from_secs(30 * 60))
            .test_before_acquire(false)
            .connect_lazy_with(options);
        tracing::debug!(tenant.id = %route.tenant_id, "opened a pool for tenant {}", route.tenant_id);
        Ok(OpenPool {
            pool,
            permits: Mutex::new(Some(permits)),
        })
    }

    /// Reserves room for one pool in the budget, evicting least-recently-used pools as needed.
    async fn reserve(&self, requester: TenantId) -> Result<OwnedSemaphorePermit, PoolError> {
        let needed = self.inner.settings.per_pool;
        let deadline = tokio::time::Instant::now() + self.inner.settings.acquire_timeout;
        loop {
            match self.inner.budget.clone().try_acquire_many_owned(needed) {
                Ok(permits) => return Ok(permits),
                Err(tokio::sync::TryAcquireError::Closed) => return Err(PoolError::ShuttingDown),
                Err(tokio::sync::TryAcquireError::NoPermits) => {}
            }
            self.evict_least_recently_used(requester);
            // Wait for closing pools to hand their permits back, a little at a time, so that a
            // failed eviction (everything busy) is retried rather than waited out.
            let step = tokio::time::Instant::now() + Duration::from_millis(25);
            let wait_until = step.min(deadline);
            match tokio::time::timeout_at(
                wait_until,
                self.inner.budget.clone().acquire_many_owned(needed),
            )
            .await
            {
                Ok(Ok(permits)) => return Ok(permits),
                Ok(Err(_)) => return Err(PoolError::ShuttingDown),
                Err(_) if tokio::time::Instant::now() >= deadline => {
                    return Err(PoolError::Exhausted(self.inner.settings.acquire_timeout))
                }
                Err(_) => {}
            }
        }
    }

    /// When less than one pool's worth of the budget is left, starts closing the least recently
    /// used idle pool (not `keep`'s) so that room is ready before the next cold tenant asks.
    fn keep_room_for_the_next(&self, keep: TenantId) {
        if (self.inner.budget.available_permits() as u32) < self.inner.settings.per_pool {
            self.close_least_recently_used(keep, Victims::IdleOnly);
        }
    }

    /// Closes the least recently used open pool other than `keep`'s, preferring pools with no
    /// connection checked out. Returns whether one was chosen.
    fn evict_least_recently_used(&self, keep: TenantId) -> bool {
        self.close_least_recently_used(keep, Victims::BusyToo)
    }

    fn close_least_recently_used(&self, keep: TenantId, victims: Victims) -> bool {
        let victim = {
            let mut entries = self.inner.entries.lock().expect("pool registry lock");
            let candidate = entries
                .iter()
                .filter(|(id, entry)| **id != keep && entry.is_open())
                .filter(|(_, entry)| victims == Victims::BusyToo || entry.in_use() == 0)
                .min_by_key(|(_, entry)| {
                    (entry.in_use() > 0, entry.last_used.load(Ordering::Relaxed))
                })
                .map(|(id, _)| *id);
            candidate.and_then(|id| entries.remove(&id))
        };
        match victim {
            Some(entry) => {
                self.close_in_background(entry);
                true
            }
            None => false,
        }
    }

    /// Drops the tenant's pool (it is reopened on the next request).
    pub fn evict(&self, tenant: TenantId) {
        let removed = self
            .inner
            .entries
            .lock()
            .expect("pool registry lock")
            .remove(&tenant);
        if let Some(entry) = removed {
            self.close_in_background(entry);
        }
    }

    fn close_in_background(&self, entry: Arc<Entry>) {
        tokio::spawn(async move {
            if let Some(open) = entry.pool.get() {
                open.pool.close().await;
                // Only now may the connections count as gone.
                drop(open.permits.lock().expect("permit lock").take());
            }
        });
    }

    /// Closes pools unused for longer than the idle setting; run periodically.
    pub fn close_idle(&self) -> usize {
        let idle_ms = self.inner.settings.idle.as_millis() as u64;
        let now = self.now_ms();
        let idle: Vec<Arc<Entry>> = {
            let mut entries = self.inner.entries.lock().expect("pool registry lock");
            let ids: Vec<TenantId> = entries
                .iter()
                .filter(|(_, e)| e.pool.initialized() && e.in_use() == 0)
                .filter(|(_, e)| now.saturating_sub(e.last_used.load(Ordering::Relaxed)) >= idle_ms)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| entries.remove(id)).collect()
        };
        let closed = idle.len();
        for entry in idle {
            self.close_in_background(entry);
        }
        closed
    }

    /// Closes every pool and waits for their connections to be gone (graceful shutdown).
    pub async fn close_all(&self) {
        let all: Vec<Arc<Entry>> = self
            .inner
            .entries
            .lock()
            .expect("pool registry lock")
            .drain()
            .map(|(_, e)| e)
            .collect();
        for entry in all {
            if let Some(open) = entry.pool.get() {
                open.pool.close().await;
                drop(open.permits.lock().expect("permit lock").take());
            }
        }
    }

    pub fn stats(&self) -> PoolStats {
        let open_pools = self
            .inner
            .entries
            .lock()
            .expect("pool registry lock")
            .values()
            .filter(|e| e.is_open())
            .count();
        let budget = self.inner.settings.budget;
        let reserved = budget.saturating_sub(self.inner.budget.available_permits() as u32);
        PoolStats {
            open_pools,
            reserved_connections: reserved,
            budget,
        }
    }

    /// Runs [`close_idle`](Self::close_idle) every few seconds until `shutdown`.
    pub async fn run_reaper(self, shutdown: tokio_util::sync::CancellationToken) {
        let period = (self.inner.settings.idle / 4)
            .clamp(Duration::from_millis(250), Duration::from_secs(5));
        let mut ticker = tokio::time::interval(period);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => {
                    let closed = self.close_idle();
                    if closed > 0 {
                        tracing::debug!(closed, "closed idle tenant pools");
                    }
                }
            }
        }
    }
}
