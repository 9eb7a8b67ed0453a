//! The state every tenant-API handler shares.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::TokenVerifier;
use crate::config::Config;
use crate::directory::TenantDirectory;
use crate::events::EventSink;
use crate::keyring::Keyring;
use crate::pools::PoolManager;
use crate::token_usage::TokenUsage;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The control database, as the router login role.
    pub router_db: PgPool,
    pub directory: Arc<TenantDirectory>,
    pub tokens: Arc<TokenVerifier>,
    pub pools: PoolManager,
    pub keyring: Arc<Keyring>,
    pub token_usage: Arc<TokenUsage>,
    /// Where the broker's events go once their transaction has committed.
    pub events: Arc<dyn EventSink>,
}

/// The configured request-body limit (`TENANT_API_MAX_BODY_BYTES`), for extractors that read a
/// body: a 413 says what the limit is.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

impl axum::extract::FromRef<AppState> for BodyLimit {
    fn from_ref(state: &AppState) -> Self {
        Self(state.config.max_body_bytes)
    }
}
