//! What a key provider is and what it hands out: the [`KeyProvider`] trait, [`DataKey`],
//! [`WrappedKey`] and [`KeyError`]. Its own module so that the providers (`aws.rs`, `local.rs`)
//! and the facade `keys.rs` that re-exports them all depend on it, and not on each other.

use std::fmt;

use async_trait::async_trait;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::TenantId;

/// A tenant's plaintext data key. Zeroed on drop; its `Debug` shows nothing.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A data key encrypted by the provider that made it; safe to store.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey(pub Vec<u8>);

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedKey({} bytes)", self.0.len())
    }
}

/// Failures of a key provider.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The wrapped key does not belong to this tenant, was tampered with, or was made by another
    /// master key.
    #[error("the wrapped data key could not be unwrapped for tenant {0}")]
    Unwrap(TenantId),
    /// The wrapped key was made by another kind of provider than the one configured.
    #[error(
        "the data key was wrapped by key provider {stored:?}, but {configured:?} is configured"
    )]
    ProviderMismatch {
        stored: String,
        configured: &'static str,
    },
    #[error("the local master key file {path}: {reason}")]
    MasterKeyFile { path: String, reason: String },
    #[error("KMS request failed: {0}")]
    Kms(String),
}

/// Makes and unwraps tenant data keys.
#[async_trait]
pub trait KeyProvider: Send + Sync + 'static {
    /// Stored next to each wrapped key, so a key is never handed to the wrong provider.
    fn name(&self) -> &'static str;

    /// A fresh random data key for `tenant` and its wrapped form.
    async fn generate_data_key(&self, tenant: TenantId) -> Result<(DataKey, WrappedKey), KeyError>;

    /// The plaintext of a key that [`generate_data_key`](Self::generate_data_key) made for `tenant`.
    async fn unwrap_data_key(
        &self,
        tenant: TenantId,
        wrapped: &WrappedKey,
    ) -> Result<DataKey, KeyError>;
}

/// Unwraps `wrapped` after checking that `stored_provider` (the name persisted with it) matches.
pub async fn unwrap_checked(
    provider: &dyn KeyProvider,
    stored_provider: &str,
    tenant: TenantId,
    wrapped: &WrappedKey,
) -> Result<DataKey, KeyError> {
    if stored_provider != provider.name() {
        return Err(KeyError::ProviderMismatch {
            stored: stored_provider.to_owned(),
            configured: provider.name(),
        });
    }
    provider.unwrap_data_key(tenant, wrapped).await
}
