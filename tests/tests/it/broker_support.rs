//! A running tenant for the broker-resource tests, with terse request helpers.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tests::tenant_client::{set_plan, signup};
use tests::{RunningControlPlane, RunningTenantApi, Signup, TenantClient, TestEnv};

/// One tenant on a running tenant API (services first, so they stop before the databases go).
pub struct Broker {
    pub client: TenantClient,
    pub tenant: Signup,
    _api: RunningTenantApi,
    _control_plane: RunningControlPlane,
    pub env: TestEnv,
}

/// A response, read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as JSON (`null` when it is empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Broker {
    pub async fn start(subdomain: &str) -> Self {
        let env = TestEnv::new().await;
        let control_plane = env.start_control_plane().await;
        let api = env.start_tenant_api().await;
        let tenant = signup(&control_plane, subdomain).await;
        // Broker tests publish as many integrations as they need.
        set_plan(&control_plane, &tenant, "enterprise").await;
        let client = TenantClient::new(&api, subdomain);
        Self {
            client,
            tenant,
            _api: api,
            _control_plane: control_plane,
            env,
        }
    }

    pub fn base(&self) -> &str {
        &self.client.base_url
    }

    /// A read-write request with the headers the Pact CLI sends.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .authed(method, path, &self.tenant.read_write)
            .header("accept", "application/hal+json")
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// A request with a JSON body of the given content type.
    pub async fn with_body(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &Value,
    ) -> Reply {
        self.send(
            self.request(method, path)
                .header("content-type", content_type)
                .body(body.to_string()),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.with_body(Method::PUT, path, "application/json", body)
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.with_body(Method::POST, path, "application/json", body)
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.with_body(Method::PATCH, path, "application/merge-patch+json", body)
            .await
    }

    /// A superuser pool on this tenant's database, for fixtures and assertions.
    pub async fn database(&self) -> sqlx::PgPool {
        self.env.tenant_database(self.tenant.tenant_id).await
    }

    /// Creates an environment and returns its UUID.
    pub async fn create_environment(&self, name: &str, production: bool) -> String {
        let reply = self
            .post(
                "/environments",
                &serde_json::json!({ "name": name, "production": production }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json()["uuid"].as_str().expect("uuid").to_owned()
    }
}

/// Asserts the status of a reply, showing its body when it differs.
#[track_caller]
pub fn expect(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "body: {}", reply.text);
}
