//! The harness that verifies the tenant API against the Pact Broker client's own contracts
//! (`../shared/compat/pacts/`), as the Ruby broker's CI does: the real `pact verifier` replays
//! every interaction against a tenant, with provider states loaded before each one.
//!
//! Between the verifier and the tenant API sits a test-only proxy — never part of production —
//! that does what the broker's `HalRelationProxyApp` does: maps the v1 file's placeholder paths
//! to real ones, restores the order of matrix query strings the Rust verifier re-sorts, sends the
//! request to the compat tenant's own domain (`example.org`, so links are the literal
//! `http://example.org/…` the contracts assert) and adds the tenant's token. The same server
//! answers the verifier's state-change calls: reset the tenant database, load the state.

mod fixtures;
mod rewrite;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use sqlx::PgPool;

/// The compat tenant's custom domain: links in responses start with `http://example.org`.
pub const COMPAT_DOMAIN: &str = "example.org";

struct Proxy {
    tenant_api: SocketAddr,
    token: String,
    tenant_db: PgPool,
    http: reqwest::Client,
}

/// A running harness; dropped with the test.
pub struct CompatHarness {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CompatHarness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CompatHarness {
    pub async fn start(tenant_api: SocketAddr, token: String, tenant_db: PgPool) -> Self {
        let proxy = Arc::new(Proxy {
            tenant_api,
            token,
            tenant_db,
            http: reqwest::Client::new(),
        });
        let app = Router::new()
            .route("/_provider-states", post(change_state))
            .fallback(forward)
            .with_state(proxy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind harness");
        let addr = listener.local_addr().expect("harness address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, task }
    }

    pub fn state_change_url(&self) -> String {
        format!("http://{}/_provider-states", self.addr)
    }
}

#[derive(Deserialize)]
struct StateChange {
    action: String,
    #[serde(default)]
    state: String,
}

async fn change_state(
    State(proxy): State<Arc<Proxy>>,
    Json(change): Json<StateChange>,
) -> Response {
    eprintln!("compat state: {} {:?}", change.action, change.state);
    if change.action != "setup" {
        return StatusCode::OK.into_response();
    }
    let result = async {
        fixtures::reset(&proxy.tenant_db).await?;
        fixtures::load(&proxy.tenant_db, &change.state).await
    }
    .await;
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => {
            eprintln!("compat state {:?} failed: {err:#}", change.state);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("provider state {:?}: {err:#}", change.state),
            )
                .into_response()
        }
    }
}

const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "transfer-encoding",
    "content-length",
    "host",
    "keep-alive",
];

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = rewrite::path(parts.uri.path());
    let query = rewrite::query(parts.uri.query().unwrap_or_default());
    let url = format!(
        "http://{}{}{}",
        proxy.tenant_api,
        path,
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    );
    let body: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    let mut outgoing = proxy.http.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "authorization" {
            outgoing = outgoing.header(name, value);
        }
    }
    outgoing = outgoing
        .header("host", COMPAT_DOMAIN)
        .bearer_auth(&proxy.token);
    eprintln!(
        "compat proxy: {} {path}{}",
        parts.method,
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    );
    let upstream = match outgoing.send().await {
        Ok(upstream) => upstream,
        Err(err) => return (StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    };
    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response = response.header(
                HeaderName::from_bytes(name.as_ref()).expect("valid header"),
                value.as_bytes(),
            );
        }
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    response.body(Body::from(bytes)).expect("valid response")
}
