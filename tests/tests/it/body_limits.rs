//! One body limit, one rejection, on every route of both services: a body larger than the limit
//! is answered 413 `payload_too_large` in the service's error format — whether its length is
//! declared up front or only found while the body is read (chunked) — never axum's plain-text
//! "Failed to buffer the request body" (which `/api/stripe/webhooks` once answered).

use std::net::SocketAddr;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONTROL_LIMIT: usize = 2048;
const TENANT_LIMIT: usize = 4096;
const STRIPE_LIMIT: usize = 1024 * 1024;

/// More than `size` bytes of JSON.
fn body_over(size: usize) -> String {
    format!("{{\"pad\":\"{}\"}}", "x".repeat(size))
}

/// `size` bytes of JSON with a declared length.
fn oversized(request: RequestBuilder, size: usize) -> RequestBuilder {
    request
        .header("content-type", "application/json")
        .body(body_over(size))
}

/// The same in chunks of unknown total length (`Transfer-Encoding: chunked`), written by hand:
/// the answer must come from reading the body, not from its declared length.
/// Returns status, content type and body.
async fn chunked(
    addr: SocketAddr,
    method: &Method,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    size: usize,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body_over(size).as_bytes().chunks(1024) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break; // answered and closed before the whole body was sent
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    // A chunked response body: take the JSON document out of it.
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) => body[start..=end].to_owned(),
        _ => body.to_owned(),
    };
    (status, content_type, body)
}

fn assert_chunked_payload_too_large(answer: (u16, String, String), what: &str) {
    let (status, content_type, text) = answer;
    assert_eq!(status, 413, "{what}: {text}");
    assert_eq!(content_type, "application/problem+json", "{what}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {text}"));
    assert_eq!(body["code"], "payload_too_large", "{what}: {body}");
}

