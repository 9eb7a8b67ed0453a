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
//! number of tenants. When a new tenant needs room, the least recently used *idle* pool (nothing
//! checked out, nobody waiting) is closed — never a pool with a request in flight, so one customer
//! cycling through many tenants cannot take connections away from another's busy pool: every
//! tenant's share is the same `per_pool`, and a tenant that cannot get room within the acquire
//! timeout is answered 503 "budget in use" rather than queued without bound. Once the budget is
//! full, each new pool also closes one more least-recently-used idle pool in the background, so
//! that the next cold tenant finds room at once instead of waiting on its request path.
//!
//! **Failures of a database server** are kept apart from a full budget ([`ServerHealth`], one per
//! `host:port`). Opening a connection gets `connect_timeout`, not the whole acquire timeout: a
//! server that refuses or resets connects opens that server's breaker, and for `breaker_window`
//! every request to it fails at once ("the tenant database is unavailable", 503 + `Retry-After`)
//! except one probe, whose success closes the breaker. Connections die together when a server
//! restarts, so a dead connection reported by a request ([`PoolManager::connection_lost`]) or a
//! failed connect makes every idle connection to that server older than that moment be discarded
//! before anyone is handed it.
//!
//! Every connection runs with `statement_timeout` and `idle_in_transaction_session_timeout`, so a
//! request cancelled by the HTTP timeout cannot leave its query running.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provisioning::TenantId;
use secrecy::ExposeSecret;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgPool, Postgres};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use provisioning::db_failure::{classify, DbFailure};

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
    /// How long opening one connection may take before its server counts as unavailable.
    pub connect_timeout: Duration,
    /// After a server failed a connect, how long requests to it fail fast (one probe aside).
    pub breaker_window: Duration,
    /// PostgreSQL's `statement_timeout` on every tenant connection.
    pub statement_timeout: Duration,
    /// PostgreSQL's `idle_in_transaction_session_timeout` on every tenant connection.
    pub idle_in_transaction_timeout: Duration,
    pub ssl_mode: PgSslMode,
}

/// Why no connection could be had.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error(
        "no connection could be had within {0:?}: the tenant API's connection budget is in use"
    )]
    Exhausted(Duration),
    #[error("no connection of this tenant's pool became free within {0:?}: its connections are all in use")]
    Busy(Duration),
    #[error("the tenant database server {0} is unavailable; try again shortly")]
    ServerUnavailable(String),
    #[error("the tenant's database credentials could not be opened: {0}")]
    Credentials(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("shutting down")]
    ShuttingDown,
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
    /// Requests waiting for a connection of this pool right now.
    waiting: AtomicU32,
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

    /// Something is checked out or waited for: this pool must not be closed.
    fn is_busy(&self) -> bool {
        self.in_use() > 0 || self.waiting.load(Ordering::Acquire) > 0
    }
}

/// Counts a request as waiting on an entry while it lives.
struct Waiting(Arc<Entry>);

