//! The two schema sets, embedded at compile time.
//!
//! `migrations/control/` describes the control database; `migrations/tenant/` every tenant
//! database (and the template they are copied from). This module is a leaf: the database server,
//! the template build and the rollout ([`crate::rollout`]) all read the tenant set from here.

use sqlx::migrate::Migrator;
use sqlx::PgPool;

use crate::ProvisionError;

/// Migrations of the control database.
pub static CONTROL: Migrator = sqlx::migrate!("../migrations/control");
/// Migrations of every tenant database.
pub static TENANT: Migrator = sqlx::migrate!("../migrations/tenant");

/// The newest tenant schema version compiled into this binary.
pub fn latest_tenant_version() -> i64 {
    TENANT.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Applies pending control-database migrations.
pub async fn migrate_control(control: &PgPool) -> Result<(), ProvisionError> {
    CONTROL.run(control).await?;
    Ok(())
}
