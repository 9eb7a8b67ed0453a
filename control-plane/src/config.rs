//! The control plane's configuration: command-line flags that default to environment variables
//! (documented in `.env.sample`), validated once at start-up.

use std::net::SocketAddr;
use std::time::Duration;

use provisioning::database_server::{DatabasePrefix, Endpoint};
use provisioning::settings::{
    DatabaseTlsSettings, Environment, KeyProviderSettings, TenantUrlSettings,
};
use provisioning::telemetry::TelemetrySettings;
use secrecy::{ExposeSecret, SecretString};

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

#[derive(Debug, clap::Parser)]
#[command(
    name = "control-plane",
    version,
    about = "Treaty's control plane: signup, tenants, provisioning"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the API and run the provisioning worker (the default).
    Serve,
    /// Apply control-database migrations, then roll the tenant schema out to every tenant
    /// database (resumably) and rebuild the template.
    Migrate {
        /// Tenant databases migrated at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Create or update the login role the tenant API reads the control database with; it gets
    /// `treaty_tenant_api` (the two `router` views) and nothing else.
    RouterLogin {
        #[arg(long, env = "ROUTER_LOGIN_ROLE", default_value = "treaty_router")]
        role: String,
        #[arg(long, env = "ROUTER_LOGIN_PASSWORD", value_parser = secret)]
        password: SecretString,
    },
}

