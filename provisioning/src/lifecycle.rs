//! The provisioning lifecycle: the steps that take a tenant from `requested` to `active`, each
//! idempotent, with progress persisted in the control database after every step.
//!
//! ```text
//! requested ─create role+database─▶ database_created ─migrate+grant─▶ schema_applied
//!     ─data key+password─▶ key_created ─login check─▶ active
//! ```
//!
//! A worker *claims* a due tenant with a lease (`lease_owner`, `lease_expires_at`), runs the next
//! step, and records the new position in the same statement that checks it still holds the lease.
//! A crash anywhere leaves either the old position (the step re-runs; every step adopts what an
//! earlier attempt created) or the new one; nothing is left that no row points at, because
//! database and role names are fixed at signup. A step that fails is retried with exponential
//! back-off; after `max_attempts` the tenant is marked failed, keeping its position so an
//! operator's retry resumes there.
//!
//! Deprovisioning runs on the same machinery. A signup whose address is not confirmed in time is
//! marked expired ([`Provisioner::expire_unconfirmed`]); from then on provisioning leaves it
//! alone, and a worker claims it with a lease ([`Provisioner::claim_expired`]), drops its
//! database and role, and deletes the row ([`Provisioner::deprovision`]). Both effects are
//! idempotent and the row is deleted last, so a crash anywhere is resumed by the next claim, and
//! the subdomain stays taken until the database is gone.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::credentials::{self, StoredKey};
use crate::database_server::DatabaseServer;
use crate::failpoint::Failpoint;
use crate::keys::KeyProvider;
use crate::registry::{self, StepFailure, StepRecord, TenantRecord};
use crate::sealing::Sealer;
use crate::tenant::Lifecycle;
use crate::{ProvisionError, TenantId};

/// How often and how patiently a failing step is retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Consecutive failures of one step after which the tenant is marked failed.
    pub max_attempts: i32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Delay before the next attempt after `failures` consecutive failures (1-based).
    pub fn delay_after(&self, failures: i32) -> Duration {
        let exponent = u32::try_from(failures.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        self.base_delay
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.max_delay)
    }
}

/// Drives tenants through the lifecycle.
pub struct Provisioner {
    control: PgPool,
    server: Arc<dyn DatabaseServer>,
    keys: Arc<dyn KeyProvider>,
    policy: RetryPolicy,
    lease: Duration,
    #[cfg(feature = "failpoints")]
    failpoint: Option<Failpoint>,
}

