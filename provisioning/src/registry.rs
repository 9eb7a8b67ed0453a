//! The control database's `tenant` table: the one module that writes tenant rows.
//!
//! Every `insert`, `update` and `delete` of `tenant` is a function here, named for what it
//! records: the control plane inserts a tenant at signup ([`insert_requested`]) and confirms it;
//! the lifecycle claims tenants with a lease and records steps and failures; the schema rollout
//! records versions; billing writes the plan, limits and payment state; the outbox marks the
//! welcome mail queued. Reads of single columns (an organisation's name, the plan under a row
//! lock) stay with the modules ARCHITECTURE.md names. The tenant API never comes here: it reads
//! the narrower `router.tenant_route` view through its own read-only role.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};
use uuid::Uuid;

use crate::database_server::{Endpoint, TenantDatabase};
use crate::tenant::Lifecycle;
use crate::{ProvisionError, Subdomain, TenantId, TenantStatus};

/// A tenant as the control plane sees it.
#[derive(Clone, Debug, FromRow)]
pub struct TenantRecord {
    pub tenant_id: TenantId,
    pub subdomain: String,
    pub organisation: String,
    #[sqlx(try_from = "String")]
    pub lifecycle: Lifecycle,
    pub plan: String,
    pub db_host: String,
    pub db_port: i32,
    pub db_name: String,
    pub db_role: String,
    pub key_provider: Option<String>,
    pub wrapped_data_key: Option<Vec<u8>>,
    pub data_key_version: i32,
    pub db_password_sealed: Option<Vec<u8>>,
    pub schema_version: Option<i64>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    /// When the signup e-mail address was confirmed; the tenant is served only after that.
    pub confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TenantRecord {
    pub fn status(&self) -> TenantStatus {
        TenantStatus::from_parts(
            self.lifecycle,
            self.failed_at.is_some(),
            self.suspended_at.is_some(),
        )
    }

    /// Provisioned and confirmed: the tenant API serves it.
    pub fn is_ready(&self) -> bool {
        self.status() == TenantStatus::Active && self.confirmed_at.is_some()
    }

    pub fn database(&self) -> TenantDatabase {
        TenantDatabase {
            name: self.db_name.clone(),
            role: self.db_role.clone(),
        }
    }
}

/// The columns of [`TenantRecord`], for `select` and `returning` lists.
pub(crate) const COLUMNS: &str =
    "tenant_id, subdomain, organisation, lifecycle, plan, db_host, db_port,
    db_name, db_role, key_provider, wrapped_data_key, data_key_version, db_password_sealed,
    schema_version, attempts, last_error, failed_at, suspended_at, activated_at, confirmed_at, created_at";

/// A tenant to be created.
pub struct NewTenant<'a> {
    pub id: TenantId,
    pub subdomain: &'a Subdomain,
    pub organisation: &'a str,
    pub database: &'a TenantDatabase,
    pub endpoint: &'a Endpoint,
}

