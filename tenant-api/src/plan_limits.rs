//! The plan's integration limit, enforced where integrations are born: a pact publication for a
//! consumer/provider pair that has none yet (`PUT` a pact, `POST /contracts/publish`). Pairs that
//! exist keep working whatever the plan — a downgrade or a cancellation keeps every integration
//! readable and publishable; only new ones are refused, in the broker's error shape with the
//! limit, the plan and where to upgrade.
//!
//! The limit comes from the tenant's routing record (`router.tenant_route`, computed by the
//! control plane), never from the control plane directly. Two publications racing for the last
//! free integration are serialised by a transaction-scoped advisory lock in the tenant's
//! database, taken only when a new pair is about to be created.

use std::sync::Arc;

use sqlx::PgConnection;

use crate::error::{Error, Result};
use crate::gate::TenantContext;

/// Serialises the creation of integrations within one tenant database.
const NEW_INTEGRATION_LOCK: i64 = 0x7472_7479_696e_7467; // "trtyintg"

/// A tenant's integration limit.
#[derive(Clone, Debug)]
pub struct IntegrationLimit {
    max: Option<i64>,
    plan: String,
    upgrade_url: Arc<str>,
}

impl IntegrationLimit {
    pub fn of(tenant: &TenantContext) -> Self {
        Self {
            max: tenant.route.max_integrations.map(i64::from),
            plan: if tenant.route.plan_name.is_empty() {
                tenant.route.plan.clone()
            } else {
                tenant.route.plan_name.clone()
            },
            upgrade_url: tenant.billing_url.clone(),
        }
    }

    /// Refuses a publication between `consumer` and `provider` if it would create an integration
    /// beyond the limit. Runs in the publication's transaction.
    pub async fn admit(
        &self,
        conn: &mut PgConnection,
        (consumer_id, consumer): (i64, &str),
        (provider_id, provider): (i64, &str),
    ) -> Result<()> {
        let Some(max) = self.max else {
            return Ok(());
        };
        if exists(conn, consumer_id, provider_id).await? {
            return Ok(());
        }
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(NEW_INTEGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        // Another publication may have created this very pair while we waited.
        if exists(conn, consumer_id, provider_id).await? {
            return Ok(());
        }
        let count: i64 = sqlx::query_scalar("select count(*) from integration")
            .fetch_one(&mut *conn)
            .await?;
        if count >= max {
            return Err(Error::PlanLimit {
                resource: "integrations",
                limit: max,
                plan: self.plan.clone(),
                what: format!("the pact between {consumer} and {provider}"),
                upgrade_url: self.upgrade_url.to_string(),
            });
        }
        Ok(())
    }
}

async fn exists(conn: &mut PgConnection, consumer_id: i64, provider_id: i64) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from integration where consumer_id = $1 and provider_id = $2)",
    )
    .bind(consumer_id)
    .bind(provider_id)
    .fetch_one(conn)
    .await?)
}
