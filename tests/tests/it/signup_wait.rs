//! `GET /api/signups/{id}?wait=N`: waiting costs the control database nothing while nothing
//! changes (one listener per process, no polling), wakes promptly when provisioning finishes,
//! and is rate-limited per client IP.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tests::TestEnv;

/// Transactions committed in the test's control database, once every backend that ran them
/// has exited (statistics are flushed at exit).
async fn committed(env: &TestEnv) -> i64 {
    tokio::time::sleep(Duration::from_millis(700)).await;
    sqlx::query_scalar(
        "select xact_commit from pg_stat_database where datname = current_database()",
    )
    .fetch_one(&env.control)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_waiters_cost_no_queries_and_wake_when_provisioning_finishes() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let body = tests::tenant_client::post_signup(&cp, "waitco").await;
    let id = body["tenantId"].as_str().unwrap().to_owned();
    // A wait ends when the tenant is ready: provisioned and confirmed.
    tests::tenant_client::confirm(&cp, "lead@waitco.test").await;
    let status: Value = reqwest::get(cp.url(&format!("/api/signups/{id}?wait=20")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["ready"], true);
    cp.stop().await;

    // Put the tenant back one step, held by a worker that will never come back: it looks like
    // provisioning in progress, and nothing moves until the hold is released.
    sqlx::query(
        "update tenant set lifecycle = 'key_created', activated_at = null,
            lease_owner = gen_random_uuid(), lease_expires_at = now() + interval '1 hour'
         where tenant_id = $1::uuid",
    )
    .bind(&id)
    .execute(&env.control)
    .await
    .unwrap();
    let before = committed(&env).await;

    let cp = env.start_control_plane().await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = cp.url(&format!("/api/signups/{id}?wait=10"));
    let waiters: Vec<_> = (0..300)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let response = get_json(&client, &url).await;
                (response, Instant::now())
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Meanwhile other requests are answered at once, and the process holds no more than its pool
    // (16) plus the one listener.
    let started = Instant::now();
    let side = client
        .get(cp.url(&format!("/api/signups/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(side.status(), StatusCode::OK);
    let side_latency = started.elapsed();
    let connections: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity
         where datname = current_database() and application_name = 'treaty-control-plane'",
    )
    .fetch_one(&env.control)
    .await
    .unwrap();
    assert!(connections <= 17, "{connections} control connections");
    tokio::time::sleep(Duration::from_millis(1000)).await;

    // Release the hold: the worker finishes the last step, and every waiter hears of it.
    let released = Instant::now();
    sqlx::query(
        "update tenant set lease_owner = null, lease_expires_at = null, next_attempt_at = now()
         where tenant_id = $1::uuid",
    )
    .bind(&id)
    .execute(&env.control)
    .await
    .unwrap();
    let mut slowest = Duration::ZERO;
    for waiter in waiters {
        let ((status, body), at) = waiter.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["ready"], true, "{body}");
        slowest = slowest.max(at.saturating_duration_since(released));
    }
    cp.stop().await;
    let queries = committed(&env).await - before;
    eprintln!(
        "300 waiters: {queries} control transactions in the control plane's life, \
         side request {side_latency:?}, slowest wake-up {slowest:?} after the release"
    );
    assert!(
        slowest < Duration::from_millis(2000),
        "waiters woke {slowest:?} after provisioning could finish"
    );
    assert!(
        side_latency < Duration::from_millis(1000),
        "a plain status request took {side_latency:?} among the waiters"
    );
    // Polling every 10 ms would be about 100 queries per waiter per second; hearing the change
    // costs a few reads per waiter.
    assert!(
        queries < 3000,
        "{queries} control-database transactions for 300 waiters"
    );
}

async fn get_json(client: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_signup_is_rate_limited_per_client() {
    let env = TestEnv::new().await;
    let cp = env
        .start_control_plane_with(&["--rate-limit-signup-wait", "2/86400"])
        .await;
    let body = tests::tenant_client::post_signup(&cp, "waitlimit").await;
    let id = body["tenantId"].as_str().unwrap().to_owned();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = reqwest::get(cp.url(&format!("/api/signups/{id}?wait=1")))
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Asking without waiting is not limited.
    for _ in 0..3 {
        let response = reqwest::get(cp.url(&format!("/api/signups/{id}")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
