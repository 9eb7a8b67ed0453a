//! What a tenant's plan lets it do, written where the tenant API reads it: the tenant row's
//! `plan`, `plan_name` and `max_integrations` (seen through `router.tenant_route`, whose trigger
//! tells the tenant API to drop its cached copy). Every plan change goes through [`set_plan`],
//! and is an audit event ([`record_change`]).
//!
//! Limits are copied from the catalogue, which is configuration: at start-up
//! [`apply_catalogue`] rewrites the copies that differ, so an edited `PLANS_FILE` reaches every
//! tenant.

use provisioning::{registry, TenantId};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::plans::{Plan, Plans};
use crate::audit::{self, Actor};

/// Puts `tenant` on `plan_id` (the catalogue's base plan if unknown); returns the plan it was on
/// when that differs. The caller holds the tenant's row lock.
pub async fn set_plan(
    conn: &mut PgConnection,
    plans: &Plans,
    tenant: TenantId,
    plan_id: &str,
) -> sqlx::Result<Option<String>> {
    let plan = plans.get(plan_id);
    let previous = registry::set_plan(
        conn,
        tenant,
        &plan.id,
        &plan.name,
        limit(plan.max_integrations),
    )
    .await?;
    Ok(previous.filter(|before| *before != plan.id))
}

fn limit(value: Option<i64>) -> Option<i32> {
    value.map(|v| v.clamp(0, i64::from(i32::MAX)) as i32)
}

/// The audit event of a plan change.
pub async fn record_change(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    from: &str,
    to: &Plan,
    source: &str,
) -> sqlx::Result<()> {
    audit::record(
        conn,
        tenant,
        actor,
        "plan_changed",
        Some(&to.id),
        json!({"from": from, "to": to.id, "source": source}),
    )
    .await
}

/// Brings every tenant's copy of its plan's name and limits in line with the catalogue; tenants
/// on a plan the catalogue no longer has get the base plan's limits. Returns how many changed.
pub async fn apply_catalogue(db: &PgPool, plans: &Plans) -> sqlx::Result<u64> {
    let mut changed = 0;
    let known: Vec<String> = plans.all().map(|p| p.id.clone()).collect();
    for plan in plans.all() {
        changed +=
            registry::set_plan_limits(db, &plan.id, &plan.name, limit(plan.max_integrations))
                .await?;
    }
    let base = plans.base();
    changed +=
        registry::set_plan_limits_outside(db, &known, &base.name, limit(base.max_integrations))
            .await?;
    Ok(changed)
}
