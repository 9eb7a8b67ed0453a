//! Identity and access end to end, as issue 4's acceptance describes it: a real SMTP server
//! (aiosmtpd), real PostgreSQL, the real Pact CLI, real sockets. Signup → the confirmation mail
//! arrives → its link activates → login → invite → the invitation mail arrives → accept → the
//! new user creates a read-write token → the Pact CLI publishes with it → a viewer's token is
//! refused for a write → revoke → the token stops working.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::mail;
use tests::tenant_client::PASSWORD;
use tests::tools::{cli_subdomain, pact_broker, SmtpSink};
use tests::{Session, TenantClient, TestEnv};

fn write_pact(dir: &std::path::Path, consumer: &str, provider: &str) {
    let pact = json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [{
            "description": "a request for things",
            "request": {"method": "GET", "path": "/things"},
            "response": {"status": 200, "body": [{"id": 1}]}
        }],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    std::fs::write(
        dir.join(format!("{consumer}-{provider}.json")),
        serde_json::to_vec_pretty(&pact).unwrap(),
    )
    .unwrap();
}

async fn publish(
    base_url: &str,
    token: &str,
    dir: &std::path::Path,
    version: &str,
) -> tests::tools::Output {
    pact_broker(&[
        "publish",
        dir.to_str().unwrap(),
        "--broker-base-url",
        base_url,
        "--broker-token",
        token,
        "--consumer-app-version",
        version,
        "--branch",
        "main",
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_signup_over_real_smtp_to_a_published_pact_and_a_revoked_token() {
    let env = TestEnv::new().await;
    let smtp = SmtpSink::start().await;
    let port = smtp.port.to_string();
    let cp = env
        .start_control_plane_with(&[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-tls",
            "none",
        ])
        .await;
    let api = env.start_tenant_api().await;
    let subdomain = cli_subdomain(1);
    let lead = format!("lead@{subdomain}.test");
    let maildir = smtp.dir.path();
    let http = reqwest::Client::new();

    // Signup: 202, no tokens in the response.
    let response = http
        .post(cp.url("/api/signup"))
        .json(&json!({"organisation": "Acme", "subdomain": subdomain, "email": lead, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let signup: Value = response.json().await.unwrap();
    assert!(signup.get("tokens").is_none(), "{signup}");

    // Not served before confirmation, even once provisioned.
    let status: Value = http
        .get(cp.url(&format!(
            "/api/signups/{}?wait=2",
            signup["tenantId"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (status["confirmed"].clone(), status["ready"].clone()),
        (json!(false), json!(false)),
        "{status}"
    );

    // The confirmation mail arrives at the SMTP server; its link activates the tenant.
    let confirmation = mail::wait_for(maildir, &lead, "Confirm your Treaty signup").await;
    let link = cp.local(&confirmation.link("/api/signup/confirm"));
    let confirmed = http.get(&link).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    let again = http.get(&link).send().await.unwrap();
    assert_eq!(
        again.status(),
        StatusCode::GONE,
        "a confirmation link works once"
    );
    let status: Value = http
        .get(cp.url(&format!(
            "/api/signups/{}?wait=20",
            signup["tenantId"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["ready"], true, "{status}");
    let welcome = mail::wait_for(maildir, &lead, "Welcome to Treaty").await;
    assert!(
        welcome
            .body
            .contains(&format!("http://{subdomain}.localhost:9292")),
        "{}",
        welcome.body
    );

    // The administrator signs in and invites a user.
    let admin = Session::login(&cp, &lead, PASSWORD).await;
    let dev = format!("dev@{subdomain}.test");
    let (status, invited) = admin
        .send(
            Method::POST,
            "/api/admin/users/invite-user",
            Some(json!({"email": dev, "name": "Dev", "role": "user"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(invited["status"], "invited");

    // The invitation arrives; accepting it sets the password.
    let invitation = mail::wait_for(maildir, &dev, "You are invited").await;
    let token = invitation.token("/api/invitations/accept");
    let (status, peeked) = admin
        .send(
            Method::GET,
            &format!("/api/invitations/accept?token={token}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{peeked}");
    assert_eq!(peeked["email"], dev);
    let accepted = http
        .post(cp.url("/api/invitations/accept"))
        .json(&json!({"token": token, "password": "a long and private passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);

    // The user creates a read-write token and the real Pact CLI publishes with it.
    let user = Session::login(&cp, &dev, "a long and private passphrase").await;
    let (status, created) = user
        .send(
            Method::POST,
            "/api/settings/tokens",
            Some(json!({"name": "ci", "scope": "read-write"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let read_write = created["value"].as_str().unwrap().to_owned();
    let token_id = created["id"].as_str().unwrap().to_owned();
    let base_url = format!("http://{subdomain}.localhost:{}", api.port());
    let pacts = tempfile::tempdir().unwrap();
    write_pact(pacts.path(), "Web", "Orders");
    let out = publish(&base_url, &read_write, pacts.path(), "1.0.0").await;
    assert!(
        out.success,
        "publish failed:\n{}\n{}",
        out.stdout, out.stderr
    );

    // A viewer's token reads but is refused for a write, and a viewer cannot get a RW token.
    let viewer_email = format!("viewer@{subdomain}.test");
    let (status, _) = admin
        .send(
            Method::POST,
            "/api/admin/users/invite-user",
            Some(json!({"email": viewer_email, "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let invitation = mail::wait_for(maildir, &viewer_email, "You are invited").await;
    let accepted = http
        .post(cp.url("/api/invitations/accept"))
        .json(&json!({"token": invitation.token("/api/invitations/accept"), "password": "an independent passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let viewer = Session::login(&cp, &viewer_email, "an independent passphrase").await;
    let (status, refused) = viewer
        .send(
            Method::POST,
            "/api/settings/tokens",
            Some(json!({"name": "rw", "scope": "read-write"})),
        )
        .await;
    assert_eq!(
        (status, refused["code"].clone()),
        (StatusCode::FORBIDDEN, json!("scope_exceeds_role"))
    );
    let viewer_token = viewer.create_token("laptop", "read-only").await;
    let client = TenantClient::new(&api, &subdomain);
    let read = client
        .authed(
            Method::GET,
            "/pacts/provider/Orders/consumer/Web/latest",
            &viewer_token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let out = publish(&base_url, &viewer_token, pacts.path(), "1.0.1").await;
    assert!(!out.success, "a viewer's token published:\n{}", out.stdout);

    // Revoke: the token stops working (within a second).
    let (status, _) = user
        .send(
            Method::DELETE,
            &format!("/api/settings/tokens/{token_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut refused = false;
    for _ in 0..20 {
        let response = client
            .authed(Method::GET, "/", &read_write)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "a revoked token still works after a second");
    let out = publish(&base_url, &read_write, pacts.path(), "1.0.2").await;
    assert!(!out.success, "a revoked token published");

    // Exactly one welcome e-mail, however often the outbox ran.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail::matching(maildir, &lead, "Welcome to Treaty").len(), 1);

    // The audit log saw it all.
    let (status, audit) = admin.send(Method::GET, "/api/audit?limit=100", None).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for kind in [
        "signup",
        "email_confirmed",
        "login_succeeded",
        "user_invited",
        "invitation_accepted",
        "token_created",
        "token_revoked",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
}
