//! Billing settings, and the one decision they make: bill through Stripe, or run *offline*
//! (plans changed directly by an administrator, no payments).
//!
//! Offline mode cannot happen by accident in production: with `TREATY_ENV=production` and no
//! `BILLING_MODE`, the control plane refuses to start unless `STRIPE_SECRET_KEY` is set; offline
//! production (self-hosting without billing) must be asked for with `BILLING_MODE=offline`. A
//! Stripe key with `BILLING_MODE=offline` is refused too, as a contradiction. In development an
//! absent key means offline, so `make run` works without Stripe.

use std::time::Duration;

use anyhow::{bail, Context};
use provisioning::settings::Environment;
use secrecy::{ExposeSecret, SecretString};

use super::plans::Plans;

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

/// How plans change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BillingMode {
    /// Upgrades through Stripe Checkout; webhooks drive the plan.
    Stripe,
    /// No payments: an administrator sets the plan with `PUT /api/billing/plan`.
    Offline,
}

impl BillingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Offline => "offline",
        }
    }
}

#[derive(Clone, Debug, clap::Args)]
pub struct BillingSettings {
    /// `stripe` or `offline`; default: `stripe` when STRIPE_SECRET_KEY is set, `offline` in
    /// development without it, and a refusal to start in production without it.
    #[arg(long, env = "BILLING_MODE", value_enum)]
    pub billing_mode: Option<BillingMode>,
    /// Stripe's secret API key (`sk_live_…` / `sk_test_…`).
    #[arg(long, env = "STRIPE_SECRET_KEY", value_parser = secret)]
    pub stripe_secret_key: Option<SecretString>,
    /// Signing secrets of the Stripe webhook endpoint (`whsec_…`), comma-separated: during a
    /// rotation both the old and the new secret are accepted.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRETS", value_parser = secret, value_delimiter = ',')]
    pub stripe_webhook_secrets: Vec<SecretString>,
    /// One signing secret, under the name Stripe's guides use; added to STRIPE_WEBHOOK_SECRETS.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", value_parser = secret)]
    pub stripe_webhook_secret: Option<SecretString>,
    /// Stripe's API base URL (tests point it at a fake).
    #[arg(long, env = "STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,
    /// The Stripe price of the Team plan (`env:STRIPE_PRICE_TEAM` in the plan catalogue).
    #[arg(long, env = "STRIPE_PRICE_TEAM")]
    pub stripe_price_team: Option<String>,
    /// Days a tenant stays writable after a failed payment before it becomes read-only.
    #[arg(long, env = "BILLING_GRACE_DAYS", default_value_t = 7)]
    pub billing_grace_days: u32,
    /// Where Stripe Checkout and the billing portal send people back to; default: the control
    /// plane's `/api/billing`.
    #[arg(long, env = "BILLING_RETURN_URL")]
    pub billing_return_url: Option<String>,
    /// How often the billing job looks for expired grace periods, seat changes to sync and
    /// Stripe events to retry, in milliseconds.
    #[arg(long, env = "BILLING_POLL_MS", default_value_t = 10_000)]
    pub billing_poll_ms: u64,
}

impl BillingSettings {
    /// The mode these settings ask for, checked against each other, the environment and the
    /// catalogue.
    pub fn mode(&self, environment: Environment, plans: &Plans) -> anyhow::Result<BillingMode> {
        let has_key = self
            .stripe_secret_key
            .as_ref()
            .is_some_and(|key| !key.expose_secret().is_empty());
        let mode = match (self.billing_mode, has_key) {
            (Some(BillingMode::Offline), true) => {
                bail!("BILLING_MODE=offline and STRIPE_SECRET_KEY contradict each other; unset one")
            }
            (Some(mode), _) => mode,
            (None, true) => BillingMode::Stripe,
            (None, false) if environment == Environment::Development => BillingMode::Offline,
            (None, false) => bail!(
                "billing needs STRIPE_SECRET_KEY in production (TREATY_ENV=production); \
                 to run without payments, set BILLING_MODE=offline explicitly"
            ),
        };
        if mode == BillingMode::Stripe {
            if !has_key {
                bail!("BILLING_MODE=stripe needs STRIPE_SECRET_KEY");
            }
            if self.webhook_secrets().is_empty() {
                bail!("BILLING_MODE=stripe needs STRIPE_WEBHOOK_SECRETS (the endpoint's whsec_… signing secret)");
            }
            for plan in plans.all().filter(|p| p.self_service) {
                if plan.stripe_price.is_none() {
                    bail!(
                        "the self-service plan {:?} has no Stripe price (set STRIPE_PRICE_{})",
                        plan.id,
                        plan.id.to_uppercase()
                    );
                }
            }
        }
        if let Some(url) = &self.billing_return_url {
            url::Url::parse(url).context("BILLING_RETURN_URL is not a URL")?;
        }
        Ok(mode)
    }

