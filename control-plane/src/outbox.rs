//! The mail outbox: e-mails that must go out even if a process dies between deciding to send
//! and sending — the welcome e-mail when a tenant becomes active, billing notices — stored in
//! `mail_outbox` in the transaction that decides them and delivered by this background task.
//!
//! Each notice has a `dedupe_key` (unique), so it is queued once however often the deciding code
//! runs. Delivery claims due rows with `for update skip locked` and pushes their
//! `next_attempt_at` a minute ahead as a lease, so several control planes share the work and a
//! crashed sender's rows come back. A crash after the SMTP server accepted a message but before
//! it is marked sent delivers it once more; the stable `Message-ID` lets mail systems recognise
//! that. Nothing in the outbox is secret (links with tokens are never queued).
//!
//! The welcome e-mail: a tenant is *active* once provisioned and confirmed, which happens in
//! either order (the worker finishes provisioning; the person follows the link). The sweep here
//! queues it for every tenant that is both and not yet welcomed, marking `welcome_queued_at` in
//! the same transaction, so it is queued exactly once.

use std::sync::Arc;
use std::time::Duration;

use provisioning::registry::{self, DueWelcome};
use provisioning::{Subdomain, TenantId};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::Config;
use crate::identity::session::SessionStore;
use crate::mail::{Email, Mailer};

/// Wakes the outbox task (after a confirmation, a billing event…).
#[derive(Clone, Default)]
pub struct OutboxHandle {
    notify: Arc<Notify>,
}

impl OutboxHandle {
    pub fn kick(&self) {
        self.notify.notify_one();
    }
}

/// A notice to queue.
pub struct Notice<'a> {
    pub tenant: Option<TenantId>,
    pub dedupe_key: &'a str,
    pub email: Email,
}

/// Queues a notice unless one with its key exists; the caller owns the transaction.
pub async fn enqueue(conn: &mut sqlx::PgConnection, notice: Notice<'_>) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into mail_outbox (mail_id, tenant_id, dedupe_key, recipient, subject, body)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (dedupe_key) do nothing",
    )
    .bind(Uuid::new_v4())
    .bind(notice.tenant)
    .bind(notice.dedupe_key)
    .bind(&notice.email.to)
    .bind(&notice.email.subject)
    .bind(&notice.email.body)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// What the outbox task works with (parts of the application state, so the state, which holds
/// an [`OutboxHandle`], does not depend on this module).
pub struct OutboxTask {
    pub db: PgPool,
    pub mailer: Mailer,
    pub sessions: SessionStore,
    pub config: Arc<Config>,
    pub outbox: OutboxHandle,
}

/// Runs until `shutdown`: queues welcomes, delivers due mail, sweeps expired sessions.
pub async fn run(state: OutboxTask, poll: Duration, shutdown: CancellationToken) {
    let mut ticks: u64 = 0;
    loop {
        if let Err(err) = queue_welcomes(&state).await {
            tracing::warn!(error = %format!("{err:#}"), "could not queue welcome e-mails");
        }
        if let Err(err) = deliver_due(&state.db, &state.mailer).await {
            tracing::warn!(error = %format!("{err:#}"), "could not deliver queued e-mail");
        }
        if ticks % 600 == 0 {
            if let Err(err) = state.sessions.sweep().await {
                tracing::warn!(error = %err, "could not sweep expired sessions");
            }
        }
        ticks += 1;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = state.outbox.notify.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

async fn queue_welcomes(state: &OutboxTask) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    let due = registry::take_due_welcomes(&mut tx).await?;
    for DueWelcome {
        tenant_id: tenant,
        subdomain,
        organisation,
        recipient,
    } in &due
    {
        let Some(recipient) = recipient else { continue };
        let base_url = Subdomain::parse(subdomain)
            .map(|s| state.config.tenant_urls.base_url(&s))
            .unwrap_or_default();
        let public = state.config.public_url.trim_end_matches('/');
        enqueue(
            &mut tx,
            Notice {
                tenant: Some(*tenant),
                dedupe_key: &format!("welcome:{tenant}"),
                email: Email {
                    to: recipient.clone(),
                    subject: format!("Welcome to Treaty: {organisation} is ready"),
                    body: format!(
                        "Hello,\n\n\
                         {organisation} is ready on Treaty. Your broker lives at\n\n\
                         {base_url}\n\n\
                         Next steps:\n\
                         1. Sign in: POST {public}/api/login with your e-mail and password.\n\
                         2. Create API tokens: POST {public}/api/settings/tokens (read-write for CI publishing,\n   read-only for verification and can-i-deploy).\n\
                         3. Point Pact tools at it: PACT_BROKER_BASE_URL={base_url} PACT_BROKER_TOKEN=<token>\n\
                         4. Invite your team: POST {public}/api/admin/users/invite-user\n\n\
                         Happy contract testing!\n"
                    ),
                    message_id: None,
                },
            },
        )
        .await?;
    }
    tx.commit().await?;
    if !due.is_empty() {
        tracing::info!(count = due.len(), "queued {} welcome e-mails", due.len());
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Due {
    mail_id: Uuid,
    recipient: String,
    subject: String,
    body: String,
    attempts: i32,
}

async fn deliver_due(db: &PgPool, mailer: &Mailer) -> anyhow::Result<()> {
    let due: Vec<Due> = sqlx::query_as(
        "with due as (
             select mail_id from mail_outbox
             where sent_at is null and next_attempt_at <= now()
             order by next_attempt_at
             for update skip locked
             limit 20
         )
         update mail_outbox m set next_attempt_at = now() + interval '60 seconds', attempts = attempts + 1
         from due where m.mail_id = due.mail_id
         returning m.mail_id, m.recipient, m.subject, m.body, m.attempts",
    )
    .fetch_all(db)
    .await?;
    for mail in due {
        let email = Email {
            to: mail.recipient,
            subject: mail.subject,
            body: mail.body,
            message_id: Some(format!("<{}@treaty.outbox>", mail.mail_id)),
        };
        match mailer.send(&email).await {
            Ok(()) => {
                sqlx::query(
                    "update mail_outbox set sent_at = now(), last_error = null where mail_id = $1",
                )
                .bind(mail.mail_id)
                .execute(db)
                .await?;
            }
            Err(err) => {
                let backoff = 2f64.powi(mail.attempts.clamp(1, 10)) * 5.0;
                tracing::warn!(mail.id = %mail.mail_id, error = %format!("{err:#}"), "outbox mail {} failed; retrying in {backoff}s", mail.mail_id);
                sqlx::query(
                    "update mail_outbox set last_error = $2, next_attempt_at = now() + make_interval(secs => $3)
                     where mail_id = $1",
                )
                .bind(mail.mail_id)
                .bind(format!("{err:#}"))
                .bind(backoff)
                .execute(db)
                .await?;
            }
        }
    }
    Ok(())
}
