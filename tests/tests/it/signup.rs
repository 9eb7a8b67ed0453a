//! Signup through the control plane's HTTP API: the happy path and every kind of bad input.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tests::tenant_client::{signup, signup_only};
use tests::TestEnv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_answers_202_without_tokens_and_the_tenant_is_ready_once_confirmed() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;

    let response = reqwest::Client::new()
        .post(cp.url("/api/signup"))
        .json(&json!({"organisation": "Acme", "subdomain": "Acme", "email": "lead@acme.test", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["subdomain"], "acme");
    assert_eq!(body["status"], "requested");
    assert_eq!(body["baseUrl"], "http://acme.localhost:9292");
    assert_eq!(body["statusUrl"], location);
    assert!(
        body.get("tokens").is_none(),
        "no tokens before confirmation: {body}"
    );

    // Provisioned, but not ready until the address is confirmed.
    let id = body["tenantId"].as_str().unwrap();
    let status: Value = reqwest::get(cp.url(&format!("/api/signups/{id}?wait=2")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "active");
    assert_eq!(status["confirmed"], false);
    assert_eq!(status["ready"], false);
    let confirmed = tests::tenant_client::confirm(&cp, "lead@acme.test").await;
    assert_eq!(confirmed["confirmed"], true);
    let status: Value = reqwest::get(cp.url(&format!("/api/signups/{id}?wait=20")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["ready"], true);

    // Tokens are created after login, and stored only as hashes.
    let session = tests::Session::login(&cp, "lead@acme.test", "correct horse battery").await;
    let token = session.create_token("ci", "read-write").await;
    assert!(token.starts_with("trty_") && token.len() >= 40, "{token}");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select token_hash from api_token")
        .fetch_all(&env.control)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    for hash in stored {
        assert_eq!(hash.len(), 32);
        assert!(!String::from_utf8_lossy(&hash).contains("trty_"));
    }
    // The password only as an Argon2id hash.
    let hash: String = sqlx::query_scalar("select password_hash from app_user")
        .fetch_one(&env.control)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_and_curl_style_json_in_a_form_post_both_sign_up() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let client = reqwest::Client::new();

    let form = client
        .post(cp.url("/api/signup"))
        .form(&[
            ("organisation", "Form Co"),
            ("subdomain", "formco"),
            ("email", "a@formco.test"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::ACCEPTED);

    // `curl -d '{…}'` sends JSON labelled application/x-www-form-urlencoded.
    let curlish = client
        .post(cp.url("/api/signup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"organisation":"Curl Co","subdomain":"curlco","email":"a@curlco.test","password":"correct horse battery"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(curlish.status(), StatusCode::ACCEPTED);
}

async fn post_raw(
    url: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().post(url).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "status {status}"
    );
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signups_get_a_clear_4xx_and_create_nothing() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let url = cp.url("/api/signup");
    let good = json!({"organisation": "Acme", "subdomain": "acme", "email": "lead@acme.test", "password": "correct horse battery"});
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body.to_string()
    };

    let cases: Vec<(&str, Option<&str>, String, StatusCode, &str)> = vec![
        (
            "invalid subdomain",
            Some("application/json"),
            with("subdomain", json!("no_underscores")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "subdomain",
        ),
        (
            "too-short subdomain",
            Some("application/json"),
            with("subdomain", json!("ab")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "subdomain",
        ),
        (
            "reserved subdomain",
            Some("application/json"),
            with("subdomain", json!("admin")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "subdomain",
        ),
        (
            "bad e-mail",
            Some("application/json"),
            with("email", json!("nope")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            "short password",
            Some("application/json"),
            with("password", json!("short")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
        ),
        (
            "missing organisation",
            Some("application/json"),
            with("organisation", json!(null)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "organisation",
        ),
        (
            "wrong type",
            Some("application/json"),
            with("subdomain", json!(42)),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "unknown field",
            Some("application/json"),
            with("plan", json!("enterprise")),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "malformed JSON",
            Some("application/json"),
            "{\"organisation\": ".into(),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "not an object",
            Some("application/json"),
            "[1,2]".into(),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "wrong content type",
            Some("text/plain"),
            good.to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "",
        ),
        (
            "no content type",
            None,
            good.to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "",
        ),
        (
            "body over the limit",
            Some("application/json"),
            format!("{{\"organisation\":\"{}\"}}", "x".repeat(100_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
    ];
    for (name, content_type, body, status, field) in cases {
        let (actual, problem) = post_raw(&url, content_type, body).await;
        assert_eq!(actual, status, "{name}: {problem}");
        assert_eq!(problem["status"], status.as_u16(), "{name}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}: {problem}"
        );
        if !field.is_empty() {
            assert!(problem["errors"][field].is_array(), "{name}: {problem}");
        }
    }
    let tenants: i64 = sqlx::query_scalar("select count(*) from tenant")
        .fetch_one(&env.control)
        .await
        .unwrap();
    assert_eq!(tenants, 0, "no bad signup may create a tenant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_subdomain_is_a_409_and_the_first_tenant_is_untouched() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let first = signup_only(&cp, "taken").await;

    let (status, problem) = post_raw(
        &cp.url("/api/signup"),
        Some("application/json"),
        json!({"organisation": "Other", "subdomain": "TAKEN", "email": "x@other.test", "password": "correct horse battery"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["code"], "subdomain_taken");

    let (count, users): (i64, i64) =
        sqlx::query_as("select (select count(*) from tenant), (select count(*) from app_user)")
            .fetch_one(&env.control)
            .await
            .unwrap();
    assert_eq!((count, users), (1, 1));
    let organisation: String =
        sqlx::query_scalar("select organisation from tenant where tenant_id = $1")
            .bind(first.tenant_id)
            .fetch_one(&env.control)
            .await
            .unwrap();
    assert_eq!(organisation, "Org taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_signups_routes_and_methods_are_problem_json() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let client = reqwest::Client::new();
    for (request, status) in [
        (
            client.get(cp.url("/api/signups/not-a-uuid")),
            StatusCode::NOT_FOUND,
        ),
        (
            client.get(cp.url(&format!("/api/signups/{}", uuid::Uuid::new_v4()))),
            StatusCode::NOT_FOUND,
        ),
        (
            client.get(cp.url("/api/nothing-here")),
            StatusCode::NOT_FOUND,
        ),
        (
            client.delete(cp.url("/api/signup")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_signups_for_one_subdomain_create_exactly_one_tenant() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let attempts = (0..8).map(|i| {
        let url = cp.url("/api/signup");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"organisation": format!("Racer {i}"), "subdomain": "racy", "email": format!("r{i}@racy.test"), "password": "correct horse battery"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::ACCEPTED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::ACCEPTED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    let _active = signup(&cp, "racy-two").await;
}
