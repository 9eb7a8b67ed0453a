//! Building and running the control plane: connect, migrate (development), bind, then serve HTTP
//! and run the provisioning worker, the mail outbox and the billing job side by side until
//! shutdown, which drains them all.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use provisioning::database_server::{DatabaseServer, PostgresServer};
use provisioning::lifecycle::RetryPolicy;
use provisioning::{migrations, Provisioner};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::billing::plans::Plans;
use crate::billing::Billing;
use crate::config::Config;
use crate::identity::session::SessionStore;
use crate::mail::Mailer;
use crate::outbox::{OutboxHandle, OutboxTask};
use crate::rate_limit::RateLimiter;
use crate::redis::Redis;
use crate::state::AppState;
use crate::worker::{self, Worker};

/// A control plane ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    worker: Worker,
    state: AppState,
}

/// The control-database pool.
pub async fn connect_control(config: &Config) -> anyhow::Result<PgPool> {
    config.check_database_tls()?;
    let options: PgConnectOptions = config
        .database_url
        .expose_secret()
        .parse()
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    PgPoolOptions::new()
        .max_connections(16)
        // Short: while the control database is down (refused connects are retried until this
        // deadline) a request is answered 503 within a second instead of hanging.
        .acquire_timeout(Duration::from_millis(800))
        .connect_with(options.application_name("treaty-control-plane"))
        .await
        .context("connecting to the control database")
}

/// The tenant-database server this control plane provisions on.
pub fn tenant_server(config: &Config) -> anyhow::Result<PostgresServer> {
    let admin: PgConnectOptions = config
        .tenant_db_admin_url()
        .expose_secret()
        .parse()
        .context("TENANT_DB_ADMIN_URL is not a valid PostgreSQL URL")?;
    let endpoint = config.tenant_db_endpoint(admin.get_host(), admin.get_port());
    let server = PostgresServer::new(config.tenant_db_admin_url(), endpoint)?;
    #[cfg(feature = "failpoints")]
    let server = server.with_failpoint(config.failpoint);
    Ok(server)
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = connect_control(&config).await?;
        if config.auto_migrate() {
            migrations::migrate_control(&db)
                .await
                .context("migrating the control database")?;
        }
        let keys = config
            .keys
            .build()
            .await
            .context("building the key provider")?;
        let server: Arc<dyn DatabaseServer> = Arc::new(tenant_server(&config)?);
        let policy = RetryPolicy {
            max_attempts: config.provisioning_max_attempts,
            base_delay: Duration::from_millis(config.provisioning_retry_base_ms),
            ..RetryPolicy::default()
        };
        let provisioner = Provisioner::new(db.clone(), server, keys)
            .with_policy(policy)
            .with_lease(Duration::from_secs(config.provisioning_lease_secs));
        #[cfg(feature = "failpoints")]
        let provisioner = provisioner.with_failpoint(config.failpoint);
        let provisioner = Arc::new(provisioner);
        let (worker, handle) = worker::new(
            provisioner.clone(),
            config.provisioning_concurrency,
            Duration::from_millis(config.provisioning_poll_ms),
            Duration::from_secs(config.unconfirmed_signup_expiry_secs),
        );
        let redis = config
            .redis_url
            .as_ref()
            .map(|url| Redis::new(url.expose_secret(), &config.redis_key_prefix))
            .transpose()?;
        let mailer = Mailer::new(&config.mail, config.environment).context("mail settings")?;
        let plans = Arc::new(Plans::load_with(config.plans_file.as_deref(), |name| {
            config.billing.catalogue_value(name)
        })?);
        let billing = Billing::new(&config, &plans).context("billing settings")?;
        let changed = crate::billing::entitlement::apply_catalogue(&db, &plans)
            .await
            .context("applying the plan catalogue to tenants")?;
        if changed > 0 {
            tracing::info!(
                tenants = changed,
                "plan limits updated from the catalogue for {changed} tenants"
            );
        }
        let sessions = SessionStore::new(
            db.clone(),
            redis.clone(),
            Duration::from_secs(config.session_ttl_secs),
        );
        let limiter = RateLimiter::new(redis);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let state = AppState {
            db,
            config: Arc::new(config),
            provisioner,
            worker: handle,
            mailer,
            sessions,
            limiter,
            plans,
            outbox: OutboxHandle::default(),
            billing,
            tenant_changes: crate::signup::tenant_changes::TenantChanges::new(),
        };
        let router = crate::routes::router(state.clone());
        Ok(Self {
            listener,
            router,
            worker,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then drains requests and the worker, and closes pools.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            worker,
            state,
        } = self;
        let stop = CancellationToken::new();

        // Build the tenant template now, so the first signup does not pay for it.
        let provisioner = state.provisioner.clone();
        tokio::spawn(async move {
            if let Err(err) = provisioner.server().ensure_template().await {
                tracing::warn!(error = %err, "could not prepare the tenant template yet: {err}");
            }
        });
        let worker_task = tokio::spawn(worker.run(stop.clone()));
        let outbox_task = tokio::spawn(crate::outbox::run(
            OutboxTask {
                db: state.db.clone(),
                mailer: state.mailer.clone(),
                sessions: state.sessions.clone(),
                config: state.config.clone(),
                outbox: state.outbox.clone(),
            },
            Duration::from_millis(state.config.outbox_poll_ms),
            stop.clone(),
        ));

        let billing_task = tokio::spawn(crate::billing::jobs::run(state.clone(), stop.clone()));
        let changes_task = tokio::spawn(
            state
                .tenant_changes
                .clone()
                .run(state.db.clone(), stop.clone()),
        );

        tracing::info!(address = %listener.local_addr()?, "control plane listening on {}", listener.local_addr()?);
        let stop_serving = stop.clone();
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            tokio::select! {
                () = shutdown => {}
                () = stop_serving.cancelled() => {}
            }
        })
        .await
        .context("serving HTTP")?;
        stop.cancel();
        worker_task.await.context("provisioning worker")?;
        outbox_task.await.context("mail outbox")?;
        billing_task.await.context("billing job")?;
        changes_task.await.context("tenant change listener")?;
        state.db.close().await;
        Ok(())
    }
}
