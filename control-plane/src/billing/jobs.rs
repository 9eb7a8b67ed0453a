//! The billing job, beside the HTTP server: ends grace periods that ran out, syncs seat counts to
//! subscription quantities, and retries Stripe events whose processing failed (or was cut short
//! by a crash) — without waiting for Stripe to redeliver them. It runs every `BILLING_POLL_MS`
//! and whenever a handler kicks it. Every step is safe to run in several control planes at once
//! (row locks with `skip locked`, marks cleared only when unchanged). Processed events are kept
//! for [`EVENT_RETENTION_DAYS`], far longer than Stripe redelivers (three days), then deleted.

use tokio_util::sync::CancellationToken;

use super::payment_state;
use super::seats;
use super::webhooks::{self, Wait};
use crate::state::AppState;

/// How long processed Stripe events are kept to recognise redeliveries.
pub const EVENT_RETENTION_DAYS: i32 = 30;

pub async fn run(state: AppState, shutdown: CancellationToken) {
    let mut last_prune = None::<std::time::Instant>;
    loop {
        if last_prune.is_none_or(|at| at.elapsed() > std::time::Duration::from_secs(3600)) {
            last_prune = Some(std::time::Instant::now());
            if let Err(err) = prune_events(&state).await {
                tracing::warn!(error = %err, "could not prune old Stripe events");
            }
        }
        if let Err(err) = payment_state::expire_grace(&state).await {
            tracing::warn!(error = %format!("{err:#}"), "could not end expired grace periods");
        }
        if state.billing.stripe().is_ok() {
            if let Err(err) = seats::sync_due(&state).await {
                tracing::warn!(error = %format!("{err:#}"), "could not sync seats");
            }
            if let Err(err) = retry_events(&state).await {
                tracing::warn!(error = %format!("{err:#}"), "could not retry Stripe events");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = state.billing.kicked().notified() => {}
            () = tokio::time::sleep(state.billing.poll) => {}
        }
    }
}

async fn prune_events(state: &AppState) -> sqlx::Result<()> {
    sqlx::query("delete from stripe_event where processed_at < now() - make_interval(days => $1)")
        .bind(EVENT_RETENTION_DAYS)
        .execute(&state.db)
        .await
        .map(drop)
}

/// Processes stored events that are still unprocessed once their retry time has come.
async fn retry_events(state: &AppState) -> anyhow::Result<()> {
    let due: Vec<String> = sqlx::query_scalar(
        "select event_id from stripe_event
         where processed_at is null and next_attempt_at <= now()
         order by received_at limit 20",
    )
    .fetch_all(&state.db)
    .await?;
    for event in due {
        // Failures are recorded (and logged) by `process`, with the next retry time.
        let _ = webhooks::process(state, &event, Wait::No).await;
    }
    Ok(())
}
