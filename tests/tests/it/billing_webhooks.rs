//! The Stripe webhook endpoint under everything Stripe's delivery can do: signatures (checked
//! against the official Stripe Python library both ways, during a secret rotation, stale,
//! tampered, missing), unknown event types, the same event twice, `subscription.deleted` before
//! a stale `subscription.updated`, and a crash between receiving and processing — Stripe
//! failing mid-processing, the control plane restarted, the event redelivered and also retried
//! by the billing job: nothing lost, nothing doubled.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::stripe::{self, python_sign, python_verify, OLD_WEBHOOK_SECRET, WEBHOOK_SECRET};
use tests::tenant_client::signup;
use tests::TestEnv;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::billing_support::{deliver_raw, event, start_control_plane, Billed};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_as_stripe_signs_them() {
    let world = Billed::start("billsig", false).await;
    let cp = &world.cp;
    let payload = serde_json::to_vec(&event(
        "evt_sig_1",
        "customer.tax_id.created",
        json!({"id": "txi_1", "object": "tax_id"}),
    ))
    .unwrap();

    // Signed by the official library, current secret: accepted (and ignored: unused type).
    let header = python_sign(&payload, WEBHOOK_SECRET, now()).await;
    let (status, body) = deliver_raw(cp, &payload, Some(&header)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "ignored: event type not used");
    // The previous secret, during a rotation: accepted too.
    let other = serde_json::to_vec(&event("evt_sig_2", "ping", json!({}))).unwrap();
    let header = python_sign(&other, OLD_WEBHOOK_SECRET, now()).await;
    assert_eq!(
        deliver_raw(cp, &other, Some(&header)).await.0,
        StatusCode::OK
    );
    // Several v1 signatures, one of them good.
    let third = serde_json::to_vec(&event("evt_sig_3", "ping", json!({}))).unwrap();
    let good = stripe::sign(&third, WEBHOOK_SECRET, now());
    let both = format!(
        "t={},v1={},{}",
        now(),
        "0".repeat(64),
        good.split_once(',').unwrap().1
    );
    assert_eq!(deliver_raw(cp, &third, Some(&both)).await.0, StatusCode::OK);

    // Refused: a changed body, another secret, a stale timestamp, no header, garbage.
    let header = python_sign(&payload, WEBHOOK_SECRET, now()).await;
    let mut tampered = payload.clone();
    tampered.extend_from_slice(b" ");
    let stale = python_sign(&payload, WEBHOOK_SECRET, now() - 301).await;
    assert!(
        python_verify(&payload, WEBHOOK_SECRET, &stale)
            .await
            .unwrap_err()
            .contains("tolerance"),
        "the library agrees it is stale"
    );
    let foreign = python_sign(&payload, "whsec_someone_else", now()).await;
    for (what, body, header) in [
        ("tampered", &tampered, Some(header.as_str())),
        ("foreign secret", &payload, Some(foreign.as_str())),
        ("stale", &payload, Some(stale.as_str())),
        ("missing", &payload, None),
        ("garbage", &payload, Some("t=,v1=nothex")),
    ] {
        let (status, problem) = deliver_raw(cp, body, header).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {problem}");
        assert_eq!(problem["code"], "invalid_signature", "{what}");
    }
    // A valid signature over something that is not an event: 400, never 500.
    let junk = b"not json at all";
    let header = stripe::sign(junk, WEBHOOK_SECRET, now());
    let (status, problem) = deliver_raw(cp, junk, Some(&header)).await;
    assert_eq!(
        (status, problem["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("bad_request"))
    );

    // The other way round: what Treaty's code signs, the official library accepts.
    let secret = secrecy::SecretString::from(WEBHOOK_SECRET.to_owned());
    let ours = control_plane::billing::signature::header(&payload, &secret, now());
    python_verify(&payload, WEBHOOK_SECRET, &ours)
        .await
        .unwrap();
    assert!(python_verify(&payload, "whsec_other", &ours).await.is_err());
    // And Treaty's signer matches the independent one here, byte for byte.
    assert_eq!(
        ours,
        stripe::sign(&payload, WEBHOOK_SECRET, ours[2..12].parse().unwrap())
    );

    // Only the accepted deliveries were stored, each processed.
    let stored: Vec<(String, String)> = sqlx::query_as(
        "select event_id, outcome from stripe_event where processed_at is not null order by 1",
    )
    .fetch_all(&world.env.control)
    .await
    .unwrap();
    let ids: Vec<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["evt_sig_1", "evt_sig_2", "evt_sig_3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_processed_once_and_a_late_update_cannot_undo_a_deletion() {
    // The fake Stripe sends nothing itself: this test delivers each event by hand.
    let world = Billed::start("billorder", false).await;
    let session = world.checkout().await;
    let session_id = session["sessionId"].as_str().unwrap();
    world.stripe.complete_checkout(session_id).await;
    let completed = world
        .stripe
        .api(
            Method::GET,
            &format!("/v1/checkout/sessions/{session_id}"),
            &[],
        )
        .await;
    let subscription = completed["subscription"].as_str().unwrap().to_owned();
    let checkout_event = event("evt_checkout", "checkout.session.completed", completed);

    let (status, body) = world.deliver(&checkout_event).await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (StatusCode::OK, json!("applied")),
        "{body}"
    );
    assert_eq!(world.billing().await["plan"]["id"], "team");
    // Delivered again: acknowledged, nothing done.
    let (status, body) = world.deliver(&checkout_event).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["outcome"], "duplicate: already processed");
    assert_eq!(world.audit("plan_changed").await.len(), 1);
    // Two deliveries of one event at the same moment: one processes it, the other waits and
    // finds it processed.
    let paid = event(
        "evt_paid_twice",
        "invoice.paid",
        json!({"id": "in_twice", "object": "invoice", "status": "paid",
               "customer": checkout_event["data"]["object"]["customer"], "subscription": subscription}),
    );
    let (first, second) = tokio::join!(world.deliver(&paid), world.deliver(&paid));
    let mut outcomes = [first.1["outcome"].clone(), second.1["outcome"].clone()];
    outcomes.sort_by_key(|o| o.to_string());
    assert_eq!(
        (first.0, second.0, outcomes),
        (
            StatusCode::OK,
            StatusCode::OK,
            [json!("applied"), json!("duplicate: already processed")]
        )
    );

    // A snapshot from while it was active, then the cancellation.
    let active = world.stripe.subscription(&subscription).await;
    assert_eq!(active["status"], "active");
    let canceled = world
        .stripe
        .api(
            Method::DELETE,
            &format!("/v1/subscriptions/{subscription}"),
            &[],
        )
        .await;
    // `deleted` arrives first, the older `updated` after it.
    let (status, _) = world
        .deliver(&event(
            "evt_deleted",
            "customer.subscription.deleted",
            canceled,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(world.billing().await["plan"]["id"], "starter");
    let (status, body) = world
        .deliver(&event(
            "evt_updated_late",
            "customer.subscription.updated",
            active,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let billing = world.billing().await;
    assert_eq!(
        billing["plan"]["id"], "starter",
        "Stripe says canceled: {billing}"
    );
    assert_eq!(billing["subscription"]["status"], "canceled");
    let changes: Vec<Value> = world
        .audit("plan_changed")
        .await
        .into_iter()
        .map(|e| e["details"]["to"].clone())
        .collect();
    assert_eq!(changes, [json!("team"), json!("starter")]);
    // The tenant API follows: Starter's two integrations, no third.
    for consumer in ["A", "B"] {
        world
            .put_pact_until(StatusCode::CREATED, consumer, "P", "1")
            .await;
    }
    let refused = world.refused_new_integration("P").await;
    assert_eq!(refused["plan"], "Starter");

    // An event for a customer no tenant has is acknowledged and ignored.
    let (status, body) = world
        .deliver(&event(
            "evt_stranger",
            "invoice.paid",
            json!({"id": "in_x", "object": "invoice", "customer": "cus_nobody", "subscription": "sub_nobody"}),
        ))
        .await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (
            StatusCode::OK,
            json!("ignored: not a customer of any tenant")
        )
    );
}

/// Stripe's documented subscription object (API reference), for `price_team_test`.
fn subscription_object(id: &str, customer: &str, status: &str) -> Value {
    json!({
        "id": id,
        "object": "subscription",
        "application": null,
        "billing_cycle_anchor": 1_795_000_000,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": null,
        "collection_method": "charge_automatically",
        "created": 1_795_000_000,
        "currency": "eur",
        "customer": customer,
        "items": {
            "object": "list",
            "data": [{
                "id": "si_crash",
                "object": "subscription_item",
                "current_period_end": 1_797_678_400,
                "current_period_start": 1_795_000_000,
                "price": {"id": stripe::TEAM_PRICE, "object": "price", "currency": "eur", "unit_amount": 900},
                "quantity": 1,
                "subscription": id
            }],
            "has_more": false,
            "url": format!("/v1/subscription_items?subscription={id}")
        },
        "latest_invoice": "in_crash",
        "livemode": false,
        "metadata": {},
        "status": status
    })
}

async fn stripe_answers(mock: &MockServer, subscription: Option<Value>) {
    mock.reset().await;
    let response = match subscription {
        Some(body) => ResponseTemplate::new(200).set_body_json(body),
        None => ResponseTemplate::new(500).set_body_json(json!({
            "error": {"type": "api_error", "message": "An unknown error occurred while processing your request."}
        })),
    };
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_crash"))
        .respond_with(response)
        .mount(mock)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_receiving_and_processing_loses_nothing_and_doubles_nothing() {
    let env = TestEnv::new().await;
    let mock = MockServer::start().await;
    let cp = start_control_plane(&env, &mock.uri(), &[]).await;
    let tenant = signup(&cp, "billcrash").await;
    let checkout = event(
        "evt_crash_checkout",
        "checkout.session.completed",
        json!({
            "id": "cs_test_crash", "object": "checkout.session", "mode": "subscription",
            "status": "complete", "payment_status": "paid",
            "client_reference_id": tenant.tenant_id.to_string(),
            "customer": "cus_crash", "subscription": "sub_crash"
        }),
    );
    let payload = serde_json::to_vec(&checkout).unwrap();
    let sign = || stripe::sign(&payload, WEBHOOK_SECRET, now());
    let plan = || async {
        sqlx::query_scalar::<_, String>("select plan from tenant where tenant_id = $1")
            .bind(tenant.tenant_id)
            .fetch_one(&env.control)
            .await
            .unwrap()
    };

    // Stripe fails while the event is processed: recorded, not applied, answered non-2xx.
    stripe_answers(&mock, None).await;
    let (status, problem) = deliver_raw(&cp, &payload, Some(&sign())).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{problem}");
    let (processed, attempts, error): (bool, i32, Option<String>) = sqlx::query_as(
        "select processed_at is not null, attempts, last_error from stripe_event where event_id = 'evt_crash_checkout'",
    )
    .fetch_one(&env.control)
    .await
    .unwrap();
    assert_eq!((processed, attempts), (false, 1));
    assert!(error.unwrap().contains("500"));
    assert_eq!(plan().await, "starter");
    let customers: i64 = sqlx::query_scalar(
        "select count(*) from billing_account where stripe_customer_id is not null",
    )
    .fetch_one(&env.control)
    .await
    .unwrap();
    assert_eq!(customers, 0, "nothing of a failed processing is kept");

    // The control plane goes down and comes back; Stripe is fine again and redelivers.
    cp.stop().await;
    stripe_answers(
        &mock,
        Some(subscription_object("sub_crash", "cus_crash", "active")),
    )
    .await;
    let cp = start_control_plane(&env, &mock.uri(), &[]).await;
    let (status, body) = deliver_raw(&cp, &payload, Some(&sign())).await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (StatusCode::OK, json!("applied")),
        "{body}"
    );
    assert_eq!(plan().await, "team");
    let (status, body) = deliver_raw(&cp, &payload, Some(&sign())).await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (StatusCode::OK, json!("duplicate: already processed"))
    );
    let changes: i64 =
        sqlx::query_scalar("select count(*) from audit_event where type = 'plan_changed'")
            .fetch_one(&env.control)
            .await
            .unwrap();
    assert_eq!(changes, 1, "applied exactly once");

    // An event whose processing failed is retried by the billing job even if Stripe never
    // redelivers it.
    stripe_answers(&mock, None).await;
    let failed = event(
        "evt_crash_invoice",
        "invoice.payment_failed",
        json!({"id": "in_crash", "object": "invoice", "customer": "cus_crash", "status": "open",
               "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_crash"}}}),
    );
    let failed_payload = serde_json::to_vec(&failed).unwrap();
    let (status, _) = deliver_raw(
        &cp,
        &failed_payload,
        Some(&stripe::sign(&failed_payload, WEBHOOK_SECRET, now())),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    stripe_answers(
        &mock,
        Some(subscription_object("sub_crash", "cus_crash", "past_due")),
    )
    .await;
    // Its back-off has elapsed.
    sqlx::query(
        "update stripe_event set next_attempt_at = now() where event_id = 'evt_crash_invoice'",
    )
    .execute(&env.control)
    .await
    .unwrap();
    crate::billing_support::eventually("the billing job to process the event", || async {
        let state: String =
            sqlx::query_scalar("select billing_state from tenant where tenant_id = $1")
                .bind(tenant.tenant_id)
                .fetch_one(&env.control)
                .await
                .unwrap();
        (state == "grace").then_some(())
    })
    .await;
    let (processed, attempts): (bool, i32) = sqlx::query_as(
        "select processed_at is not null, attempts from stripe_event where event_id = 'evt_crash_invoice'",
    )
    .fetch_one(&env.control)
    .await
    .unwrap();
    assert_eq!((processed, attempts), (true, 2));
    let failures: i64 =
        sqlx::query_scalar("select count(*) from audit_event where type = 'payment_failed'")
            .fetch_one(&env.control)
            .await
            .unwrap();
    assert_eq!(failures, 1);
}
