//! The few Stripe API calls billing makes, through async-stripe's client: it authenticates,
//! sends the pinned `Stripe-Version`, carries idempotency keys and decodes Stripe's error bodies.
//!
//! Requests are form-encoded from the small structs here (Stripe's own `a[0][b]` encoding, via
//! async-stripe's `RequestBuilder`); responses are read into small types holding only the fields
//! Treaty uses, so objects of any API version — and of a fake Stripe in tests — that carry those
//! fields are understood. (async-stripe's generated request crates would add minutes of compile
//! time for no more than these five calls.)

use chrono::{DateTime, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError};
use stripe_client_core::{RequestBuilder, StripeMethod};

/// What went wrong talking to Stripe.
#[derive(Debug, thiserror::Error)]
pub enum StripeApiError {
    /// Stripe answered with an error (its message; never a secret).
    #[error("Stripe refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    /// Stripe could not be reached, or answered in a way we could not read.
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
}

impl StripeApiError {
    fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            Self::Unavailable(_) => None,
        }
    }
}

impl From<StripeError> for StripeApiError {
    fn from(err: StripeError) -> Self {
        match err {
            StripeError::Stripe(errors, status) => Self::Refused {
                status,
                message: errors
                    .message
                    .clone()
                    .unwrap_or_else(|| "no message".into()),
            },
            other => Self::Unavailable(other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StripeApiError>;

/// A Stripe account's API, as billing uses it.
#[derive(Clone)]
pub struct StripeApi {
    client: Client,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeApi")
    }
}

/// A customer, as created.
#[derive(Debug, Deserialize)]
pub struct Customer {
    pub id: String,
}

/// A Checkout Session, as created.
#[derive(Debug, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub url: Option<String>,
}

/// A billing portal session, as created.
#[derive(Debug, Deserialize)]
pub struct PortalSession {
    pub url: String,
}

/// What Treaty needs of a subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub customer: Option<String>,
    /// Stripe's status: `active`, `trialing`, `past_due`, `unpaid`, `canceled`, `incomplete`,
    /// `incomplete_expired`, `paused`.
    pub status: String,
    /// The first item's price (or, for legacy plans, its plan id).
    pub price: Option<String>,
    pub item_id: Option<String>,
    pub quantity: Option<i64>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
}

#[derive(Deserialize)]
struct RawSubscription {
    id: String,
    #[serde(default)]
    customer: Value,
    status: String,
    #[serde(default)]
    cancel_at_period_end: Option<bool>,
    /// Before API version 2025-03-31 the period was the subscription's; since, it is each item's.
    #[serde(default)]
    current_period_end: Option<i64>,
    #[serde(default)]
    items: Option<RawList<RawItem>>,
}

#[derive(Deserialize)]
struct RawList<T> {
    data: Vec<T>,
}

#[derive(Deserialize)]
struct RawItem {
    id: String,
    #[serde(default)]
    quantity: Option<i64>,
    #[serde(default)]
    price: Value,
    #[serde(default)]
    plan: Value,
    #[serde(default)]
    current_period_end: Option<i64>,
}

/// The id of an expandable field: the string itself, or the expanded object's `id`.
pub fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Object(object) => object.get("id").and_then(id_of),
        _ => None,
    }
}

impl From<RawSubscription> for Subscription {
    fn from(raw: RawSubscription) -> Self {
        let item = raw.items.and_then(|list| list.data.into_iter().next());
        let period_end = raw
            .current_period_end
            .or_else(|| item.as_ref().and_then(|i| i.current_period_end));
        Self {
            id: raw.id,
            customer: id_of(&raw.customer),
            status: raw.status,
            price: item
                .as_ref()
                .and_then(|i| id_of(&i.price).or_else(|| id_of(&i.plan))),
            item_id: item.as_ref().map(|i| i.id.clone()),
            quantity: item.as_ref().and_then(|i| i.quantity),
            current_period_end: period_end.and_then(|t| Utc.timestamp_opt(t, 0).single()),
            cancel_at_period_end: raw.cancel_at_period_end.unwrap_or(false),
        }
    }
}

