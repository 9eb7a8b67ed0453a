//! One body limit, one rejection, on every route of both services: a body larger than the limit
//! is answered 413 `payload_too_large` in the service's error format — whether its length is
//! declared up front or only found while the body is read (chunked) — never axum's plain-text
//! "Failed to buffer the request body" (which `/api/stripe/webhooks` once answered).

use futures::stream;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};

const CONTROL_LIMIT: usize = 2048;
const TENANT_LIMIT: usize = 4096;
const STRIPE_LIMIT: usize = 1024 * 1024;

/// `size` bytes of JSON, sent with a declared length or in chunks of unknown total length.
fn oversized(request: RequestBuilder, size: usize, chunked: bool) -> RequestBuilder {
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(size));
    let request = request.header("content-type", "application/json");
    if chunked {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
            .into_bytes()
            .chunks(1024)
            .map(|c| Ok(c.to_vec()))
            .collect();
        request.body(reqwest::Body::wrap_stream(stream::iter(chunks)))
    } else {
        request.body(body)
    }
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
        let response = oversized(
            http.request(method.clone(), cp.url(path)),
            CONTROL_LIMIT,
            false,
        )
        .send()
        .await
        .unwrap();
        assert_payload_too_large(response, &format!("{method} {path}")).await;
    }
    // Read in chunks: found while reading, on the routes that read a body first.
    for path in ["/api/signup", "/api/login", "/api/password-reset"] {
        let response = oversized(http.post(cp.url(path)), CONTROL_LIMIT, true)
            .send()
            .await
            .unwrap();
        assert_payload_too_large(response, &format!("chunked POST {path}")).await;
    }
    // Stripe's events have their own, larger limit; past it, the same answer.
    for chunked in [false, true] {
        let response = oversized(
            http.post(cp.url("/api/stripe/webhooks")),
            STRIPE_LIMIT,
            chunked,
        )
        .send()
        .await
        .unwrap();
        assert_payload_too_large(response, &format!("stripe webhook (chunked: {chunked})")).await;
    }
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
        let response = oversized(request, TENANT_LIMIT, false)
            .send()
            .await
            .unwrap();
        assert_payload_too_large(response, &format!("{method} {path}")).await;
    }
    // Found while reading a chunked body, on routes that read theirs.
    for (method, path) in [
        (Method::PUT, "/pacts/provider/P/consumer/C/version/1"),
        (Method::POST, "/contracts/publish"),
        (Method::POST, "/pacticipants"),
        (Method::POST, "/environments"),
        (Method::POST, "/webhooks"),
    ] {
        let request = client
            .authed(method.clone(), path, &tenant.read_write)
            .header("accept", "application/problem+json");
        let response = oversized(request, TENANT_LIMIT, true).send().await.unwrap();
        assert_payload_too_large(response, &format!("chunked {method} {path}")).await;
    }
    // The broker's own shape when problem JSON is not asked for: still a 413 with its error.
    let response = oversized(
        client.authed(Method::POST, "/pacticipants", &tenant.read_write),
        TENANT_LIMIT,
        true,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("larger than the limit"),
        "{body}"
    );
}
