//! A tenant's database credentials: generated, sealed under the tenant's data key, and opened
//! again by whoever holds the key provider (the lifecycle's login check, the tenant API's pools).
//!
//! The password is random (32 alphanumerics, ≈190 bits), sealed with
//! [`Purpose::DatabasePassword`] and the role name as the record, and stored only in that form.

use rand::distributions::{Alphanumeric, DistString};
use secrecy::{ExposeSecret, SecretString};

use crate::keys::{unwrap_checked, KeyProvider, WrappedKey};
use crate::sealing::{Purpose, Sealer};
use crate::{ProvisionError, TenantId};

/// A fresh database password.
pub fn generate_password() -> SecretString {
    SecretString::from(Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32))
}

/// The key material stored with a tenant, enough to rebuild its [`Sealer`].
pub struct StoredKey<'a> {
    pub tenant: TenantId,
    pub key_provider: &'a str,
    pub wrapped_data_key: &'a [u8],
    pub data_key_version: i32,
}

/// Unwraps the tenant's data key (one key-provider call) and returns the sealer built on it.
pub async fn sealer_for(
    keys: &dyn KeyProvider,
    stored: &StoredKey<'_>,
) -> Result<Sealer, ProvisionError> {
    let wrapped = WrappedKey(stored.wrapped_data_key.to_vec());
    let key = unwrap_checked(keys, stored.key_provider, stored.tenant, &wrapped).await?;
    let version = u32::try_from(stored.data_key_version).unwrap_or(0);
    Ok(Sealer::new(stored.tenant, version, key))
}

/// Seals `password` for the tenant database role `role`.
pub fn seal_database_password(sealer: &Sealer, role: &str, password: &SecretString) -> Vec<u8> {
    sealer.seal(
        Purpose::DatabasePassword,
        role,
        password.expose_secret().as_bytes(),
    )
}

/// Opens a password sealed by [`seal_database_password`].
pub fn open_database_password(
    sealer: &Sealer,
    role: &str,
    sealed: &[u8],
) -> Result<SecretString, ProvisionError> {
    let plain = sealer.open(Purpose::DatabasePassword, role, sealed)?;
    let text = std::str::from_utf8(&plain).map_err(|_| crate::sealing::SealError::Malformed)?;
    Ok(SecretString::from(text.to_owned()))
}
