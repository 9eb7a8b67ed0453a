//! Talking to the services over HTTP as a user would: signing up, then calling a tenant's host
//! (`<subdomain>.localhost:<port>`, resolved to the test listener without touching DNS).

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::apps::{RunningControlPlane, RunningTenantApi};

/// A tenant created through `POST /api/signup`.
#[derive(Clone, Debug)]
pub struct Signup {
    pub tenant_id: uuid::Uuid,
    pub subdomain: String,
    pub read_write: String,
    pub read_only: String,
    pub body: Value,
}

/// Signs up `subdomain` and waits (through the status resource) until it is active.
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
    signup
}

/// Signs up without waiting for provisioning.
pub async fn signup_only(control_plane: &RunningControlPlane, subdomain: &str) -> Signup {
    let response = reqwest::Client::new()
        .post(control_plane.url("/api/signup"))
        .json(&json!({
            "organisation": format!("Org {subdomain}"),
            "subdomain": subdomain,
            "email": format!("lead@{subdomain}.test"),
            "password": "correct horse battery staple",
        }))
        .send()
        .await
        .expect("signup request");
    assert_eq!(response.status(), 202, "signup of {subdomain} was refused");
    let body: Value = response.json().await.expect("signup JSON");
    Signup {
        tenant_id: body["tenantId"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("tenantId"),
        subdomain: subdomain.to_owned(),
        read_write: body["tokens"]["readWrite"]
            .as_str()
            .expect("readWrite token")
            .to_owned(),
        read_only: body["tokens"]["readOnly"]
            .as_str()
            .expect("readOnly token")
            .to_owned(),
        body,
    }
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
