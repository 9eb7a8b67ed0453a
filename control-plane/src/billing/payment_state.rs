//! Payment state: `ok` → `grace` (a payment failed: an e-mail, and the tenant stays writable for
//! `BILLING_GRACE_DAYS`) → `read_only` (the grace period ended unpaid: the tenant API serves
//! reads and verification fetches and answers writes with 402) → `ok` again once paid.
//!
//! The state lives in `tenant.billing_state`, which the tenant API reads through its route view;
//! the grace period's dates in `billing_account`. Each transition writes its audit event and
//! queues its e-mails (outbox, deduplicated) in the caller's transaction, under the tenant's row
//! lock, so it happens once.

use chrono::{DateTime, Utc};
use provisioning::{registry, TenantId};
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::mail::Email;
use crate::outbox::{self, Notice};
use crate::state::AppState;

/// Where the tenant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentState {
    Ok,
    Grace,
    ReadOnly,
}

impl PaymentState {
    pub fn parse(text: &str) -> Self {
        match text {
            "grace" => Self::Grace,
            "read_only" => Self::ReadOnly,
            _ => Self::Ok,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Grace => "grace",
            Self::ReadOnly => "read_only",
        }
    }
}

/// The tenant's state (the caller holds its row lock).
pub async fn current(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<PaymentState> {
    let text: Option<String> =
        sqlx::query_scalar("select billing_state from tenant where tenant_id = $1")
            .bind(tenant)
            .fetch_optional(conn)
            .await?;
    Ok(text
        .as_deref()
        .map_or(PaymentState::Ok, PaymentState::parse))
}

/// A payment failed: starts the grace period unless one is running (or the tenant is already
/// read-only). Returns when writes stop.
pub async fn start_grace(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: TenantId,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    if current(conn, tenant).await? != PaymentState::Ok {
        return sqlx::query_scalar(
            "select grace_ends_at from billing_account where tenant_id = $1",
        )
        .bind(tenant)
        .fetch_optional(conn)
        .await
        .map(Option::flatten);
    }
    let (failed_at, ends_at): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "update billing_account set payment_failed_at = now(),
             grace_ends_at = now() + make_interval(secs => $2)
         where tenant_id = $1
         returning payment_failed_at, grace_ends_at",
    )
    .bind(tenant)
    .bind(state.billing.grace_period.as_secs_f64())
    .fetch_one(&mut *conn)
    .await?;
    set(conn, tenant, PaymentState::Grace).await?;
    let public = state.config.public_url.trim_end_matches('/');
    notify_administrators(
        conn,
        tenant,
        &format!("grace:{}", failed_at.timestamp_micros()),
        |org| {
            (
                format!("Payment failed for {org} on Treaty"),
                format!(
                    "Hello,\n\n\
                 We could not collect the latest payment for {org}'s Treaty subscription.\n\
                 Please update the payment method in the billing portal before {ends} —\n\
                 sign in, then POST {public}/api/billing/portal for a link to it.\n\n\
                 Until then nothing changes. After {ends}, {org} becomes read-only: pacts,\n\
                 verification results and can-i-deploy keep answering, but publishing is refused\n\
                 until the payment goes through.\n\n\
                 Billing overview: {public}/api/billing\n",
                    ends = ends_at.format("%Y-%m-%d %H:%M UTC"),
                ),
            )
        },
    )
    .await?;
    Ok(Some(ends_at))
}

/// Payment is fine again (an invoice was paid, the subscription is active): ends a grace period
/// or read-only state, with an audit event and a mail. Returns whether it did.
pub async fn recover(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    subscription: &str,
) -> sqlx::Result<bool> {
    let before = current(conn, tenant).await?;
    if before == PaymentState::Ok {
        return Ok(false);
    }
    let failed_at = end(conn, tenant).await?;
    audit::record(
        &mut *conn,
        tenant,
        actor,
        "payment_recovered",
        Some(subscription),
        json!({"subscription": subscription, "from": before.as_str()}),
    )
    .await?;
    let key = format!(
        "recovered:{}",
        failed_at.map_or(0, |at| at.timestamp_micros())
    );
    notify_administrators(conn, tenant, &key, |org| {
        (
            format!("Payment received: {org} is fully available again"),
            format!(
                "Hello,\n\nThe payment for {org}'s Treaty subscription went through. \
                 Publishing works again.\n"
            ),
        )
    })
    .await?;
    Ok(true)
}

