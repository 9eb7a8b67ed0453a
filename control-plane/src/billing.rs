//! Billing: which plan each tenant is on, how it gets there, and what happens when payment
//! stops.
//!
//! * **Stripe mode.** An administrator upgrades through Stripe Checkout (`api`); Stripe's signed
//!   webhooks (`webhooks`) are stored once and processed once, and each re-reads the subscription
//!   from Stripe (`reconcile`) so events arriving twice, late or out of order still end on the
//!   right plan. A failed payment starts a grace period, after which the tenant is read-only
//!   (`payment_state`); seats follow the subscription quantity (`seats`).
//! * **Offline mode** (`settings`): no Stripe; an administrator sets the plan directly.
//!
//! Whatever the mode, a plan change is written by `entitlement` into the tenant row the tenant
//! API routes by (`router.tenant_route`: plan name, integration limit, billing state), so it takes
//! effect there at once through the route cache's invalidation — the tenant API learns plans
//! from nowhere else. `account` is the tenant's Stripe customer and subscription; `jobs` runs the
//! background work (grace expiry, seat sync, retries of events whose processing failed).
//!
//! `plans` is the catalogue (`plans.json`) and `limits` enforces its limits on people and system
//! accounts, under the tenant's row lock.

pub mod account;
pub mod api;
pub mod entitlement;
pub mod jobs;
pub(crate) mod limits;
pub mod payment_state;
pub mod plans;
pub mod reconcile;
pub mod seats;
pub mod settings;
pub mod signature;
pub mod stripe_api;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Notify;

use self::plans::Plans;
use self::settings::{BillingMode, BillingSettings};
use self::stripe_api::StripeApi;
use crate::config::Config;
use crate::error::{Error, Result};

/// Billing's configuration and handles, shared by handlers and the billing job.
#[derive(Clone)]
pub struct Billing {
    pub mode: BillingMode,
    stripe: Option<StripeApi>,
    webhook_secrets: Arc<Vec<SecretString>>,
    pub grace_period: Duration,
    /// Where Checkout and the portal send people back to.
    pub return_url: String,
    pub poll: Duration,
    kick: Arc<Notify>,
}

impl Billing {
    pub fn new(config: &Config, plans: &Plans) -> anyhow::Result<Self> {
        let settings: &BillingSettings = &config.billing;
        let mode = settings.mode(config.environment, plans)?;
        let stripe = match (mode, &settings.stripe_secret_key) {
            (BillingMode::Stripe, Some(key)) => {
                Some(StripeApi::new(key, settings.stripe_api_base.as_deref())?)
            }
            _ => None,
        };
        Ok(Self {
            mode,
            stripe,
            webhook_secrets: Arc::new(settings.webhook_secrets()),
            grace_period: settings.grace_period(),
            return_url: settings.billing_return_url.clone().unwrap_or_else(|| {
                format!("{}/api/billing", config.public_url.trim_end_matches('/'))
            }),
            poll: Duration::from_millis(settings.billing_poll_ms.max(10)),
            kick: Arc::new(Notify::new()),
        })
    }

    /// The Stripe API, or the refusal offline mode gives to Stripe-only actions.
    pub fn stripe(&self) -> Result<&StripeApi> {
        self.stripe.as_ref().ok_or_else(|| Error::Conflict {
            code: "billing_offline",
            message: "billing is offline (no Stripe account is configured); an administrator \
                      changes the plan with PUT /api/billing/plan"
                .into(),
        })
    }

    pub fn webhook_secrets(&self) -> &[SecretString] {
        &self.webhook_secrets
    }

    /// Wakes the billing job (a seat changed, an event failed).
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    pub(crate) fn kicked(&self) -> &Notify {
        &self.kick
    }
}
