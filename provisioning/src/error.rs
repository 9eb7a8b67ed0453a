//! The one error type of the provisioning library.
//!
//! Callers decide what is retryable: every variant but [`ProvisionError::SubdomainTaken`] and
//! [`ProvisionError::LeaseLost`] is treated by the lifecycle as "try this step again later".

use crate::keys::KeyError;
use crate::sealing::SealError;
use crate::TenantId;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("schema migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("subdomain {0:?} is already taken")]
    SubdomainTaken(String),
    #[error("tenant {0} does not exist")]
    UnknownTenant(TenantId),
    #[error("tenant {0} has no data key or database password yet")]
    NotProvisioned(TenantId),
    #[error("another worker took over tenant {0}")]
    LeaseLost(TenantId),
    #[error(
        "{setting} uses sslmode={mode}; production needs sslmode=verify-full (set \
         ALLOW_UNVERIFIED_DATABASE_TLS=true to accept this deliberately)"
    )]
    UnverifiedDatabaseTls {
        setting: &'static str,
        mode: &'static str,
    },
    /// An administrative task panicked or was cancelled.
    #[error("administrative task: {0}")]
    AdminTask(String),
    /// A failpoint stopped the lifecycle here, as a crash would (tests only).
    #[error("injected crash at {0}")]
    InjectedCrash(String),
}
