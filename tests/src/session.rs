//! A signed-in person on the control plane, as a browser would be: the session cookie from the
//! login response sent back on every request, and the CSRF token on state-changing ones.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

use crate::apps::RunningControlPlane;

#[derive(Clone)]
pub struct Session {
    client: reqwest::Client,
    base: String,
    /// `treaty_session=<secret>`.
    pub cookie: String,
    pub csrf: String,
    /// The login response.
    pub body: Value,
}

/// The `name=value` part of a `Set-Cookie` header for the session cookie.
pub fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("treaty_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// `POST /api/login`; the raw response.
pub async fn login_response(
    cp: &RunningControlPlane,
    email: &str,
    password: &str,
    subdomain: Option<&str>,
) -> Response {
    let mut body = json!({"email": email, "password": password});
    if let Some(subdomain) = subdomain {
        body["subdomain"] = json!(subdomain);
    }
    reqwest::Client::new()
        .post(cp.url("/api/login"))
        .json(&body)
        .send()
        .await
        .expect("login request")
}

impl Session {
    /// Signs in, panicking unless it works.
    pub async fn login(cp: &RunningControlPlane, email: &str, password: &str) -> Self {
        let response = login_response(cp, email, password, None).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {email} failed");
        let cookie = session_cookie(&response).expect("session cookie");
        let body: Value = response.json().await.expect("login JSON");
        Self {
            client: reqwest::Client::new(),
            base: cp.url(""),
            cookie,
            csrf: body["csrfToken"].as_str().expect("csrfToken").to_owned(),
            body,
        }
    }

    /// A request with the cookie and the CSRF header.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
    }

    /// A request with the cookie but without the CSRF header (what a forged cross-site request
    /// would carry).
    pub fn request_without_csrf(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
    }

    /// Sends and returns status and JSON body (`Null` when there is none).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control-plane request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates an API token for the signed-in person and returns its value.
    pub async fn create_token(&self, name: &str, scope: &str) -> String {
        let (status, body) = self
            .send(
                Method::POST,
                "/api/settings/tokens",
                Some(json!({"name": name, "scope": scope})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "creating token {name}: {body}");
        body["value"].as_str().expect("token value").to_owned()
    }
}
