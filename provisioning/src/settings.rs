//! Settings both services share, parsed from the environment with clap and flattened into each
//! binary's own configuration: the deployment environment and the key provider.

use std::path::PathBuf;
use std::sync::Arc;

use crate::keys::{AwsKms, AwsKmsSettings, KeyError, KeyProvider, LocalKms};

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
