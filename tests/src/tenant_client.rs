//! Talking to the services over HTTP as a user would: signing up (through the confirmation
//! e-mail, a login and the token API, as a newcomer does), then calling a tenant's host
//! (`<subdomain>.localhost:<port>`, resolved to the test listener without touching DNS).

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::apps::{RunningControlPlane, RunningTenantApi};
use crate::mail;
use crate::session::Session;

/// The password every harness signup uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// A tenant created through the public flow: signup, confirmation link, login, two tokens.
#[derive(Clone, Debug)]
pub struct Signup {
    pub tenant_id: uuid::Uuid,
    pub subdomain: String,
    /// The first administrator's address (`lead@<subdomain>.test`).
    pub email: String,
    pub read_write: String,
    pub read_only: String,
    /// The `POST /api/signup` response.
    pub body: Value,
}

/// Signs up `subdomain`, confirms, creates a read-write and a read-only token, and waits
/// (through the status resource) until the tenant is active.
pub async fn signup(control_plane: &RunningControlPlane, subdomain: &str) -> Signup {
    let signup = signup_only(control_plane, subdomain).await;
    let status: Value = reqwest::get(format!(
        "{}?wait=20",
        signup.body["statusUrl"]
            .as_str()
            .expect("statusUrl")
            .replace("http://localhost:9393", &control_plane.url(""))
    ))
    .await
    .expect("status request")
    .json()
    .await
    .expect("status JSON");
    assert_eq!(
        status["status"], "active",
        "tenant {subdomain} did not become active: {status}"
    );
    assert_eq!(
        status["ready"], true,
        "tenant {subdomain} is not ready: {status}"
    );
    signup
}

/// `POST /api/signup` alone: the response body (the tenant is neither confirmed nor served).
pub async fn post_signup(control_plane: &RunningControlPlane, subdomain: &str) -> Value {
    let response = reqwest::Client::new()
        .post(control_plane.url("/api/signup"))
        .json(&json!({
            "organisation": format!("Org {subdomain}"),
            "subdomain": subdomain,
            "email": format!("lead@{subdomain}.test"),
            "password": PASSWORD,
        }))
        .send()
        .await
        .expect("signup request");
    assert_eq!(response.status(), 202, "signup of {subdomain} was refused");
    response.json().await.expect("signup JSON")
}

/// Signs up, confirms through the e-mailed link, signs in and creates the two tokens — without
/// waiting for provisioning (the tokens work once the tenant is active).
pub async fn signup_only(control_plane: &RunningControlPlane, subdomain: &str) -> Signup {
    let body = post_signup(control_plane, subdomain).await;
    let email = format!("lead@{subdomain}.test");
    confirm(control_plane, &email).await;
    let session = Session::login(control_plane, &email, PASSWORD).await;
    let read_write = session.create_token("read-write", "read-write").await;
    let read_only = session.create_token("read-only", "read-only").await;
    Signup {
        tenant_id: body["tenantId"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("tenantId"),
        subdomain: subdomain.to_owned(),
        email,
        read_write,
        read_only,
        body,
    }
}

/// Follows the newest confirmation link e-mailed to `email`.
pub async fn confirm(control_plane: &RunningControlPlane, email: &str) -> Value {
    let dir = control_plane
        .mail_dir
        .as_deref()
        .expect("a control plane that writes mail to files");
    let mail = mail::wait_for(dir, email, "Confirm").await;
    let token = mail.token("/api/signup/confirm");
    let response = reqwest::get(control_plane.url(&format!("/api/signup/confirm?token={token}")))
        .await
        .expect("confirm request");
    assert_eq!(response.status(), 200, "confirming {email}");
    response.json().await.expect("confirm JSON")
}

/// Puts the tenant on `plan` through the control plane's offline billing (`PUT
/// /api/billing/plan`, development mode without Stripe) — for broker tests whose data needs more
/// integrations than the free plan allows. Call it before the tenant API first serves the tenant,
/// or allow for the moment its cache takes to hear of the change.
pub async fn set_plan(control_plane: &RunningControlPlane, tenant: &Signup, plan: &str) {
    let session = Session::login(control_plane, &tenant.email, PASSWORD).await;
    let (status, body) = session
        .send(
            Method::PUT,
            "/api/billing/plan",
            Some(json!({ "plan": plan })),
        )
        .await;
    assert_eq!(
        status, 200,
        "setting the plan of {}: {body}",
        tenant.subdomain
    );
}

/// HTTP to one tenant host of a running tenant API.
#[derive(Clone)]
pub struct TenantClient {
    client: reqwest::Client,
    pub base_url: String,
}

impl TenantClient {
    pub fn new(api: &RunningTenantApi, subdomain: &str) -> Self {
        let host = format!("{subdomain}.localhost");
        let client = reqwest::Client::builder()
            .resolve(&host, api.running.addr)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            client,
            base_url: format!("http://{host}:{}", api.port()),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url))
    }

    /// A request with `Authorization: Bearer <token>`.
    pub fn authed(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }
}
