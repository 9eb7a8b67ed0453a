//! The state every control-plane handler shares.

use std::sync::Arc;

use axum::extract::FromRef;
use provisioning::Provisioner;
use sqlx::PgPool;

use crate::billing::plans::Plans;
use crate::billing::Billing;
use crate::body::BodyLimit;
use crate::config::Config;
use crate::identity::session::SessionStore;
use crate::mail::Mailer;
use crate::outbox::OutboxHandle;
use crate::rate_limit::RateLimiter;
use crate::signup::tenant_changes::TenantChanges;
use crate::worker::WorkerHandle;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub provisioner: Arc<Provisioner>,
    pub worker: WorkerHandle,
    pub mailer: Mailer,
    pub sessions: SessionStore,
    pub limiter: RateLimiter,
    pub plans: Arc<Plans>,
    pub outbox: OutboxHandle,
    pub billing: Billing,
    /// Wakes requests waiting for a tenant to change.
    pub tenant_changes: TenantChanges,
}

impl AppState {
    /// Where people go to raise a plan limit.
    pub fn upgrade_url(&self) -> String {
        format!(
            "{}/api/billing",
            self.config.public_url.trim_end_matches('/')
        )
    }
}

impl FromRef<AppState> for BodyLimit {
    fn from_ref(state: &AppState) -> Self {
        BodyLimit(state.config.max_body_bytes)
    }
}
