//! Tenant data keys: one per tenant, produced and unwrapped by a key provider, never stored in clear.
//!
//! This is envelope encryption. A [`KeyProvider`] (AWS KMS in production, a local master-key file
//! in development) generates a random 256-bit [`DataKey`] for a tenant and returns it together
//! with a [`WrappedKey`] — the same key encrypted under the provider's master key, bound to the
//! tenant (KMS encryption context / AES-GCM associated data). Only the wrapped form is persisted;
//! the plaintext lives in memory just long enough to derive sealing keys (see [`crate::sealing`]).
//! Unwrapping a key with another tenant's id fails: that binding is the point.

mod aws;
mod local;
mod provider;

pub use aws::{AwsKms, AwsKmsSettings};
pub use local::LocalKms;
pub use provider::{unwrap_checked, DataKey, KeyError, KeyProvider, WrappedKey};