#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// The control database.
    #[arg(long, env = "DATABASE_URL", value_parser = secret)]
    pub database_url: SecretString,
    /// An administrative connection (CREATEDB, CREATEROLE) to the server that holds tenant
    /// databases; defaults to `DATABASE_URL`.
    #[arg(long, env = "TENANT_DB_ADMIN_URL", value_parser = secret)]
    pub tenant_db_admin_url: Option<SecretString>,
    /// Host the tenant API uses to reach tenant databases, if not the admin URL's.
    #[arg(long, env = "TENANT_DB_HOST")]
    pub tenant_db_host: Option<String>,
    /// Port the tenant API uses to reach tenant databases, if not the admin URL's.
    #[arg(long, env = "TENANT_DB_PORT")]
    pub tenant_db_port: Option<u16>,
    /// Prefix of tenant database and role names.
    #[arg(long, env = "TENANT_DB_PREFIX", default_value = "tenant_", value_parser = DatabasePrefix::parse)]
    pub tenant_db_prefix: DatabasePrefix,
    /// Address the control plane listens on.
    #[arg(long, env = "CONTROL_PLANE_LISTEN", default_value = "127.0.0.1:9393")]
    pub listen: SocketAddr,
    /// The control plane's public URL, used in links it returns.
    #[arg(
        long,
        env = "CONTROL_PLANE_PUBLIC_URL",
        default_value = "http://localhost:9393"
    )]
    pub public_url: String,
    /// `development` or `production`.
    #[arg(long, env = "TREATY_ENV", value_enum, default_value = "production")]
    pub environment: Environment,
    /// Apply control-database migrations at start-up (default: only in development).
    #[arg(long, env = "AUTO_MIGRATE")]
    pub auto_migrate: Option<bool>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CONTROL_PLANE_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Requests taking longer are answered 503.
    #[arg(long, env = "CONTROL_PLANE_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Tenants provisioned at once by this process.
    #[arg(long, env = "PROVISIONING_CONCURRENCY", default_value_t = 4)]
    pub provisioning_concurrency: usize,
    /// How often the worker looks for due or abandoned provisioning work, in milliseconds.
    #[arg(long, env = "PROVISIONING_POLL_MS", default_value_t = 1000)]
    pub provisioning_poll_ms: u64,
    /// How long a worker's claim on a tenant lasts without progress, in seconds.
    #[arg(long, env = "PROVISIONING_LEASE_SECS", default_value_t = 30)]
    pub provisioning_lease_secs: u64,
    /// Consecutive failures of a step after which a tenant is marked failed.
    #[arg(long, env = "PROVISIONING_MAX_ATTEMPTS", default_value_t = 8)]
    pub provisioning_max_attempts: i32,
    /// Base delay of the retry back-off, in milliseconds.
    #[arg(long, env = "PROVISIONING_RETRY_BASE_MS", default_value_t = 1000)]
    pub provisioning_retry_base_ms: u64,
    /// Redis for sessions and rate limits shared by every control-plane instance; PostgreSQL
    /// sessions and in-process rate limits when unset.
    #[arg(long, env = "REDIS_URL", value_parser = secret)]
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key this deployment writes.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "treaty")]
    pub redis_key_prefix: String,
    /// Believe `X-Forwarded-For` for the client's IP (only behind a proxy that sets it).
    #[arg(long, env = "TRUST_FORWARDED_HEADERS", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_headers: bool,
    /// How many proxies in front of the control plane append to `X-Forwarded-For`: the client
    /// is that many entries from the right.
    #[arg(long, env = "TRUSTED_PROXY_COUNT", default_value_t = 1)]
    pub trusted_proxy_count: usize,
    /// How long a login session lasts, in seconds.
    #[arg(long, env = "SESSION_TTL_SECS", default_value_t = 12 * 3600)]
    pub session_ttl_secs: u64,
    /// How long a signup confirmation link works, in hours.
    #[arg(long, env = "CONFIRMATION_TTL_HOURS", default_value_t = 24)]
    pub confirmation_ttl_hours: u64,
    /// How long a signup may stay unconfirmed, in seconds; then its tenant is deprovisioned and
    /// its subdomain is free again (default 7 days).
    #[arg(long, env = "UNCONFIRMED_SIGNUP_EXPIRY_SECS", default_value_t = 7 * 24 * 3600)]
    pub unconfirmed_signup_expiry_secs: u64,
    /// How long a password-reset link works, in minutes.
    #[arg(long, env = "PASSWORD_RESET_TTL_MINUTES", default_value_t = 60)]
    pub password_reset_ttl_minutes: u64,
    /// How long an invitation link works, in hours.
    #[arg(long, env = "INVITATION_TTL_HOURS", default_value_t = 7 * 24)]
    pub invitation_ttl_hours: u64,
    /// How often queued e-mail (welcome, billing notices) is looked for, in milliseconds.
    #[arg(long, env = "OUTBOX_POLL_MS", default_value_t = 1000)]
    pub outbox_poll_ms: u64,
    /// `GET /api/signups/{id}?wait=N` requests per client IP: COUNT/SECONDS.
    #[arg(long, env = "RATE_LIMIT_SIGNUP_WAIT", default_value = "60/60", value_parser = crate::rate_limit::Limit::parse)]
    pub rate_limit_signup_wait: crate::rate_limit::Limit,
    /// A plan catalogue replacing the built-in one (see control-plane/plans.json).
    #[arg(long, env = "PLANS_FILE")]
    pub plans_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub mail: crate::mail::MailSettings,
    #[command(flatten)]
    pub billing: crate::billing::settings::BillingSettings,
    #[command(flatten)]
    pub rate_limits: crate::rate_limit::RateLimitSettings,
    /// Stop the provisioning worker at a named point, as a crash would (test builds only).
    #[cfg(feature = "failpoints")]
    #[arg(long, env = "TREATY_FAILPOINT")]
    pub failpoint: Option<provisioning::Failpoint>,
    #[command(flatten)]
    pub database_tls: DatabaseTlsSettings,
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
        self.database_tls.check_url(
            self.environment,
            "DATABASE_URL",
            self.database_url.expose_secret(),
        )?;
        if let Some(admin) = &self.tenant_db_admin_url {
            self.database_tls.check_url(
                self.environment,
                "TENANT_DB_ADMIN_URL",
                admin.expose_secret(),
            )?;
        }
        Ok(())
    }

    pub fn tenant_db_admin_url(&self) -> &SecretString {
        self.tenant_db_admin_url
            .as_ref()
            .unwrap_or(&self.database_url)
    }

    /// The tenant-database endpoint override, if host or port is set.
    pub fn tenant_db_endpoint(&self, admin_host: &str, admin_port: u16) -> Option<Endpoint> {
        (self.tenant_db_host.is_some() || self.tenant_db_port.is_some()).then(|| Endpoint {
            host: self
                .tenant_db_host
                .clone()
                .unwrap_or_else(|| admin_host.to_owned()),
            port: self.tenant_db_port.unwrap_or(admin_port),
        })
    }

    pub fn auto_migrate(&self) -> bool {
        self.auto_migrate
            .unwrap_or(self.environment == Environment::Development)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Session cookies are `Secure` everywhere but on a developer's plain-HTTP laptop.
    pub fn secure_cookies(&self) -> bool {
        self.environment != Environment::Development
    }

    pub fn confirmation_ttl(&self) -> Duration {
        Duration::from_secs(self.confirmation_ttl_hours * 3600)
    }

    pub fn reset_ttl(&self) -> Duration {
        Duration::from_secs(self.password_reset_ttl_minutes * 60)
    }

    pub fn invitation_ttl(&self) -> Duration {
        Duration::from_secs(self.invitation_ttl_hours * 3600)
    }
}