impl Provisioner {
    pub fn new(
        control: PgPool,
        server: Arc<dyn DatabaseServer>,
        keys: Arc<dyn KeyProvider>,
    ) -> Self {
        Self {
            control,
            server,
            keys,
            policy: RetryPolicy::default(),
            lease: Duration::from_secs(30),
            #[cfg(feature = "failpoints")]
            failpoint: None,
        }
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a claim stays exclusive without progress (a crashed worker's tenants are picked
    /// up again after this).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    #[cfg(feature = "failpoints")]
    pub fn with_failpoint(mut self, failpoint: Option<Failpoint>) -> Self {
        self.failpoint = failpoint;
        self
    }

    pub fn server(&self) -> &Arc<dyn DatabaseServer> {
        &self.server
    }

    pub fn keys(&self) -> &Arc<dyn KeyProvider> {
        &self.keys
    }

    /// Claims up to `limit` tenants whose next step is due and that no live worker holds.
    pub async fn claim_due(
        &self,
        owner: Uuid,
        limit: i64,
    ) -> Result<Vec<TenantRecord>, ProvisionError> {
        registry::claim_due(&self.control, owner, self.lease, limit).await
    }

    /// Claims one tenant if it still has steps to run and no live worker holds it (used right
    /// after signup, so the new tenant does not wait for the next poll).
    pub async fn claim(
        &self,
        tenant: TenantId,
        owner: Uuid,
    ) -> Result<Option<TenantRecord>, ProvisionError> {
        registry::claim_one(&self.control, tenant, owner, self.lease).await
    }

    /// Runs the remaining steps of a tenant this worker has claimed. On a step failure the failure
    /// is recorded (with back-off, or as failed after too many) and returned.
    pub async fn drive(
        &self,
        claimed: TenantRecord,
        owner: Uuid,
    ) -> Result<Lifecycle, ProvisionError> {
        let mut tenant = claimed;
        while tenant.lifecycle != Lifecycle::Active {
            let from = tenant.lifecycle;
            let started = std::time::Instant::now();
            let output = match self.run_step(&tenant).await {
                Ok(output) => output,
                Err(err @ (ProvisionError::InjectedCrash(_) | ProvisionError::LeaseLost(_))) => {
                    return Err(err)
                }
                Err(err) => {
                    self.record_failure(&tenant, owner, &err).await?;
                    return Err(err);
                }
            };
            tenant = self.record_step(&tenant, owner, output).await?;
            tracing::info!(
                tenant.id = %tenant.tenant_id, from = %from, to = %tenant.lifecycle,
                duration_ms = started.elapsed().as_millis() as u64,
                "tenant {} is now {}", tenant.tenant_id, tenant.lifecycle
            );
            self.failpoint(Failpoint::AfterRecord(tenant.lifecycle))?;
        }
        Ok(Lifecycle::Active)
    }

    /// Marks every signup created more than `after` ago whose address is still unconfirmed as
    /// expired, so that it is deprovisioned; returns how many.
    pub async fn expire_unconfirmed(&self, after: Duration) -> Result<u64, ProvisionError> {
        registry::expire_unconfirmed(&self.control, after).await
    }

    /// Claims up to `limit` expired tenants that are due and that no live worker holds.
    pub async fn claim_expired(
        &self,
        owner: Uuid,
        limit: i64,
    ) -> Result<Vec<TenantRecord>, ProvisionError> {
        registry::claim_expired(&self.control, owner, self.lease, limit).await
    }

    /// Removes an expired tenant this worker has claimed: drops its database and role, then
    /// deletes its row (and with it its people, links and audit trail), freeing the subdomain.
    /// A failure is recorded with back-off, as for provisioning.
    pub async fn deprovision(
        &self,
        claimed: TenantRecord,
        owner: Uuid,
    ) -> Result<(), ProvisionError> {
        if let Err(err) = self.server.drop_database(&claimed.database()).await {
            self.record_failure(&claimed, owner, &err).await?;
            return Err(err);
        }
        if !registry::delete_expired(&self.control, claimed.tenant_id, owner).await? {
            return Err(ProvisionError::LeaseLost(claimed.tenant_id));
        }
        tracing::info!(tenant.id = %claimed.tenant_id, tenant.subdomain = %claimed.subdomain,
            "unconfirmed signup {} expired; its database is dropped and {} is free again",
            claimed.tenant_id, claimed.subdomain);
        Ok(())
    }

    /// Clears a failed tenant's failure so the worker picks it up again at its position.
    pub async fn retry(&self, tenant: TenantId) -> Result<(), ProvisionError> {
        let cleared = registry::clear_failure(&self.control, tenant).await?;
        if !cleared && registry::find(&self.control, tenant).await?.is_none() {
            return Err(ProvisionError::UnknownTenant(tenant));
        }
        Ok(())
    }

    async fn run_step(&self, tenant: &TenantRecord) -> Result<StepRecord, ProvisionError> {
        let db = tenant.database();
        let (target, output) = match tenant.lifecycle {
            Lifecycle::Requested => {
                self.server.ensure_database(&db).await?;
                (Lifecycle::DatabaseCreated, StepRecord::default())
            }
            Lifecycle::DatabaseCreated => {
                let version = self.server.apply_schema(&db).await?;
                (
                    Lifecycle::SchemaApplied,
                    StepRecord {
                        schema_version: Some(version),
                        ..Default::default()
                    },
                )
            }
            Lifecycle::SchemaApplied => {
                // A new key and a new password on every attempt: an earlier attempt's were never
                // recorded, so nothing can depend on them.
                let (key, wrapped) = self.keys.generate_data_key(tenant.tenant_id).await?;
                let sealer = Sealer::new(tenant.tenant_id, tenant.data_key_version as u32, key);
                let password = credentials::generate_password();
                let sealed = credentials::seal_database_password(&sealer, &db.role, &password);
                self.server.set_login_password(&db, &password).await?;
                let output = StepRecord {
                    key_provider: Some(self.keys.name()),
                    wrapped_data_key: Some(wrapped.0),
                    db_password_sealed: Some(sealed),
                    ..Default::default()
                };
                (Lifecycle::KeyCreated, output)
            }
            Lifecycle::KeyCreated => {
                let (Some(provider), Some(wrapped), Some(sealed)) = (
                    &tenant.key_provider,
                    &tenant.wrapped_data_key,
                    &tenant.db_password_sealed,
                ) else {
                    return Err(ProvisionError::NotProvisioned(tenant.tenant_id));
                };
                let stored = StoredKey {
                    tenant: tenant.tenant_id,
                    key_provider: provider,
                    wrapped_data_key: wrapped,
                    data_key_version: tenant.data_key_version,
                };
                let sealer = credentials::sealer_for(self.keys.as_ref(), &stored).await?;
                let password = credentials::open_database_password(&sealer, &db.role, sealed)?;
                self.server.check_login(&db, &password).await?;
                (Lifecycle::Active, StepRecord::default())
            }
            Lifecycle::Active => return Ok(StepRecord::default()),
        };
        self.failpoint(Failpoint::AfterEffect(target))?;
        Ok(output)
    }

    async fn record_step(
        &self,
        tenant: &TenantRecord,
        owner: Uuid,
        output: StepRecord,
    ) -> Result<TenantRecord, ProvisionError> {
        let next = match tenant.lifecycle {
            Lifecycle::Requested => Lifecycle::DatabaseCreated,
            Lifecycle::DatabaseCreated => Lifecycle::SchemaApplied,
            Lifecycle::SchemaApplied => Lifecycle::KeyCreated,
            Lifecycle::KeyCreated | Lifecycle::Active => Lifecycle::Active,
        };
        registry::record_step(
            &self.control,
            tenant.tenant_id,
            owner,
            tenant.lifecycle,
            next,
            output,
            self.lease,
        )
        .await?
        .ok_or(ProvisionError::LeaseLost(tenant.tenant_id))
    }

    async fn record_failure(
        &self,
        tenant: &TenantRecord,
        owner: Uuid,
        err: &ProvisionError,
    ) -> Result<(), ProvisionError> {
        let failures = tenant.attempts + 1;
        let gives_up = failures >= self.policy.max_attempts;
        let delay = self.policy.delay_after(failures);
        let mut message = err.to_string();
        message.truncate(2000);
        if gives_up {
            tracing::error!(tenant.id = %tenant.tenant_id, step = %tenant.lifecycle, error = %message,
                "provisioning of tenant {} failed {failures} times and is marked failed", tenant.tenant_id);
        } else {
            tracing::warn!(tenant.id = %tenant.tenant_id, step = %tenant.lifecycle, error = %message,
                "provisioning step for tenant {} failed; retrying", tenant.tenant_id);
        }
        let failure = StepFailure {
            attempts: failures,
            message,
            delay,
            gives_up,
        };
        registry::record_failure(&self.control, tenant.tenant_id, owner, failure).await
    }

    #[cfg(feature = "failpoints")]
    fn failpoint(&self, here: Failpoint) -> Result<(), ProvisionError> {
        match self.failpoint {
            Some(point) if point == here => Err(ProvisionError::InjectedCrash(format!("{here:?}"))),
            _ => Ok(()),
        }
    }

    #[cfg(not(feature = "failpoints"))]
    #[inline(always)]
    fn failpoint(&self, _here: Failpoint) -> Result<(), ProvisionError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let delays: Vec<_> = (1..=6).map(|n| policy.delay_after(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }
}