/// The subscription ended (the tenant is back on the free plan): no payment is owed, so no
/// grace period or read-only state remains.
pub async fn clear(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<()> {
    if current(conn, tenant).await? != PaymentState::Ok {
        end(conn, tenant).await?;
    }
    Ok(())
}

async fn end(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<Option<DateTime<Utc>>> {
    let failed_at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "with before as (select payment_failed_at from billing_account where tenant_id = $1)
         update billing_account set payment_failed_at = null, grace_ends_at = null
         where tenant_id = $1
         returning (select payment_failed_at from before)",
    )
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    set(conn, tenant, PaymentState::Ok).await?;
    Ok(failed_at)
}

async fn set(conn: &mut PgConnection, tenant: TenantId, state: PaymentState) -> sqlx::Result<()> {
    registry::set_billing_state(conn, tenant, state.as_str()).await
}

/// Tenants whose grace period has ended become read-only (the billing job calls this).
pub async fn expire_grace(state: &AppState) -> anyhow::Result<usize> {
    let mut tx = state.db.begin().await?;
    let due: Vec<(TenantId, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "select t.tenant_id, b.payment_failed_at, b.grace_ends_at
         from tenant t join billing_account b on b.tenant_id = t.tenant_id
         where t.billing_state = 'grace' and b.grace_ends_at <= now()
         order by b.grace_ends_at
         limit 50
         for update of t skip locked",
    )
    .fetch_all(&mut *tx)
    .await?;
    let public = state.config.public_url.trim_end_matches('/').to_owned();
    for (tenant, failed_at, ends_at) in &due {
        set(&mut tx, *tenant, PaymentState::ReadOnly).await?;
        audit::record(
            &mut *tx,
            *tenant,
            &Actor::default(),
            "billing_read_only",
            None,
            json!({"paymentFailedAt": failed_at, "graceEndedAt": ends_at}),
        )
        .await?;
        let key = format!("read-only:{}", failed_at.timestamp_micros());
        notify_administrators(&mut tx, *tenant, &key, |org| {
            (
                format!("{org} is read-only on Treaty until payment"),
                format!(
                    "Hello,\n\n\
                     The grace period for {org}'s unpaid Treaty subscription has ended, so {org} is\n\
                     now read-only: pacts, verification results and can-i-deploy keep answering,\n\
                     but publishing is refused with 402 until the payment goes through.\n\
                     Update the payment method in the billing portal (POST {public}/api/billing/portal).\n"
                ),
            )
        })
        .await?;
    }
    tx.commit().await?;
    if !due.is_empty() {
        state.outbox.kick();
        tracing::info!(
            count = due.len(),
            "{} tenants became read-only after their grace period",
            due.len()
        );
    }
    Ok(due.len())
}

/// Queues a billing notice to each active administrator, once per `key`.
async fn notify_administrators(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
    compose: impl Fn(&str) -> (String, String),
) -> sqlx::Result<()> {
    let organisation = registry::organisation(&mut *conn, tenant)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let recipients: Vec<String> = sqlx::query_scalar(
        "select email from app_user
         where tenant_id = $1 and kind = 'person' and role = 'administrator'
           and deactivated_at is null and password_hash is not null and email is not null
         order by created_at",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?;
    let (subject, body) = compose(&organisation);
    for recipient in recipients {
        outbox::enqueue(
            conn,
            Notice {
                tenant: Some(tenant),
                dedupe_key: &format!("billing:{tenant}:{key}:{}", recipient.to_lowercase()),
                email: Email {
                    to: recipient,
                    subject: subject.clone(),
                    body: body.clone(),
                    message_id: None,
                },
            },
        )
        .await?;
    }
    Ok(())
}
