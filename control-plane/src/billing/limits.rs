//! Enforcing the plan's limits on people (seats) and system accounts in the control plane.
//!
//! Every change that adds a principal first locks the tenant's row ([`lock_tenant`]), so two
//! concurrent invitations cannot both take the last seat; the count then includes pending
//! invitations (they hold a seat) and leaves out deactivated principals (they do not).

use provisioning::TenantId;
use sqlx::PgConnection;

use crate::error::{Error, Result};
use crate::state::AppState;

/// Locks the tenant for the rest of the transaction and returns its plan id.
///
/// `for no key update`, not `for update`: these locks still exclude each other, but not the
/// key-share locks that inserting a row referencing the tenant (a token, an audit event) takes,
/// so a transaction holding a principal's row and inserting such a row cannot deadlock with one
/// holding this lock and updating that principal.
pub async fn lock_tenant(conn: &mut PgConnection, tenant: TenantId) -> Result<String> {
    sqlx::query_scalar("select plan from tenant where tenant_id = $1 for no key update")
        .bind(tenant)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::NotFound("this organisation no longer exists".into()))
}

/// Which limit.
#[derive(Clone, Copy, Debug)]
pub enum Principal {
    Person,
    SystemAccount,
}

/// Refuses one more active principal of `kind` if the plan's limit is reached.
pub async fn check_room_for(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: TenantId,
    plan_id: &str,
    kind: Principal,
) -> Result<()> {
    let plan = state.plans.get(plan_id);
    let (limit, db_kind, resource) = match kind {
        Principal::Person => (plan.max_users, "person", "users"),
        Principal::SystemAccount => (plan.max_system_accounts, "system", "system accounts"),
    };
    let Some(limit) = limit else {
        return Ok(());
    };
    let used: i64 = sqlx::query_scalar(
        "select count(*) from app_user
         where tenant_id = $1 and kind = $2 and deactivated_at is null",
    )
    .bind(tenant)
    .bind(db_kind)
    .fetch_one(conn)
    .await?;
    if used >= limit {
        return Err(Error::PlanLimit {
            resource,
            limit,
            plan: plan.name.clone(),
            upgrade_url: state.upgrade_url(),
        });
    }
    Ok(())
}
