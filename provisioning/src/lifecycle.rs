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

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::credentials::{self, StoredKey};
use crate::database_server::DatabaseServer;
use crate::keys::KeyProvider;
use crate::registry::{self, TenantRecord, COLUMNS};
use crate::sealing::Sealer;
use crate::{ProvisionError, TenantId};

/// The provisioning steps a tenant has completed (stored as text in `tenant.lifecycle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Requested,
    DatabaseCreated,
    SchemaApplied,
    KeyCreated,
    Active,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 5] = [
        Self::Requested,
        Self::DatabaseCreated,
        Self::SchemaApplied,
        Self::KeyCreated,
        Self::Active,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::DatabaseCreated => "database_created",
            Self::SchemaApplied => "schema_applied",
            Self::KeyCreated => "key_created",
            Self::Active => "active",
        }
    }
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lifecycle {
    type Err = crate::tenant::UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| crate::tenant::UnknownStatus(s.to_owned()))
    }
}

impl TryFrom<String> for Lifecycle {
    type Error = crate::tenant::UnknownStatus;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

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

/// A named point at which tests stop the lifecycle as a crash would: right after a step's side
/// effect (before it is recorded) or right after it is recorded. Only builds with the
/// `failpoints` feature can select one ([`Provisioner::with_failpoint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failpoint {
    AfterEffect(Lifecycle),
    AfterRecord(Lifecycle),
    /// `template:built`: the template is built under its temporary name, not yet renamed.
    TemplateBuilt,
    /// `template:renamed`: renamed into place, not yet marked a template.
    TemplateRenamed,
}

impl FromStr for Failpoint {
    type Err = String;
    /// `after-effect:<lifecycle>` or `after-record:<lifecycle>`, naming the step's target, or
    /// `template:built` / `template:renamed` (the template build, see `template.rs`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "template:built" => return Ok(Self::TemplateBuilt),
            "template:renamed" => return Ok(Self::TemplateRenamed),
            _ => {}
        }
        let (kind, step) = s
            .split_once(':')
            .ok_or_else(|| format!("bad failpoint {s:?}"))?;
        let step: Lifecycle = step
            .parse()
            .map_err(|e: crate::tenant::UnknownStatus| e.to_string())?;
        match kind {
            "after-effect" => Ok(Self::AfterEffect(step)),
            "after-record" => Ok(Self::AfterRecord(step)),
            _ => Err(format!("bad failpoint kind {kind:?}")),
        }
    }
}

/// What a step produced, to be recorded with the new position.
#[derive(Default)]
struct StepOutput {
    schema_version: Option<i64>,
    key_provider: Option<&'static str>,
    wrapped_data_key: Option<Vec<u8>>,
    db_password_sealed: Option<Vec<u8>>,
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

    fn lease_ms(&self) -> f64 {
        self.lease.as_secs_f64() * 1000.0
    }

    /// Claims up to `limit` tenants whose next step is due and that no live worker holds.
    pub async fn claim_due(
        &self,
        owner: Uuid,
        limit: i64,
    ) -> Result<Vec<TenantRecord>, ProvisionError> {
        Ok(sqlx::query_as(&format!(
            "update tenant set lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond'
             where tenant_id in (
                select tenant_id from tenant
                where lifecycle <> 'active' and failed_at is null and next_attempt_at <= now()
                  and expired_at is null
                  and (lease_expires_at is null or lease_expires_at < now())
                order by next_attempt_at
                limit $3
                for update skip locked)
             returning {COLUMNS}"
        ))
        .bind(owner)
        .bind(self.lease_ms())
        .bind(limit)
        .fetch_all(&self.control)
        .await?)
    }

    /// Claims one tenant if it still has steps to run and no live worker holds it (used right
    /// after signup, so the new tenant does not wait for the next poll).
    pub async fn claim(
        &self,
        tenant: TenantId,
        owner: Uuid,
    ) -> Result<Option<TenantRecord>, ProvisionError> {
        Ok(sqlx::query_as(&format!(
            "update tenant set lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond'
             where tenant_id = (
                select tenant_id from tenant
                where tenant_id = $3 and lifecycle <> 'active' and failed_at is null
                  and expired_at is null
                  and (lease_expires_at is null or lease_expires_at < now())
                for update skip locked)
             returning {COLUMNS}"
        ))
        .bind(owner)
        .bind(self.lease_ms())
        .bind(tenant)
        .fetch_optional(&self.control)
        .await?)
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
        let expired = sqlx::query(
            "update tenant set expired_at = now(), next_attempt_at = now(), attempts = 0,
                failed_at = null, last_error = null
             where confirmed_at is null and expired_at is null
               and created_at < now() - $1 * interval '1 millisecond'",
        )
        .bind(after.as_secs_f64() * 1000.0)
        .execute(&self.control)
        .await?;
        Ok(expired.rows_affected())
    }