/// `POST /v1/checkout/sessions` in subscription mode.
#[derive(Debug, Serialize)]
pub struct NewCheckoutSession<'a> {
    pub mode: &'static str,
    pub customer: &'a str,
    pub client_reference_id: &'a str,
    pub line_items: Vec<LineItem<'a>>,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    pub metadata: TenantMetadata<'a>,
    pub subscription_data: SubscriptionData<'a>,
}

#[derive(Debug, Serialize)]
pub struct LineItem<'a> {
    pub price: &'a str,
    pub quantity: i64,
}

#[derive(Debug, Serialize)]
pub struct TenantMetadata<'a> {
    pub tenant_id: &'a str,
}

#[derive(Debug, Serialize)]
pub struct SubscriptionData<'a> {
    pub metadata: TenantMetadata<'a>,
}

#[derive(Serialize)]
struct NewCustomer<'a> {
    email: &'a str,
    name: &'a str,
    metadata: TenantMetadata<'a>,
}

#[derive(Serialize)]
struct NewPortalSession<'a> {
    customer: &'a str,
    return_url: &'a str,
}

#[derive(Serialize)]
struct QuantityUpdate<'a> {
    items: Vec<ItemQuantity<'a>>,
}

#[derive(Serialize)]
struct ItemQuantity<'a> {
    id: &'a str,
    quantity: i64,
}

/// An idempotency key Stripe accepts (1 to 255 characters).
fn key(text: &str) -> RequestStrategy {
    let text: String = text.chars().take(255).collect();
    IdempotencyKey::new(&text)
        .map(RequestStrategy::Idempotent)
        .unwrap_or(RequestStrategy::Once)
}

impl StripeApi {
    /// A client for `secret_key`, against `api_base` (Stripe's own when `None`).
    pub fn new(secret_key: &SecretString, api_base: Option<&str>) -> anyhow::Result<Self> {
        // The client's TLS takes rustls' process-wide provider, which two providers in the
        // build (aws-lc-rs, and ring through lettre) leave undecided: choose aws-lc-rs, as sqlx
        // does. Already chosen (a second client, a test) is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut builder = ClientBuilder::new(secret_key.expose_secret())
            .timeout(std::time::Duration::from_secs(20));
        if let Some(base) = api_base {
            // The client appends `v1/…` to the base as written.
            builder = builder.url(format!("{}/", base.trim_end_matches('/')));
        }
        let client = builder
            .build()
            .map_err(|err| anyhow::anyhow!("building the Stripe client: {err}"))?;
        Ok(Self { client })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        strategy: RequestStrategy,
    ) -> Result<T> {
        let value: miniserde::json::Value = request
            .customize()
            .request_strategy(strategy)
            .send(&self.client)
            .await?;
        let text = miniserde::json::to_string(&value);
        serde_json::from_str(&text).map_err(|err| {
            StripeApiError::Unavailable(format!("unexpected response from Stripe: {err}"))
        })
    }

    /// Creates the tenant's customer; the same key gives the same customer however often it
    /// is retried.
    pub async fn create_customer(
        &self,
        tenant_id: &str,
        email: &str,
        name: &str,
    ) -> Result<Customer> {
        let request = RequestBuilder::new(StripeMethod::Post, "/customers").form(&NewCustomer {
            email,
            name,
            metadata: TenantMetadata { tenant_id },
        });
        self.send(request, key(&format!("treaty-customer-{tenant_id}")))
            .await
    }

    pub async fn create_checkout_session(
        &self,
        session: &NewCheckoutSession<'_>,
        idempotency_key: &str,
    ) -> Result<CheckoutSession> {
        let request = RequestBuilder::new(StripeMethod::Post, "/checkout/sessions").form(session);
        self.send(request, key(idempotency_key)).await
    }

    pub async fn create_portal_session(
        &self,
        customer: &str,
        return_url: &str,
    ) -> Result<PortalSession> {
        let request = RequestBuilder::new(StripeMethod::Post, "/billing_portal/sessions").form(
            &NewPortalSession {
                customer,
                return_url,
            },
        );
        self.send(request, RequestStrategy::Once).await
    }

