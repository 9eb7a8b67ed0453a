//! Administrative sessions into one database, and making sure none outlives its work.
//!
//! Renaming or dropping a database needs it to itself: PostgreSQL waits a few seconds for other
//! sessions and then refuses. A sqlx pool is no guarantee of that — `Pool::close` returning does
//! not mean every connection was closed (launchbadge/sqlx#3217: a connection handed back by a
//! task spawned from `PoolConnection::drop` can land in the idle queue after `close` drained it).
//! So every administrative visit to a tenant or template database is one [`PgConnection`] whose
//! `close()` (PostgreSQL's Terminate message) is awaited, and before a rename or drop
//! [`clear_sessions`] confirms from `pg_stat_activity` that nobody is left, terminating (and
//! naming in the log) whoever is.

use std::future::Future;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::ProvisionError;

/// How long [`clear_sessions`] lets sessions end on their own before terminating them.
const GRACE: Duration = Duration::from_secs(1);

/// Runs `work` (which owns its connection) as its own task and waits for it, so that a caller
/// cancelled mid-way (a shutdown, a lost lease) still lets the work finish and close its
/// connection properly.
pub(crate) async fn detached<T, F>(work: F) -> Result<T, ProvisionError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ProvisionError>> + Send + 'static,
{
    tokio::spawn(work)
        .await
        .map_err(|err| ProvisionError::AdminTask(err.to_string()))?
}

/// One administrative connection into a database.
pub(crate) async fn open(options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
    options.connect().await
}

/// Closes `conn`, waiting until PostgreSQL has been told (Terminate sent and flushed). A
/// connection that is already broken is gone anyway, so a failure here is only logged.
pub(crate) async fn close(conn: PgConnection, database: &str) {
    if let Err(err) = conn.close().await {
        tracing::debug!(database, error = %err, "closing an administrative connection failed");
    }
}

/// A session found on a database that should have none.
#[derive(Debug, sqlx::FromRow)]
struct Session {
    pid: i32,
    user_name: Option<String>,
    application_name: Option<String>,
    state: Option<String>,
}

/// Makes sure no session but the caller's is connected to `database`: waits briefly for
/// sessions that are ending, then terminates the rest with `pg_terminate_backend`, one log line
/// each. Returns how many were terminated.
pub(crate) async fn clear_sessions(admin: &PgPool, database: &str) -> Result<usize, sqlx::Error> {
    let deadline = Instant::now() + GRACE;
    loop {
        let sessions: Vec<Session> = sqlx::query_as(
            "select pid, usename::text as user_name, application_name, state
             from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
        )
        .bind(database)
        .fetch_all(admin)
        .await?;
        if sessions.is_empty() {
            return Ok(0);
        }
        if Instant::now() >= deadline {
            for session in &sessions {
                tracing::warn!(
                    database,
                    pid = session.pid,
                    user = session.user_name.as_deref().unwrap_or_default(),
                    application = session.application_name.as_deref().unwrap_or_default(),
                    state = session.state.as_deref().unwrap_or_default(),
                    "terminating session {} on {database}: it needs the database to itself",
                    session.pid
                );
                sqlx::query("select pg_terminate_backend($1)")
                    .bind(session.pid)
                    .execute(admin)
                    .await?;
            }
            return Ok(sessions.len());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
