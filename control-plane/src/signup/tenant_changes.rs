//! Hearing that a tenant changed, without asking the database over and over.
//!
//! A trigger on `tenant` sends the tenant's id on the `treaty_tenant_changed` channel whenever
//! its lifecycle, failure, suspension or confirmation changes (any control-plane process may
//! have made the change). Each process holds **one** listening connection ([`TenantChanges::run`])
//! and fans what it hears out to every request waiting in that process through a broadcast
//! channel, so a thousand `?wait=30` requests cost one connection and no queries while they
//! wait. Waiters still look again every few seconds in case a notification was lost while the
//! listener reconnected.

use std::time::Duration;

use provisioning::TenantId;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The notification channel the trigger sends on.
pub const CHANNEL: &str = "treaty_tenant_changed";

/// How long a waiter trusts the notifications before looking for itself.
pub const FALLBACK_CHECK: Duration = Duration::from_secs(2);

/// The process's fan-out of tenant changes.
#[derive(Clone)]
pub struct TenantChanges {
    sender: broadcast::Sender<TenantId>,
}

impl Default for TenantChanges {
    fn default() -> Self {
        Self::new()
    }
}

impl TenantChanges {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(4096);
        Self { sender }
    }

    /// Starts hearing changes; subscribe *before* reading the state to wait on, so no change
    /// between the read and the wait is missed.
    pub fn subscribe(&self) -> Subscription {
        Subscription(self.sender.subscribe())
    }

    /// Listens on the control database until `stop`, reconnecting after failures.
    pub async fn run(self, db: PgPool, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                result = self.listen(&db) => {
                    if let Err(err) = result {
                        tracing::warn!(error = %err, "tenant change listener failed; reconnecting: {err}");
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    async fn listen(&self, db: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(db).await?;
        listener.listen(CHANNEL).await?;
        loop {
            let notification = listener.recv().await?;
            if let Ok(id) = notification.payload().parse() {
                // No receivers is fine: nobody is waiting.
                let _ = self.sender.send(TenantId(id));
            }
        }
    }
}

/// One waiter's view of the changes.
pub struct Subscription(broadcast::Receiver<TenantId>);

impl Subscription {
    /// Returns when `tenant` may have changed (or when changes may have been missed), at the
    /// latest after `at_most`.
    pub async fn changed(&mut self, tenant: TenantId, at_most: Duration) {
        let wait = async {
            loop {
                match self.0.recv().await {
                    Ok(changed) if changed == tenant => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
                }
            }
        };
        let _ = tokio::time::timeout(at_most, wait).await;
    }
}
