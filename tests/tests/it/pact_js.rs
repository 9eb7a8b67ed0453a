//! pact-js 17 against a tenant: a consumer test writes its pact, the Pact CLI publishes it, and a
//! pact-js provider verification reads it from the tenant and publishes its results there.

use std::process::Stdio;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tests::tenant_client::signup;
use tests::tools::{cli_subdomain, pact_broker, workspace};
use tests::{TenantClient, TestEnv};

async fn node(script: &str, env: &[(&str, &str)]) {
    let root = workspace();
    let output = tokio::process::Command::new("node")
        .arg(root.join("tests/js").join(script))
        .env("NODE_PATH", root.join(".tools/pactjs/node_modules"))
        .env("PACT_DO_NOT_TRACK", "true")
        .env("SCARF_ANALYTICS", "false")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run node (make tools installs pact-js)");
    assert!(
        output.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pact_js_consumer_publishes_and_a_pact_js_provider_verifies_through_the_tenant() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let subdomain = cli_subdomain(1);
    let tenant = signup(&cp, &subdomain).await;
    let broker = format!("http://{subdomain}.localhost:{}", api.port());

    let pacts = tempfile::tempdir().unwrap();
    node(
        "consumer.js",
        &[("PACT_DIR", pacts.path().to_str().unwrap())],
    )
    .await;
    let published = pact_broker(&[
        "publish",
        pacts.path().to_str().unwrap(),
        "-b",
        &broker,
        "-k",
        &tenant.read_write,
        "-a",
        "1.0.0",
        "--branch",
        "main",
    ])
    .await;
    assert!(
        published.success,
        "{}\n{}",
        published.stdout, published.stderr
    );
    // The consumer's main branch is `main` (first branch published).
    node(
        "provider.js",
        &[
            ("BROKER_URL", &broker),
            ("BROKER_TOKEN", &tenant.read_write),
            ("PROVIDER_VERSION", "2.0.0"),
            ("PROVIDER_BRANCH", "main"),
        ],
    )
    .await;

    let client = TenantClient::new(&api, &subdomain);
    let pact: Value = client
        .authed(
            Method::GET,
            "/pacts/provider/JsOrders/consumer/JsWeb/latest",
            &tenant.read_only,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        pact["interactions"][0]["description"],
        "a request for order 1"
    );
    let results = pact["_links"]["pb:latest-verification-results"]["href"]
        .as_str()
        .expect("verification results link")
        .to_owned();
    let path = results.replace(&broker, "");
    let verification = client
        .authed(Method::GET, &path, &tenant.read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(
        verification.status(),
        StatusCode::OK,
        "the provider's results were published"
    );
    let verification: Value = verification.json().await.unwrap();
    assert_eq!(verification["success"], true, "{verification}");
    assert_eq!(
        verification["providerApplicationVersion"], "2.0.0",
        "{verification}"
    );
}