impl Waiting {
    fn new(entry: Arc<Entry>) -> Self {
        entry.waiting.fetch_add(1, Ordering::AcqRel);
        Self(entry)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Inner {
    entries: Mutex<HashMap<TenantId, Arc<Entry>>>,
    servers: Mutex<HashMap<String, Arc<ServerHealth>>>,
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
                servers: Mutex::new(HashMap::new()),
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
        let server = self.server(route);
        let probe = match server.admit(self.now_ms()) {
            Admission::Pass => None,
            Admission::Probe => Some(Probe(server.clone())),
            Admission::Refuse => return Err(PoolError::ServerUnavailable(server.name.clone())),
        };
        // A pool evicted between lookup and acquire answers PoolClosed: look it up again.
        for _ in 0..3 {
            let entry = self.pool_entry(route).await?;
            let Some(pool) = entry.pool.get().map(|open| open.pool.clone()) else {
                continue;
            };
            let waiting = Waiting::new(entry);
            let result = self.checkout(&pool, &server).await;
            drop(waiting);
            match result {
                Ok(mut conn) => {
                    if let Some(probe) = probe {
                        // The probe decides for everyone: only a connection that answers counts.
                        if let Err(err) = conn.ping().await {
                            drop(conn.detach());
                            self.server_failed(&server, &err);
                            drop(probe);
                            return Err(PoolError::ServerUnavailable(server.name.clone()));
                        }
                        probe.succeeded();
                    }
                    return Ok(conn);
                }
                Err(Checkout::Closed) => continue,
                Err(Checkout::Busy) => {
                    return Err(PoolError::Busy(self.inner.settings.acquire_timeout))
                }
                Err(Checkout::ServerDown) => {
                    return Err(PoolError::ServerUnavailable(server.name.clone()))
                }
                Err(Checkout::Failed(err)) => {
                    // Bad credentials after a rotation, a moved database: start afresh next time.
                    self.evict(route.tenant_id);
                    return Err(err.into());
                }
            }
        }
        Err(PoolError::Exhausted(self.inner.settings.acquire_timeout))
    }

    /// One connection from `pool`: at most `connect_timeout` to open one, the rest of the
    /// acquire timeout only to wait for a busy one.
    async fn checkout(
        &self,
        pool: &PgPool,
        server: &Arc<ServerHealth>,
    ) -> Result<PoolConnection<Postgres>, Checkout> {
        let settings = &self.inner.settings;
        let deadline = tokio::time::Instant::now() + settings.acquire_timeout;
        match tokio::time::timeout(settings.connect_timeout, pool.acquire()).await {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(err)) => return Err(self.checkout_failed(server, err)),
            // Still room in the pool, yet nothing within the connect timeout: connecting fails
            // (refused, or the server is starting up). Otherwise every connection is busy.
            Err(_) if pool.size() < settings.per_pool => {
                self.server_failed(server, &"no connection within the connect timeout");
                return Err(Checkout::ServerDown);
            }
            Err(_) => {}
        }
        match tokio::time::timeout_at(deadline, pool.acquire()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(err)) => Err(self.checkout_failed(server, err)),
            Err(_) => Err(Checkout::Busy),
        }
    }

    fn checkout_failed(&self, server: &Arc<ServerHealth>, err: sqlx::Error) -> Checkout {
        match err {
            sqlx::Error::PoolClosed => Checkout::Closed,
            sqlx::Error::PoolTimedOut => Checkout::Busy,
            err => match classify(&err) {
                DbFailure::ConnectionLost | DbFailure::Unavailable => {
                    self.server_failed(server, &err);
                    Checkout::ServerDown
                }
                _ => Checkout::Failed(err),
            },
        }
    }

    /// Opens `server`'s breaker and discards its idle connections.
    fn server_failed(&self, server: &ServerHealth, cause: &dyn std::fmt::Display) {
        let now = self.now_ms();
        server.purge(self.now_us());
        server.trip(now, self.inner.settings.breaker_window, cause);
    }

    /// A request found a connection to `route`'s server dead: the server's other idle
    /// connections died with it (a restart), so none of them is handed out again.
    pub fn connection_lost(&self, route: &TenantRoute) {
        self.server(route).purge(self.now_us());
    }

    fn now_us(&self) -> u64 {
        self.inner.started.elapsed().as_micros() as u64
    }

    /// The health record of `route`'s database server.
    fn server(&self, route: &TenantRoute) -> Arc<ServerHealth> {
        let name = format!("{}:{}", route.db_host, route.db_port);
        let mut servers = self.inner.servers.lock().expect("server registry lock");
        servers
            .entry(name.clone())
            .or_insert_with(|| Arc::new(ServerHealth::new(name)))
            .clone()
    }

    /// The entry holding the open pool for `route`.
    async fn pool_entry(&self, route: &TenantRoute) -> Result<Arc<Entry>, PoolError> {
        loop {
            let entry = self.entry_for(route);
            entry.last_used.store(self.now_ms(), Ordering::Relaxed);
            entry.pool.get_or_try_init(|| self.open(route)).await?;
            if self.is_current(route.tenant_id, &entry) {
                return Ok(entry);
            }
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
            waiting: AtomicU32::new(0),
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
        let server = self.server(route);
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
            .options([
                ("jit", "off".to_owned()),
                ("max_parallel_workers_per_gather", "0".to_owned()),
                // Also pinned on the role (provisioning); set here too so no object outside the
                // broker's schema can ever be resolved first, whatever the role's settings.
                ("search_path", "public,pg_temp".to_owned()),
                (
                    "statement_timeout",
                    settings.statement_timeout.as_millis().to_string(),
                ),
                (
                    "idle_in_transaction_session_timeout",
                    settings.idle_in_transaction_timeout.as_millis().to_string(),
                ),
            ]);
        let started = self.inner.started;
        let (on_acquire, on_release) = (server.clone(), server);
        let pool = PgPoolOptions::new()
            .max_connections(settings.per_pool)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(settings.idle)
            .max_lifetime(Duration::from_secs(30 * 60))
            .test_before_acquire(false)
            .before_acquire(move |_conn, meta| {
                let fresh = on_acquire.outlived_purge(started, meta.age);
                Box::pin(async move { Ok(fresh) })
            })
            .after_release(move |_conn, meta| {
                let fresh = on_release.outlived_purge(started, meta.age);
                Box::pin(async move { Ok(fresh) })
            })
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
            self.close_least_recently_used_idle(requester);
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
            self.close_least_recently_used_idle(keep);
        }
    }

    /// Closes the least recently used idle pool other than `keep`'s — never one with a
    /// connection checked out or a request waiting. Returns whether one was chosen.
    fn close_least_recently_used_idle(&self, keep: TenantId) -> bool {
        let victim = {
            let mut entries = self.inner.entries.lock().expect("pool registry lock");
            let candidate = entries
                .iter()
                .filter(|(id, entry)| **id != keep && entry.is_open() && !entry.is_busy())
                .min_by_key(|(_, entry)| entry.last_used.load(Ordering::Relaxed))
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
                .filter(|(_, e)| e.pool.initialized() && !e.is_busy())
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

/// Why [`PoolManager::checkout`] gave no connection.
enum Checkout {
    /// The pool was closed under us: look it up again.
    Closed,
    /// Every connection stayed busy for the whole acquire timeout.
    Busy,
    /// The server could not be connected to.
    ServerDown,
    /// Another failure (credentials, a moved database).
    Failed(sqlx::Error),
}

/// What [`ServerHealth::admit`] lets a request do.
enum Admission {
    Pass,
    /// The breaker's window is over: this request tries the server for everyone.
    Probe,
    Refuse,
}

/// One database server's breaker, and the moment before which its connections are suspect.
struct ServerHealth {
    name: String,
    /// Milliseconds since the manager started until which requests fail fast; 0: closed.
    open_until: AtomicU64,
    /// A probe is under way (only one at a time).
    probing: AtomicBool,
    /// Microseconds since the manager started: idle connections opened before are discarded.
    purged_before: AtomicU64,
}

impl ServerHealth {
    fn new(name: String) -> Self {
        Self {
            name,
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            purged_before: AtomicU64::new(0),
        }
    }

    fn admit(&self, now_ms: u64) -> Admission {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            Admission::Pass
        } else if now_ms < until {
            Admission::Refuse
        } else if self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Admission::Probe
        } else {
            Admission::Refuse
        }
    }

    /// Opens (or re-opens, after a failed probe) the breaker for `window`.
    fn trip(&self, now_ms: u64, window: Duration, cause: &dyn std::fmt::Display) {
        let until = now_ms + (window.as_millis() as u64).max(1);
        if self.open_until.swap(until, Ordering::AcqRel) == 0 {
            tracing::warn!(
                server = %self.name,
                "tenant database server {} is unavailable ({cause}); failing requests to it fast \
                 for {window:?} at a time until a probe connects",
                self.name
            );
        }
        self.probing.store(false, Ordering::Release);
    }

    fn purge(&self, now_us: u64) {
        self.purged_before.fetch_max(now_us, Ordering::AcqRel);
    }

    /// Whether a connection of `age` was opened after the last purge (and may be used).
    fn outlived_purge(&self, started: Instant, age: Duration) -> bool {
        let purged = self.purged_before.load(Ordering::Acquire);
        let opened_at = started.elapsed().saturating_sub(age).as_micros() as u64;
        purged == 0 || opened_at > purged
    }
}

