//! The routing record and how a request names it: [`TenantRoute`], [`BillingState`],
//! [`RouteKey`]. Data only, in its own module so that both cache levels — the directory and its
//! Redis level (`redis_cache.rs`) — use it without depending on each other.

use provisioning::{Subdomain, TenantId, TenantStatus};
use serde::{Deserialize, Serialize};

/// Everything the tenant API needs to serve a tenant.
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct TenantRoute {
    pub tenant_id: TenantId,
    pub subdomain: String,
    #[sqlx(try_from = "String")]
    pub status: TenantStatus,
    pub plan: String,
    pub db_host: String,
    pub db_port: i32,
    pub db_name: String,
    pub db_role: String,
    pub key_provider: Option<String>,
    pub wrapped_data_key: Option<Vec<u8>>,
    pub data_key_version: i32,
    pub db_password_sealed: Option<Vec<u8>>,
    pub generation: i64,
    /// The signup e-mail address is confirmed; until then the tenant is not served.
    #[serde(default)]
    pub confirmed: bool,
    /// The plan's display name, for refusals that name it.
    #[serde(default)]
    pub plan_name: String,
    /// How many integrations the plan allows; `None`: unlimited.
    #[serde(default)]
    pub max_integrations: Option<i32>,
    /// Whether the tenant's payments are in order (the control plane decides; see
    /// [`BillingState`]).
    #[serde(default)]
    #[sqlx(try_from = "String")]
    pub billing_state: BillingState,
}

/// The tenant's payment state, as the control plane computed it from its subscription.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingState {
    #[default]
    Ok,
    /// A payment failed; still writable until the grace period ends.
    Grace,
    /// The grace period ended unpaid: reads only.
    ReadOnly,
}

impl TryFrom<String> for BillingState {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "ok" => Ok(Self::Ok),
            "grace" => Ok(Self::Grace),
            "read_only" => Ok(Self::ReadOnly),
            other => Err(format!("unknown billing state {other:?}")),
        }
    }
}

/// How a request names its tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteKey {
    /// `<subdomain>.<base domain>`.
    Subdomain(Subdomain),
    /// A domain of the tenant's own (`tenant.custom_domain`), lower-case.
    CustomDomain(String),
}

impl RouteKey {
    /// The key in both cache levels, and the payload of the control database's notifications.
    pub fn cache_key(&self) -> String {
        match self {
            Self::Subdomain(subdomain) => subdomain.to_string(),
            Self::CustomDomain(host) => format!("domain:{host}"),
        }
    }
}