    /// Claims up to `limit` expired tenants that are due and that no live worker holds.
    pub async fn claim_expired(
        &self,
        owner: Uuid,
        limit: i64,
    ) -> Result<Vec<TenantRecord>, ProvisionError> {
        Ok(sqlx::query_as(&format!(
            "update tenant set lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond'
             where tenant_id in (
                select tenant_id from tenant
                where expired_at is not null and failed_at is null and next_attempt_at <= now()
                  and (lease_expires_at is null or lease_expires_at < now())
                order by next_attempt_at
                limit $3
                for update skip locked)
             returning {COLUMNS}"
        ))
        .bind(owner)
        .bind(self.lease_ms())
        .bind(limit)
        .fetch_all(&self.control)
        .await?)
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
        let deleted = sqlx::query(
            "delete from tenant where tenant_id = $1 and lease_owner = $2 and expired_at is not null",
        )
        .bind(claimed.tenant_id)
        .bind(owner)
        .execute(&self.control)
        .await?;
        if deleted.rows_affected() == 0 {
            return Err(ProvisionError::LeaseLost(claimed.tenant_id));
        }
        tracing::info!(tenant.id = %claimed.tenant_id, tenant.subdomain = %claimed.subdomain,
            "unconfirmed signup {} expired; its database is dropped and {} is free again",
            claimed.tenant_id, claimed.subdomain);
        Ok(())
    }

    /// Clears a failed tenant's failure so the worker picks it up again at its position.
    pub async fn retry(&self, tenant: TenantId) -> Result<(), ProvisionError> {
        let updated = sqlx::query(
            "update tenant set failed_at = null, attempts = 0, next_attempt_at = now()
             where tenant_id = $1 and lifecycle <> 'active'",
        )
        .bind(tenant)
        .execute(&self.control)
        .await?;
        if updated.rows_affected() == 0 && registry::find(&self.control, tenant).await?.is_none() {
            return Err(ProvisionError::UnknownTenant(tenant));
        }
        Ok(())
    }

    async fn run_step(&self, tenant: &TenantRecord) -> Result<StepOutput, ProvisionError> {
        let db = tenant.database();
        let (target, output) = match tenant.lifecycle {
            Lifecycle::Requested => {
                self.server.ensure_database(&db).await?;
                (Lifecycle::DatabaseCreated, StepOutput::default())
            }
            Lifecycle::DatabaseCreated => {
                let version = self.server.apply_schema(&db).await?;
                (
                    Lifecycle::SchemaApplied,
                    StepOutput {
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
                let output = StepOutput {
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
                (Lifecycle::Active, StepOutput::default())
            }
            Lifecycle::Active => return Ok(StepOutput::default()),
        };
        self.failpoint(Failpoint::AfterEffect(target))?;
        Ok(output)
    }

    async fn record_step(
        &self,
        tenant: &TenantRecord,
        owner: Uuid,
        output: StepOutput,
    ) -> Result<TenantRecord, ProvisionError> {
        let next = match tenant.lifecycle {
            Lifecycle::Requested => Lifecycle::DatabaseCreated,
            Lifecycle::DatabaseCreated => Lifecycle::SchemaApplied,
            Lifecycle::SchemaApplied => Lifecycle::KeyCreated,
            Lifecycle::KeyCreated | Lifecycle::Active => Lifecycle::Active,
        };
        let done = next == Lifecycle::Active;
        sqlx::query_as(&format!(
            "update tenant set
                lifecycle = $4,
                schema_version = coalesce($5, schema_version),
                key_provider = coalesce($6, key_provider),
                wrapped_data_key = coalesce($7, wrapped_data_key),
                db_password_sealed = coalesce($8, db_password_sealed),
                activated_at = case when $9 then now() else activated_at end,
                attempts = 0, last_error = null,
                lease_owner = case when $9 then null else lease_owner end,
                lease_expires_at = case when $9 then null else now() + $10 * interval '1 millisecond' end
             where tenant_id = $1 and lease_owner = $2 and lifecycle = $3
             returning {COLUMNS}"
        ))
        .bind(tenant.tenant_id)
        .bind(owner)
        .bind(tenant.lifecycle.as_str())
        .bind(next.as_str())
        .bind(output.schema_version)
        .bind(output.key_provider)
        .bind(output.wrapped_data_key)
        .bind(output.db_password_sealed)
        .bind(done)
        .bind(self.lease_ms())
        .fetch_optional(&self.control)
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
        let delay_ms = self.policy.delay_after(failures).as_secs_f64() * 1000.0;
        let mut message = err.to_string();
        message.truncate(2000);
        if gives_up {
            tracing::error!(tenant.id = %tenant.tenant_id, step = %tenant.lifecycle, error = %message,
                "provisioning of tenant {} failed {failures} times and is marked failed", tenant.tenant_id);
        } else {
            tracing::warn!(tenant.id = %tenant.tenant_id, step = %tenant.lifecycle, error = %message,
                "provisioning step for tenant {} failed; retrying", tenant.tenant_id);
        }
        sqlx::query(
            "update tenant set attempts = $3, last_error = $4,
                next_attempt_at = now() + $5 * interval '1 millisecond',
                failed_at = case when $6 then now() else null end,
                lease_owner = null, lease_expires_at = null
             where tenant_id = $1 and lease_owner = $2",
        )
        .bind(tenant.tenant_id)
        .bind(owner)
        .bind(failures)
        .bind(message)
        .bind(delay_ms)
        .bind(gives_up)
        .execute(&self.control)
        .await?;
        Ok(())
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
