//! Tenant keys in memory: the key provider is asked once per tenant and key version, then the
//! [`Sealer`] built on the unwrapped data key is cached (bounded, with a TTL so a revoked KMS
//! grant takes effect). KMS calls happen only when a cold tenant's pool is opened.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use provisioning::credentials::{self, StoredKey};
use provisioning::keys::KeyProvider;
use provisioning::sealing::Sealer;
use provisioning::{ProvisionError, TenantId};
use secrecy::SecretString;

use crate::directory::TenantRoute;

pub struct Keyring {
    keys: Arc<dyn KeyProvider>,
    sealers: Cache<(TenantId, i32), Arc<Sealer>>,
}

impl Keyring {
    pub fn new(keys: Arc<dyn KeyProvider>) -> Self {
        let sealers = Cache::builder()
            .max_capacity(20_000)
            .time_to_live(Duration::from_secs(3600))
            .build();
        Self { keys, sealers }
    }

    /// The sealer for the tenant's current data key (single-flight per tenant).
    pub async fn sealer(&self, route: &TenantRoute) -> Result<Arc<Sealer>, Arc<ProvisionError>> {
        let (Some(provider), Some(wrapped)) = (&route.key_provider, &route.wrapped_data_key) else {
            return Err(Arc::new(ProvisionError::NotProvisioned(route.tenant_id)));
        };
        self.sealers
            .try_get_with((route.tenant_id, route.data_key_version), async {
                let stored = StoredKey {
                    tenant: route.tenant_id,
                    key_provider: provider,
                    wrapped_data_key: wrapped,
                    data_key_version: route.data_key_version,
                };
                credentials::sealer_for(self.keys.as_ref(), &stored)
                    .await
                    .map(Arc::new)
            })
            .await
    }

    /// The tenant role's database password, opened from its sealed form.
    pub async fn database_password(
        &self,
        route: &TenantRoute,
    ) -> Result<SecretString, Arc<ProvisionError>> {
        let sealer = self.sealer(route).await?;
        let sealed = route
            .db_password_sealed
            .as_deref()
            .ok_or_else(|| Arc::new(ProvisionError::NotProvisioned(route.tenant_id)))?;
        credentials::open_database_password(&sealer, &route.db_role, sealed).map_err(Arc::new)
    }
}
