//! The plan's integration limit as a pipeline meets it, through the real Pact CLI
//! (`pact-broker publish`): on Starter the third integration is refused with a message naming
//! the plan, the limit and where to upgrade; after the upgrade (Checkout paid on the fake
//! Stripe, its webhooks received) the same publication goes through.

use serde_json::json;
use tests::tools::{cli_subdomain, pact_broker};

use crate::billing_support::{eventually, pact, Billed};

fn pact_dir(pairs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (consumer, provider) in pairs {
        std::fs::write(
            dir.path().join(format!("{consumer}-{provider}.json")),
            serde_json::to_vec_pretty(&pact(consumer, provider)).unwrap(),
        )
        .unwrap();
    }
    dir
}

async fn publish(world: &Billed, dir: &tempfile::TempDir, version: &str) -> tests::tools::Output {
    pact_broker(&[
        "publish",
        dir.path().to_str().unwrap(),
        "--broker-base-url",
        &world.client.base_url,
        "--broker-token",
        &world.tenant.read_write,
        "--consumer-app-version",
        version,
        "--branch",
        "main",
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pact_cli_is_refused_a_third_integration_on_starter_and_accepted_after_upgrade() {
    let world = Billed::start(&cli_subdomain(0), true).await;
    let first = publish(&world, &pact_dir(&[("Web", "Orders")]), "1.0.0").await;
    assert!(first.success, "{}{}", first.stdout, first.stderr);
    let second = publish(&world, &pact_dir(&[("Mobile", "Orders")]), "1.0.0").await;
    assert!(second.success, "{}{}", second.stdout, second.stderr);

    let third = pact_dir(&[("Batch", "Orders")]);
    let refused = publish(&world, &third, "1.0.0").await;
    let output = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        !refused.success,
        "the third integration was accepted on Starter: {output}"
    );
    assert!(
        output.contains("Starter plan allows 2 integrations"),
        "{output}"
    );
    assert!(
        output.contains("/api/billing"),
        "names where to upgrade: {output}"
    );
    // Existing integrations keep publishing.
    let again = publish(&world, &pact_dir(&[("Web", "Orders")]), "1.0.1").await;
    assert!(again.success, "{}{}", again.stdout, again.stderr);

    world.upgrade().await;
    let accepted = eventually("the CLI's publication after the upgrade", || async {
        let out = publish(&world, &third, "1.0.0").await;
        out.success.then_some(out)
    })
    .await;
    assert!(accepted.stdout.contains("Batch"), "{}", accepted.stdout);
    let integrations = world
        .client
        .authed(
            reqwest::Method::GET,
            "/integrations",
            &world.tenant.read_only,
        )
        .header("accept", "application/hal+json")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        integrations["_embedded"]["integrations"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{integrations}"
    );
    assert_eq!(
        world.billing().await["plan"]["limits"]["integrations"],
        json!(50)
    );
}
