//! API tokens on the tenant API: per-principal named tokens, scopes capped by role, expiry,
//! revocation, rotation, deactivation, other tenants' tokens, basic auth, last-used times, and
//! revocation reaching every tenant-API instance within a second.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tests::mail;
use tests::tenant_client::{signup, PASSWORD};
use tests::{Session, TenantClient, TestEnv};

async fn status(client: &TenantClient, method: Method, path: &str, token: &str) -> StatusCode {
    client
        .authed(method, path, token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Polls until `token` gets `expected` on `GET /` (a cache must not keep it alive long).
async fn within_a_second(client: &TenantClient, token: &str, expected: StatusCode) {
    for _ in 0..20 {
        if status(client, Method::GET, "/", token).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("token did not get {expected} within a second");
}

const PACT_PATH: &str = "/pacts/provider/Orders/consumer/Web/version/1.0.0";

fn pact() -> serde_json::Value {
    json!({"consumer": {"name": "Web"}, "provider": {"name": "Orders"}, "interactions": [], "metadata": {"pactSpecification": {"version": "2.0.0"}}})
}

async fn invite_and_accept(
    cp: &tests::RunningControlPlane,
    admin: &Session,
    email: &str,
    role: &str,
) -> Session {
    let (status, body) = admin
        .send(
            Method::POST,
            "/api/admin/users/invite-user",
            Some(json!({"email": email, "role": role})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let invitation =
        mail::wait_for(cp.mail_dir.as_deref().unwrap(), email, "You are invited").await;
    let accepted = reqwest::Client::new()
        .post(cp.url("/api/invitations/accept"))
        .json(&json!({"token": invitation.token("/api/invitations/accept"), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    Session::login(cp, email, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refused_when_expired_revoked_rotated_out_or_from_another_tenant() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let acme = signup(&cp, "acme").await;
    let other = signup(&cp, "other").await;
    let client = TenantClient::new(&api, "acme");
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;

    assert_eq!(
        status(&client, Method::GET, "/", &acme.read_only).await,
        StatusCode::OK
    );
    // Another tenant's perfectly valid token is unknown here.
    assert_eq!(
        status(&client, Method::GET, "/", &other.read_write).await,
        StatusCode::UNAUTHORIZED
    );

    // Rotation: the new secret works, the old one stops at once.
    let (_, tokens) = admin.send(Method::GET, "/api/settings/tokens", None).await;
    let rw_id = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["scope"] == "read-write")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, rotated) = admin
        .send(
            Method::POST,
            &format!("/api/settings/tokens/{rw_id}/regenerate"),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{rotated}");
    let new_secret = rotated["value"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, acme.read_write);
    within_a_second(&client, &acme.read_write, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        status(&client, Method::GET, "/", &new_secret).await,
        StatusCode::OK
    );

    // Expiry.
    let (code, expiring) = admin
        .send(
            Method::POST,
            "/api/settings/tokens",
            Some(json!({"name": "short-lived", "scope": "read-only", "expiresInDays": 1})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{expiring}");
    let expiring_value = expiring["value"].as_str().unwrap();
    assert_eq!(
        status(&client, Method::GET, "/", expiring_value).await,
        StatusCode::OK
    );
    sqlx::query(
        "update api_token set expires_at = now() - interval '1 second' where api_token_id = $1",
    )
    .bind(uuid::Uuid::parse_str(expiring["id"].as_str().unwrap()).unwrap())
    .execute(&env.control)
    .await
    .unwrap();
    within_a_second(&client, expiring_value, StatusCode::UNAUTHORIZED).await;

    // Revocation, and a revoked token cannot be rotated back to life.
    let (code, _) = admin
        .send(
            Method::DELETE,
            &format!("/api/settings/tokens/{rw_id}"),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    within_a_second(&client, &new_secret, StatusCode::UNAUTHORIZED).await;
    let (code, _) = admin
        .send(
            Method::POST,
            &format!("/api/settings/tokens/{rw_id}/regenerate"),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    // Someone else's token id is not yours to revoke.
    let other_admin = Session::login(&cp, &other.email, PASSWORD).await;
    let (_, others) = other_admin
        .send(Method::GET, "/api/settings/tokens", None)
        .await;
    let other_id = others["tokens"][0]["id"].as_str().unwrap();
    let (code, _) = admin
        .send(
            Method::DELETE,
            &format!("/api/settings/tokens/{other_id}"),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_scope_never_exceeds_its_principals_role() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let acme = signup(&cp, "scoped").await;
    let client = TenantClient::new(&api, "scoped");
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;
    let dev = invite_and_accept(&cp, &admin, "dev@scoped.test", "user").await;
    let token = dev.create_token("ci", "read-write").await;
    let put = |token: String| {
        let client = client.clone();
        async move {
            client
                .authed(Method::PUT, PACT_PATH, &token)
                .json(&pact())
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert!(put(token.clone()).await.is_success());

    // Demoted to viewer: the same token becomes read-only at once.
    let dev_id = dev.body["user"]["id"].as_str().unwrap();
    let (code, _) = admin
        .send(
            Method::PUT,
            &format!("/api/admin/users/{dev_id}"),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let mut forbidden = false;
    for _ in 0..20 {
        if put(token.clone()).await == StatusCode::FORBIDDEN {
            forbidden = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(forbidden, "a viewer's read-write token still writes");
    assert_eq!(
        status(&client, Method::GET, PACT_PATH, &token).await,
        StatusCode::OK
    );
    // Read-only may still fetch pacts for verification.
    let verification = client
        .authed(
            Method::POST,
            "/pacts/provider/Orders/for-verification",
            &token,
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_ne!(verification.status(), StatusCode::FORBIDDEN);

    // Deactivated: nothing works; reactivated: it does again.
    let (code, _) = admin
        .send(
            Method::PUT,
            &format!("/api/admin/users/{dev_id}"),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    within_a_second(&client, &token, StatusCode::UNAUTHORIZED).await;
    let (code, _) = dev.send(Method::GET, "/api/user", None).await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "a deactivated person's session ends"
    );
    let (code, _) = admin
        .send(
            Method::PUT,
            &format!("/api/admin/users/{dev_id}"),
            Some(json!({"active": true, "role": "user"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    within_a_second(&client, &token, StatusCode::OK).await;

    // Removed: gone for good.
    let (code, _) = admin
        .send(Method::DELETE, &format!("/api/admin/users/{dev_id}"), None)
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    within_a_second(&client, &token, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_accounts_publish_with_their_own_tokens_and_cannot_sign_in() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let acme = signup(&cp, "robots").await;
    let client = TenantClient::new(&api, "robots");
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;

    let response = admin
        .request(Method::POST, "/api/admin/system-accounts")
        .json(&json!({"name": "github-actions"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let account: serde_json::Value = response.json().await.unwrap();
    assert_eq!(account["role"], "ci");
    assert_eq!(
        location,
        format!(
            "/api/admin/system-accounts/{}",
            account["id"].as_str().unwrap()
        )
    );
    let (code, created) = admin
        .send(
            Method::POST,
            &format!("{location}/tokens"),
            Some(json!({"name": "publish", "scope": "read-write"})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let token = created["value"].as_str().unwrap();
    let put = client
        .authed(Method::PUT, PACT_PATH, token)
        .json(&pact())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    // Basic auth with the token as password, for legacy clients.
    let basic = client
        .request(Method::GET, PACT_PATH)
        .basic_auth("anything", Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);

    // Starter allows one system account.
    let (code, refused) = admin
        .send(
            Method::POST,
            "/api/admin/system-accounts",
            Some(json!({"name": "jenkins"})),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["code"], "plan_limit_reached");
    assert_eq!(
        (refused["plan"].clone(), refused["limit"].clone()),
        (json!("Starter"), json!(1))
    );

    // Revoking a system account's token stops it.
    let token_id = created["id"].as_str().unwrap();
    let (code, _) = admin
        .send(
            Method::DELETE,
            &format!("{location}/tokens/{token_id}"),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    within_a_second(&client, token, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_used_times_are_recorded_in_batches_and_revocation_reaches_every_instance() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let first = env
        .start_tenant_api_with(&["--token-usage-flush-secs", "1"])
        .await;
    let second = env
        .start_tenant_api_with(&["--token-usage-flush-secs", "1"])
        .await;
    let acme = signup(&cp, "twice").await;
    let (a, b) = (
        TenantClient::new(&first, "twice"),
        TenantClient::new(&second, "twice"),
    );
    let admin = Session::login(&cp, &acme.email, PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(
            status(&a, Method::GET, "/", &acme.read_only).await,
            StatusCode::OK
        );
        assert_eq!(
            status(&b, Method::GET, "/", &acme.read_only).await,
            StatusCode::OK
        );
    }
    let mut used = None;
    for _ in 0..40 {
        let (_, tokens) = admin.send(Method::GET, "/api/settings/tokens", None).await;
        let ro = tokens["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["scope"] == "read-only")
            .cloned()
            .unwrap();
        if !ro["lastUsedAt"].is_null() {
            used = Some(ro);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let used = used.expect("lastUsedAt recorded within a few seconds");
    assert!(used["lastUsedAt"]
        .as_str()
        .unwrap()
        .starts_with(&chrono::Utc::now().format("%Y-").to_string()));

    let id = used["id"].as_str().unwrap();
    let (code, _) = admin
        .send(Method::DELETE, &format!("/api/settings/tokens/{id}"), None)
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    within_a_second(&a, &acme.read_only, StatusCode::UNAUTHORIZED).await;
    within_a_second(&b, &acme.read_only, StatusCode::UNAUTHORIZED).await;
}
