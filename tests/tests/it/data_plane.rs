//! The data plane does not need the control plane: with the control plane stopped, tenants keep
//! publishing and reading, even through a freshly started tenant API with cold caches.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tests::tenant_client::signup;
use tests::tools::workspace;
use tests::{TenantClient, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_keep_working_while_the_control_plane_is_stopped() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "steady").await;
    cp.stop().await;

    let pact = |n: u32| json!({"consumer": {"name": "C"}, "provider": {"name": "P"}, "interactions": [{"description": format!("v{n}")}]});
    let client = TenantClient::new(&api, "steady");
    let put = client
        .authed(
            Method::PUT,
            "/pacts/provider/P/consumer/C/version/1",
            &tenant.read_write,
        )
        .json(&pact(1))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);

    let fresh = env.start_tenant_api().await;
    let fresh_client = TenantClient::new(&fresh, "steady");
    let put = fresh_client
        .authed(
            Method::PUT,
            "/pacts/provider/P/consumer/C/version/2",
            &tenant.read_write,
        )
        .json(&pact(2))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let latest: serde_json::Value = fresh_client
        .authed(
            Method::GET,
            "/pacts/provider/P/consumer/C/latest",
            &tenant.read_only,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latest["interactions"][0]["description"], "v2");
}

#[test]
fn the_tenant_api_does_not_depend_on_the_control_plane_crate() {
    let manifest = std::fs::read_to_string(workspace().join("tenant-api/Cargo.toml")).unwrap();
    assert!(
        !manifest.contains("control-plane"),
        "tenant-api must not depend on control-plane"
    );
    let manifest = std::fs::read_to_string(workspace().join("provisioning/Cargo.toml")).unwrap();
    for http in ["axum", "tower", "hyper", "reqwest"] {
        assert!(
            !manifest.lines().any(|l| l.starts_with(http)),
            "provisioning must have no HTTP dependency ({http})"
        );
    }
}
