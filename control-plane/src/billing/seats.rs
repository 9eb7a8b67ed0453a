//! Seats: on a per-seat plan the subscription's quantity follows the number of people holding a
//! seat (not deactivated; pending invitations included — the same count as the user limit).
//!
//! Adding or removing a person marks the tenant's account in the same transaction
//! ([`request_sync`]); the billing job then sets the quantity on Stripe ([`sync_due`]) and clears
//! the mark only if no newer change arrived meanwhile. A crash anywhere leaves the mark, so the
//! next run does it; the update carries an idempotency key naming the mark, so a retry cannot
//! apply it twice. A quantity changed in the billing portal stands until the next seat change.

use chrono::{DateTime, Utc};
use provisioning::TenantId;
use serde_json::json;
use sqlx::PgConnection;

use super::account::{self, is_live};
use crate::audit;
use crate::state::AppState;

/// Marks the tenant's subscription quantity for a sync (no-op without a subscription).
pub async fn request_sync(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<()> {
    sqlx::query(
        "update billing_account set seats_sync_requested_at = clock_timestamp()
         where tenant_id = $1 and stripe_subscription_id is not null",
    )
    .bind(tenant)
    .execute(conn)
    .await
    .map(drop)
}

/// People holding a seat.
pub async fn in_use(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from app_user
         where tenant_id = $1 and kind = 'person' and deactivated_at is null",
    )
    .bind(tenant)
    .fetch_one(conn)
    .await
}

/// Syncs every marked tenant (the billing job).
pub async fn sync_due(state: &AppState) -> anyhow::Result<()> {
    let due: Vec<(TenantId, DateTime<Utc>)> = sqlx::query_as(
        "select tenant_id, seats_sync_requested_at from billing_account
         where seats_sync_requested_at is not null
         order by seats_sync_requested_at limit 20",
    )
    .fetch_all(&state.db)
    .await?;
    for (tenant, requested_at) in due {
        if let Err(err) = sync(state, tenant, requested_at).await {
            tracing::warn!(tenant.id = %tenant, error = %format!("{err:#}"), "could not sync the seats of tenant {tenant}; will retry");
        }
    }
    Ok(())
}

async fn sync(
    state: &AppState,
    tenant: TenantId,
    requested_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    let plan: Option<String> =
        sqlx::query_scalar("select plan from tenant where tenant_id = $1 for update skip locked")
            .bind(tenant)
            .fetch_optional(&mut *tx)
            .await?;
    // Locked by a change in progress: that change marks it again anyway.
    let Some(plan) = plan else { return Ok(()) };
    let account = account::load(&mut tx, tenant).await?;
    let per_seat = state.plans.get(&plan).per_seat;
    if let (true, Some(subscription_id), Ok(stripe)) = (
        per_seat && account.has_live_subscription(),
        account.stripe_subscription_id.as_deref(),
        state.billing.stripe(),
    ) {
        let seats = in_use(&mut tx, tenant).await?.max(1);
        let current = stripe
            .subscription(subscription_id)
            .await?
            .filter(|s| is_live(&s.status));
        if let Some(current) = current {
            if let (Some(item), true) = (&current.item_id, current.quantity != Some(seats)) {
                let key = format!(
                    "treaty-seats-{subscription_id}-{seats}-{}",
                    requested_at.timestamp_micros()
                );
                let updated = stripe.set_quantity(&current.id, item, seats, &key).await?;
                account::store_subscription(&mut tx, tenant, &updated).await?;
                audit::record(
                    &mut *tx,
                    tenant,
                    &super::reconcile::stripe_actor(),
                    "subscription_seats_changed",
                    Some(&current.id),
                    json!({"subscription": current.id, "from": current.quantity, "to": updated.quantity}),
                )
                .await?;
                tracing::info!(tenant.id = %tenant, "tenant {tenant}: subscription quantity {:?} -> {seats}", current.quantity);
            }
        }
    }
    sqlx::query(
        "update billing_account set seats_sync_requested_at = null
         where tenant_id = $1 and seats_sync_requested_at = $2",
    )
    .bind(tenant)
    .bind(requested_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
