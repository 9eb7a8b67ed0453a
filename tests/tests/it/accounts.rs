//! Users, seats, roles and the audit log through the control plane's admin API: the plan's seat
//! limit, the last administrator, who may call admin endpoints, audit filters and pagination,
//! bad input everywhere, and no secret in the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::mail;
use tests::tenant_client::{signup, PASSWORD};
use tests::{Session, TestEnv};

async fn accept(cp: &tests::RunningControlPlane, email: &str, password: &str) -> StatusCode {
    let invitation =
        mail::wait_for(cp.mail_dir.as_deref().unwrap(), email, "You are invited").await;
    reqwest::Client::new()
        .post(cp.url("/api/invitations/accept"))
        .json(&json!({"token": invitation.token("/api/invitations/accept"), "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seat_limit_names_the_plan_and_the_last_administrator_stays() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "seats").await;
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;
    let admin_id = admin.body["user"]["id"].as_str().unwrap().to_owned();

    // Starter: 5 users, the administrator included; pending invitations hold seats.
    let mut ids = Vec::new();
    for n in 1..=4 {
        let (code, user) = admin
            .send(
                Method::POST,
                "/api/admin/users/invite-user",
                Some(json!({"email": format!("u{n}@seats.test")})),
            )
            .await;
        assert_eq!(code, StatusCode::CREATED, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let (code, refused) = admin
        .send(
            Method::POST,
            "/api/admin/users/invite-user",
            Some(json!({"email": "u5@seats.test"})),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["code"], "plan_limit_reached");
    assert_eq!(refused["plan"], "Starter");
    assert_eq!(refused["limit"], 5);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("Starter plan allows 5 users"),
        "{refused}"
    );
    assert!(refused["upgradeUrl"]
        .as_str()
        .unwrap()
        .ends_with("/api/billing"));

    // A deactivated user frees the seat; reactivating needs one.
    let (code, _) = admin
        .send(
            Method::PUT,
            &format!("/api/admin/users/{}", ids[0]),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = admin
        .send(
            Method::POST,
            "/api/admin/users/invite-user",
            Some(json!({"email": "u5@seats.test"})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let (code, refused) = admin
        .send(
            Method::PUT,
            &format!("/api/admin/users/{}", ids[0]),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(
        (code, refused["code"].clone()),
        (StatusCode::FORBIDDEN, json!("plan_limit_reached"))
    );
    // Inviting an existing user is a conflict.
    let (code, body) = admin
        .send(
            Method::POST,
            "/api/admin/users/invite-user",
            Some(json!({"email": "LEAD@seats.test"})),
        )
        .await;
    assert_eq!(
        (code, body["code"].clone()),
        (StatusCode::CONFLICT, json!("user_exists"))
    );

    // The last administrator can be neither demoted, deactivated nor removed.
    for (method, body) in [
        (Method::PUT, Some(json!({"role": "user"}))),
        (Method::PUT, Some(json!({"active": false}))),
        (Method::DELETE, None),
    ] {
        let (code, problem) = admin
            .send(
                method.clone(),
                &format!("/api/admin/users/{admin_id}"),
                body,
            )
            .await;
        assert_eq!(
            (code, problem["code"].clone()),
            (StatusCode::CONFLICT, json!("last_administrator")),
            "{method}"
        );
    }
    // With a second (active) administrator, the first may step down.
    let (code, _) = admin
        .send(
            Method::PUT,
            &format!("/api/admin/users/{}", ids[1]),
            Some(json!({"role": "administrator"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        accept(&cp, "u2@seats.test", "second admin passphrase").await,
        StatusCode::OK
    );
    let (code, me) = admin
        .send(
            Method::PUT,
            &format!("/api/admin/users/{admin_id}"),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!((code, me["role"].clone()), (StatusCode::OK, json!("user")));
    // … and, no longer an administrator, is refused the admin API.
    let (code, _) = admin.send(Method::GET, "/api/admin/users", None).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_reach_the_admin_api_and_the_audit_log() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "rbac").await;
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;
    let (code, _) = admin
        .send(
            Method::POST,
            "/api/admin/users/invite-user",
            Some(json!({"email": "v@rbac.test", "role": "viewer"})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(
        accept(&cp, "v@rbac.test", "viewing passphrase").await,
        StatusCode::OK
    );
    let viewer = Session::login(&cp, "v@rbac.test", "viewing passphrase").await;
    let some_id = uuid::Uuid::new_v4();
    for (method, path, body) in [
        (Method::GET, "/api/admin/users".to_owned(), None),
        (
            Method::POST,
            "/api/admin/users/invite-user".to_owned(),
            Some(json!({"email": "x@rbac.test"})),
        ),
        (
            Method::PUT,
            format!("/api/admin/users/{some_id}"),
            Some(json!({"role": "administrator"})),
        ),
        (Method::DELETE, format!("/api/admin/users/{some_id}"), None),
        (Method::GET, "/api/admin/system-accounts".to_owned(), None),
        (
            Method::POST,
            "/api/admin/system-accounts".to_owned(),
            Some(json!({"name": "x"})),
        ),
        (Method::GET, "/api/audit".to_owned(), None),
    ] {
        let (code, problem) = viewer.send(method.clone(), &path, body.clone()).await;
        assert_eq!(
            (code, problem["code"].clone()),
            (StatusCode::FORBIDDEN, json!("forbidden")),
            "viewer {method} {path}"
        );
        let anonymous = reqwest::Client::new()
            .request(method.clone(), cp.url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "anonymous {method} {path}"
        );
    }
    // Another tenant's administrator cannot touch this tenant's users.
    let other = signup(&cp, "rbac-other").await;
    let other_admin = Session::login(&cp, &other.email, PASSWORD).await;
    let viewer_id = viewer.body["user"]["id"].as_str().unwrap();
    let (code, _) = other_admin
        .send(
            Method::DELETE,
            &format!("/api/admin/users/{viewer_id}"),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_filters_and_pages_with_a_cursor() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "audited").await;
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;
    for n in 0..5 {
        admin.create_token(&format!("t{n}"), "read-only").await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/audit?type=token_created&limit=3&cursor={c}"),
            None => "/api/audit?type=token_created&limit=3".to_owned(),
        };
        let (code, page) = admin.send(Method::GET, &path, None).await;
        assert_eq!(code, StatusCode::OK, "{page}");
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 3);
        seen.extend(events.iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    // Two from the harness's signup, five here; every one with actor, time, IP and target.
    assert_eq!(seen.len(), 7);
    for event in &seen {
        assert_eq!(event["type"], "token_created");
        assert_eq!(event["actorLabel"], acme.email);
        assert_eq!(event["sourceIp"], "127.0.0.1");
        assert!(
            event["target"].is_string() && event["occurredAt"].is_string(),
            "{event}"
        );
    }
    let (_, by_actor) = admin
        .send(
            Method::GET,
            &format!("/api/audit?actor={}&type=login_succeeded", acme.email),
            None,
        )
        .await;
    assert_eq!(by_actor["events"].as_array().unwrap().len(), 2);
    let (_, future) = admin
        .send(Method::GET, "/api/audit?since=2999-01-01T00:00:00Z", None)
        .await;
    assert!(future["events"].as_array().unwrap().is_empty());
    for bad in ["limit=101", "limit=0", "since=yesterday", "cursor=xyz"] {
        let (code, problem) = admin
            .send(Method::GET, &format!("/api/audit?{bad}"), None)
            .await;
        assert!(
            code == StatusCode::UNPROCESSABLE_ENTITY || code == StatusCode::BAD_REQUEST,
            "{bad}: {code} {problem}"
        );
        assert!(problem["detail"].is_string(), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_to_the_identity_api_is_a_clear_4xx() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "inputs").await;
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;
    let cases: Vec<(Method, &str, Value, StatusCode)> = vec![
        (
            Method::POST,
            "/api/settings/tokens",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/settings/tokens",
            json!({"name": "x", "scope": "admin"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/settings/tokens",
            json!({"name": "x", "scope": "read-only", "expiresAt": "2001-01-01T00:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/settings/tokens",
            json!({"name": "x", "scope": "read-only", "expiresInDays": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/settings/tokens",
            json!({"name": "x".repeat(101), "scope": "read-only"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/settings/tokens",
            json!({"name": "x", "scope": "read-only", "owner": "me"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/admin/users/invite-user",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/admin/users/invite-user",
            json!({"email": "not-an-address"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/api/admin/users/invite-user",
            json!({"email": "a@b.co", "role": "ci"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            "/api/admin/users/not-a-uuid",
            json!({"role": "user"}),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            "/api/admin/system-accounts",
            json!({"name": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::DELETE,
            "/api/settings/tokens/123",
            Value::Null,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (code, problem) = admin
            .send(
                method.clone(),
                path,
                (!body.is_null()).then_some(body.clone()),
            )
            .await;
        assert_eq!(code, expected, "{method} {path} {body}: {problem}");
        assert!(
            problem["detail"].is_string() && problem["code"].is_string(),
            "{problem}"
        );
    }
    let anonymous: Vec<(&str, Value, StatusCode)> = vec![
        (
            "/api/login",
            json!({"email": "a@b.co"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/login",
            json!({"email": 42, "password": "x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/password-reset",
            json!({"email": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/password-reset/confirm",
            json!({"token": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/password-reset/confirm",
            json!({"token": "made-up", "password": "a good long passphrase"}),
            StatusCode::GONE,
        ),
        (
            "/api/invitations/accept",
            json!({"token": "made-up", "password": "a good long passphrase"}),
            StatusCode::GONE,
        ),
        (
            "/api/signup/confirm",
            json!({"token": "made-up"}),
            StatusCode::GONE,
        ),
        (
            "/api/signup/resend-confirmation",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/signup",
            json!({"organisation": "A", "subdomain": "weakling", "email": "a@weak.test", "password": "1234567890"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (path, body, expected) in anonymous {
        let response = reqwest::Client::new()
            .post(cp.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{path} {body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let oversized = admin
        .request(Method::POST, "/api/settings/tokens")
        .json(&json!({"name": "x".repeat(100_000), "scope": "read-only"}))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_appears_in_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let installed = tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .try_init();
    if installed.is_err() {
        // Another test of this process owns the global subscriber (cargo test, not nextest).
        eprintln!("skipped: run under cargo nextest (one process per test) to capture logs");
        return;
    }
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let acme = signup(&cp, "quiet").await;
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;
    let client = tests::TenantClient::new(&api, "quiet");
    client
        .authed(Method::GET, "/", &acme.read_write)
        .send()
        .await
        .unwrap();
    let _ = tests::session::login_response(&cp, &acme.email, "a wrong password guess", None).await;
    reqwest::Client::new()
        .post(cp.url("/api/password-reset"))
        .json(&json!({"email": acme.email}))
        .send()
        .await
        .unwrap();
    let reset = mail::wait_for(cp.mail_dir.as_deref().unwrap(), &acme.email, "Reset").await;
    let confirm = mail::wait_for(cp.mail_dir.as_deref().unwrap(), &acme.email, "Confirm").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("signed up"),
        "the capture works: {}",
        &logs[..logs.len().min(500)]
    );
    let cookie_value = admin
        .cookie
        .trim_start_matches("treaty_session=")
        .to_owned();
    for (what, secret) in [
        ("password", PASSWORD.to_owned()),
        ("wrong password", "a wrong password guess".to_owned()),
        ("read-write token", acme.read_write.clone()),
        ("read-only token", acme.read_only.clone()),
        ("session cookie", cookie_value),
        ("csrf token", admin.csrf.clone()),
        (
            "reset link token",
            reset.token("/api/password-reset/confirm"),
        ),
        (
            "confirmation link token",
            confirm.token("/api/signup/confirm"),
        ),
    ] {
        assert!(!logs.contains(&secret), "the {what} appears in the logs");
    }
}
