//! The two schema sets, and rolling the tenant one out across every tenant database.
//!
//! `migrations/control/` describes the control database; `migrations/tenant/` every tenant
//! database (and the template they are copied from). Both are embedded at compile time. A rollout
//! builds the new template first (so tenants created meanwhile get the new schema), migrates each
//! tenant database whose recorded `schema_version` is behind, recording progress per tenant so an
//! interrupted rollout resumes where it stopped, and finally drops stale templates.

use futures::stream::{self, StreamExt};
use sqlx::migrate::Migrator;
use sqlx::PgPool;

use crate::database_server::{DatabaseServer, PostgresServer, TenantDatabase};
use crate::{ProvisionError, TenantId};

/// Migrations of the control database.
pub static CONTROL: Migrator = sqlx::migrate!("../migrations/control");
/// Migrations of every tenant database.
pub static TENANT: Migrator = sqlx::migrate!("../migrations/tenant");

/// The newest tenant schema version compiled into this binary.
pub fn latest_tenant_version() -> i64 {
    TENANT.iter().map(|m| m.version).max().unwrap_or(0)
}

/// What a tenant-schema rollout did.
#[derive(Debug, Default)]
pub struct RolloutReport {
    pub template: String,
    pub migrated: Vec<TenantId>,
    pub failed: Vec<(TenantId, String)>,
    pub dropped_templates: Vec<String>,
}

/// Applies pending control-database migrations.
pub async fn migrate_control(control: &PgPool) -> Result<(), ProvisionError> {
    CONTROL.run(control).await?;
    Ok(())
}

/// Brings every tenant database that already has a schema up to [`latest_tenant_version`],
/// `concurrency` at a time. Failures are reported per tenant and do not stop the rollout.
pub async fn roll_out_tenant_schema(
    control: &PgPool,
    server: &PostgresServer,
    concurrency: usize,
) -> Result<RolloutReport, ProvisionError> {
    server.ensure_template().await?;
    let mut report = RolloutReport {
        template: server.template().name().to_owned(),
        ..Default::default()
    };
    let latest = latest_tenant_version();
    let behind: Vec<(TenantId, String, String)> = sqlx::query_as(
        "select tenant_id, db_name, db_role from tenant
         where lifecycle in ('schema_applied', 'key_created', 'active') and expired_at is null
           and (schema_version is null or schema_version < $1)
         order by created_at",
    )
    .bind(latest)
    .fetch_all(control)
    .await?;

    let results: Vec<(TenantId, Result<i64, ProvisionError>)> = stream::iter(behind)
        .map(|(tenant, name, role)| async move {
            let db = TenantDatabase { name, role };
            (tenant, server.apply_schema(&db).await)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (tenant, result) in results {
        match result {
            Ok(version) => {
                sqlx::query("update tenant set schema_version = $2 where tenant_id = $1")
                    .bind(tenant)
                    .bind(version)
                    .execute(control)
                    .await?;
                report.migrated.push(tenant);
            }
            Err(err) => {
                tracing::error!(tenant.id = %tenant, error = %err, "tenant schema migration failed for {tenant}");
                report.failed.push((tenant, err.to_string()));
            }
        }
    }
    report.dropped_templates = server.drop_stale_templates().await?;
    Ok(report)
}
