//! The provisioning worker: runs [`provisioning::Provisioner`] for tenants with steps left.
//!
//! Work arrives two ways. Signup *kicks* the worker with the new tenant's id so provisioning
//! starts within a millisecond; a poll every `PROVISIONING_POLL_MS` picks up everything else —
//! retries whose back-off has elapsed, and tenants whose worker died holding a lease (any number
//! of control-plane processes can run workers; leases keep them off each other's tenants). At
//! most `PROVISIONING_CONCURRENCY` tenants are driven at once. The same poll expires signups
//! whose address was not confirmed within `UNCONFIRMED_SIGNUP_EXPIRY_SECS` and deprovisions
//! them (database and role dropped, row deleted, subdomain free again), under the same leases. On shutdown the worker stops taking
//! work and lets steps in flight finish.

use std::sync::Arc;
use std::time::Duration;

use provisioning::{ProvisionError, Provisioner, TenantId};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Lets request handlers hand a tenant to the worker.
#[derive(Clone)]
pub struct WorkerHandle {
    kicks: mpsc::UnboundedSender<TenantId>,
}

impl WorkerHandle {
    /// Asks the worker to provision `tenant` now rather than at the next poll.
    pub fn kick(&self, tenant: TenantId) {
        // A stopped worker is fine: the tenant row is the queue, and the next process polls it.
        let _ = self.kicks.send(tenant);
    }
}

pub struct Worker {
    provisioner: Arc<Provisioner>,
    owner: Uuid,
    permits: Arc<Semaphore>,
    poll: Duration,
    /// How long a signup may stay unconfirmed before it is deprovisioned.
    expiry: Duration,
    kicks: mpsc::UnboundedReceiver<TenantId>,
}

/// A worker and the handle that feeds it.
pub fn new(
    provisioner: Arc<Provisioner>,
    concurrency: usize,
    poll: Duration,
    expiry: Duration,
) -> (Worker, WorkerHandle) {
    let (tx, rx) = mpsc::unbounded_channel();
    let worker = Worker {
        provisioner,
        owner: Uuid::new_v4(),
        permits: Arc::new(Semaphore::new(concurrency.max(1))),
        poll,
        expiry,
        kicks: rx,
    };
    (worker, WorkerHandle { kicks: tx })
}

impl Worker {
    pub async fn run(mut self, shutdown: CancellationToken) {
        tracing::info!(worker.id = %self.owner, "provisioning worker {} started", self.owner);
        let mut tasks = JoinSet::new();
        let mut ticker = tokio::time::interval(self.poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(tenant) = self.kicks.recv() => {
                    let (provisioner, permits, owner) = (self.provisioner.clone(), self.permits.clone(), self.owner);
                    tasks.spawn(async move {
                        let Ok(_permit) = permits.acquire_owned().await else { return };
                        match provisioner.claim(tenant, owner).await {
                            Ok(Some(claimed)) => report(provisioner.drive(claimed, owner).await, tenant),
                            Ok(None) => {}
                            Err(err) => tracing::warn!(tenant.id = %tenant, error = %err, "could not claim tenant {tenant}"),
                        }
                    });
                }
                _ = ticker.tick() => {
                    self.poll_due(&mut tasks).await;
                    self.poll_expired(&mut tasks).await;
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!(worker.id = %self.owner, "provisioning worker {} stopped", self.owner);
    }

    async fn poll_due(&self, tasks: &mut JoinSet<()>) {
        let free = self.permits.available_permits();
        if free == 0 {
            return;
        }
        let claimed = match self.provisioner.claim_due(self.owner, free as i64).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, "could not look for provisioning work");
                return;
            }
        };
        for tenant in claimed {
            let (provisioner, permits, owner) =
                (self.provisioner.clone(), self.permits.clone(), self.owner);
            tasks.spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let id = tenant.tenant_id;
                report(provisioner.drive(tenant, owner).await, id);
            });
        }
    }
}

impl Worker {
    /// Expires unconfirmed signups that are past their time and deprovisions expired tenants.
    async fn poll_expired(&self, tasks: &mut JoinSet<()>) {
        match self.provisioner.expire_unconfirmed(self.expiry).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(
                tenants = count,
                "{count} unconfirmed signups expired; deprovisioning them"
            ),
            Err(err) => tracing::warn!(error = %err, "could not expire unconfirmed signups"),
        }
        let free = self.permits.available_permits();
        if free == 0 {
            return;
        }
        let claimed = match self
            .provisioner
            .claim_expired(self.owner, free as i64)
            .await
        {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, "could not look for expired signups");
                return;
            }
        };
        for tenant in claimed {
            let (provisioner, permits, owner) =
                (self.provisioner.clone(), self.permits.clone(), self.owner);
            tasks.spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let id = tenant.tenant_id;
                if let Err(err) = provisioner.deprovision(tenant, owner).await {
                    tracing::warn!(tenant.id = %id, error = %err, "could not deprovision expired tenant {id}");
                }
            });
        }
    }
}

fn report(result: Result<provisioning::Lifecycle, ProvisionError>, tenant: TenantId) {
    match result {
        Ok(_) => tracing::info!(tenant.id = %tenant, "tenant {tenant} is active"),
        Err(ProvisionError::LeaseLost(_)) => {
            tracing::info!(tenant.id = %tenant, "another worker took over tenant {tenant}")
        }
        Err(ProvisionError::InjectedCrash(point)) => {
            tracing::warn!(tenant.id = %tenant, failpoint = %point, "stopped at failpoint {point}")
        }
        // Already recorded and logged by the lifecycle, with its retry schedule.
        Err(_) => {}
    }
}