/// The probe through an open breaker; dropped without [`Probe::succeeded`], it lets the next
/// request probe again.
struct Probe(Arc<ServerHealth>);

impl Probe {
    fn succeeded(self) {
        if self.0.open_until.swap(0, Ordering::AcqRel) != 0 {
            tracing::warn!(server = %self.0.name, "tenant database server {} is back", self.0.name);
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.probing.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_breaker_refuses_until_its_window_ends_then_lets_one_probe_through() {
        let server = Arc::new(ServerHealth::new("db:5432".into()));
        assert!(matches!(server.admit(0), Admission::Pass));
        server.trip(100, Duration::from_millis(250), &"refused");
        assert!(matches!(server.admit(200), Admission::Refuse));
        let Admission::Probe = server.admit(350) else {
            panic!("the window is over: one probe")
        };
        let probe = Probe(server.clone());
        assert!(
            matches!(server.admit(351), Admission::Refuse),
            "one at a time"
        );
        drop(probe);
        let Admission::Probe = server.admit(352) else {
            panic!("an abandoned probe lets the next request probe")
        };
        Probe(server.clone()).succeeded();
        assert!(matches!(server.admit(353), Admission::Pass));
    }

    #[test]
    fn connections_opened_before_a_purge_are_discarded() {
        let started = Instant::now();
        let server = ServerHealth::new("db:5432".into());
        assert!(server.outlived_purge(started, Duration::ZERO));
        std::thread::sleep(Duration::from_millis(5));
        server.purge(started.elapsed().as_micros() as u64);
        assert!(!server.outlived_purge(started, Duration::from_millis(4)));
        std::thread::sleep(Duration::from_millis(2));
        assert!(server.outlived_purge(started, Duration::ZERO));
    }
}