    /// The subscription as Stripe has it now; `None` if Stripe does not know it.
    pub async fn subscription(&self, id: &str) -> Result<Option<Subscription>> {
        if !plausible_id(id) {
            return Ok(None);
        }
        let request = RequestBuilder::new(StripeMethod::Get, format!("/subscriptions/{id}"));
        match self
            .send::<RawSubscription>(request, RequestStrategy::Retry(2))
            .await
        {
            Ok(raw) => Ok(Some(raw.into())),
            Err(err) if err.status() == Some(404) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Sets the quantity of the subscription's item.
    pub async fn set_quantity(
        &self,
        subscription: &str,
        item: &str,
        quantity: i64,
        idempotency_key: &str,
    ) -> Result<Subscription> {
        let request =
            RequestBuilder::new(StripeMethod::Post, format!("/subscriptions/{subscription}")).form(
                &QuantityUpdate {
                    items: vec![ItemQuantity { id: item, quantity }],
                },
            );
        let raw: RawSubscription = self.send(request, key(idempotency_key)).await?;
        Ok(raw.into())
    }
}

/// Stripe ids are short ASCII words; anything else (from a forged or broken payload) is not
/// put into a URL.
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn subscriptions_of_old_and_new_api_versions_are_read_alike() {
        // 2026-09-30: period on the item, price objects.
        let new: RawSubscription = serde_json::from_value(json!({
            "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
            "cancel_at_period_end": true, "metadata": {"tenant_id": "t-1"},
            "items": {"object": "list", "data": [{"id": "si_1", "quantity": 3,
                "price": {"id": "price_team", "object": "price"}, "current_period_end": 1_900_000_000}]}
        }))
        .unwrap();
        let new = Subscription::from(new);
        assert_eq!(new.price.as_deref(), Some("price_team"));
        assert_eq!(new.quantity, Some(3));
        assert_eq!(new.item_id.as_deref(), Some("si_1"));
        assert!(new.cancel_at_period_end);
        assert_eq!(new.current_period_end.unwrap().timestamp(), 1_900_000_000);
        // Older: period on the subscription, a legacy plan, an expanded customer.
        let old: RawSubscription = serde_json::from_value(json!({
            "id": "sub_2", "customer": {"id": "cus_2"}, "status": "past_due",
            "current_period_end": 1_800_000_000,
            "items": {"data": [{"id": "si_2", "plan": {"id": "plan_team"}}]}
        }))
        .unwrap();
        let old = Subscription::from(old);
        assert_eq!(old.customer.as_deref(), Some("cus_2"));
        assert_eq!(old.price.as_deref(), Some("plan_team"));
        assert_eq!(old.current_period_end.unwrap().timestamp(), 1_800_000_000);
        assert!(!old.cancel_at_period_end);
    }

    #[test]
    fn checkout_sessions_are_form_encoded_the_way_stripe_reads_them() {
        let form = serde_qs::to_string(&NewCheckoutSession {
            mode: "subscription",
            customer: "cus_1",
            client_reference_id: "t-1",
            line_items: vec![LineItem {
                price: "price_team",
                quantity: 4,
            }],
            success_url: "https://x/ok",
            cancel_url: "https://x/cancel",
            metadata: TenantMetadata { tenant_id: "t-1" },
            subscription_data: SubscriptionData {
                metadata: TenantMetadata { tenant_id: "t-1" },
            },
        })
        .unwrap();
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        for pair in [
            ("mode", "subscription"),
            ("line_items[0][price]", "price_team"),
            ("line_items[0][quantity]", "4"),
            ("subscription_data[metadata][tenant_id]", "t-1"),
            ("client_reference_id", "t-1"),
        ] {
            assert!(
                decoded.contains(&(pair.0.to_owned(), pair.1.to_owned())),
                "{pair:?} in {decoded:?}"
            );
        }
    }

    #[test]
    fn only_plausible_ids_reach_a_url() {
        assert!(plausible_id("sub_1Nabc-XYZ"));
        assert!(!plausible_id("../customers"));
        assert!(!plausible_id(""));
        assert!(!plausible_id("sub 1"));
    }
}
