//! Building and running the tenant API: connect to the control database (as the router role),
//! build the caches, key ring and pool manager, bind, then serve until shutdown — which stops
//! accepting, drains requests in flight, and closes every tenant pool.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::TokenVerifier;
use crate::config::Config;
use crate::directory::{RedisCache, TenantDirectory};
use crate::events::{EventSink, NoopSink};
use crate::failed_lookups::FailedLookups;
use crate::keyring::Keyring;
use crate::pools::{PoolManager, PoolSettings};
use crate::state::AppState;
use crate::token_usage::TokenUsage;

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.check_database_tls()?;
        let options: PgConnectOptions = config
            .router_database_url
            .expose_secret()
            .parse()
            .context("ROUTER_DATABASE_URL is not a valid PostgreSQL URL")?;
        // Lazy: the tenant API starts (and serves heartbeats) while the control database is
        // unreachable, and recovers by itself when it is back.
        let router_db = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy_with(options.application_name("treaty-tenant-api-router"));
        let keys = config
            .keys
            .build()
            .await
            .context("building the key provider")?;
        let route_ttl = Duration::from_secs(config.route_cache_ttl_secs);
        let redis = match &config.redis_url {
            Some(url) => {
                Some(RedisCache::new(url.expose_secret(), route_ttl).context("REDIS_URL")?)
            }
            None => None,
        };
        let failures = Arc::new(FailedLookups::new(config.failed_lookups_per_minute));
        let directory = Arc::new(TenantDirectory::new(
            router_db.clone(),
            redis,
            route_ttl,
            failures.clone(),
        ));
        let tokens = Arc::new(TokenVerifier::new(
            router_db.clone(),
            Duration::from_secs(config.token_cache_ttl_secs),
            failures,
        ));
        let keyring = Arc::new(Keyring::new(keys));
        let pools = PoolManager::new(
            PoolSettings {
                budget: config.connection_budget,
                per_pool: config.tenant_pool_max_connections,
                idle: Duration::from_secs(config.tenant_pool_idle_secs),
                acquire_timeout: Duration::from_millis(config.tenant_pool_acquire_timeout_ms),
                connect_timeout: Duration::from_millis(config.tenant_db_connect_timeout_ms),
                breaker_window: Duration::from_millis(config.tenant_db_breaker_ms),
                statement_timeout: Duration::from_millis(config.tenant_db_statement_timeout_ms),
                idle_in_transaction_timeout: Duration::from_millis(
                    config.tenant_db_idle_in_transaction_timeout_ms,
                ),
                ssl_mode: config.tenant_db_sslmode,
            },
            keyring.clone(),
        );
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let token_usage = Arc::new(TokenUsage::new(router_db.clone()));
        let state = AppState {
            config: Arc::new(config),
            router_db,
            directory,
            tokens,
            pools,
            keyring,
            token_usage,
            events: Arc::new(NoopSink),
        };
        Ok(Self { listener, state })
    }

    /// Hands the broker's events to `sink` (after their transaction commits) instead of dropping
    /// them: for webhook delivery, and for tests of the event paths.
    pub fn with_event_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.state.events = sink;
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The pool manager, for tests that watch the connection budget.
    pub fn pools(&self) -> PoolManager {
        self.state.pools.clone()
    }

    /// The token verifier, for tests that count its queries.
    pub fn tokens(&self) -> Arc<TokenVerifier> {
        self.state.tokens.clone()
    }

    /// The tenant directory, for tests that count its queries.
    pub fn directory(&self) -> Arc<TenantDirectory> {
        self.state.directory.clone()
    }

    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self { listener, state } = self;
        let router = crate::routes::router(state.clone());
        let stop = CancellationToken::new();
        let invalidation = tokio::spawn(crate::invalidation::run(
            state.router_db.clone(),
            state.directory.clone(),
            state.tokens.clone(),
            stop.clone(),
        ));
        let reaper = tokio::spawn(state.pools.clone().run_reaper(stop.clone()));
        let usage = tokio::spawn(state.token_usage.clone().run(
            Duration::from_secs(state.config.token_usage_flush_secs.max(1)),
            stop.clone(),
        ));

        tracing::info!(address = %listener.local_addr()?, "tenant API listening on {}", listener.local_addr()?);
        // With the peer's address, which keys the per-client budget of failed lookups.
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
        stop.cancel();
        let _ = tokio::join!(invalidation, reaper, usage);
        state.pools.close_all().await;
        state.router_db.close().await;
        Ok(())
    }
}
