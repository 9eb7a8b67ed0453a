//! The state every control-plane handler shares.

use std::sync::Arc;

use axum::extract::FromRef;
use provisioning::Provisioner;
use sqlx::PgPool;

use crate::body::BodyLimit;
use crate::config::Config;
use crate::worker::WorkerHandle;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub provisioner: Arc<Provisioner>,
    pub worker: WorkerHandle,
}

impl FromRef<AppState> for BodyLimit {
    fn from_ref(state: &AppState) -> Self {
        BodyLimit(state.config.max_body_bytes)
    }
}
