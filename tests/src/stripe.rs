//! Stripe for the billing tests, without Stripe: a stateful fake (localstripe and the endpoints it
//! lacks, `tests/stripe/fake_stripe.py`) on a free loopback port, killed when dropped; webhook
//! signatures computed here independently of the control plane's code, and by the official
//! Python library (`tests/stripe/signature.py`) to cross-check the scheme.

use std::process::Stdio;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use crate::tools::workspace;

/// The API key the control plane uses against the fake (any `sk_test_…` works).
pub const SECRET_KEY: &str = "sk_test_treaty_billing";
/// The webhook endpoint's signing secret, and the one it is rotating away from.
pub const WEBHOOK_SECRET: &str = "whsec_treaty_current";
pub const OLD_WEBHOOK_SECRET: &str = "whsec_treaty_previous";
/// The Team plan's price (a localstripe plan with this id).
pub const TEAM_PRICE: &str = "price_team_test";
/// Cards: one that pays, one that is declined when charged.
pub const GOOD_CARD: &str = "4242424242424242";
pub const DECLINED_CARD: &str = "4000000000000341";

fn python() -> std::path::PathBuf {
    let path = workspace().join(".tools/venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run `make tools`",
        path.display()
    );
    path
}

/// The control-plane flags that point billing at `api_base`.
pub fn control_plane_flags(api_base: &str) -> Vec<String> {
    [
        "--stripe-secret-key",
        SECRET_KEY,
        "--stripe-api-base",
        api_base,
        "--stripe-webhook-secrets",
        &format!("{OLD_WEBHOOK_SECRET},{WEBHOOK_SECRET}"),
        "--stripe-price-team",
        TEAM_PRICE,
        "--billing-poll-ms",
        "100",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A running fake Stripe.
pub struct FakeStripe {
    /// `http://127.0.0.1:<port>`: STRIPE_API_BASE.
    pub api_base: String,
    client: reqwest::Client,
    _child: Child,
}

impl FakeStripe {
    /// Starts it, with the Team price created.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(python())
            .arg(workspace().join("tests/stripe/fake_stripe.py"))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the fake Stripe (run `make tools`)");
        let api_base = format!("http://127.0.0.1:{port}");
        let stripe = Self {
            api_base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            _child: child,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                stripe
                    .api(
                        reqwest::Method::POST,
                        "/v1/plans",
                        &[
                            ("id", TEAM_PRICE),
                            ("amount", "900"),
                            ("currency", "eur"),
                            ("interval", "month"),
                            ("product[name]", "Treaty Team"),
                        ],
                    )
                    .await;
                return stripe;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the fake Stripe did not start on port {port}");
    }

    /// A Stripe API call, as the secret key's holder; panics unless it succeeds.
    pub async fn api(&self, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
        let response = self
            .client
            .request(method.clone(), format!("{}{path}", self.api_base))
            .basic_auth(SECRET_KEY, Some(""))
            .form(form)
            .send()
            .await
            .expect("fake Stripe request");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    /// Registers the control plane's webhook endpoint (localstripe's `/_config/webhooks`).
    pub async fn register_webhook(&self, url: &str, secret: &str) {
        self.api(
            reqwest::Method::POST,
            "/_config/webhooks/treaty",
            &[("url", url), ("secret", secret)],
        )
        .await;
    }

    /// The customer pays on the hosted Checkout page.
    pub async fn complete_checkout(&self, session: &str) -> Value {
        self.api(
            reqwest::Method::POST,
            &format!("/_config/test/checkout/{session}/complete"),
            &[("card", GOOD_CARD)],
        )
        .await
    }

    /// A renewal invoice is charged to `card`; returns the invoice.
    pub async fn renew(&self, subscription: &str, card: &str) -> Value {
        self.api(
            reqwest::Method::POST,
            &format!("/_config/test/subscriptions/{subscription}/renew"),
            &[("card", card)],
        )
        .await
    }

    /// The customer fixes their card and the invoice is charged again.
    pub async fn pay_invoice(&self, invoice: &str, card: &str) -> Value {
        self.api(
            reqwest::Method::POST,
            &format!("/_config/test/invoices/{invoice}/pay"),
            &[("card", card)],
        )
        .await
    }

    pub async fn subscription(&self, id: &str) -> Value {
        self.api(
            reqwest::Method::GET,
            &format!("/v1/subscriptions/{id}"),
            &[],
        )
        .await
    }

    /// The API requests the fake received, oldest first.
    pub async fn requests(&self) -> Vec<Value> {
        self.api(reqwest::Method::GET, "/v1/requests", &[]).await["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// `t=<timestamp>,v1=<HMAC-SHA256(secret, "<timestamp>.<payload>")>`, computed here.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

async fn python_signature(args: &[&str], payload: &[u8]) -> (bool, String) {
    let mut child = Command::new(python())
        .arg(workspace().join("tests/stripe/signature.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Stripe Python library (run `make tools`)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(payload).await.expect("write payload");
    drop(stdin);
    let output = child.wait_with_output().await.expect("signature.py");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    )
}

/// The header the official Stripe library (`WebhookSignature.generate_signature_header`) makes.
pub async fn python_sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let (ok, out) = python_signature(&["sign", secret, &timestamp.to_string()], payload).await;
    assert!(ok, "signature.py sign: {out}");
    out
}

/// Whether the official Stripe library (`Webhook.construct_event`, 300 s tolerance) accepts
/// `header` for `payload`; `Err` carries its reason.
pub async fn python_verify(payload: &[u8], secret: &str, header: &str) -> Result<(), String> {
    let (ok, out) = python_signature(&["verify", secret, header], payload).await;
    if ok {
        Ok(())
    } else {
        Err(out)
    }
}
