//! Billing end to end against a stateful fake Stripe (localstripe and the endpoints it lacks),
//! whose signed webhooks reach the control plane over real sockets: upgrade through Checkout →
//! paid → the tenant API's limits rise; users added and removed → the subscription quantity
//! follows; a payment fails → grace (an e-mail) → read-only (402 on writes, reads go on) → paid →
//! writable; cancellation → back to Starter with every integration kept.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::mail;
use tests::stripe::{DECLINED_CARD, GOOD_CARD};

use crate::billing_support::{eventually, Billed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_through_checkout_raises_limits_and_seats_follow_the_users() {
    let world = Billed::start("billup", true).await;
    let billing = world.billing().await;
    assert_eq!(billing["mode"], "stripe");
    assert_eq!(billing["plan"]["id"], "starter");
    assert_eq!(billing["plan"]["limits"]["integrations"], 2);
    assert_eq!(billing["state"], "ok");
    assert!(billing["subscription"].is_null(), "{billing}");

    // Starter: two integrations, the third is refused naming the limit, plan and upgrade URL.
    for consumer in ["Web", "Mobile"] {
        let (status, body) = world.put_pact(consumer, "Orders", "1.0.0").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, refused) = world.put_pact("Batch", "Orders", "1.0.0").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["plan"], "Starter");
    assert_eq!(refused["limit"], 2);
    assert!(refused["upgradeUrl"]
        .as_str()
        .unwrap()
        .ends_with("/api/billing"));
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("Starter plan allows 2 integrations"),
        "{refused}"
    );
    // An existing integration still takes new versions.
    let (status, _) = world.put_pact("Web", "Orders", "1.0.1").await;
    assert_eq!(status, StatusCode::CREATED);

    // Offline plan changes are refused in Stripe mode.
    let (status, body) = world
        .admin
        .send(
            Method::PUT,
            "/api/billing/plan",
            Some(json!({"plan": "team"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("billing_managed_by_stripe"))
    );

    // Checkout: a subscription-mode session for the tenant, idempotent for a double click.
    let session = world.checkout().await;
    assert_eq!(session["quantity"], 1);
    let again = world.checkout().await;
    assert_eq!(
        again["sessionId"], session["sessionId"],
        "same session for the same request"
    );
    let created: Vec<Value> = world
        .stripe
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"] == "/v1/checkout/sessions" && r["method"] == "POST")
        .collect();
    assert_eq!(created.len(), 2);
    let form: Vec<(String, String)> =
        url::form_urlencoded::parse(created[0]["body"].as_str().unwrap().as_bytes())
            .into_owned()
            .collect();
    let tenant_id = world.tenant.tenant_id.to_string();
    for (key, value) in [
        ("mode", "subscription"),
        ("client_reference_id", tenant_id.as_str()),
        ("line_items[0][price]", "price_team_test"),
        ("line_items[0][quantity]", "1"),
    ] {
        assert!(
            form.contains(&(key.to_owned(), value.to_owned())),
            "{key}={value} in {form:?}"
        );
    }
    assert!(created[0]["idempotencyKey"]
        .as_str()
        .is_some_and(|k| !k.is_empty()));
    assert_eq!(created[0]["idempotencyKey"], created[1]["idempotencyKey"]);

    // Paid: Stripe's webhooks put the tenant on Team, and the tenant API lets the third in.
    let completed = world
        .stripe
        .complete_checkout(session["sessionId"].as_str().unwrap())
        .await;
    let subscription = completed["subscription"].as_str().unwrap().to_owned();
    let billing = world
        .billing_until("the Team plan", |b| b["plan"]["id"] == "team")
        .await;
    assert_eq!(billing["subscription"]["id"], subscription.as_str());
    assert_eq!(billing["subscription"]["status"], "active");
    assert_eq!(billing["plan"]["limits"]["integrations"], 50);
    world
        .put_pact_until(StatusCode::CREATED, "Batch", "Orders", "1.0.0")
        .await;
    let changes = world.audit("plan_changed").await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        changes[0]["details"],
        json!({"from": "starter", "to": "team", "source": "stripe"})
    );

    // A second checkout is refused; the portal is where the subscription changes.
    let (status, body) = world
        .admin
        .send(Method::POST, "/api/billing/checkout", Some(json!({})))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::CONFLICT, json!("already_subscribed"))
    );
    let (status, portal) = world
        .admin
        .send(Method::POST, "/api/billing/portal", None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{portal}");
    assert!(portal["url"].as_str().unwrap().starts_with("http"));

    // Seats: two invitations → quantity 3; a removal → 2.
    let mut ids = Vec::new();
    for n in 1..=2 {
        let (status, user) = world
            .admin
            .send(
                Method::POST,
                "/api/admin/users/invite-user",
                Some(json!({"email": format!("dev{n}@billup.test")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let quantity = |want: i64| {
        let (stripe, subscription) = (&world.stripe, subscription.clone());
        async move {
            let s = stripe.subscription(&subscription).await;
            (s["items"]["data"][0]["quantity"] == want).then_some(s)
        }
    };
    eventually("quantity 3 on Stripe", || quantity(3)).await;
    let (status, _) = world
        .admin
        .send(
            Method::DELETE,
            &format!("/api/admin/users/{}", ids[0]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    eventually("quantity 2 on Stripe", || quantity(2)).await;
    let billing = world
        .billing_until("quantity 2 recorded", |b| {
            b["subscription"]["quantity"] == 2
        })
        .await;
    assert_eq!(billing["usage"]["users"], 2);
    let seat_changes = world.audit("subscription_seats_changed").await;
    let steps: Vec<(Value, Value)> = seat_changes
        .iter()
        .map(|e| (e["details"]["from"].clone(), e["details"]["to"].clone()))
        .collect();
    assert_eq!(steps.last(), Some(&(json!(3), json!(2))), "{steps:?}");

    // Every event Stripe sent was stored once and processed once.
    let events: Vec<(String, bool, i32)> = sqlx::query_as(
        "select type, processed_at is not null, attempts from stripe_event order by received_at",
    )
    .fetch_all(&world.env.control)
    .await
    .unwrap();
    assert!(
        events
            .iter()
            .any(|(t, _, _)| t == "checkout.session.completed"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .all(|(_, processed, attempts)| *processed && *attempts == 1),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_grants_grace_then_read_only_until_paid() {
    let world = Billed::start("billdue", true).await;
    let subscription = world.upgrade().await;
    let (status, _) = world.put_pact("Web", "Orders", "1").await;
    assert_eq!(status, StatusCode::CREATED);

    // The renewal is declined: grace, an e-mail to the administrator, an audit event.
    let invoice = world.stripe.renew(&subscription, DECLINED_CARD).await;
    assert_eq!(invoice["status"], "open");
    let billing = world
        .billing_until("the grace period", |b| b["state"] == "grace")
        .await;
    assert_eq!(billing["plan"]["id"], "team", "the plan stays during grace");
    let ends: chrono::DateTime<chrono::Utc> =
        billing["graceEndsAt"].as_str().unwrap().parse().unwrap();
    let hours = (ends - chrono::Utc::now()).num_hours();
    assert!(
        (167..=168).contains(&hours),
        "seven days of grace, not {hours} hours"
    );
    let notice = mail::wait_for(
        world.cp.mail_dir.as_deref().unwrap(),
        &world.tenant.email,
        "Payment failed",
    )
    .await;
    assert!(notice.body.contains("read-only"), "{}", notice.body);
    let failures = world.audit("payment_failed").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["details"]["invoice"], invoice["id"]);
    // Still writable during grace.
    let (status, _) = world.put_pact("Web", "Orders", "2").await;
    assert_eq!(status, StatusCode::CREATED);

    // Time passes: the grace period ends and the billing job makes the tenant read-only.
    sqlx::query("update billing_account set grace_ends_at = now() - interval '1 second'")
        .execute(&world.env.control)
        .await
        .unwrap();
    world
        .billing_until("read-only", |b| b["state"] == "read_only")
        .await;
    mail::wait_for(
        world.cp.mail_dir.as_deref().unwrap(),
        &world.tenant.email,
        "is read-only",
    )
    .await;
    assert_eq!(world.audit("billing_read_only").await.len(), 1);
    let refused = world
        .put_pact_until(StatusCode::PAYMENT_REQUIRED, "Web", "Orders", "3")
        .await;
    assert_eq!(refused["code"], "payment_required", "{refused}");
    assert!(refused["billingUrl"]
        .as_str()
        .unwrap()
        .ends_with("/api/billing"));
    let response = world
        .client
        .authed(Method::POST, "/contracts/publish", &world.tenant.read_write)
        .json(&json!({"pacticipantName": "Web", "pacticipantVersionNumber": "4", "contracts": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    // Reads and verification fetches go on.
    let read = world
        .client
        .authed(
            Method::GET,
            "/pacts/provider/Orders/consumer/Web/version/2",
            &world.tenant.read_write,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let for_verification = world
        .client
        .authed(
            Method::POST,
            "/pacts/provider/Orders/for-verification",
            &world.tenant.read_only,
        )
        .json(&json!({"consumerVersionSelectors": [{"latest": true}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(for_verification.status(), StatusCode::OK);

    // The customer fixes the card; the invoice is paid; writable again.
    world
        .stripe
        .pay_invoice(invoice["id"].as_str().unwrap(), GOOD_CARD)
        .await;
    let billing = world
        .billing_until("recovery", |b| b["state"] == "ok")
        .await;
    assert!(billing["graceEndsAt"].is_null());
    // (A version the read-only phase cannot have created, whatever the cache's timing.)
    world
        .put_pact_until(StatusCode::CREATED, "Web", "Orders", "5")
        .await;
    let recovered = world.audit("payment_recovered").await;
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert_eq!(recovered[0]["details"]["from"], "read_only");
    mail::wait_for(
        world.cp.mail_dir.as_deref().unwrap(),
        &world.tenant.email,
        "Payment received",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_returns_to_starter_and_keeps_every_integration() {
    let world = Billed::start("billend", true).await;
    let subscription = world.upgrade().await;
    for consumer in ["Web", "Mobile", "Batch"] {
        let (status, body) = world.put_pact(consumer, "Orders", "1").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    // Cancelled in the portal at the period's end: still Team until then.
    world
        .stripe
        .api(
            Method::POST,
            &format!("/v1/subscriptions/{subscription}"),
            &[("cancel_at_period_end", "true")],
        )
        .await;
    let updated = world.stripe.subscription(&subscription).await;
    let (status, _) = world
        .deliver(&crate::billing_support::event(
            "evt_cancel_at_period_end",
            "customer.subscription.updated",
            updated,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let billing = world.billing().await;
    assert_eq!(billing["plan"]["id"], "team");
    assert_eq!(billing["subscription"]["cancelAtPeriodEnd"], true);

    // The period ends: Stripe deletes the subscription; the tenant is back on Starter.
    world
        .stripe
        .api(
            Method::DELETE,
            &format!("/v1/subscriptions/{subscription}"),
            &[],
        )
        .await;
    let billing = world
        .billing_until("Starter after cancellation", |b| {
            b["plan"]["id"] == "starter"
        })
        .await;
    assert_eq!(billing["subscription"]["status"], "canceled");
    assert_eq!(billing["state"], "ok");
    let changes = world.audit("plan_changed").await;
    assert_eq!(
        changes.last().unwrap()["details"],
        json!({"from": "team", "to": "starter", "source": "stripe"})
    );

    // Data kept: all three integrations readable and publishable; no fourth one.
    let refused = world.refused_new_integration("Orders").await;
    assert_eq!(refused["plan"], "Starter");
    for consumer in ["Web", "Mobile", "Batch"] {
        let read = world
            .client
            .authed(
                Method::GET,
                &format!("/pacts/provider/Orders/consumer/{consumer}/latest"),
                &world.tenant.read_only,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), StatusCode::OK, "{consumer}");
        let (status, _) = world.put_pact(consumer, "Orders", "2").await;
        assert_eq!(status, StatusCode::CREATED, "{consumer} still publishes");
    }
    // And the tenant can subscribe again.
    let session = world.checkout().await;
    assert!(session["url"].as_str().is_some());
}
