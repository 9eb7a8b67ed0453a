//! What the billing tests share: a control plane billing through a fake Stripe whose webhooks
//! reach it, a signed-up tenant with its administrator signed in, publishing over HTTP, signed
//! deliveries of hand-made events, and waiting for what arrives asynchronously (webhooks, the
//! tenant API's cache invalidation).

use std::future::Future;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::stripe::{self, FakeStripe};
use tests::tenant_client::{signup, Signup, PASSWORD};
use tests::{RunningControlPlane, RunningTenantApi, Session, TenantClient, TestEnv};

/// Polls `probe` (up to 20 s) until it yields `Some`.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..400 {
        if let Some(value) = probe().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A pact between `consumer` and `provider`.
pub fn pact(consumer: &str, provider: &str) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [{
            "description": format!("a request from {consumer}"),
            "request": {"method": "GET", "path": "/things"},
            "response": {"status": 200}
        }],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    })
}

/// A tenant billed through a fake Stripe.
pub struct Billed {
    pub stripe: FakeStripe,
    pub tenant: Signup,
    pub admin: Session,
    pub client: TenantClient,
    pub _api: RunningTenantApi,
    pub cp: RunningControlPlane,
    /// Last: dropping it removes the databases the services above use.
    pub env: TestEnv,
}

impl Billed {
    /// Signs `subdomain` up on a control plane billing through a fresh fake Stripe; with
    /// `webhooks`, the fake delivers its events to the control plane.
    pub async fn start(subdomain: &str, webhooks: bool) -> Self {
        Self::start_with(subdomain, webhooks, &[]).await
    }

    pub async fn start_with(subdomain: &str, webhooks: bool, extra: &[&str]) -> Self {
        let env = TestEnv::new().await;
        let stripe = FakeStripe::start().await;
        let cp = start_control_plane(&env, &stripe.api_base, extra).await;
        if webhooks {
            stripe
                .register_webhook(&cp.url("/api/stripe/webhooks"), stripe::WEBHOOK_SECRET)
                .await;
        }
        let api = env.start_tenant_api().await;
        let tenant = signup(&cp, subdomain).await;
        let admin = Session::login(&cp, &tenant.email, PASSWORD).await;
        let client = TenantClient::new(&api, subdomain);
        Self {
            stripe,
            tenant,
            admin,
            client,
            _api: api,
            cp,
            env,
        }
    }

    pub async fn billing(&self) -> Value {
        let (status, body) = self.admin.send(Method::GET, "/api/billing", None).await;
        assert_eq!(status, StatusCode::OK, "GET /api/billing: {body}");
        body
    }

    /// Waits until `GET /api/billing` satisfies `check`.
    pub async fn billing_until(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        eventually(what, || async {
            let billing = self.billing().await;
            check(&billing).then_some(billing)
        })
        .await
    }

    /// `POST /api/billing/checkout`, which must succeed.
    pub async fn checkout(&self) -> Value {
        let (status, body) = self
            .admin
            .send(
                Method::POST,
                "/api/billing/checkout",
                Some(json!({"plan": "team"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "checkout: {body}");
        body
    }

    /// Checkout, paid; waits for the Team plan. Returns the subscription id.
    pub async fn upgrade(&self) -> String {
        let session = self.checkout().await;
        let completed = self
            .stripe
            .complete_checkout(session["sessionId"].as_str().unwrap())
            .await;
        self.billing_until("the Team plan after checkout", |b| {
            b["plan"]["id"] == "team"
        })
        .await;
        completed["subscription"].as_str().unwrap().to_owned()
    }

    /// `PUT`s a pact with the read-write token; returns status and body.
    pub async fn put_pact(
        &self,
        consumer: &str,
        provider: &str,
        version: &str,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .authed(
                Method::PUT,
                &format!("/pacts/provider/{provider}/consumer/{consumer}/version/{version}"),
                &self.tenant.read_write,
            )
            .json(&pact(consumer, provider))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Waits until publishing `consumer`→`provider` answers `expected` (the tenant API learns
    /// plan changes through a notification, a moment after the control plane commits).
    pub async fn put_pact_until(
        &self,
        expected: StatusCode,
        consumer: &str,
        provider: &str,
        version: &str,
    ) -> Value {
        eventually(
            &format!("PUT {consumer}/{provider} to answer {expected}"),
            || async {
                let (status, body) = self.put_pact(consumer, provider, version).await;
                (status == expected).then_some(body)
            },
        )
        .await
    }

    /// Waits until a pact for a new integration with `provider` is refused (403); each attempt
    /// names a new consumer, since one accepted before the tenant API heard of the plan change
    /// would exist afterwards. Returns the refusal.
    pub async fn refused_new_integration(&self, provider: &str) -> Value {
        let mut attempt = 0;
        eventually("a new integration to be refused", || {
            attempt += 1;
            let consumer = format!("New{attempt}");
            async move {
                let (status, body) = self.put_pact(&consumer, provider, "1").await;
                (status == StatusCode::FORBIDDEN).then_some(body)
            }
        })
        .await
    }

    /// The tenant's audit events of `kind`.
    pub async fn audit(&self, kind: &str) -> Vec<Value> {
        let (status, body) = self
            .admin
            .send(
                Method::GET,
                &format!("/api/audit?type={kind}&limit=100"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["events"].as_array().cloned().unwrap_or_default()
    }

    /// POSTs `event` to the webhook endpoint, signed (here) with the current secret.
    pub async fn deliver(&self, event: &Value) -> (StatusCode, Value) {
        let payload = serde_json::to_vec(event).unwrap();
        let header = stripe::sign(
            &payload,
            stripe::WEBHOOK_SECRET,
            chrono::Utc::now().timestamp(),
        );
        deliver_raw(&self.cp, &payload, Some(&header)).await
    }
}

/// A control plane billing through the Stripe API at `api_base`.
pub async fn start_control_plane(
    env: &TestEnv,
    api_base: &str,
    extra: &[&str],
) -> RunningControlPlane {
    let mut flags = stripe::control_plane_flags(api_base);
    flags.extend(extra.iter().map(|s| s.to_string()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    env.start_control_plane_with(&flags).await
}

/// POSTs `payload` to the webhook endpoint with `signature` as its `Stripe-Signature`.
pub async fn deliver_raw(
    cp: &RunningControlPlane,
    payload: &[u8],
    signature: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(cp.url("/api/stripe/webhooks"))
        .header("content-type", "application/json")
        .body(payload.to_vec());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A Stripe event around `object`.
pub fn event(id: &str, kind: &str, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "type": kind,
        "api_version": "2026-09-30.endive",
        "created": chrono::Utc::now().timestamp(),
        "livemode": false,
        "data": {"object": object}
    })
}
