//! The control database's `tenant` table: the one module that reads and writes tenant rows.
//!
//! The control plane inserts a tenant at signup ([`insert_requested`]); the lifecycle moves it
//! along; operators and billing suspend it. The tenant API never comes here: it reads the
//! narrower `router.tenant_route` view through its own read-only role.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};

use crate::database_server::{Endpoint, TenantDatabase};
use crate::lifecycle::Lifecycle;
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

/// Whether `err` violated the named constraint.
pub fn is_constraint(err: &sqlx::Error, name: &str) -> bool {
    err.as_database_error().and_then(|e| e.constraint()) == Some(name)
}
