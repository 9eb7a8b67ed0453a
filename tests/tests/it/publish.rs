//! The walking skeleton end to end: signup → active → the real Pact CLI publishes with the
//! tenant's token at `http://<tenant>.localhost:<port>` → the pact is served back.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::tenant_client::{set_plan, signup};
use tests::tools::{cli_subdomain, pact_broker};
use tests::{TenantClient, TestEnv};

fn write_pact(dir: &std::path::Path, consumer: &str, provider: &str, description: &str) {
    let pact = json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [{
            "description": description,
            "providerState": "things exist",
            "request": {"method": "GET", "path": "/things"},
            "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": [{"id": 1}]}
        }],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    std::fs::write(
        dir.join(format!("{consumer}-{provider}.json")),
        serde_json::to_vec_pretty(&pact).unwrap(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pact_cli_publishes_to_a_new_tenant_and_the_pact_is_served_back() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let subdomain = cli_subdomain(0);
    let tenant = signup(&cp, &subdomain).await;
    let base_url = format!("http://{subdomain}.localhost:{}", api.port());

    let pacts = tempfile::tempdir().unwrap();
    write_pact(pacts.path(), "Web", "Orders", "a request for things");
    let out = pact_broker(&[
        "publish",
        pacts.path().to_str().unwrap(),
        "--broker-base-url",
        &base_url,
        "--broker-token",
        &tenant.read_write,
        "--consumer-app-version",
        "1.0.0",
        "--branch",
        "main",
    ])
    .await;
    assert!(
        out.success,
        "pact-broker publish failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout
            .contains("Pact successfully published for Web version 1.0.0 and provider Orders"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("Warning"),
        "the CLI could not read our response: {}",
        out.stdout
    );

    let client = TenantClient::new(&api, &subdomain);
    let response = client
        .authed(
            Method::GET,
            "/pacts/provider/Orders/consumer/Web/latest",
            &tenant.read_only,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/hal+json;charset=utf-8"
    );
    assert_eq!(response.headers()["x-pact-consumer-version"], "1.0.0");
    let pact: Value = response.json().await.unwrap();
    assert_eq!(pact["consumer"]["name"], "Web");
    assert_eq!(
        pact["interactions"][0]["description"],
        "a request for things"
    );
    assert_eq!(
        pact["_links"]["self"]["href"],
        format!("{base_url}/pacts/provider/Orders/consumer/Web/version/1.0.0")
    );

    // Re-publishing the same content is fine; changing it for the same version is refused.
    let again = pact_broker(&[
        "publish",
        pacts.path().to_str().unwrap(),
        "-b",
        &base_url,
        "-k",
        &tenant.read_write,
        "-a",
        "1.0.0",
    ])
    .await;
    assert!(again.success, "{}\n{}", again.stdout, again.stderr);
    write_pact(pacts.path(), "Web", "Orders", "a changed request");
    let changed = pact_broker(&[
        "publish",
        pacts.path().to_str().unwrap(),
        "-b",
        &base_url,
        "-k",
        &tenant.read_write,
        "-a",
        "1.0.0",
    ])
    .await;
    assert!(
        !changed.success,
        "changing a published pact must fail:\n{}",
        changed.stdout
    );
    assert!(
        format!("{}{}", changed.stdout, changed.stderr)
            .contains("Cannot change the content of the pact"),
        "{}{}",
        changed.stdout,
        changed.stderr
    );

    // A read-only token cannot publish.
    let refused = pact_broker(&[
        "publish",
        pacts.path().to_str().unwrap(),
        "-b",
        &base_url,
        "-k",
        &tenant.read_only,
        "-a",
        "2.0.0",
    ])
    .await;
    assert!(
        !refused.success,
        "a read-only token published:\n{}",
        refused.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_records_branch_tags_and_build_url_atomically() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "atomic").await;
    set_plan(&cp, &tenant, "enterprise").await;
    let client = TenantClient::new(&api, "atomic");
    let content = |consumer: &str, provider: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(json!({"consumer": {"name": consumer}, "provider": {"name": provider}, "interactions": []}).to_string())
    };
    let body = |number: &str, providers: &[&str]| {
        json!({
            "pacticipantName": "Web", "pacticipantVersionNumber": number, "branch": "feat/x", "tags": ["dev", "x"],
            "buildUrl": "https://ci/1",
            "contracts": providers.iter().map(|p| json!({"consumerName": "Web", "providerName": p, "specification": "pact", "contentType": "application/json", "content": content("Web", p)})).collect::<Vec<_>>()
        })
    };
    let ok: Value = client
        .authed(Method::POST, "/contracts/publish", &tenant.read_write)
        .json(&body("1", &["A", "B"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["_embedded"]["version"]["number"], "1");
    assert_eq!(ok["_links"]["pb:contracts"].as_array().unwrap().len(), 2);
    assert_eq!(ok["_links"]["pb:pacticipant-version-tags"][1]["name"], "x");
    assert_eq!(
        ok["notices"][0]["text"],
        "Created Web version 1 with branch feat/x and tags dev, x"
    );

    // One conflicting contract refuses the whole publication: B's new content is not recorded.
    let mut conflicting = body("1", &["B", "C"]);
    conflicting["contracts"][0]["content"] = {
        use base64::Engine;
        json!(base64::engine::general_purpose::STANDARD.encode(json!({"consumer": {"name": "Web"}, "provider": {"name": "B"}, "interactions": [{"description": "new"}]}).to_string()))
    };
    let response = client
        .authed(Method::POST, "/contracts/publish", &tenant.read_write)
        .json(&conflicting)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let conflict: Value = response.json().await.unwrap();
    assert_eq!(conflict["notices"][0]["type"], "error");
    let c = client
        .authed(
            Method::GET,
            "/pacts/provider/C/consumer/Web/version/1",
            &tenant.read_write,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.status(),
        StatusCode::NOT_FOUND,
        "C must not have been published by a refused request"
    );

    // onConflict: merge adds interactions instead.
    conflicting["contracts"][0]["onConflict"] = json!("merge");
    let merged = client
        .authed(Method::POST, "/contracts/publish", &tenant.read_write)
        .json(&conflicting)
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), StatusCode::OK);
    let pact: Value = client
        .authed(
            Method::GET,
            "/pacts/provider/B/consumer/Web/version/1",
            &tenant.read_write,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pact["interactions"][0]["description"], "new");
}
