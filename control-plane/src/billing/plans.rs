//! Plans as configuration: each plan's limits (integrations, users, system accounts), whether it
//! is billed per seat, its Stripe price, and whether it gets a dedicated database. The built-in
//! catalogue (`control-plane/plans.json`: Starter, Team, Enterprise) can be replaced with
//! `PLANS_FILE`; a price written `env:NAME` is read from that environment variable, so price ids
//! stay out of the file.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

const BUILT_IN: &str = include_str!("../../plans.json");

/// One plan. `None` limits are unlimited.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub max_integrations: Option<i64>,
    pub max_users: Option<i64>,
    pub max_system_accounts: Option<i64>,
    /// Billed per user (the subscription quantity follows the number of seats).
    #[serde(default)]
    pub per_seat: bool,
    /// The Stripe price customers subscribe to; `None` for free and sales-led plans.
    #[serde(default)]
    pub stripe_price: Option<String>,
    /// Placed on a dedicated database instance (later).
    #[serde(default)]
    pub dedicated_database: bool,
    /// Can be chosen through self-service Checkout.
    #[serde(default)]
    pub self_service: bool,
}

#[derive(Clone, Debug)]
pub struct Plans {
    plans: BTreeMap<String, Plan>,
    /// The plan of new tenants, and of tenants whose subscription ended.
    pub default_plan: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Catalogue {
    default_plan: String,
    plans: Vec<Plan>,
}

impl Plans {
    /// The built-in catalogue, or the one in `file`; `setting` resolves `env:NAME` prices.
    pub fn load_with(
        file: Option<&Path>,
        setting: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let text = match file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading PLANS_FILE {}", path.display()))?,
            None => BUILT_IN.to_owned(),
        };
        Self::parse(&text, setting)
    }

    fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let catalogue: Catalogue = serde_json::from_str(text).context("the plan catalogue")?;
        let mut plans = BTreeMap::new();
        for mut plan in catalogue.plans {
            if let Some(price) = plan.stripe_price.as_deref() {
                if let Some(name) = price.strip_prefix("env:") {
                    plan.stripe_price = env(name).filter(|v| !v.is_empty());
                }
            }
            if plans.insert(plan.id.clone(), plan).is_some() {
                bail!("the plan catalogue names a plan twice");
            }
        }
        if !plans.contains_key(&catalogue.default_plan) {
            bail!(
                "the default plan {:?} is not in the catalogue",
                catalogue.default_plan
            );
        }
        Ok(Self {
            plans,
            default_plan: catalogue.default_plan,
        })
    }

    /// The plan with this id; unknown ids (a plan removed from the file) get the default's
    /// limits rather than none.
    pub fn get(&self, id: &str) -> &Plan {
        self.plans
            .get(id)
            .or_else(|| self.plans.get(&self.default_plan))
            .expect("the default plan exists")
    }

    /// The plan of new tenants and of tenants whose subscription ended.
    pub fn base(&self) -> &Plan {
        self.get(&self.default_plan)
    }

    pub fn find(&self, id: &str) -> Option<&Plan> {
        self.plans.get(id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Plan> {
        self.plans.values()
    }

    /// The plan whose Stripe price is `price`.
    pub fn by_price(&self, price: &str) -> Option<&Plan> {
        self.plans
            .values()
            .find(|p| p.stripe_price.as_deref() == Some(price))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_has_the_three_plans_of_the_spec() {
        let plans = Plans::parse(BUILT_IN, |name| {
            (name == "STRIPE_PRICE_TEAM").then(|| "price_team".to_owned())
        })
        .unwrap();
        let starter = plans.get("starter");
        assert_eq!(
            (
                starter.max_integrations,
                starter.max_users,
                starter.max_system_accounts
            ),
            (Some(2), Some(5), Some(1))
        );
        let team = plans.get("team");
        assert_eq!(
            (team.max_integrations, team.max_system_accounts),
            (Some(50), Some(10))
        );
        assert!(team.per_seat);
        assert_eq!(team.stripe_price.as_deref(), Some("price_team"));
        assert_eq!(plans.by_price("price_team").unwrap().id, "team");
        let enterprise = plans.get("enterprise");
        assert_eq!(enterprise.max_integrations, None);
        assert!(enterprise.dedicated_database);
        assert_eq!(plans.get("retired-plan").id, "starter");
    }
}
