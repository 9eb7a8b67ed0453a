//! Redis down: the tenant API keeps serving and pays Redis's timeout once, not per call; the
//! control plane's login and signup fail closed (503 + `Retry-After`, at once after the first
//! failure) rather than rate-limiting nothing.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::bench::free_port;
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};

/// A Redis URL where nothing listens.
fn dead_redis() -> String {
    format!("redis://127.0.0.1:{}", free_port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_the_tenant_api_pays_its_timeout_once_not_per_call() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let mut tenants = Vec::new();
    for i in 0..4 {
        tenants.push(signup(&cp, &format!("noredis-{i}")).await);
    }
    let redis = dead_redis();
    let api = env
        .start_tenant_api_with(&["--redis-url", redis.as_str(), "--route-cache-ttl-secs", "1"])
        .await;
    // Open every tenant's pool first, then let the in-process route cache expire: each tenant's
    // next request misses it and would ask Redis — the only slow part left.
    for tenant in &tenants {
        let client = TenantClient::new(&api, &tenant.subdomain);
        let response = client
            .authed(Method::GET, "/pacticipants", &tenant.read_only)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut slow = Vec::new();
    for tenant in &tenants {
        let client = TenantClient::new(&api, &tenant.subdomain);
        let started = Instant::now();
        let response = client
            .authed(Method::GET, "/pacticipants", &tenant.read_only)
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(response.status(), StatusCode::OK);
        if took >= Duration::from_millis(250) {
            slow.push(took);
        }
    }
    assert!(
        slow.len() <= 1,
        "more than one request paid the Redis timeout: {slow:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_login_and_signup_fail_closed_and_fast() {
    let env = TestEnv::new().await;
    let redis = dead_redis();
    let prefix = format!("treaty-it-{}", env.id);
    let cp = env
        .start_control_plane_with(&[
            "--redis-url",
            redis.as_str(),
            "--redis-key-prefix",
            prefix.as_str(),
        ])
        .await;
    let http = reqwest::Client::new();
    let mut took = Vec::new();
    for attempt in 0..3 {
        let started = Instant::now();
        let response = http
            .post(cp.url("/api/login"))
            .json(&json!({"email": "someone@example.test", "password": "not checked at all"}))
            .send()
            .await
            .unwrap();
        took.push(started.elapsed());
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "attempt {attempt}"
        );
        assert_eq!(response.headers()["retry-after"], "1");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unavailable", "{body}");
    }
    assert!(
        took[1..].iter().all(|t| *t < Duration::from_millis(100)),
        "after the first failure Redis is skipped, not waited for: {took:?}"
    );
    let response = http
        .post(cp.url("/api/signup"))
        .json(&json!({"organisation": "Acme", "subdomain": "acme-noredis",
                      "email": "lead@acme-noredis.test", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
