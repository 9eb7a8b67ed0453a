//! `POST /api/stripe/webhooks`: Stripe's events, each processed once whatever happens.
//!
//! 1. The signature is checked over the raw body (`signature`); a bad or stale one is a 400.
//! 2. The event is stored under Stripe's id (`stripe_event`, primary key) before anything else.
//! 3. It is processed in one transaction that begins by locking its row and ends by marking it
//!    processed: a redelivery that finds it processed is acknowledged without effect; one that
//!    finds it unprocessed — processing failed, or the process died before committing — processes
//!    it. A failure is answered non-2xx, so Stripe retries; the billing job retries it as well
//!    (`next_attempt_at`), so nothing depends on Stripe's retries alone.
//!
//! Types handled: `checkout.session.completed` (links the session's customer and subscription
//! to the tenant named by `client_reference_id`), `customer.subscription.*` and `invoice.paid` /
//! `invoice.payment_succeeded` / `invoice.payment_failed` — all of which re-read the subscription
//! (`reconcile`). Anything else is acknowledged and ignored.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use provisioning::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgConnection;

use super::limits;
use super::reconcile::{self, stripe_actor, Outcome};
use super::stripe_api::id_of;
use super::{account, signature};
use crate::audit;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The envelope of a Stripe event.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// `POST /api/stripe/webhooks`' answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookReceipt {
    received: bool,
    /// The event id.
    event: String,
    /// What processing did.
    outcome: String,
}

/// `POST /api/stripe/webhooks`.
#[utoipa::path(
    post, path = "/api/stripe/webhooks", tag = "billing",
    params(("Stripe-Signature" = String, Header, description = "Stripe's signature of the body")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "A Stripe event"),
    responses((status = 200, description = "The event is stored and processed", body = WebhookReceipt)),
)]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookReceipt>> {
    state.billing.stripe()?;
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    signature::verify(
        &body,
        header,
        state.billing.webhook_secrets(),
        Utc::now().timestamp(),
    )
    .map_err(Error::WebhookSignature)?;
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|_| Error::BadRequest("the body is not a JSON Stripe event".into()))?;
    let event: Event = serde_json::from_value(payload.clone()).map_err(|_| {
        Error::BadRequest("the body is not a Stripe event (id, type, data.object)".into())
    })?;
    if event.id.is_empty() || event.id.len() > 255 || event.kind.is_empty() {
        return Err(Error::BadRequest(
            "the event has no usable id or type".into(),
        ));
    }
    sqlx::query(
        "insert into stripe_event (event_id, type, payload) values ($1, $2, $3)
         on conflict (event_id) do nothing",
    )
    .bind(&event.id)
    .bind(&event.kind)
    .bind(&payload)
    .execute(&state.db)
    .await?;
    let processed = process(&state, &event.id, Wait::Yes).await?;
    Ok(Json(WebhookReceipt {
        received: true,
        event: event.id,
        outcome: processed.describe(),
    }))
}

/// Whether processing waits for a concurrent processing of the same event.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Yes,
    /// Skip it (the billing job's retries).
    No,
}

/// What [`process`] found.
#[derive(Debug)]
pub enum Processed {
    Now(Outcome),
    /// Processed before: acknowledged, nothing done.
    Already,
    /// Being processed elsewhere (only without waiting), or not stored.
    Busy,
}

impl Processed {
    fn describe(&self) -> String {
        match self {
            Self::Now(outcome) => outcome.0.clone(),
            Self::Already => "duplicate: already processed".into(),
            Self::Busy => "being processed".into(),
        }
    }
}

/// Processes the stored event `event_id` unless it was processed already.
pub async fn process(state: &AppState, event_id: &str, wait: Wait) -> Result<Processed> {
    let mut tx = state.db.begin().await?;
    let lock = if wait == Wait::Yes {
        "for update"
    } else {
        "for update skip locked"
    };
    let row: Option<(Value, bool)> = sqlx::query_as(&format!(
        "select payload, processed_at is not null from stripe_event where event_id = $1 {lock}"
    ))
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((payload, processed)) = row else {
        return Ok(Processed::Busy);
    };
    if processed {
        tx.commit().await?;
        return Ok(Processed::Already);
    }
    let handled = match serde_json::from_value::<Event>(payload) {
        Ok(event) => handle(&mut tx, state, &event).await,
        Err(_) => Ok((None, Outcome::ignored("unreadable event"))),
    };
    match handled {
        Ok((tenant, outcome)) => {
            sqlx::query(
                "update stripe_event set processed_at = now(), outcome = $2, tenant_id = $3,
                     attempts = attempts + 1, last_error = null
                 where event_id = $1",
            )
            .bind(event_id)
            .bind(&outcome.0)
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            state.outbox.kick();
            if tenant.is_some() {
                state.billing.kick();
            }
            tracing::info!(stripe.event = event_id, outcome = %outcome.0, "Stripe event {event_id}: {}", outcome.0);
            Ok(Processed::Now(outcome))
        }
        Err(err) => {
            drop(tx);
            let message = err.to_string();
            tracing::warn!(stripe.event = event_id, error = %message, "Stripe event {event_id} failed; it will be retried");
            sqlx::query(
                "update stripe_event set attempts = attempts + 1, last_error = $2,
                     next_attempt_at = now() + make_interval(secs => least(3600, 15 * power(2, least(attempts, 8))))
                 where event_id = $1",
            )
            .bind(event_id)
            .bind(&message)
            .execute(&state.db)
            .await?;
            Err(err)
        }
    }
}

