//! Unconfirmed signups expire: provisioning still starts at signup, but a tenant whose address is
//! not confirmed in time is deprovisioned — database and role dropped, row deleted — and its
//! subdomain can be signed up for again. Confirmed tenants are untouched.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tests::TestEnv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_signup_is_deprovisioned_after_the_expiry_and_its_subdomain_freed() {
    let env = TestEnv::new().await;
    let cp = env
        .start_control_plane_with(&["--unconfirmed-signup-expiry-secs", "10"])
        .await;
    let started = Instant::now();
    let kept = tests::tenant_client::post_signup(&cp, "keptco").await;
    tests::tenant_client::confirm(&cp, "lead@keptco.test").await;
    let body = tests::tenant_client::post_signup(&cp, "lapsedco").await;
    let id = body["tenantId"].as_str().unwrap().to_owned();

    // Provisioning starts at signup, confirmed or not.
    let status = loop {
        let status: Value = reqwest::get(cp.url(&format!("/api/signups/{id}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["status"] == "active" || started.elapsed() > Duration::from_secs(10) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["status"], "active", "{status}");
    assert_eq!(status["confirmed"], false);
    assert_eq!(env.tenant_databases().await.len(), 2);
    let confirmation = tests::mail::wait_for(
        cp.mail_dir.as_deref().unwrap(),
        "lead@lapsedco.test",
        "Confirm",
    )
    .await
    .token("/api/signup/confirm");

    // After the expiry the signup is gone.
    let gone_after = loop {
        let response = reqwest::get(cp.url(&format!("/api/signups/{id}")))
            .await
            .unwrap();
        if response.status() == StatusCode::NOT_FOUND {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the unconfirmed signup was not removed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        gone_after >= Duration::from_secs(10),
        "removed after {gone_after:?}, before its expiry"
    );
    let kept_id = kept["tenantId"].as_str().unwrap();
    let databases = env.tenant_databases().await;
    assert_eq!(databases.len(), 1, "{databases:?}");
    assert!(
        databases[0].contains(&kept_id.replace('-', "")),
        "{databases:?}"
    );
    assert_eq!(env.tenant_roles().await.len(), 1);
    let accounts: i64 = sqlx::query_scalar(
        "select count(*) from app_user where lower(email) = 'lead@lapsedco.test'",
    )
    .fetch_one(&env.control)
    .await
    .unwrap();
    assert_eq!(accounts, 0);

    // Its confirmation link no longer works, and the confirmed tenant is still served.
    let late = reqwest::get(cp.url(&format!("/api/signup/confirm?token={confirmation}")))
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::GONE);
    let kept_status: Value = reqwest::get(cp.url(&format!("/api/signups/{kept_id}?wait=20")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kept_status["ready"], true, "{kept_status}");

    // The subdomain is free again.
    let again = tests::tenant_client::post_signup(&cp, "lapsedco").await;
    assert_ne!(again["tenantId"], body["tenantId"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deprovisioning_cut_short_after_dropping_the_database_is_finished_by_the_next_worker() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let body = tests::tenant_client::post_signup(&cp, "halfgone").await;
    let id = body["tenantId"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        let status: Value = reqwest::get(cp.url(&format!("/api/signups/{id}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["status"] == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cp.stop().await;

    // As a worker that crashed between the two effects would leave it: expired, its lease run
    // out, its database and role already dropped, its row still holding the subdomain.
    let (database, role): (String, String) = sqlx::query_as(
        "update tenant set expired_at = now(), next_attempt_at = now(),
            lease_owner = gen_random_uuid(), lease_expires_at = now() - interval '1 second'
         where tenant_id = $1::uuid returning db_name, db_role",
    )
    .bind(&id)
    .fetch_one(&env.control)
    .await
    .unwrap();
    let admin = env.server_admin().await;
    for statement in [
        format!("drop database \"{database}\" with (force)"),
        format!("drop role \"{role}\""),
    ] {
        sqlx::raw_sql(&statement).execute(&admin).await.unwrap();
    }
    admin.close().await;

    let cp = env.start_control_plane().await;
    let started = Instant::now();
    loop {
        let response = reqwest::get(cp.url(&format!("/api/signups/{id}")))
            .await
            .unwrap();
        if response.status() == StatusCode::NOT_FOUND {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the half-deprovisioned tenant was not finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(env.tenant_databases().await.is_empty());
    tests::tenant_client::post_signup(&cp, "halfgone").await;
}
