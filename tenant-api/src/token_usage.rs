//! Tokens' last-used times, without a database write per request.
//!
//! The gate records each authenticated token id in memory (a mutex-guarded map, a few tens of
//! nanoseconds); a background task swaps the map out every `TOKEN_USAGE_FLUSH_SECS` and writes
//! the batch through `router.record_token_use`, the one narrowly-scoped function the router role
//! may execute (it only moves `last_used_at` forward). On shutdown the last batch is flushed. A
//! crash loses at most one interval of last-used times — a display value, never a security
//! decision.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub struct TokenUsage {
    db: PgPool,
    pending: Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

impl TokenUsage {
    pub fn new(db: PgPool) -> Self {
        Self {
            db,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Notes that `token` was used now.
    pub fn record(&self, token: Uuid) {
        let now = Utc::now();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(token, now);
        }
    }

    /// Writes what was recorded since the last flush; on failure the batch is kept for the next.
    pub async fn flush(&self) -> Result<usize, sqlx::Error> {
        let batch = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(0),
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let (ids, times): (Vec<Uuid>, Vec<DateTime<Utc>>) =
            batch.iter().map(|(k, v)| (*k, *v)).unzip();
        let result = sqlx::query("select router.record_token_use($1, $2)")
            .bind(&ids)
            .bind(&times)
            .execute(&self.db)
            .await;
        match result {
            Ok(_) => Ok(ids.len()),
            Err(err) => {
                if let Ok(mut pending) = self.pending.lock() {
                    for (id, at) in batch {
                        pending.entry(id).or_insert(at);
                    }
                }
                Err(err)
            }
        }
    }

    /// Flushes every `interval` until `shutdown`, then once more.
    pub async fn run(self: Arc<Self>, interval: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(err) = self.flush().await {
                tracing::warn!(error = %err, "could not record token last-used times; will retry");
            }
        }
        if let Err(err) = self.flush().await {
            tracing::warn!(error = %err, "could not record token last-used times at shutdown");
        }
    }
}