async fn assert_payload_too_large(response: Response, what: &str) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{what}: {text}");
    assert_eq!(content_type, "application/problem+json", "{what}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {text}"));
    assert_eq!(body["code"], "payload_too_large", "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_plane_route_answers_a_too_large_body_with_problem_json() {
    let env = TestEnv::new().await;
    let limit = CONTROL_LIMIT.to_string();
    let cp = env
        .start_control_plane_with(&["--max-body-bytes", &limit])
        .await;
    let http = reqwest::Client::new();
    let id = uuid::Uuid::new_v4();
    let routes: Vec<(Method, String)> = [
        (Method::POST, "/api/signup"),
        (Method::GET, "/api/signups/{id}"),
        (Method::GET, "/api/signup/confirm"),
        (Method::POST, "/api/signup/confirm"),
        (Method::POST, "/api/signup/resend-confirmation"),
        (Method::POST, "/api/login"),
        (Method::POST, "/api/logout"),
        (Method::GET, "/api/user"),
        (Method::POST, "/api/password-reset"),
        (Method::POST, "/api/password-reset/confirm"),
        (Method::GET, "/api/invitations/accept"),
        (Method::POST, "/api/invitations/accept"),
        (Method::GET, "/api/settings/tokens"),
        (Method::POST, "/api/settings/tokens"),
        (Method::DELETE, "/api/settings/tokens/{id}"),
        (Method::POST, "/api/settings/tokens/{id}/regenerate"),
        (Method::GET, "/api/admin/users"),
        (Method::POST, "/api/admin/users/invite-user"),
        (Method::GET, "/api/admin/users/{id}"),
        (Method::PUT, "/api/admin/users/{id}"),
        (Method::DELETE, "/api/admin/users/{id}"),
        (Method::GET, "/api/admin/system-accounts"),
        (Method::POST, "/api/admin/system-accounts"),
        (Method::GET, "/api/admin/system-accounts/{id}"),
        (Method::PUT, "/api/admin/system-accounts/{id}"),
        (Method::DELETE, "/api/admin/system-accounts/{id}"),
        (Method::GET, "/api/admin/system-accounts/{id}/tokens"),
        (Method::POST, "/api/admin/system-accounts/{id}/tokens"),
        (
            Method::DELETE,
            "/api/admin/system-accounts/{id}/tokens/{id}",
        ),
        (
            Method::POST,
            "/api/admin/system-accounts/{id}/tokens/{id}/regenerate",
        ),
        (Method::GET, "/api/audit"),
        (Method::GET, "/api/billing"),
        (Method::POST, "/api/billing/checkout"),
        (Method::POST, "/api/billing/portal"),
        (Method::PUT, "/api/billing/plan"),
        (Method::GET, "/health"),
    ]
    .into_iter()
    .map(|(method, path)| (method, path.replace("{id}", &id.to_string())))
    .collect();
    for (method, path) in &routes {
        let response = oversized(http.request(method.clone(), cp.url(path)), CONTROL_LIMIT)
            .send()
            .await
            .unwrap();
        assert_payload_too_large(response, &format!("{method} {path}")).await;
    }
    // Read in chunks: found while reading, on the routes that read a body first.
    let addr = cp.running.addr;
    for path in ["/api/signup", "/api/login", "/api/password-reset"] {
        let answer = chunked(addr, &Method::POST, "localhost", path, &[], CONTROL_LIMIT).await;
        assert_chunked_payload_too_large(answer, &format!("chunked POST {path}"));
    }
    // Stripe's events have their own, larger limit; past it, the same answer.
    let response = oversized(http.post(cp.url("/api/stripe/webhooks")), STRIPE_LIMIT)
        .send()
        .await
        .unwrap();
    assert_payload_too_large(response, "stripe webhook").await;
    let answer = chunked(
        addr,
        &Method::POST,
        "localhost",
        "/api/stripe/webhooks",
        &[],
        STRIPE_LIMIT,
    )
    .await;
    assert_chunked_payload_too_large(answer, "chunked stripe webhook");
    let small = http
        .post(cp.url("/api/stripe/webhooks"))
        .header("content-type", "application/json")
        .body("x".repeat(CONTROL_LIMIT * 2))
        .send()
        .await
        .unwrap();
    assert_ne!(
        small.status(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "a webhook event above the general limit but within Stripe's is read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_api_route_answers_a_too_large_body_with_the_same_rejection() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let limit = TENANT_LIMIT.to_string();
    let api = env
        .start_tenant_api_with(&["--max-body-bytes", &limit])
        .await;
    let tenant = signup(&cp, "limits").await;
    let client = TenantClient::new(&api, "limits");
    let id = uuid::Uuid::new_v4().to_string();
    let sha = "0".repeat(40);
    let body_routes: Vec<(Method, String)> = [
        (Method::PUT, "/pacts/provider/P/consumer/C/version/1"),
        (Method::PATCH, "/pacts/provider/P/consumer/C/version/1"),
        (Method::POST, "/contracts/publish"),
        (Method::POST, "/pacticipants"),
        (Method::PUT, "/pacticipants/A"),
        (Method::PATCH, "/pacticipants/A"),
        (Method::PUT, "/pacticipants/A/versions/1"),
        (Method::PATCH, "/pacticipants/A/versions/1"),
        (Method::PUT, "/pacticipants/A/versions/1/tags/t"),
        (Method::PUT, "/pacticipants/A/branches/main/versions/1"),
        (Method::PUT, "/pacticipants/A/labels/l"),
        (
            Method::POST,
            "/pacticipants/A/versions/1/deployed-versions/environment/{id}",
        ),
        (
            Method::POST,
            "/pacticipants/A/versions/1/released-versions/environment/{id}",
        ),
        (Method::PATCH, "/deployed-versions/{id}"),
        (Method::PATCH, "/released-versions/{id}"),
        (Method::POST, "/environments"),
        (Method::PUT, "/environments/{id}"),
        (Method::POST, "/webhooks"),
        (Method::PUT, "/webhooks/{id}"),
        (Method::POST, "/webhooks/{id}/execute"),
        (Method::POST, "/pacts/provider/P/consumer/C/webhooks"),
        (Method::POST, "/pacts/provider/P/for-verification"),
        (
            Method::POST,
            "/pacts/provider/P/consumer/C/pact-version/{sha}/verification-results",
        ),
        (Method::GET, "/"),
        (Method::GET, "/matrix"),
        (Method::GET, "/diagnostic/status/heartbeat"),
    ]
    .into_iter()
    .map(|(method, path)| (method, path.replace("{id}", &id).replace("{sha}", &sha)))
    .collect();
    for (method, path) in &body_routes {
        let request = client
            .authed(method.clone(), path, &tenant.read_write)
            .header("accept", "application/problem+json");
        let response = oversized(request, TENANT_LIMIT).send().await.unwrap();
        assert_payload_too_large(response, &format!("{method} {path}")).await;
    }
    // Found while reading a chunked body, on routes that read theirs.
    let bearer = format!("Bearer {}", tenant.read_write);
    for (method, path) in [
        (Method::PUT, "/pacts/provider/P/consumer/C/version/1"),
        (Method::POST, "/contracts/publish"),
        (Method::POST, "/pacticipants"),
        (Method::POST, "/environments"),
        (Method::POST, "/webhooks"),
    ] {
        let answer = chunked(
            api.running.addr,
            &method,
            "limits.localhost",
            path,
            &[
                ("Authorization", &bearer),
                ("Accept", "application/problem+json"),
            ],
            TENANT_LIMIT,
        )
        .await;
        assert_chunked_payload_too_large(answer, &format!("chunked {method} {path}"));
    }
    // The broker's own shape when problem JSON is not asked for: still a 413 with its error.
    let (status, _, text) = chunked(
        api.running.addr,
        &Method::POST,
        "limits.localhost",
        "/pacticipants",
        &[("Authorization", &bearer)],
        TENANT_LIMIT,
    )
    .await;
    assert_eq!(status, 413, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("larger than the limit"),
        "{body}"
    );
}
