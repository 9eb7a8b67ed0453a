//! Signing in and everything that tries to break it: no user enumeration, session fixation,
//! CSRF, reused and expired links, brute force against the rate limits (in process and shared
//! through Redis), password reset, unconfirmed tenants, and no secret in the logs.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::mail;
use tests::session::{login_response, session_cookie};
use tests::tenant_client::{post_signup, signup, PASSWORD};
use tests::{Session, TenantClient, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_answers_unknown_addresses_and_wrong_passwords_alike() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "alike").await;

    let mut bodies = Vec::new();
    let mut times = Vec::new();
    for (email, password) in [
        (acme.email.as_str(), "not the right password"),
        ("nobody@alike.test", "not the right password"),
    ] {
        let started = Instant::now();
        let response = login_response(&cp, email, password, None).await;
        times.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(session_cookie(&response).is_none());
        let body: Value = response.json().await.unwrap();
        bodies.push((body["code"].clone(), body["detail"].clone()));
    }
    assert_eq!(bodies[0], bodies[1], "the answers differ");
    assert_eq!(bodies[0].0, "invalid_credentials");
    // The unknown address pays for an Argon2 verification too.
    assert!(times[1] * 3 > times[0], "timing differs: {times:?}");

    // Password reset and resend answer 202 whether or not the address exists.
    for path in ["/api/password-reset", "/api/signup/resend-confirmation"] {
        let mut answers = Vec::new();
        for email in [acme.email.as_str(), "nobody@alike.test"] {
            let response = reqwest::Client::new()
                .post(cp.url(path))
                .json(&json!({"email": email}))
                .send()
                .await
                .unwrap();
            answers.push((response.status(), response.text().await.unwrap()));
        }
        assert_eq!(answers[0], answers[1], "{path}");
        assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_issues_a_fresh_session_and_state_changes_need_the_csrf_token() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "fixate").await;

    // An attacker plants a session id before the victim logs in: it is not adopted.
    let planted = "treaty_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let response = reqwest::Client::new()
        .post(cp.url("/api/login"))
        .header("cookie", planted)
        .json(&json!({"email": acme.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    let cookie = session_cookie(&response).unwrap();
    assert_ne!(cookie, planted);
    let planted_use = reqwest::Client::new()
        .get(cp.url("/api/user"))
        .header("cookie", planted)
        .send()
        .await
        .unwrap();
    assert_eq!(planted_use.status(), StatusCode::UNAUTHORIZED);

    // Two logins, two different sessions.
    let one = Session::login(&cp, &acme.email, PASSWORD).await;
    let two = Session::login(&cp, &acme.email, PASSWORD).await;
    assert_ne!(one.cookie, two.cookie);
    assert_ne!(one.csrf, two.csrf);

    // CSRF: a cookie alone cannot change anything; reads are fine.
    let forged = one
        .request_without_csrf(Method::POST, "/api/settings/tokens")
        .json(&json!({"name": "evil", "scope": "read-write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(forged.json::<Value>().await.unwrap()["code"], "csrf_failed");
    let wrong = one
        .request_without_csrf(Method::POST, "/api/settings/tokens")
        .header("x-csrf-token", &two.csrf)
        .json(&json!({"name": "evil", "scope": "read-write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let read = one
        .request_without_csrf(Method::GET, "/api/settings/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    // Logout ends the session.
    let (code, _) = one.send(Method::POST, "/api/logout", None).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = one.send(Method::GET, "/api/user", None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = two.send(Method::GET, "/api/user", None).await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_works_once_and_ends_old_sessions() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "resetting").await;
    let old_session = Session::login(&cp, &acme.email, PASSWORD).await;
    let dir = cp.mail_dir.clone().unwrap();

    let response = reqwest::Client::new()
        .post(cp.url("/api/password-reset"))
        .json(&json!({"email": acme.email.to_uppercase()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let reset = mail::wait_for(&dir, &acme.email, "Reset your Treaty password").await;
    let token = reset.token("/api/password-reset/confirm");
    let post = |body: Value| {
        let url = cp.url("/api/password-reset/confirm");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // A weak password is refused without spending the link.
    let weak = post(json!({"token": token, "password": "password123"})).await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = post(json!({"token": token, "password": "an entirely new passphrase"})).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let reused = post(json!({"token": token, "password": "yet another passphrase"})).await;
    assert_eq!(reused.status(), StatusCode::GONE);
    assert_eq!(
        reused.json::<Value>().await.unwrap()["code"],
        "link_invalid"
    );

    assert_eq!(
        login_response(&cp, &acme.email, PASSWORD, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    Session::login(&cp, &acme.email, "an entirely new passphrase").await;
    let (code, _) = old_session.send(Method::GET, "/api/user", None).await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "sessions from before the reset must end"
    );

    // An expired link is as dead as a used one.
    reqwest::Client::new()
        .post(cp.url("/api/password-reset"))
        .json(&json!({"email": acme.email}))
        .send()
        .await
        .unwrap();
    let second = mail::wait_for_nth(&dir, &acme.email, "Reset your Treaty password", 2).await;
    sqlx::query(
        "update email_link set expires_at = now() - interval '1 second' where used_at is null",
    )
    .execute(&env.control)
    .await
    .unwrap();
    let expired = post(json!({"token": second.token("/api/password-reset/confirm"), "password": "a fine new passphrase"})).await;
    assert_eq!(expired.status(), StatusCode::GONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_tenant_is_not_served_and_its_admin_cannot_sign_in_until_confirmed() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let body = post_signup(&cp, "waiting").await;
    let tenant_id = uuid::Uuid::parse_str(body["tenantId"].as_str().unwrap()).unwrap();
    let status: Value = reqwest::get(cp.url(&format!("/api/signups/{tenant_id}?wait=3")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (status["status"].clone(), status["ready"].clone()),
        (json!("active"), json!(false)),
        "{status}"
    );

    let refused = login_response(&cp, "lead@waiting.test", PASSWORD, None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "email_unconfirmed"
    );

    // Even a token that exists (planted here) does not work on an unconfirmed tenant.
    let token = provisioning::api_token::ApiToken::generate();
    sqlx::query(
        "insert into api_token (api_token_id, tenant_id, user_id, name, scope, token_hash, display_prefix)
         select gen_random_uuid(), tenant_id, user_id, 'planted', 'read-write', $2, 'trty_x' from app_user where tenant_id = $1",
    )
    .bind(tenant_id)
    .bind(token.hash().0.as_slice())
    .execute(&env.control)
    .await
    .unwrap();
    let client = TenantClient::new(&api, "waiting");
    let response = client
        .authed(Method::GET, "/", token.reveal())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "tenant_not_ready"
    );

    // Resend: a new link, the old one retired; the new one confirms and the tenant is served.
    let dir = cp.mail_dir.clone().unwrap();
    let first = mail::wait_for(&dir, "lead@waiting.test", "Confirm").await;
    let resent = reqwest::Client::new()
        .post(cp.url("/api/signup/resend-confirmation"))
        .json(&json!({"email": "lead@waiting.test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), StatusCode::ACCEPTED);
    let second = mail::wait_for_nth(&dir, "lead@waiting.test", "Confirm", 2).await;
    let old = reqwest::get(cp.local(&first.link("/api/signup/confirm")))
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::GONE);
    let new = reqwest::get(cp.local(&second.link("/api/signup/confirm")))
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::OK);
    let mut served = false;
    for _ in 0..40 {
        if client
            .authed(Method::GET, "/", token.reveal())
            .send()
            .await
            .unwrap()
            .status()
            == StatusCode::OK
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a confirmed tenant is served at once");
}

async fn brute_force(
    cp: &tests::RunningControlPlane,
    email: &str,
    attempts: usize,
) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for _ in 0..attempts {
        statuses.push(
            login_response(cp, email, "guess guess guess", None)
                .await
                .status(),
        );
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_hits_the_rate_limit_with_retry_after() {
    let env = TestEnv::new().await;
    let cp = env
        .start_control_plane_with(&["--rate-limit-login", "4/60"])
        .await;
    let acme = signup(&cp, "brute").await; // signs in once
    let statuses = brute_force(&cp, &acme.email, 3).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    // Even the right password is refused now, without being checked.
    let response = login_response(&cp, &acme.email, PASSWORD, None).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "rate_limited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_the_rate_limit_and_sessions_are_shared_across_instances() {
    let env = TestEnv::new().await;
    let redis = tests::env::redis_url();
    let prefix = format!("treaty-it-{}", env.id);
    let args = [
        "--redis-url",
        redis.as_str(),
        "--redis-key-prefix",
        prefix.as_str(),
        "--rate-limit-login",
        "4/60",
    ];
    let one = env.start_control_plane_with(&args).await;
    let two = env.start_control_plane_with(&args).await;
    let acme = signup(&one, "shared").await; // one login
    let session = Session::login(&one, &acme.email, PASSWORD).await; // two
                                                                     // The session opened on one instance works on the other (it lives in Redis).
    let seen = reqwest::Client::new()
        .get(two.url("/api/user"))
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), StatusCode::OK);
    let statuses = brute_force(&two, &acme.email, 3).await;
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(
        brute_force(&one, &acme.email, 1).await,
        [StatusCode::TOO_MANY_REQUESTS]
    );
}
