//! The real Pact CLI (`pact-broker`, npm `@pact-foundation/pact-cli`) against the broker
//! resources: pacticipants, environments, versions, tags, branches, deployments and releases.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tests::tools::{cli_subdomain, pact_broker, Output};

use crate::broker_support::{expect, Broker};

/// Runs `pact-broker <args> -b <tenant> -k <read-write token>`, asserting success.
async fn cli(broker: &Broker, args: &[&str]) -> Output {
    let out = try_cli(broker, args).await;
    assert!(
        out.success,
        "pact-broker {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out
}

async fn try_cli(broker: &Broker, args: &[&str]) -> Output {
    let mut full: Vec<&str> = args.to_vec();
    full.extend([
        "--broker-base-url",
        broker.base(),
        "--broker-token",
        &broker.tenant.read_write,
    ]);
    pact_broker(&full).await
}

fn json_output(out: &Output) -> Value {
    let line = out
        .stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(['{', '[']))
        .unwrap_or_else(|| panic!("no JSON in output:\n{}", out.stdout));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pact_cli_creates_updates_describes_and_lists_pacticipants() {
    let broker = Broker::start(&cli_subdomain(0)).await;

    cli(
        &broker,
        &[
            "create-or-update-pacticipant",
            "--name",
            "Foo",
            "--display-name",
            "The Foo",
            "--main-branch",
            "main",
            "--repository-url",
            "http://foo",
        ],
    )
    .await;
    let foo = broker.get("/pacticipants/Foo").await.json();
    assert_eq!(foo["displayName"], "The Foo");
    assert_eq!(foo["mainBranch"], "main");
    assert_eq!(foo["repositoryUrl"], "http://foo");

    // Again: the CLI finds it and patches it.
    cli(
        &broker,
        &[
            "create-or-update-pacticipant",
            "--name",
            "Foo",
            "--repository-url",
            "http://foo/2",
        ],
    )
    .await;
    let foo = broker.get("/pacticipants/Foo").await.json();
    assert_eq!(foo["repositoryUrl"], "http://foo/2");
    assert_eq!(foo["displayName"], "The Foo");
    cli(&broker, &["create-or-update-pacticipant", "--name", "Bar"]).await;
    expect(
        &broker
            .put("/pacticipants/Foo/labels/team-a", &json!({}))
            .await,
        StatusCode::CREATED,
    );

    let described = cli(
        &broker,
        &["describe-pacticipant", "--name", "Foo", "-o", "json"],
    )
    .await;
    let described = json_output(&described);
    assert_eq!(described["name"], "Foo", "{described}");
    let text = cli(&broker, &["describe-pacticipant", "--name", "Foo"]).await;
    assert!(text.stdout.contains("Foo"), "{}", text.stdout);
    let missing = try_cli(&broker, &["describe-pacticipant", "--name", "Nope"]).await;
    assert!(!missing.success, "{}", missing.stdout);

    let listed = cli(&broker, &["list-pacticipants", "-o", "json"]).await;
    let listed = json_output(&listed);
    let names: Vec<&str> = listed["pacticipants"]
        .as_array()
        .or_else(|| listed["_embedded"]["pacticipants"].as_array())
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bar", "Foo"]);
    let table = cli(&broker, &["list-pacticipants"]).await;
    assert!(
        table.stdout.contains("Bar") && table.stdout.contains("Foo"),
        "{}",
        table.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pact_cli_creates_lists_describes_updates_and_deletes_environments() {
    let broker = Broker::start(&cli_subdomain(1)).await;

    let created = cli(
        &broker,
        &[
            "create-environment",
            "--name",
            "test",
            "--display-name",
            "Test",
            "--contact-name",
            "Foo team",
            "--contact-email-address",
            "foo@bar.com",
            "-o",
            "json",
        ],
    )
    .await;
    let created = json_output(&created);
    let uuid = created["uuid"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let environment = broker.get(&format!("/environments/{uuid}")).await.json();
    assert_eq!(environment["name"], "test");
    assert_eq!(environment["production"], false);
    assert_eq!(
        environment["contacts"],
        json!([{"name": "Foo team", "details": {"emailAddress": "foo@bar.com"}}])
    );
    cli(
        &broker,
        &["create-environment", "--name", "prod", "--production"],
    )
    .await;
    let duplicate = try_cli(&broker, &["create-environment", "--name", "test"]).await;
    assert!(!duplicate.success, "{}", duplicate.stdout);

    let listed = cli(&broker, &["list-environments", "-o", "json"]).await;
    let listed = json_output(&listed);
    let names: Vec<&str> = listed["_embedded"]["environments"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prod", "test"]);
    let table = cli(&broker, &["list-environments"]).await;
    assert!(table.stdout.contains(&uuid), "{}", table.stdout);

    let described = cli(&broker, &["describe-environment", "--uuid", &uuid]).await;
    assert!(described.stdout.contains("Test"), "{}", described.stdout);
    assert!(
        described.stdout.contains("Foo team"),
        "{}",
        described.stdout
    );

    cli(
        &broker,
        &[
            "update-environment",
            "--uuid",
            &uuid,
            "--name",
            "test",
            "--display-name",
            "Testing",
            "--production",
        ],
    )
    .await;
    let updated = broker.get(&format!("/environments/{uuid}")).await.json();
    assert_eq!(updated["displayName"], "Testing");
    assert_eq!(updated["production"], true);
    assert_eq!(updated["name"], "test");

    cli(&broker, &["delete-environment", "--uuid", &uuid]).await;
    expect(
        &broker.get(&format!("/environments/{uuid}")).await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pact_cli_records_versions_tags_deployments_and_releases() {
    let broker = Broker::start(&cli_subdomain(2)).await;

    // Versions, branches and tags.
    cli(
        &broker,
        &[
            "create-or-update-version",
            "-a",
            "Foo",
            "-e",
            "1.0.0",
            "--branch",
            "main",
        ],
    )
    .await;
    cli(
        &broker,
        &[
            "create-or-update-version",
            "-a",
            "Foo",
            "-e",
            "1.0.0",
            "-t",
            "prod",
        ],
    )
    .await;
    cli(
        &broker,
        &["create-or-update-version", "-a", "Foo", "-e", "1.1.0"],
    )
    .await;
    cli(
        &broker,
        &[
            "create-version-tag",
            "-a",
            "Foo",
            "-e",
            "1.0.0",
            "-t",
            "eu",
            "green",
        ],
    )
    .await;
    let refused = try_cli(
        &broker,
        &["create-version-tag", "-a", "Foo", "-e", "9.9.9", "-t", "x"],
    )
    .await;
    assert!(!refused.success, "{}", refused.stdout);
    cli(
        &broker,
        &[
            "create-version-tag",
            "-a",
            "Foo",
            "-e",
            "2.0.0",
            "-t",
            "next",
            "--auto-create-version",
        ],
    )
    .await;
    let version = broker.get("/pacticipants/Foo/versions/1.0.0").await.json();
    let tags: Vec<&str> = version["_embedded"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["prod", "eu", "green"]);
    assert_eq!(version["_embedded"]["branchVersions"][0]["name"], "main");
    assert_eq!(
        broker.get("/pacticipants/Foo").await.json()["mainBranch"],
        "main"
    );

    let described = cli(
        &broker,
        &["describe-version", "-a", "Foo", "-e", "1.0.0", "-o", "json"],
    )
    .await;
    assert_eq!(json_output(&described)["number"], "1.0.0");
    let latest = cli(&broker, &["describe-version", "-a", "Foo", "-o", "json"]).await;
    assert_eq!(json_output(&latest)["number"], "2.0.0");
    let latest_prod = cli(
        &broker,
        &[
            "describe-version",
            "-a",
            "Foo",
            "--latest",
            "prod",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(json_output(&latest_prod)["number"], "1.0.0");
    let table = cli(&broker, &["describe-version", "-a", "Foo", "-e", "1.0.0"]).await;
    assert!(table.stdout.contains("prod, eu, green"), "{}", table.stdout);

    // Deployments: record, with and without an application instance, then undeploy.
    cli(
        &broker,
        &["create-environment", "--name", "production", "--production"],
    )
    .await;
    let deployed = cli(
        &broker,
        &[
            "record-deployment",
            "-a",
            "Foo",
            "-e",
            "1.0.0",
            "--environment",
            "production",
        ],
    )
    .await;
    assert!(
        deployed.stdout.contains("Recorded deployment of"),
        "{}",
        deployed.stdout
    );
    cli(
        &broker,
        &[
            "record-deployment",
            "-a",
            "Foo",
            "-e",
            "1.1.0",
            "--environment",
            "production",
            "--application-instance",
            "blue",
        ],
    )
    .await;
    let unknown = try_cli(
        &broker,
        &[
            "record-deployment",
            "-a",
            "Foo",
            "-e",
            "1.0.0",
            "--environment",
            "nowhere",
        ],
    )
    .await;
    assert!(!unknown.success, "{}", unknown.stdout);
    let environments = broker.get("/environments?name=production").await.json();
    let uuid = environments["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let current = format!("/environments/{uuid}/deployed-versions/currently-deployed");
    let instances = |document: Value| -> Vec<Value> {
        document["_embedded"]["deployedVersions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["applicationInstance"].clone())
            .collect()
    };
    assert_eq!(
        instances(broker.get(&current).await.json()),
        [json!("blue"), Value::Null]
    );
    cli(
        &broker,
        &[
            "record-undeployment",
            "-a",
            "Foo",
            "--environment",
            "production",
        ],
    )
    .await;
    assert_eq!(
        instances(broker.get(&current).await.json()),
        [json!("blue")]
    );
    cli(
        &broker,
        &[
            "record-undeployment",
            "-a",
            "Foo",
            "--environment",
            "production",
            "--application-instance",
            "blue",
        ],
    )
    .await;
    assert!(instances(broker.get(&current).await.json()).is_empty());

    // Releases: record, then end support.
    let released = cli(
        &broker,
        &[
            "record-release",
            "-a",
            "Foo",
            "-e",
            "1.0.0",
            "--environment",
            "production",
        ],
    )
    .await;
    assert!(
        released.stdout.contains("Recorded release of"),
        "{}",
        released.stdout
    );
    let supported = format!("/environments/{uuid}/released-versions/currently-supported");
    let count = |document: Value| {
        document["_embedded"]["releasedVersions"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(broker.get(&supported).await.json()), 1);
    cli(
        &broker,
        &[
            "record-support-ended",
            "-a",
            "Foo",
            "-e",
            "1.0.0",
            "--environment",
            "production",
        ],
    )
    .await;
    assert_eq!(count(broker.get(&supported).await.json()), 0);

    // Deleting a branch keeps its versions.
    cli(&broker, &["delete-branch", "-a", "Foo", "--branch", "main"]).await;
    expect(
        &broker.get("/pacticipants/Foo/branches/main").await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.get("/pacticipants/Foo/versions/1.0.0").await,
        StatusCode::OK,
    );
}

/// Runs the legacy Ruby `pact-broker` client (bundled in `pact-python-cli`) against the tenant.
async fn legacy_cli(broker: &Broker, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--broker-base-url",
        broker.base(),
        "--broker-token",
        &broker.tenant.read_write,
    ]);
    let out = tests::tools::legacy_pact_broker(&all).await;

    assert!(
        out.success,
        "legacy pact-broker {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_ruby_cli_manages_pacticipants_environments_deployments_and_releases() {
    let broker = Broker::start(&cli_subdomain(0)).await;

    legacy_cli(
        &broker,
        &[
            "create-or-update-pacticipant",
            "--name",
            "Foo",
            "--repository-url",
            "http://foo",
        ],
    )
    .await;
    legacy_cli(
        &broker,
        &[
            "create-or-update-pacticipant",
            "--name",
            "Foo",
            "--main-branch",
            "main",
        ],
    )
    .await;
    let foo = broker.get("/pacticipants/Foo").await.json();
    assert_eq!(foo["repositoryUrl"], "http://foo");
    assert_eq!(foo["mainBranch"], "main");
    let described = legacy_cli(&broker, &["describe-pacticipant", "--name", "Foo"]).await;
    assert!(described.stdout.contains("Foo"), "{}", described.stdout);
    let listed = legacy_cli(&broker, &["list-pacticipants"]).await;
    assert!(listed.stdout.contains("Foo"), "{}", listed.stdout);

    legacy_cli(
        &broker,
        &[
            "create-or-update-version",
            "-a",
            "Foo",
            "-e",
            "1",
            "--branch",
            "main",
            "-t",
            "prod",
        ],
    )
    .await;
    legacy_cli(
        &broker,
        &["create-version-tag", "-a", "Foo", "-e", "1", "-t", "eu"],
    )
    .await;
    let version = legacy_cli(
        &broker,
        &["describe-version", "-a", "Foo", "-e", "1", "-o", "json"],
    )
    .await;
    assert!(version.stdout.contains("\"number\""), "{}", version.stdout);
    let latest = legacy_cli(
        &broker,
        &["describe-version", "-a", "Foo", "--latest", "prod"],
    )
    .await;
    assert!(latest.stdout.contains("prod"), "{}", latest.stdout);

    let created = legacy_cli(
        &broker,
        &[
            "create-environment",
            "--name",
            "production",
            "--production",
            "--contact-name",
            "Ops",
            "--contact-email-address",
            "ops@x.test",
            "-o",
            "json",
        ],
    )
    .await;
    assert!(created.stdout.contains("production"), "{}", created.stdout);
    let environments = broker.get("/environments?name=production").await.json();
    let uuid = environments["_embedded"]["environments"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    legacy_cli(&broker, &["list-environments"]).await;
    legacy_cli(&broker, &["describe-environment", "--uuid", &uuid]).await;
    legacy_cli(
        &broker,
        &[
            "update-environment",
            "--uuid",
            &uuid,
            "--display-name",
            "Prod",
        ],
    )
    .await;
    assert_eq!(
        broker.get(&format!("/environments/{uuid}")).await.json()["displayName"],
        "Prod"
    );

    let current = format!("/environments/{uuid}/deployed-versions/currently-deployed");
    let deployed_count = |document: Value| {
        document["_embedded"]["deployedVersions"]
            .as_array()
            .unwrap()
            .len()
    };
    legacy_cli(
        &broker,
        &[
            "record-deployment",
            "-a",
            "Foo",
            "-e",
            "1",
            "--environment",
            "production",
            "--application-instance",
            "blue",
        ],
    )
    .await;
    assert_eq!(deployed_count(broker.get(&current).await.json()), 1);
    legacy_cli(
        &broker,
        &[
            "record-undeployment",
            "-a",
            "Foo",
            "--environment",
            "production",
            "--application-instance",
            "blue",
        ],
    )
    .await;
    assert_eq!(deployed_count(broker.get(&current).await.json()), 0);

    let supported = format!("/environments/{uuid}/released-versions/currently-supported");
    let released_count = |document: Value| {
        document["_embedded"]["releasedVersions"]
            .as_array()
            .unwrap()
            .len()
    };
    legacy_cli(
        &broker,
        &[
            "record-release",
            "-a",
            "Foo",
            "-e",
            "1",
            "--environment",
            "production",
        ],
    )
    .await;
    assert_eq!(released_count(broker.get(&supported).await.json()), 1);
    legacy_cli(
        &broker,
        &[
            "record-support-ended",
            "-a",
            "Foo",
            "-e",
            "1",
            "--environment",
            "production",
        ],
    )
    .await;
    assert_eq!(released_count(broker.get(&supported).await.json()), 0);

    legacy_cli(&broker, &["delete-branch", "-a", "Foo", "--branch", "main"]).await;
    expect(
        &broker.get("/pacticipants/Foo/branches/main").await,
        StatusCode::NOT_FOUND,
    );
    legacy_cli(&broker, &["delete-environment", "--uuid", &uuid]).await;
    expect(
        &broker.get(&format!("/environments/{uuid}")).await,
        StatusCode::NOT_FOUND,
    );
}
