//! Bringing a tenant in line with its subscription as Stripe has it *now*.
//!
//! Stripe's events can arrive twice, late and in any order, so no event's own copy of the
//! subscription is trusted: every event that concerns a subscription leads here, the
//! subscription is fetched from Stripe, and the tenant's plan and payment state are derived from
//! that alone. Processing two events in either order therefore ends in the same state — a
//! `customer.subscription.deleted` followed by a stale `…updated` leaves the tenant on the base
//! plan, because Stripe says `canceled` both times. The caller holds the tenant's row lock for
//! the fetch and the writes, so of two concurrent reconciliations the later one fetched later.

use provisioning::TenantId;

use super::account::{self, is_live, Account};
use super::plans::{Plan, Plans};
use super::stripe_api::Subscription;
use super::{entitlement, payment_state};
use crate::audit::Actor;
use crate::error::Result;
use crate::state::AppState;

/// What processing an event did, stored with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome(pub String);

impl Outcome {
    pub fn applied() -> Self {
        Self("applied".into())
    }

    pub fn ignored(why: impl std::fmt::Display) -> Self {
        Self(format!("ignored: {why}"))
    }
}

/// The plan a subscription entitles to: its price's plan while it is live, the base plan once
/// it is not. A live subscription to a price the catalogue does not know keeps the current plan.
pub fn entitled_plan<'a>(
    plans: &'a Plans,
    subscription: &Subscription,
    current_plan: &str,
) -> &'a Plan {
    if !is_live(&subscription.status) {
        return plans.base();
    }
    match subscription
        .price
        .as_deref()
        .and_then(|p| plans.by_price(p))
    {
        Some(plan) => plan,
        None => {
            tracing::warn!(
                subscription = %subscription.id,
                "subscription {} is to a price no plan has; the plan stays {current_plan}",
                subscription.id
            );
            plans.get(current_plan)
        }
    }
}

/// Whether the subscription an event is about becomes (or stays) the tenant's: its own, or a
/// live one replacing one that has ended. A second live subscription does not displace the first.
pub fn adopts(account: &Account, incoming: &Subscription) -> bool {
    match &account.stripe_subscription_id {
        None => true,
        Some(current) if *current == incoming.id => true,
        Some(_) => !account.has_live_subscription() && is_live(&incoming.status),
    }
}

/// Who did it, in the audit log.
pub fn stripe_actor() -> Actor {
    Actor {
        label: Some("stripe".into()),
        ..Actor::default()
    }
}

/// Re-reads `subscription_id` from Stripe and applies it to `tenant` (whose row lock the caller
/// holds).
pub async fn subscription(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    tenant: TenantId,
    subscription_id: &str,
) -> Result<Outcome> {
    account::ensure(conn, tenant).await?;
    let account = account::load(conn, tenant).await?;
    let fetched = state
        .billing
        .stripe()?
        .subscription(subscription_id)
        .await?;
    let subscription = match fetched {
        Some(subscription) => subscription,
        // Stripe keeps ended subscriptions; one it does not know cannot entitle to anything.
        None if account.stripe_subscription_id.as_deref() == Some(subscription_id) => {
            Subscription {
                id: subscription_id.to_owned(),
                customer: account.stripe_customer_id.clone(),
                status: "canceled".into(),
                price: account.subscription_price.clone(),
                item_id: account.subscription_item_id.clone(),
                quantity: account.subscription_quantity.map(i64::from),
                current_period_end: account.current_period_end,
                cancel_at_period_end: false,
            }
        }
        None => return Ok(Outcome::ignored("Stripe does not know the subscription")),
    };
    if let (Some(mine), Some(theirs)) = (&account.stripe_customer_id, &subscription.customer) {
        if mine != theirs {
            return Ok(Outcome::ignored(
                "the subscription belongs to another customer",
            ));
        }
    }
    if !adopts(&account, &subscription) {
        tracing::warn!(
            tenant.id = %tenant,
            "tenant {tenant} already has a live subscription; {} is left alone",
            subscription.id
        );
        return Ok(Outcome::ignored("the tenant has another live subscription"));
    }
    account::store_subscription(conn, tenant, &subscription).await?;
    let current_plan: String = sqlx::query_scalar("select plan from tenant where tenant_id = $1")
        .bind(tenant)
        .fetch_one(&mut *conn)
        .await?;
    let plan = entitled_plan(&state.plans, &subscription, &current_plan);
    let actor = stripe_actor();
    if let Some(from) = entitlement::set_plan(conn, &state.plans, tenant, &plan.id).await? {
        entitlement::record_change(conn, tenant, &actor, &from, plan, "stripe").await?;
    }
    match subscription.status.as_str() {
        "active" | "trialing" => {
            payment_state::recover(conn, tenant, &actor, &subscription.id).await?;
        }
        "past_due" | "unpaid" => {
            payment_state::start_grace(conn, state, tenant).await?;
        }
        _ => payment_state::clear(conn, tenant).await?,
    }
    Ok(Outcome::applied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans() -> Plans {
        Plans::load_with(None, |_| Some("price_team".into())).unwrap()
    }

    fn subscription(id: &str, status: &str, price: &str) -> Subscription {
        Subscription {
            id: id.into(),
            customer: Some("cus_1".into()),
            status: status.into(),
            price: Some(price.into()),
            item_id: Some("si_1".into()),
            quantity: Some(1),
            current_period_end: None,
            cancel_at_period_end: false,
        }
    }

    #[test]
    fn live_subscriptions_entitle_to_their_price_and_ended_ones_to_the_base_plan() {
        let plans = plans();
        for status in ["active", "trialing", "past_due", "unpaid"] {
            let s = subscription("sub_1", status, "price_team");
            assert_eq!(entitled_plan(&plans, &s, "starter").id, "team", "{status}");
        }
        for status in ["canceled", "incomplete", "incomplete_expired", "paused"] {
            let s = subscription("sub_1", status, "price_team");
            assert_eq!(entitled_plan(&plans, &s, "team").id, "starter", "{status}");
        }
        let unknown = subscription("sub_1", "active", "price_other");
        assert_eq!(
            entitled_plan(&plans, &unknown, "enterprise").id,
            "enterprise"
        );
    }

    #[test]
    fn a_second_live_subscription_does_not_displace_the_first() {
        let mut account = Account {
            stripe_subscription_id: Some("sub_1".into()),
            subscription_status: Some("active".into()),
            ..Account::default()
        };
        assert!(adopts(&account, &subscription("sub_1", "canceled", "p")));
        assert!(!adopts(&account, &subscription("sub_2", "active", "p")));
        account.subscription_status = Some("canceled".into());
        assert!(adopts(&account, &subscription("sub_2", "active", "p")));
        assert!(!adopts(&account, &subscription("sub_0", "canceled", "p")));
        assert!(adopts(
            &Account::default(),
            &subscription("sub_9", "incomplete", "p")
        ));
    }
}
