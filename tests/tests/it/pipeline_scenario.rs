//! A CI pipeline's commands with both independent clients — the consolidated Pact CLI (Rust) and
//! the legacy Ruby `pact-broker` — against one tenant: publishing from branches with tags,
//! listing the latest pacts, recording and describing versions.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::tenant_client::signup;
use tests::tools::{cli_subdomain, legacy_pact_broker, pact_broker, Output};
use tests::{TenantClient, TestEnv};

fn write_pact(dir: &std::path::Path, consumer: &str, provider: &str) {
    let pact = json!({
        "consumer": {"name": consumer}, "provider": {"name": provider},
        "interactions": [{"description": format!("{consumer} asks for orders"), "request": {"method": "GET", "path": "/orders"},
                          "response": {"status": 200, "body": []}}],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    std::fs::write(
        dir.join(format!("{consumer}-{provider}.json")),
        pact.to_string(),
    )
    .unwrap();
}

/// Runs a client with the broker's base URL and a token appended; fails the test unless it
/// succeeds (`expect_success`) or fails as expected.
struct Broker {
    base: String,
}

enum Client {
    PactCli,
    LegacyRuby,
}

impl Broker {
    async fn run(&self, client: Client, token: &str, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--broker-base-url", &self.base, "--broker-token", token]);
        match client {
            Client::PactCli => pact_broker(&all).await,
            Client::LegacyRuby => legacy_pact_broker(&all).await,
        }
    }

    async fn ok(&self, client: Client, token: &str, args: &[&str]) -> Output {
        let out = self.run(client, token, args).await;
        assert!(
            out.success,
            "{args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_works_with_both_the_pact_cli_and_the_legacy_ruby_client() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let subdomain = cli_subdomain(2);
    let tenant = signup(&cp, &subdomain).await;
    let broker = Broker {
        base: format!("http://{subdomain}.localhost:{}", api.port()),
    };
    let (rw, ro) = (tenant.read_write.as_str(), tenant.read_only.as_str());

    // The legacy Ruby client publishes Web's pact from main, tagged; the Rust CLI publishes
    // Mobile's from a feature branch, tagged.
    let web = tempfile::tempdir().unwrap();
    write_pact(web.path(), "Web", "Orders");
    let web_dir = web.path().to_str().unwrap();
    broker
        .ok(
            Client::LegacyRuby,
            rw,
            &[
                "publish",
                web_dir,
                "--consumer-app-version",
                "1.0.0",
                "--branch",
                "main",
                "--tag",
                "main",
            ],
        )
        .await;
    let mobile = tempfile::tempdir().unwrap();
    write_pact(mobile.path(), "Mobile", "Orders");
    let mobile_dir = mobile.path().to_str().unwrap();
    broker
        .ok(
            Client::PactCli,
            rw,
            &[
                "publish",
                mobile_dir,
                "--consumer-app-version",
                "5.0.0",
                "--branch",
                "feat/search",
                "--tag",
                "feat",
            ],
        )
        .await;

    // What each client published is in the broker, with its branch and tag.
    let client = TenantClient::new(&api, &subdomain);
    for (consumer, number, branch, tag) in [
        ("Web", "1.0.0", "main", "main"),
        ("Mobile", "5.0.0", "feat/search", "feat"),
    ] {
        let version: Value = client
            .authed(
                Method::GET,
                &format!("/pacticipants/{consumer}/versions/{number}"),
                ro,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            version["_embedded"]["branchVersions"][0]["name"], branch,
            "{version}"
        );
        assert_eq!(version["_embedded"]["tags"][0]["name"], tag, "{version}");
    }

    // Both clients list the latest pacts.
    let listed = broker
        .ok(
            Client::PactCli,
            ro,
            &["list-latest-pact-versions", "--output", "json"],
        )
        .await;
    let listed: Value =
        serde_json::from_str(&listed.stdout).unwrap_or_else(|e| panic!("{e}: {}", listed.stdout));
    let mut consumers: Vec<String> = listed["pacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let consumer = &p["_embedded"]["consumer"];
            format!(
                "{} {}",
                consumer["name"].as_str().unwrap(),
                consumer["_embedded"]["version"]["number"].as_str().unwrap()
            )
        })
        .collect();
    consumers.sort();
    assert_eq!(consumers, ["Mobile 5.0.0", "Web 1.0.0"]);
    let legacy_listed = broker
        .ok(Client::LegacyRuby, ro, &["list-latest-pact-versions"])
        .await;
    for expected in ["Web", "1.0.0", "Mobile", "5.0.0", "Orders"] {
        assert!(
            legacy_listed.stdout.contains(expected),
            "{expected} missing from:\n{}",
            legacy_listed.stdout
        );
    }

    // The provider's version is recorded by one client and described by the other.
    broker
        .ok(
            Client::LegacyRuby,
            rw,
            &[
                "create-or-update-version",
                "--pacticipant",
                "Orders",
                "--version",
                "2.0.0",
                "--branch",
                "main",
            ],
        )
        .await;
    let described = broker
        .ok(
            Client::PactCli,
            ro,
            &[
                "describe-version",
                "--pacticipant",
                "Orders",
                "--version",
                "2.0.0",
                "--output",
                "json",
            ],
        )
        .await;
    let described: Value = serde_json::from_str(&described.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", described.stdout));
    assert_eq!(described["number"], "2.0.0");
    let legacy_described = broker
        .ok(
            Client::LegacyRuby,
            ro,
            &["describe-version", "--pacticipant", "Web", "--latest"],
        )
        .await;
    assert!(
        legacy_described.stdout.contains("1.0.0"),
        "{}",
        legacy_described.stdout
    );

    // A read-only token is refused a write by both clients, and nothing changes.
    let refused = [
        "create-or-update-version",
        "--pacticipant",
        "Orders",
        "--version",
        "3.0.0",
    ];
    assert!(!broker.run(Client::PactCli, ro, &refused).await.success);
    assert!(!broker.run(Client::LegacyRuby, ro, &refused).await.success);
    let missing = client
        .authed(Method::GET, "/pacticipants/Orders/versions/3.0.0", ro)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
