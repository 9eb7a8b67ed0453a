//! The tenant API's configuration: flags defaulting to environment variables (see `.env.sample`).

use std::net::SocketAddr;
use std::time::Duration;

use provisioning::settings::{
    DatabaseTlsSettings, Environment, KeyProviderSettings, TenantUrlSettings,
};
use provisioning::telemetry::TelemetrySettings;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgSslMode;

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

/// What the operator allows webhooks to call (`WEBHOOK_SCHEMES`, `WEBHOOK_METHODS`,
/// `WEBHOOK_ALLOW_PRIVATE_HOSTS`); the broker's webhook definitions are validated against it.
#[derive(Clone, Debug)]
pub struct WebhookPolicy {
    pub schemes: Vec<String>,
    pub methods: Vec<String>,
    /// Whether hosts such as `localhost`, `10.0.0.1` or `[::1]` may be targeted.
    pub allow_private_hosts: bool,
}

#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "tenant-api",
    version,
    about = "Treaty's tenant API: the Pact Broker API for every tenant"
)]
pub struct Config {
    /// The control database, reached as the router login role (member of `treaty_tenant_api`):
    /// it can read the tenant routing and token views and nothing else.
    #[arg(long, env = "ROUTER_DATABASE_URL", value_parser = secret)]
    pub router_database_url: SecretString,
    /// Redis for the shared tenant-route cache; an in-process cache alone when unset.
    #[arg(long, env = "REDIS_URL", value_parser = secret)]
    pub redis_url: Option<SecretString>,
    /// Address the tenant API listens on.
    #[arg(long, env = "TENANT_API_LISTEN", default_value = "127.0.0.1:9292")]
    pub listen: SocketAddr,
    /// `development` or `production`.
    #[arg(long, env = "TREATY_ENV", value_enum, default_value = "production")]
    pub environment: Environment,
    /// Believe `X-Forwarded-Host` / `X-Forwarded-Proto` (only behind a proxy that sets them).
    #[arg(long, env = "TRUST_FORWARDED_HEADERS", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_headers: bool,
    /// Most PostgreSQL connections this process holds across all tenant pools.
    #[arg(long, env = "CONNECTION_BUDGET", default_value_t = 64)]
    pub connection_budget: u32,
    /// Most connections one tenant's pool may open.
    #[arg(long, env = "TENANT_POOL_MAX_CONNECTIONS", default_value_t = 2)]
    pub tenant_pool_max_connections: u32,
    /// A tenant pool unused for this long is closed, in seconds.
    #[arg(long, env = "TENANT_POOL_IDLE_SECS", default_value_t = 60)]
    pub tenant_pool_idle_secs: u64,
    /// How long a request waits for a tenant connection before a 503, in milliseconds.
    #[arg(long, env = "TENANT_POOL_ACQUIRE_TIMEOUT_MS", default_value_t = 3000)]
    pub tenant_pool_acquire_timeout_ms: u64,
    /// How long opening one tenant-database connection may take before its server counts as
    /// unavailable (and requests to it fail fast), in milliseconds.
    #[arg(long, env = "TENANT_DB_CONNECT_TIMEOUT_MS", default_value_t = 500)]
    pub tenant_db_connect_timeout_ms: u64,
    /// After a tenant database server failed a connect, how long requests to it fail at once
    /// (503) before one probe tries again, in milliseconds.
    #[arg(long, env = "TENANT_DB_BREAKER_MS", default_value_t = 250)]
    pub tenant_db_breaker_ms: u64,
    /// `statement_timeout` of tenant connections: a statement running longer is cancelled and
    /// its request answered 503, in milliseconds (below the request timeout).
    #[arg(long, env = "TENANT_DB_STATEMENT_TIMEOUT_MS", default_value_t = 20_000)]
    pub tenant_db_statement_timeout_ms: u64,
    /// `idle_in_transaction_session_timeout` of tenant connections, in milliseconds.
    #[arg(
        long,
        env = "TENANT_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub tenant_db_idle_in_transaction_timeout_ms: u64,
    /// TLS to tenant databases: disable, prefer, require, verify-ca, verify-full. Production
    /// refuses anything but verify-full unless `ALLOW_UNVERIFIED_DATABASE_TLS` is set.
    #[arg(long, env = "TENANT_DB_SSLMODE", default_value = "prefer")]
    pub tenant_db_sslmode: PgSslMode,
    #[command(flatten)]
    pub database_tls: DatabaseTlsSettings,
    /// How long a tenant's routing record is cached without a change notification, in seconds.
    #[arg(long, env = "ROUTE_CACHE_TTL_SECS", default_value_t = 60)]
    pub route_cache_ttl_secs: u64,
    /// How long a verified token is cached without a change notification, in seconds.
    #[arg(long, env = "TOKEN_CACHE_TTL_SECS", default_value_t = 60)]
    pub token_cache_ttl_secs: u64,
    /// How many lookups of unknown API tokens or hosts one client (IP address, IPv6 /64) may
    /// cause per minute; beyond that its uncached lookups are refused (429) without a query.
    #[arg(long, env = "FAILED_LOOKUPS_PER_MINUTE", default_value_t = 60)]
    pub failed_lookups_per_minute: u32,
    /// How often tokens' last-used times are written to the control database, in seconds.
    #[arg(long, env = "TOKEN_USAGE_FLUSH_SECS", default_value_t = 30)]
    pub token_usage_flush_secs: u64,
    /// Largest request body accepted (pacts can be large), in bytes.
    #[arg(long, env = "TENANT_API_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Requests taking longer are answered 503, in seconds.
    #[arg(long, env = "TENANT_API_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// URL schemes webhooks may use, comma-separated.
    #[arg(
        long,
        env = "WEBHOOK_SCHEMES",
        default_value = "https",
        value_delimiter = ','
    )]
    pub webhook_schemes: Vec<String>,
    /// HTTP methods webhooks may use, comma-separated.
    #[arg(
        long,
        env = "WEBHOOK_METHODS",
        default_value = "POST",
        value_delimiter = ','
    )]
    pub webhook_methods: Vec<String>,
    /// Let webhooks target loopback, private and link-local addresses (off: they could reach
    /// the service's own network).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_HOSTS", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private_hosts: bool,
    /// The control plane's public URL: refusals on plan limits and unpaid subscriptions link to
    /// its billing page.
    #[arg(
        long,
        env = "CONTROL_PLANE_PUBLIC_URL",
        default_value = "http://localhost:9393"
    )]
    pub control_plane_public_url: String,
    #[command(flatten)]
    pub tenant_urls: TenantUrlSettings,
    #[command(flatten)]
    pub keys: KeyProviderSettings,
    #[command(flatten)]
    pub telemetry: TelemetrySettings,
}

impl Config {
    /// Production connects to PostgreSQL only with the server's identity verified.
    pub fn check_database_tls(&self) -> Result<(), provisioning::ProvisionError> {
        self.database_tls.check(
            self.environment,
            "TENANT_DB_SSLMODE",
            self.tenant_db_sslmode,
        )?;
        self.database_tls.check_url(
            self.environment,
            "ROUTER_DATABASE_URL",
            self.router_database_url.expose_secret(),
        )
    }

    pub fn webhook_policy(&self) -> WebhookPolicy {
        WebhookPolicy {
            schemes: self.webhook_schemes.clone(),
            methods: self.webhook_methods.clone(),
            allow_private_hosts: self.webhook_allow_private_hosts,
        }
    }

    /// Where people manage the plan and payment.
    pub fn billing_url(&self) -> String {
        format!(
            "{}/api/billing",
            self.control_plane_public_url.trim_end_matches('/')
        )
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}
