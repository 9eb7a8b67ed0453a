//! Nobody learns whether an address has an account from how fast the control plane answers:
//! password reset and resending the confirmation take as long for an address with five
//! accounts as for one with none (the per-account work happens after the answer).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tests::TestEnv;

const OWNER: &str = "owner@probe.test";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median answer times of `path` for [`OWNER`] and for fresh unknown addresses, interleaved.
async fn medians(cp: &tests::RunningControlPlane, path: &str) -> (Duration, Duration) {
    let client = reqwest::Client::new();
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..70 {
        let address = if i % 2 == 0 {
            OWNER.to_owned()
        } else {
            format!("nobody{i}@probe.test")
        };
        let started = Instant::now();
        let response = client
            .post(cp.url(path))
            .json(&json!({ "email": address }))
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        // Let work done after an answer finish before the next request is timed.
        tokio::time::sleep(Duration::from_millis(40)).await;
        if i < 10 {
            continue; // warm-up
        }
        if i % 2 == 0 {
            known.push(took);
        } else {
            unknown.push(took);
        }
    }
    (median(known), median(unknown))
}

fn assert_indistinguishable(what: &str, known: Duration, unknown: Duration) {
    let difference = known.abs_diff(unknown);
    let bound = Duration::from_millis(5).max(unknown.max(known) / 5);
    eprintln!("{what}: median {known:?} with accounts, {unknown:?} without (bound {bound:?})");
    assert!(
        difference < bound,
        "{what}: median {known:?} for an address with accounts vs {unknown:?} without"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_resend_take_as_long_for_addresses_with_accounts_as_without() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let client = reqwest::Client::new();
    for n in 1..=5 {
        let response = client
            .post(cp.url("/api/signup"))
            .json(&json!({
                "organisation": format!("Probe {n}"), "subdomain": format!("probe{n}"),
                "email": OWNER, "password": tests::tenant_client::PASSWORD,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: serde_json::Value = response.json().await.unwrap();
        // Measure once provisioning is over, so it does not add noise.
        let id = body["tenantId"].as_str().unwrap();
        for _ in 0..300 {
            let status: serde_json::Value = reqwest::get(cp.url(&format!("/api/signups/{id}")))
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
    }

    let (known, unknown) = medians(&cp, "/api/password-reset").await;
    assert_indistinguishable("password reset", known, unknown);
    let (known, unknown) = medians(&cp, "/api/signup/resend-confirmation").await;
    assert_indistinguishable("resend confirmation", known, unknown);

    // The work still happens: every account got its reset links and fresh confirmations.
    let dir = cp.mail_dir.as_deref().unwrap();
    tests::mail::wait_for_nth(dir, OWNER, "Reset your Treaty password", 5 * 35).await;
    tests::mail::wait_for_nth(dir, OWNER, "Confirm", 5 + 5 * 35).await;
}
