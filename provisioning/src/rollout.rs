//! Rolling the tenant schema out across every tenant database (`control-plane migrate`).
//!
//! A rollout builds the new template first (so tenants created meanwhile get the new schema),
//! migrates each tenant database whose recorded `schema_version` is behind, recording progress
//! per tenant so an interrupted rollout resumes where it stopped, and finally drops stale
//! templates. Separate from [`crate::migrations`] (the embedded sets), which the database server
//! and the template build read: the rollout drives them, so it sits above them.

use futures::stream::{self, StreamExt};
use sqlx::PgPool;

use crate::database_server::{DatabaseServer, PostgresServer};
use crate::migrations::latest_tenant_version;
use crate::{registry, ProvisionError, TenantId};

/// What a tenant-schema rollout did.
#[derive(Debug, Default)]
pub struct RolloutReport {
    pub template: String,
    pub migrated: Vec<TenantId>,
    pub failed: Vec<(TenantId, String)>,
    pub dropped_templates: Vec<String>,
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
    let behind = registry::schema_behind(control, latest).await?;

    let results: Vec<(TenantId, Result<i64, ProvisionError>)> = stream::iter(behind)
        .map(|(tenant, db)| async move { (tenant, server.apply_schema(&db).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (tenant, result) in results {
        match result {
            Ok(version) => {
                registry::set_schema_version(control, tenant, version).await?;
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