    /// The webhook signing secrets, blanks dropped.
    pub fn webhook_secrets(&self) -> Vec<SecretString> {
        self.stripe_webhook_secrets
            .iter()
            .chain(&self.stripe_webhook_secret)
            .filter(|s| !s.expose_secret().trim().is_empty())
            .map(|s| SecretString::from(s.expose_secret().trim().to_owned()))
            .collect()
    }

    pub fn grace_period(&self) -> Duration {
        Duration::from_secs(u64::from(self.billing_grace_days) * 24 * 3600)
    }

    /// A setting the plan catalogue refers to as `env:NAME`: the ones configured here first,
    /// then the process environment.
    pub fn catalogue_value(&self, name: &str) -> Option<String> {
        match name {
            "STRIPE_PRICE_TEAM" => self.stripe_price_team.clone(),
            _ => std::env::var(name).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        billing: BillingSettings,
    }

    fn settings(args: &[&str]) -> BillingSettings {
        let mut all = vec!["test"];
        all.extend_from_slice(args);
        Args::try_parse_from(all).unwrap().billing
    }

    fn plans(price: Option<&str>) -> Plans {
        let price = price.map(str::to_owned);
        Plans::load_with(None, |_| price.clone()).unwrap()
    }

    #[test]
    fn production_without_a_key_refuses_to_start_unless_offline_is_explicit() {
        let none = settings(&[]);
        let err = none
            .mode(Environment::Production, &plans(Some("price_t")))
            .unwrap_err();
        assert!(err.to_string().contains("BILLING_MODE=offline"), "{err}");
        assert_eq!(
            settings(&["--billing-mode", "offline"])
                .mode(Environment::Production, &plans(None))
                .unwrap(),
            BillingMode::Offline
        );
        assert_eq!(
            none.mode(Environment::Development, &plans(None)).unwrap(),
            BillingMode::Offline
        );
    }

    #[test]
    fn stripe_mode_needs_a_key_webhook_secrets_and_prices() {
        let full = [
            "--stripe-secret-key",
            "sk_test_1",
            "--stripe-webhook-secrets",
            "whsec_a,whsec_b",
        ];
        assert_eq!(
            settings(&full)
                .mode(Environment::Production, &plans(Some("price_t")))
                .unwrap(),
            BillingMode::Stripe
        );
        assert_eq!(settings(&full).webhook_secrets().len(), 2);
        let err = settings(&full)
            .mode(Environment::Production, &plans(None))
            .unwrap_err();
        assert!(err.to_string().contains("STRIPE_PRICE_TEAM"), "{err}");
        let err = settings(&["--stripe-secret-key", "sk_test_1"])
            .mode(Environment::Production, &plans(Some("p")))
            .unwrap_err();
        assert!(err.to_string().contains("STRIPE_WEBHOOK_SECRETS"), "{err}");
        let single = settings(&[
            "--stripe-secret-key",
            "sk_test_1",
            "--stripe-webhook-secret",
            "whsec_one",
        ]);
        assert_eq!(single.webhook_secrets().len(), 1);
        assert!(single
            .mode(Environment::Production, &plans(Some("p")))
            .is_ok());
        let err = settings(&["--billing-mode", "offline", "--stripe-secret-key", "sk_1"])
            .mode(Environment::Development, &plans(None))
            .unwrap_err();
        assert!(err.to_string().contains("contradict"), "{err}");
        let err = settings(&["--billing-mode", "stripe"])
            .mode(Environment::Development, &plans(Some("p")))
            .unwrap_err();
        assert!(err.to_string().contains("STRIPE_SECRET_KEY"), "{err}");
    }
}
