//! Settings both services share, parsed from the environment with clap and flattened into each
//! binary's own configuration: the deployment environment, the key provider, and what TLS to
//! PostgreSQL production insists on.

use std::path::PathBuf;
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use crate::keys::{AwsKms, AwsKmsSettings, KeyError, KeyProvider, LocalKms};
use crate::ProvisionError;

/// Reads `.env` from the working directory into the environment, if there is one; variables
/// already set win. The scripts read it by the same rules (`infra/dev/dotenv.py`), never as shell.
pub fn load_dotenv() -> Result<(), String> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(dotenvy::Error::LineParse(line, at)) => Err(format!(
            ".env: cannot read the line {line:?} (at character {at}); quote values with spaces"
        )),
        Err(err) => Err(format!(".env: {err}")),
    }
}

/// What kind of deployment this is. Development relaxes what only makes sense on a laptop
/// (pretty logs, non-`Secure` cookies, offline billing); everything else is production.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// Which [`KeyProvider`] wraps tenant data keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyProviderKind {
    /// A 32-byte master key in a local file (development, single-host self-hosting).
    Local,
    /// AWS KMS `GenerateDataKey` / `Decrypt`.
    AwsKms,
}

#[derive(Clone, Debug, clap::Args)]
pub struct KeyProviderSettings {
    /// Which key provider wraps tenant data keys: `local` or `aws-kms`.
    #[arg(
        long = "key-provider",
        env = "KEY_PROVIDER",
        value_enum,
        default_value = "local"
    )]
    pub kind: KeyProviderKind,
    /// The local provider's master key file (created on first run with mode 0600).
    #[arg(
        long,
        env = "LOCAL_MASTER_KEY_FILE",
        default_value = ".data/master.key"
    )]
    pub local_master_key_file: PathBuf,
    /// KMS key id, ARN or alias (`alias/treaty`), for `aws-kms`.
    #[arg(long, env = "KMS_KEY_ID")]
    pub kms_key_id: Option<String>,
    /// Overrides the KMS endpoint (moto in tests, a VPC endpoint in production).
    #[arg(long, env = "KMS_ENDPOINT")]
    pub kms_endpoint: Option<String>,
    /// AWS region of the KMS key; otherwise the standard AWS environment decides.
    #[arg(long, env = "AWS_REGION")]
    pub aws_region: Option<String>,
}

impl KeyProviderSettings {
    /// Builds the configured provider.
    pub async fn build(&self) -> Result<Arc<dyn KeyProvider>, KeyError> {
        match self.kind {
            KeyProviderKind::Local => Ok(Arc::new(LocalKms::open_or_create(
                &self.local_master_key_file,
            )?)),
            KeyProviderKind::AwsKms => {
                let key_id = self
                    .kms_key_id
                    .clone()
                    .ok_or_else(|| KeyError::Kms("KEY_PROVIDER=aws-kms needs KMS_KEY_ID".into()))?;
                let settings = AwsKmsSettings {
                    key_id,
                    endpoint: self.kms_endpoint.clone(),
                    region: self.aws_region.clone(),
                };
                Ok(Arc::new(AwsKms::connect(&settings).await))
            }
        }
    }
}

/// Where tenants are reached: `<scheme>://<subdomain>.<base domain>[:<port>]`.
#[derive(Clone, Debug, clap::Args)]
pub struct TenantUrlSettings {
    /// Tenants are served at `<subdomain>.<base domain>` (`localhost` in development).
    #[arg(
        long = "tenant-base-domain",
        env = "TENANT_BASE_DOMAIN",
        default_value = "localhost"
    )]
    pub base_domain: String,
    /// Scheme of tenant URLs as clients see them (`https` behind the load balancer).
    #[arg(
        long = "tenant-url-scheme",
        env = "TENANT_URL_SCHEME",
        default_value = "http"
    )]
    pub scheme: String,
    /// Port of tenant URLs as clients see them, when not the scheme's default (9292 locally).
    #[arg(long = "tenant-url-port", env = "TENANT_URL_PORT")]
    pub port: Option<u16>,
}

impl TenantUrlSettings {
    /// The tenant's public base URL, without a trailing slash.
    pub fn base_url(&self, subdomain: &crate::Subdomain) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{subdomain}.{}{port}",
            self.scheme,
            self.base_domain.trim_matches('.')
        )
    }
}

/// Production connects to PostgreSQL only with the server's identity verified
/// (`sslmode=verify-full`), unless an operator explicitly accepts less.
#[derive(Clone, Debug, clap::Args)]
pub struct DatabaseTlsSettings {
    /// Let production connect to PostgreSQL without `sslmode=verify-full` (a private network
    /// you trust, a sidecar proxy). Off: such a setting refuses to start.
    #[arg(
        long,
        env = "ALLOW_UNVERIFIED_DATABASE_TLS",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub allow_unverified_database_tls: bool,
}

impl DatabaseTlsSettings {
    /// Refuses `mode` for the connection configured by `setting` in production, unless allowed.
    pub fn check(
        &self,
        environment: Environment,
        setting: &'static str,
        mode: PgSslMode,
    ) -> Result<(), ProvisionError> {
        let verified = matches!(mode, PgSslMode::VerifyFull);
        if verified || environment != Environment::Production || self.allow_unverified_database_tls
        {
            return Ok(());
        }
        Err(ProvisionError::UnverifiedDatabaseTls {
            setting,
            mode: match mode {
                PgSslMode::Disable => "disable",
                PgSslMode::Allow => "allow",
                PgSslMode::Prefer => "prefer",
                PgSslMode::Require => "require",
                PgSslMode::VerifyCa => "verify-ca",
                PgSslMode::VerifyFull => "verify-full",
            },
        })
    }

    /// The same for a PostgreSQL URL (`?sslmode=…`, else `PGSSLMODE`, else `prefer`).
    pub fn check_url(
        &self,
        environment: Environment,
        setting: &'static str,
        url: &str,
    ) -> Result<(), ProvisionError> {
        let options: PgConnectOptions = url.parse()?;
        self.check(environment, setting, options.get_ssl_mode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_database_tls_that_does_not_verify_the_server_unless_allowed() {
        let strict = DatabaseTlsSettings {
            allow_unverified_database_tls: false,
        };
        let production = Environment::Production;
        for url in [
            "postgres://u:p@db/x",
            "postgres://u:p@db/x?sslmode=require",
            "postgres://u:p@db/x?sslmode=verify-ca",
        ] {
            let err = strict
                .check_url(production, "DATABASE_URL", url)
                .unwrap_err()
                .to_string();
            assert!(err.contains("DATABASE_URL"), "{err}");
            assert!(err.contains("ALLOW_UNVERIFIED_DATABASE_TLS=true"), "{err}");
        }
        strict
            .check_url(
                production,
                "DATABASE_URL",
                "postgres://u:p@db/x?sslmode=verify-full",
            )
            .unwrap();
        strict
            .check(
                Environment::Development,
                "TENANT_DB_SSLMODE",
                PgSslMode::Prefer,
            )
            .unwrap();
        let allowed = DatabaseTlsSettings {
            allow_unverified_database_tls: true,
        };
        allowed
            .check(production, "TENANT_DB_SSLMODE", PgSslMode::Disable)
            .unwrap();
    }
}