/// Applies one event; returns the tenant it concerned and what it did.
async fn handle(
    conn: &mut PgConnection,
    state: &AppState,
    event: &Event,
) -> Result<(Option<TenantId>, Outcome)> {
    let object = &event.data.object;
    match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            checkout_completed(conn, state, object).await
        }
        kind if kind.starts_with("customer.subscription.") => {
            let Some(subscription) = id_of(&object["id"]) else {
                return Ok((None, Outcome::ignored("no subscription id")));
            };
            let Some(tenant) = tenant_of(conn, object).await? else {
                return Ok((None, Outcome::ignored("not a customer of any tenant")));
            };
            limits::lock_tenant(conn, tenant).await?;
            let outcome = reconcile::subscription(conn, state, tenant, &subscription).await?;
            Ok((Some(tenant), outcome))
        }
        "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" => {
            invoice(conn, state, &event.kind, object).await
        }
        _ => Ok((None, Outcome::ignored("event type not used"))),
    }
}

/// The tenant an object belongs to, by its customer.
async fn tenant_of(conn: &mut PgConnection, object: &Value) -> Result<Option<TenantId>> {
    match id_of(&object["customer"]) {
        Some(customer) => Ok(account::tenant_of_customer(conn, &customer).await?),
        None => Ok(None),
    }
}

async fn checkout_completed(
    conn: &mut PgConnection,
    state: &AppState,
    session: &Value,
) -> Result<(Option<TenantId>, Outcome)> {
    if session["mode"].as_str() != Some("subscription") {
        return Ok((None, Outcome::ignored("not a subscription checkout")));
    }
    let Some(tenant) = session["client_reference_id"]
        .as_str()
        .and_then(|id| id.parse::<uuid::Uuid>().ok())
        .map(TenantId)
    else {
        return Ok((None, Outcome::ignored("no tenant in client_reference_id")));
    };
    let (Some(customer), Some(subscription)) =
        (id_of(&session["customer"]), id_of(&session["subscription"]))
    else {
        return Ok((None, Outcome::ignored("no customer or subscription")));
    };
    let exists: Option<String> =
        sqlx::query_scalar("select plan from tenant where tenant_id = $1 for update")
            .bind(tenant)
            .fetch_optional(&mut *conn)
            .await?;
    if exists.is_none() {
        return Ok((None, Outcome::ignored("no such tenant")));
    }
    if account::adopt_customer(conn, tenant, &customer).await? != customer {
        return Ok((
            Some(tenant),
            Outcome::ignored("the tenant has another Stripe customer"),
        ));
    }
    let outcome = reconcile::subscription(conn, state, tenant, &subscription).await?;
    // Seats may have changed while the customer was on the Checkout page.
    super::seats::request_sync(conn, tenant).await?;
    Ok((Some(tenant), outcome))
}

async fn invoice(
    conn: &mut PgConnection,
    state: &AppState,
    kind: &str,
    invoice: &Value,
) -> Result<(Option<TenantId>, Outcome)> {
    // Before API version 2025-03-31 the subscription was on the invoice; since, on its parent.
    let subscription = id_of(&invoice["subscription"])
        .or_else(|| id_of(&invoice["parent"]["subscription_details"]["subscription"]));
    let Some(subscription) = subscription else {
        return Ok((None, Outcome::ignored("not a subscription invoice")));
    };
    let Some(tenant) = tenant_of(conn, invoice).await? else {
        return Ok((None, Outcome::ignored("not a customer of any tenant")));
    };
    limits::lock_tenant(conn, tenant).await?;
    let outcome = reconcile::subscription(conn, state, tenant, &subscription).await?;
    if kind == "invoice.payment_failed" {
        let grace_ends_at: Option<chrono::DateTime<Utc>> =
            sqlx::query_scalar("select grace_ends_at from billing_account where tenant_id = $1")
                .bind(tenant)
                .fetch_optional(&mut *conn)
                .await?
                .flatten();
        audit::record(
            &mut *conn,
            tenant,
            &stripe_actor(),
            "payment_failed",
            id_of(&invoice["id"]).as_deref(),
            json!({
                "invoice": id_of(&invoice["id"]),
                "subscription": subscription,
                "amountDue": invoice["amount_due"],
                "attempt": invoice["attempt_count"],
                "graceEndsAt": grace_ends_at,
            }),
        )
        .await?;
    }
    Ok((Some(tenant), outcome))
}