/// Inserts a tenant in the `requested` state; the caller owns the transaction. A taken
/// subdomain is [`ProvisionError::SubdomainTaken`].
pub async fn insert_requested(
    conn: &mut PgConnection,
    new: &NewTenant<'_>,
) -> Result<(), ProvisionError> {
    let result = sqlx::query(
        "insert into tenant (tenant_id, subdomain, organisation, db_host, db_port, db_name, db_role)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new.id)
    .bind(new.subdomain.as_str())
    .bind(new.organisation)
    .bind(&new.endpoint.host)
    .bind(i32::from(new.endpoint.port))
    .bind(&new.database.name)
    .bind(&new.database.role)
    .execute(conn)
    .await;
    match result {
        Err(err) if is_constraint(&err, "tenant_subdomain_key") => {
            Err(ProvisionError::SubdomainTaken(new.subdomain.to_string()))
        }
        other => other.map(drop).map_err(Into::into),
    }
}

/// One tenant by id.
pub async fn find(
    db: impl PgExecutor<'_>,
    id: TenantId,
) -> Result<Option<TenantRecord>, ProvisionError> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from tenant where tenant_id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// A tenant's organisation name (for mails), `None` when there is no such tenant.
pub async fn organisation(db: impl PgExecutor<'_>, id: TenantId) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select organisation from tenant where tenant_id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Records that the tenant's signup address is confirmed (idempotent); the caller owns the
/// transaction. Returns the tenant as it is now, or `None` when there is none or its
/// unconfirmed signup has expired (it is being deprovisioned).
pub async fn mark_confirmed(
    conn: &mut PgConnection,
    id: TenantId,
) -> Result<Option<TenantRecord>, ProvisionError> {
    Ok(sqlx::query_as(&format!(
        "update tenant set confirmed_at = coalesce(confirmed_at, now())
         where tenant_id = $1 and expired_at is null returning {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// `d` in milliseconds, as the interval arithmetic below takes it.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Takes a lease on up to `limit` tenants whose next provisioning step is due and that no live
/// worker holds.
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    owner: Uuid,
    lease: Duration,
    limit: i64,
) -> Result<Vec<TenantRecord>, ProvisionError> {
    claim_batch(
        db,
        "lifecycle <> 'active' and failed_at is null and next_attempt_at <= now()
         and expired_at is null",
        owner,
        lease,
        limit,
    )
    .await
}

/// Takes a lease on up to `limit` tenants that match `due` (a fixed condition, never input)
/// and that no live worker holds, the longest-waiting first, skipping rows others have locked.
async fn claim_batch(
    db: impl PgExecutor<'_>,
    due: &'static str,
    owner: Uuid,
    lease: Duration,
    limit: i64,
) -> Result<Vec<TenantRecord>, ProvisionError> {
    Ok(sqlx::query_as(&format!(
        "update tenant set lease_owner = $1, lease_expires_at = now() + $2 * interval '1 millisecond'
         where tenant_id in (
            select tenant_id from tenant
            where {due}
              and (lease_expires_at is null or lease_expires_at < now())
            order by next_attempt_at
            limit $3
            for update skip locked)
         returning {COLUMNS}"
    ))
    .bind(owner)
    .bind(millis(lease))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Takes a lease on one tenant if it still has provisioning steps to run and no live worker
/// holds it.
pub async fn claim_one(
    db: impl PgExecutor<'_>,
    tenant: TenantId,
    owner: Uuid,
    lease: Duration,
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
    .bind(millis(lease))
    .bind(tenant)
    .fetch_optional(db)
    .await?)
}

/// What a provisioning step produced, recorded with the tenant's new position.
#[derive(Default)]
pub(crate) struct StepRecord {
    pub schema_version: Option<i64>,
    pub key_provider: Option<&'static str>,
    pub wrapped_data_key: Option<Vec<u8>>,
    pub db_password_sealed: Option<Vec<u8>>,
}

/// Moves a tenant this worker holds from `from` to `next`, with what the step produced; the
/// lease is renewed, or released when `next` is the last position. `None` when the lease was
/// lost (another worker, or no longer at `from`).
pub(crate) async fn record_step(
    db: impl PgExecutor<'_>,
    tenant: TenantId,
    owner: Uuid,
    from: Lifecycle,
    next: Lifecycle,
    output: StepRecord,
    lease: Duration,
) -> Result<Option<TenantRecord>, ProvisionError> {
    let done = next == Lifecycle::Active;
    Ok(sqlx::query_as(&format!(
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
    .bind(tenant)
    .bind(owner)
    .bind(from.as_str())
    .bind(next.as_str())
    .bind(output.schema_version)
    .bind(output.key_provider)
    .bind(output.wrapped_data_key)
    .bind(output.db_password_sealed)
    .bind(done)
    .bind(millis(lease))
    .fetch_optional(db)
    .await?)
}

/// A failed step of a tenant this worker holds: the attempt count and error, the next attempt
/// after `delay` (or the tenant marked failed when `gives_up`), and the lease released.
pub(crate) struct StepFailure {
    pub attempts: i32,
    pub message: String,
    pub delay: Duration,
    pub gives_up: bool,
}

/// Records a [`StepFailure`] (nothing when the lease was lost meanwhile).
pub(crate) async fn record_failure(
    db: impl PgExecutor<'_>,
    tenant: TenantId,
    owner: Uuid,
    failure: StepFailure,
) -> Result<(), ProvisionError> {
    sqlx::query(
        "update tenant set attempts = $3, last_error = $4,
            next_attempt_at = now() + $5 * interval '1 millisecond',
            failed_at = case when $6 then now() else null end,
            lease_owner = null, lease_expires_at = null
         where tenant_id = $1 and lease_owner = $2",
    )
    .bind(tenant)
    .bind(owner)
    .bind(failure.attempts)
    .bind(failure.message)
    .bind(millis(failure.delay))
    .bind(failure.gives_up)
    .execute(db)
    .await?;
    Ok(())
}

/// Clears a tenant's failure so the worker picks it up again at its position; false when no
/// tenant still provisioning has that id.
pub async fn clear_failure(
    db: impl PgExecutor<'_>,
    tenant: TenantId,
) -> Result<bool, ProvisionError> {
    let updated = sqlx::query(
        "update tenant set failed_at = null, attempts = 0, next_attempt_at = now()
         where tenant_id = $1 and lifecycle <> 'active'",
    )
    .bind(tenant)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// Marks every signup created more than `after` ago whose address is still unconfirmed as
/// expired, due for deprovisioning now; returns how many.
pub async fn expire_unconfirmed(
    db: impl PgExecutor<'_>,
    after: Duration,
) -> Result<u64, ProvisionError> {
    let expired = sqlx::query(
        "update tenant set expired_at = now(), next_attempt_at = now(), attempts = 0,
            failed_at = null, last_error = null
         where confirmed_at is null and expired_at is null
           and created_at < now() - $1 * interval '1 millisecond'",
    )
    .bind(millis(after))
    .execute(db)
    .await?;
    Ok(expired.rows_affected())
}

/// Takes a lease on up to `limit` expired tenants that are due and that no live worker holds.
pub async fn claim_expired(
    db: impl PgExecutor<'_>,
    owner: Uuid,
    lease: Duration,
    limit: i64,
) -> Result<Vec<TenantRecord>, ProvisionError> {
    claim_batch(
        db,
        "expired_at is not null and failed_at is null and next_attempt_at <= now()",
        owner,
        lease,
        limit,
    )
    .await
}

/// Deletes an expired tenant this worker holds (and with it, by cascade, its people, links and
/// audit trail); false when the lease was lost.
pub(crate) async fn delete_expired(
    db: impl PgExecutor<'_>,
    tenant: TenantId,
    owner: Uuid,
) -> Result<bool, ProvisionError> {
    let deleted = sqlx::query(
        "delete from tenant where tenant_id = $1 and lease_owner = $2 and expired_at is not null",
    )
    .bind(tenant)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Tenants whose database has a schema older than `latest` (or none recorded), oldest first.
pub(crate) async fn schema_behind(
    db: impl PgExecutor<'_>,
    latest: i64,
) -> Result<Vec<(TenantId, TenantDatabase)>, ProvisionError> {
    let rows: Vec<(TenantId, String, String)> = sqlx::query_as(
        "select tenant_id, db_name, db_role from tenant
         where lifecycle in ('schema_applied', 'key_created', 'active') and expired_at is null
           and (schema_version is null or schema_version < $1)
         order by created_at",
    )
    .bind(latest)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(tenant, name, role)| (tenant, TenantDatabase { name, role }))
        .collect())
}

/// Records the tenant schema version now applied to a tenant's database.
pub(crate) async fn set_schema_version(
    db: impl PgExecutor<'_>,
    tenant: TenantId,
    version: i64,
) -> Result<(), ProvisionError> {
    sqlx::query("update tenant set schema_version = $2 where tenant_id = $1")
        .bind(tenant)
        .bind(version)
        .execute(db)
        .await?;
    Ok(())
}

// Billing and the welcome mail. These run inside the control plane's own transactions and
// return `sqlx` errors, as the rest of that transaction does.

/// Puts a tenant on a plan (id, display name and integration limit, as the tenant API routes by
/// them); returns the plan it was on before, `None` when there is no such tenant. The caller
/// holds the tenant's row lock.
pub async fn set_plan(
    conn: &mut PgConnection,
    tenant: TenantId,
    plan: &str,
    plan_name: &str,
    max_integrations: Option<i32>,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "with before as (select plan from tenant where tenant_id = $1)
         update tenant set plan = $2, plan_name = $3, max_integrations = $4
         where tenant_id = $1
         returning (select plan from before)",
    )
    .bind(tenant)
    .bind(plan)
    .bind(plan_name)
    .bind(max_integrations)
    .fetch_optional(conn)
    .await
}

/// Rewrites the name and integration limit copied into every tenant on `plan` where they differ;
/// returns how many changed.
pub async fn set_plan_limits(
    db: impl PgExecutor<'_>,
    plan: &str,
    plan_name: &str,
    max_integrations: Option<i32>,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "update tenant set plan_name = $2, max_integrations = $3
         where plan = $1 and (plan_name is distinct from $2 or max_integrations is distinct from $3)",
    )
    .bind(plan)
    .bind(plan_name)
    .bind(max_integrations)
    .execute(db)
    .await?
    .rows_affected())
}

/// The same for every tenant on a plan not in `known` (a plan the catalogue no longer has).
pub async fn set_plan_limits_outside(
    db: impl PgExecutor<'_>,
    known: &[String],
    plan_name: &str,
    max_integrations: Option<i32>,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "update tenant set plan_name = $2, max_integrations = $3
         where plan <> all($1) and (plan_name is distinct from $2 or max_integrations is distinct from $3)",
    )
    .bind(known)
    .bind(plan_name)
    .bind(max_integrations)
    .execute(db)
    .await?
    .rows_affected())
}

/// Records a tenant's billing state (`ok`, `grace`, `read_only`), which the tenant API routes by.
pub async fn set_billing_state(
    conn: &mut PgConnection,
    tenant: TenantId,
    state: &str,
) -> sqlx::Result<()> {
    sqlx::query("update tenant set billing_state = $2 where tenant_id = $1")
        .bind(tenant)
        .bind(state)
        .execute(conn)
        .await
        .map(drop)
}

/// A tenant whose welcome mail is due, as [`take_due_welcomes`] marks it.
#[derive(Debug, FromRow)]
pub struct DueWelcome {
    pub tenant_id: TenantId,
    pub subdomain: String,
    pub organisation: String,
    /// The first confirmed administrator's address, if any.
    pub recipient: Option<String>,
}

/// Marks up to 50 confirmed, active tenants whose welcome mail has not been queued as queued
/// (skipping rows another process holds) and returns them; the caller queues the mails in the
/// same transaction.
pub async fn take_due_welcomes(conn: &mut PgConnection) -> sqlx::Result<Vec<DueWelcome>> {
    sqlx::query_as(
        "with due as (
             select tenant_id from tenant
             where welcome_queued_at is null and confirmed_at is not null and lifecycle = 'active'
             for update skip locked
             limit 50
         )
         update tenant t set welcome_queued_at = now()
         from due where t.tenant_id = due.tenant_id
         returning t.tenant_id, t.subdomain, t.organisation,
             (select email from app_user u where u.tenant_id = t.tenant_id and u.role = 'administrator'
                and u.email_confirmed_at is not null order by u.created_at limit 1) as recipient",
    )
    .fetch_all(conn)
    .await
}

/// Whether `err` violated the named constraint.
pub fn is_constraint(err: &sqlx::Error, name: &str) -> bool {
    err.as_database_error().and_then(|e| e.constraint()) == Some(name)
}

#[cfg(test)]
mod ownership {
    //! The invariant in ARCHITECTURE.md: only this module writes the `tenant` table.

    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("source folder") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    /// Whether SQL in `text` writes the `tenant` table (not `tenant_…` or `tenant.` of another
    /// schema's view), with any run of whitespace between the words.
    fn writes_tenant_table(text: &str) -> bool {
        let words: Vec<String> = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        words.windows(3).any(|w| {
            (w[0] == "insert" && w[1] == "into" && w[2] == "tenant")
                || (w[0] == "delete" && w[1] == "from" && w[2] == "tenant")
        }) || words
            .windows(2)
            .any(|w| w[0] == "update" && w[1] == "tenant")
    }

    #[test]
    fn the_words_are_found_only_as_a_statement_on_the_table() {
        assert!(writes_tenant_table("update\n   tenant set x = 1"));
        assert!(writes_tenant_table("insert into tenant (a) values (1)"));
        assert!(writes_tenant_table("DELETE FROM tenant where"));
        assert!(!writes_tenant_table("update tenant_route set"));
        assert!(!writes_tenant_table("delete from tenant_key"));
    }

    #[test]
    fn only_the_registry_writes_the_tenant_table() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for crate_dir in ["control-plane", "tenant-api", "provisioning"] {
            rust_files(&root.join(crate_dir).join("src"), &mut files);
        }
        assert!(files.len() > 50, "the sources were found: {files:?}");
        let writers: Vec<_> = files
            .iter()
            .filter(|f| !f.ends_with("provisioning/src/registry.rs"))
            .filter(|f| writes_tenant_table(&std::fs::read_to_string(f).expect("readable")))
            .collect();
        assert!(
            writers.is_empty(),
            "tenant table written outside registry: {writers:?}"
        );
    }
}
