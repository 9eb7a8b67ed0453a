//! Keeps the caches honest: `LISTEN`s on the control database for the notifications its
//! triggers send when a tenant's routing record or an API token changes, and drops exactly the
//! cached entries named. If the listening connection drops, notifications may have been missed,
//! so everything cached in-process is dropped once it is back.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::auth::TokenVerifier;
use crate::directory::TenantDirectory;

pub const TENANT_ROUTE_CHANNEL: &str = "treaty_tenant_route";
pub const API_TOKEN_CHANNEL: &str = "treaty_api_token";

pub async fn run(
    db: PgPool,
    directory: Arc<TenantDirectory>,
    tokens: Arc<TokenVerifier>,
    shutdown: CancellationToken,
) {
    loop {
        let mut listener = match connect(&db).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for cache invalidations; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        // Whatever happened while we were not listening is unknown.
        directory.invalidate_all();
        tokens.invalidate_all();
        loop {
            let notification = tokio::select! {
                () = shutdown.cancelled() => return,
                n = listener.try_recv() => n,
            };
            match notification {
                Ok(Some(n)) if n.channel() == TENANT_ROUTE_CHANNEL => {
                    directory.invalidate(n.payload()).await;
                    tracing::debug!(tenant.subdomain = n.payload(), "tenant route changed");
                }
                Ok(Some(n)) if n.channel() == API_TOKEN_CHANNEL => {
                    tokens.invalidate_hex(n.payload()).await
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    tracing::warn!(
                        "cache-invalidation connection was lost; dropping in-process caches"
                    );
                    directory.invalidate_all();
                    tokens.invalidate_all();
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cache-invalidation listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn connect(db: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(db).await?;
    listener
        .listen_all([TENANT_ROUTE_CHANNEL, API_TOKEN_CHANNEL])
        .await?;
    Ok(listener)
}
