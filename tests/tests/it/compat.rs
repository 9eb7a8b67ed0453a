//! The tenant API verified against the Pact Broker client's own contracts with the real
//! `pact verifier` (see `tests::compat`): every interaction of both files must pass.

use reqwest::StatusCode;
use tests::compat::{CompatHarness, COMPAT_DOMAIN};
use tests::tenant_client::signup;
use tests::tools::{pact, workspace};
use tests::TestEnv;

async fn verify_contract(file: &str) {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "compat").await;
    sqlx::query("update tenant set custom_domain = $2 where tenant_id = $1")
        .bind(tenant.tenant_id)
        .bind(COMPAT_DOMAIN)
        .execute(&env.control)
        .await
        .unwrap();
    let harness = CompatHarness::start(
        api.running.addr,
        tenant.read_write.clone(),
        env.tenant_database(tenant.tenant_id).await,
    )
    .await;
    // The custom domain reaches the tenant API through its cache invalidation.
    let index = format!("http://{}/", harness.addr);
    for _ in 0..100 {
        if reqwest::get(&index).await.unwrap().status() == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let contract = workspace().join("../shared/compat/pacts").join(file);
    let report = tempfile::NamedTempFile::new().unwrap();
    let port = harness.addr.port().to_string();
    let out = pact(&[
        "verifier",
        "--file",
        contract.to_str().unwrap(),
        "--provider-name",
        "Pact Broker",
        "--hostname",
        "127.0.0.1",
        "--port",
        &port,
        "--state-change-url",
        &harness.state_change_url(),
        "--state-change-teardown",
        "--json",
        report.path().to_str().unwrap(),
    ])
    .await;
    if !out.success {
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report.path()).unwrap_or_default())
                .unwrap_or_default();
        let failures: Vec<String> = report["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| format!("- {}: {}", e["interaction"], e["mismatch"]))
                    .collect()
            })
            .unwrap_or_default();
        panic!(
            "{file}: {} interaction(s) failed\n{}\n\n--- verifier output ---\n{}\n{}",
            failures.len(),
            failures.join("\n"),
            out.stdout,
            out.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_api_honours_every_interaction_of_the_v2_broker_client_contract() {
    verify_contract("pact-broker-client-v2.json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_api_honours_every_interaction_of_the_v1_broker_client_contract() {
    verify_contract("pact-broker-client-v1.json").await;
}
