//! Offline billing: without a Stripe key (development), an administrator sets the plan with
//! `PUT /api/billing/plan` and it takes effect in the tenant API at once; Stripe-only routes say
//! billing is offline; and production without Stripe refuses to start unless offline mode is
//! asked for explicitly.

use clap::Parser;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::mail;
use tests::tenant_client::{signup, PASSWORD};
use tests::{Session, TenantClient, TestEnv};

use crate::billing_support::{eventually, pact};

async fn put_pact(client: &TenantClient, token: &str, consumer: &str) -> (StatusCode, Value) {
    let response = client
        .authed(
            Method::PUT,
            &format!("/pacts/provider/Orders/consumer/{consumer}/version/1"),
            token,
        )
        .json(&pact(consumer, "Orders"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_mode_sets_the_plan_directly_and_stripe_routes_say_so() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "billoff").await;
    let admin = Session::login(&cp, &tenant.email, PASSWORD).await;
    let client = TenantClient::new(&api, "billoff");

    let (status, billing) = admin.send(Method::GET, "/api/billing", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(billing["mode"], "offline");
    assert_eq!(billing["plan"]["id"], "starter");
    assert!(billing["_links"]["plan"]["href"]
        .as_str()
        .unwrap()
        .ends_with("/api/billing/plan"));
    for path in ["/api/billing/checkout", "/api/billing/portal"] {
        let (status, problem) = admin.send(Method::POST, path, Some(json!({}))).await;
        assert_eq!(
            (status, problem["code"].clone()),
            (StatusCode::CONFLICT, json!("billing_offline")),
            "{path}"
        );
    }
    let response = reqwest::Client::new()
        .post(cp.url("/api/stripe/webhooks"))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Bad input, and people who are not administrators.
    for body in [json!({"plan": "platinum"}), json!({}), json!({"plan": 7})] {
        let (status, problem) = admin
            .send(Method::PUT, "/api/billing/plan", Some(body.clone()))
            .await;
        assert!(status.is_client_error(), "{body}: {status} {problem}");
        assert_ne!(status, StatusCode::OK);
    }
    let (status, problem) = admin
        .send(
            Method::PUT,
            "/api/billing/plan",
            Some(json!({"plan": "platinum"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"]["plan"][0]
            .as_str()
            .unwrap()
            .contains("starter, team"),
        "{problem}"
    );
    let (status, _) = admin
        .send(
            Method::POST,
            "/api/admin/users/invite-user",
            Some(json!({"email": "viewer@billoff.test", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let invitation = mail::wait_for(
        cp.mail_dir.as_deref().unwrap(),
        "viewer@billoff.test",
        "invited",
    )
    .await;
    let accepted = reqwest::Client::new()
        .post(cp.url("/api/invitations/accept"))
        .json(&json!({"token": invitation.token("/api/invitations/accept"), "password": "viewing passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let viewer = Session::login(&cp, "viewer@billoff.test", "viewing passphrase").await;
    let (status, _) = viewer.send(Method::GET, "/api/billing", None).await;
    assert_eq!(status, StatusCode::OK, "everyone may see the plan");
    for (method, path) in [
        (Method::PUT, "/api/billing/plan"),
        (Method::POST, "/api/billing/checkout"),
        (Method::POST, "/api/billing/portal"),
    ] {
        let (status, problem) = viewer
            .send(method, path, Some(json!({"plan": "team"})))
            .await;
        assert_eq!(
            (status, problem["code"].clone()),
            (StatusCode::FORBIDDEN, json!("forbidden")),
            "{path}"
        );
    }

    // Starter: the third integration is refused; Team, set directly: accepted at once.
    for consumer in ["Web", "Mobile"] {
        assert_eq!(
            put_pact(&client, &tenant.read_write, consumer).await.0,
            StatusCode::CREATED
        );
    }
    let (status, refused) = put_pact(&client, &tenant.read_write, "Batch").await;
    assert_eq!(
        (status, refused["plan"].clone()),
        (StatusCode::FORBIDDEN, json!("Starter"))
    );
    let (status, billing) = admin
        .send(
            Method::PUT,
            "/api/billing/plan",
            Some(json!({"plan": "team"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{billing}");
    assert_eq!(billing["plan"]["name"], "Team");
    eventually("the tenant API to see Team", || async {
        let (status, _) = put_pact(&client, &tenant.read_write, "Batch").await;
        (status == StatusCode::CREATED).then_some(())
    })
    .await;
    let (status, page) = admin
        .send(Method::GET, "/api/audit?type=plan_changed", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let event = &page["events"][0];
    assert_eq!(
        event["details"],
        json!({"from": "starter", "to": "team", "source": "offline"})
    );
    assert_eq!(event["actorLabel"], tenant.email.as_str());

    // Back to Starter: everything stays readable, nothing new beyond the limit.
    let (status, _) = admin
        .send(
            Method::PUT,
            "/api/billing/plan",
            Some(json!({"plan": "starter"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Each attempt names a new consumer: one accepted before the tenant API heard of the change
    // would exist afterwards.
    let mut attempt = 0;
    let refused = eventually("the tenant API to see Starter", || {
        attempt += 1;
        let (client, token) = (&client, &tenant.read_write);
        async move {
            let (status, body) = put_pact(client, token, &format!("New{attempt}")).await;
            (status == StatusCode::FORBIDDEN).then_some(body)
        }
    })
    .await;
    assert_eq!(
        refused["code"],
        Value::Null,
        "the broker's shape: {refused}"
    );
    assert!(refused["error"].as_str().unwrap().contains("Starter"));
    for consumer in ["Web", "Mobile", "Batch"] {
        let read = client
            .authed(
                Method::GET,
                &format!("/pacts/provider/Orders/consumer/{consumer}/latest"),
                &tenant.read_only,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), StatusCode::OK, "{consumer}");
    }
    // Asked for problem JSON, the refusal keeps its particulars.
    let problem: Value = client
        .authed(
            Method::PUT,
            "/pacts/provider/Orders/consumer/Later/version/1",
            &tenant.read_write,
        )
        .header("accept", "application/problem+json")
        .json(&pact("Later", "Orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(problem["code"], "plan_limit_reached");
    assert_eq!(
        (problem["limit"].clone(), problem["plan"].clone()),
        (json!(2), json!("Starter"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_without_stripe_refuses_to_start_unless_offline_is_explicit() {
    let env = TestEnv::new().await;
    // The test server has no TLS; production's TLS check is tested in `startup_checks`.
    let production = [
        "--environment",
        "production",
        "--smtp-host",
        "127.0.0.1",
        "--allow-unverified-database-tls",
        "true",
    ];
    let cli =
        control_plane::config::Cli::try_parse_from(env.control_plane_args(&production)).unwrap();
    let err = control_plane::app::Application::build(cli.config)
        .await
        .err()
        .expect("production without Stripe must not start");
    assert!(
        format!("{err:#}").contains("BILLING_MODE=offline"),
        "{err:#}"
    );

    let mut offline = production.to_vec();
    offline.extend(["--billing-mode", "offline"]);
    let cli = control_plane::config::Cli::try_parse_from(env.control_plane_args(&offline)).unwrap();
    assert!(control_plane::app::Application::build(cli.config)
        .await
        .is_ok());
}
