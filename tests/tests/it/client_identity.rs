//! Who the control plane thinks a client is, and where it thinks a request comes from: the
//! client IP behind trusted proxies (per-IP limits cannot be dodged by writing
//! `X-Forwarded-For`, IPv6 clients share their /64's limit) and cross-site form posts to login.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tests::TestEnv;

/// A wrong-password login for a fresh address (so only the per-IP limit can trip), with the
/// given `X-Forwarded-For`.
async fn login_as(cp: &tests::RunningControlPlane, n: usize, forwarded_for: &str) -> StatusCode {
    reqwest::Client::new()
        .post(cp.url("/api/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": format!("nobody{n}@example.test"), "password": "wrong password"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_dodge_per_ip_limits_by_writing_x_forwarded_for() {
    let env = TestEnv::new().await;
    let cp = env
        .start_control_plane_with(&[
            "--trust-forwarded-headers",
            "true",
            "--trusted-proxy-count",
            "1",
            "--rate-limit-login",
            "3/86400",
        ])
        .await;
    // Our one proxy appends the address it saw (203.0.113.7); whatever the client sent before
    // it changes on every attempt.
    let mut statuses = Vec::new();
    for n in 0..5 {
        statuses.push(login_as(&cp, n, &format!("198.51.100.{n}, 203.0.113.7")).await);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Another client behind the same proxy has its own count.
    assert_eq!(
        login_as(&cp, 9, "198.51.100.1, 203.0.113.8").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ipv6_addresses_in_one_slash_64_share_a_limit() {
    let env = TestEnv::new().await;
    let cp = env
        .start_control_plane_with(&[
            "--trust-forwarded-headers",
            "true",
            "--rate-limit-login",
            "3/86400",
        ])
        .await;
    let mut statuses = Vec::new();
    for (n, address) in [
        "2001:db8:7:1::a",
        "2001:db8:7:1::b",
        "2001:db8:7:1:ffff::c",
        "2001:db8:7:1::d",
    ]
    .into_iter()
    .enumerate()
    {
        statuses.push(login_as(&cp, n, address).await);
    }
    assert_eq!(statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    // The neighbouring /64 is someone else.
    assert_eq!(
        login_as(&cp, 9, "2001:db8:7:2::a").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_form_posts_to_login_are_refused() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    tests::tenant_client::post_signup(&cp, "csrfco").await;
    tests::tenant_client::confirm(&cp, "lead@csrfco.test").await;
    let form = [
        ("email", "lead@csrfco.test"),
        ("password", tests::tenant_client::PASSWORD),
    ];
    let client = reqwest::Client::new();
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let response = client
            .post(cp.url("/api/login"))
            .header(name, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert!(response.headers().get("set-cookie").is_none());
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "forbidden", "{problem}");
    }
    // The same form from the control plane's own origin, and from a program, signs in.
    for headers in [
        vec![
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://localhost:9393"),
        ],
        vec![],
    ] {
        let mut request = client.post(cp.url("/api/login")).form(&form);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::OK);
    }
    // JSON cannot be posted cross-site without a preflight, so it is not checked.
    let json = client
        .post(cp.url("/api/login"))
        .header("origin", "https://evil.example")
        .json(&json!({"email": "lead@csrfco.test", "password": tests::tenant_client::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
}
