//! A tenant's Stripe side (`billing_account`): its customer, created lazily and stored, and a
//! copy of its subscription as Stripe last described it.

use chrono::{DateTime, Utc};
use provisioning::{registry, TenantId};
use sqlx::PgConnection;

use super::stripe_api::Subscription;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The stored account.
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct Account {
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub subscription_status: Option<String>,
    pub subscription_price: Option<String>,
    pub subscription_item_id: Option<String>,
    pub subscription_quantity: Option<i32>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub payment_failed_at: Option<DateTime<Utc>>,
    pub grace_ends_at: Option<DateTime<Utc>>,
}

impl Account {
    /// Whether the stored subscription still entitles the tenant to its plan.
    pub fn has_live_subscription(&self) -> bool {
        self.stripe_subscription_id.is_some()
            && self.subscription_status.as_deref().is_some_and(is_live)
    }
}

/// Statuses in which a subscription is still the customer's (paid, or being chased for
/// payment); `canceled`, `incomplete`, `incomplete_expired` and `paused` are not.
pub fn is_live(status: &str) -> bool {
    matches!(status, "active" | "trialing" | "past_due" | "unpaid")
}

const COLUMNS: &str = "stripe_customer_id, stripe_subscription_id, subscription_status,
    subscription_price, subscription_item_id, subscription_quantity, current_period_end,
    cancel_at_period_end, payment_failed_at, grace_ends_at";

/// The tenant's account (an empty one if it has none yet).
pub async fn load(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<Account> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from billing_account where tenant_id = $1"
    ))
    .bind(tenant)
    .fetch_optional(conn)
    .await?
    .unwrap_or_default())
}

/// Makes sure the tenant has an account row.
pub async fn ensure(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<()> {
    sqlx::query("insert into billing_account (tenant_id) values ($1) on conflict do nothing")
        .bind(tenant)
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant whose customer this is.
pub async fn tenant_of_customer(
    conn: &mut PgConnection,
    customer: &str,
) -> sqlx::Result<Option<TenantId>> {
    sqlx::query_scalar("select tenant_id from billing_account where stripe_customer_id = $1")
        .bind(customer)
        .fetch_optional(conn)
        .await
}

/// Records `customer` as the tenant's, unless it already has one; returns the tenant's customer.
pub async fn adopt_customer(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: &str,
) -> sqlx::Result<String> {
    sqlx::query_scalar(
        "insert into billing_account (tenant_id, stripe_customer_id) values ($1, $2)
         on conflict (tenant_id) do update
             set stripe_customer_id = coalesce(billing_account.stripe_customer_id, excluded.stripe_customer_id)
         returning stripe_customer_id",
    )
    .bind(tenant)
    .bind(customer)
    .fetch_one(conn)
    .await
}

/// The tenant's Stripe customer, created on first use. Creation carries an idempotency key
/// derived from the tenant, so concurrent or retried first uses get one customer.
pub async fn customer(state: &AppState, tenant: TenantId, email: &str) -> Result<String> {
    let mut conn = state.db.acquire().await?;
    if let Some(customer) = load(&mut conn, tenant).await?.stripe_customer_id {
        return Ok(customer);
    }
    let organisation = registry::organisation(&mut *conn, tenant)
        .await?
        .ok_or_else(|| Error::NotFound("this organisation no longer exists".into()))?;
    let created = state
        .billing
        .stripe()?
        .create_customer(&tenant.to_string(), email, &organisation)
        .await?;
    Ok(adopt_customer(&mut conn, tenant, &created.id).await?)
}

/// Stores what Stripe said about the tenant's subscription.
pub async fn store_subscription(
    conn: &mut PgConnection,
    tenant: TenantId,
    subscription: &Subscription,
) -> sqlx::Result<()> {
    sqlx::query(
        "update billing_account set stripe_subscription_id = $2, subscription_status = $3,
             subscription_price = $4, subscription_item_id = $5, subscription_quantity = $6,
             current_period_end = $7, cancel_at_period_end = $8, synced_at = now()
         where tenant_id = $1",
    )
    .bind(tenant)
    .bind(&subscription.id)
    .bind(&subscription.status)
    .bind(&subscription.price)
    .bind(&subscription.item_id)
    .bind(
        subscription
            .quantity
            .map(|q| q.clamp(0, i64::from(i32::MAX)) as i32),
    )
    .bind(subscription.current_period_end)
    .bind(subscription.cancel_at_period_end)
    .execute(conn)
    .await
    .map(drop)
}
