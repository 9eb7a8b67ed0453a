//! can-i-deploy to an environment checks every version live there (broker issue #903): each
//! version currently deployed (on any application instance) and each released version whose
//! support has not ended — of the providers and of the consumers — whatever `latestby` the
//! client sends. Every case is asked four ways: `GET /can-i-deploy`, `GET /matrix` as the
//! clients ask it (`latestby=cvp`) and with `latestby=cp`, the Pact CLI and the legacy Ruby
//! client. Releases, deployments and ended support are recorded with the Pact CLI.

use serde_json::Value;
use tests::tools::{cli_subdomain, legacy_pact_broker, pact_broker, Output};

use crate::matrix::World;

struct Live {
    w: World,
    base_url: String,
}

fn all(out: &Output) -> String {
    format!("{}\n{}", out.stdout, out.stderr)
}

impl Live {
    async fn new(index: usize) -> Self {
        let subdomain = cli_subdomain(index);
        let w = World::new(&subdomain).await;
        w.environment("production").await;
        let base_url = format!("http://{subdomain}.localhost:{}", w.api.port());
        Self { w, base_url }
    }

    /// Runs the Pact CLI with the read-write token, asserting success.
    async fn cli(&self, args: &[&str]) {
        let mut full = args.to_vec();
        full.extend([
            "--broker-base-url",
            &self.base_url,
            "--broker-token",
            &self.w.tenant.read_write,
        ]);
        let out = pact_broker(&full).await;
        assert!(out.success, "pact-broker {args:?}:\n{}", all(&out));
    }

    async fn release(&self, pacticipant: &str, version: &str) {
        self.w.version(pacticipant, version).await;
        self.cli(&[
            "record-release",
            "-a",
            pacticipant,
            "-e",
            version,
            "--environment",
            "production",
        ])
        .await;
    }

    async fn end_support(&self, pacticipant: &str, version: &str) {
        self.cli(&[
            "record-support-ended",
            "-a",
            pacticipant,
            "-e",
            version,
            "--environment",
            "production",
        ])
        .await;
    }

    async fn deploy(&self, pacticipant: &str, version: &str, instance: Option<&str>) {
        self.w.version(pacticipant, version).await;
        let mut args = vec![
            "record-deployment",
            "-a",
            pacticipant,
            "-e",
            version,
            "--environment",
            "production",
        ];
        if let Some(instance) = instance {
            args.extend(["--application-instance", instance]);
        }
        self.cli(&args).await;
    }

    /// Asks whether `pacticipant` `version` can be deployed to production in all four ways;
    /// each must answer `expected` (`None`: unknown, which the CLIs refuse like a no) and give
    /// every one of `reasons`.
    async fn assert_answer(
        &self,
        pacticipant: &str,
        version: &str,
        expected: Option<bool>,
        reasons: &[&str],
    ) {
        let expected_json = expected.map_or(Value::Null, Value::Bool);
        for path in [
            format!("/can-i-deploy?pacticipant={pacticipant}&version={version}&environment=production"),
            format!("/matrix?q[][pacticipant]={pacticipant}&q[][version]={version}&latestby=cvp&environment=production"),
            format!("/matrix?q[][pacticipant]={pacticipant}&q[][version]={version}&latestby=cp&environment=production"),
        ] {
            let (status, body) = self.w.get(&path).await;
            assert!(status.is_success(), "{path}: {status} {body}");
            assert_eq!(
                body["summary"]["deployable"], expected_json,
                "{pacticipant} {version}, {path}: {body:#}"
            );
            let reason = body["summary"]["reason"].as_str().unwrap_or_default();
            for wanted in reasons {
                assert!(
                    reason.contains(wanted),
                    "{path}: missing reason {wanted:?} in:\n{reason}"
                );
            }
        }

        let token = &self.w.tenant.read_only;
        let pact_cli = pact_broker(&[
            "can-i-deploy",
            "--pacticipant",
            pacticipant,
            "--version",
            version,
            "--to-environment",
            "production",
            "--broker-base-url",
            &self.base_url,
            "--broker-token",
            token,
        ])
        .await;
        let legacy = legacy_pact_broker(&[
            "can-i-deploy",
            "-a",
            pacticipant,
            "-e",
            version,
            "--to-environment",
            "production",
            "-b",
            &self.base_url,
            "-k",
            token,
        ])
        .await;
        for (client, out) in [("Pact CLI", &pact_cli), ("Ruby client", &legacy)] {
            assert_eq!(
                out.success,
                expected == Some(true),
                "{client}, {pacticipant} {version}:\n{}",
                all(out)
            );
            let said = if expected == Some(true) {
                "Computer says yes"
            } else {
                "Computer says no"
            };
            assert!(all(out).contains(said), "{client}:\n{}", all(out));
            for wanted in reasons {
                assert!(
                    all(out).contains(wanted),
                    "{client}: missing reason {wanted:?} in:\n{}",
                    all(out)
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_released_version_of_the_provider_that_is_still_supported_is_checked() {
    let live = Live::new(0).await;
    let w = &live.w;
    w.publish("Foo", "1", "Bar", "a").await;
    w.publish("Foo", "2", "Bar", "b").await;
    w.publish("Foo", "3", "Bar", "c").await;
    // Bar 8, 9 and 10 are released to production side by side; Bar 7 was, until its support ended.
    for (consumer, provider, success) in [
        ("1", "10", true),
        ("1", "9", true),
        ("2", "10", true),
        ("2", "9", true),
        ("2", "8", false),
        ("3", "10", true),
        ("3", "9", true),
        ("3", "8", true),
    ] {
        w.verify("Foo", consumer, "Bar", provider, success).await;
    }
    for version in ["7", "8", "9", "10"] {
        live.release("Bar", version).await;
    }
    live.end_support("Bar", "7").await;

    // Bar 8, still supported, never verified Foo 1's pact: not the broker's "yes".
    live.assert_answer(
        "Foo",
        "1",
        None,
        &["There is no verified pact between version 1 of Foo and one of the versions of Bar currently in production (8)"],
    )
    .await;
    // The oldest supported release failed; the newest passing must not hide it.
    live.assert_answer(
        "Foo",
        "2",
        Some(false),
        &["The verification for the pact between version 2 of Foo and one of the versions of Bar currently in production (8) failed"],
    )
    .await;
    // Every supported release verified Foo 3; Bar 7, whose support ended, no longer counts.
    live.assert_answer(
        "Foo",
        "3",
        Some(true),
        &["All required verification results are published and successful"],
    )
    .await;

    // Once Bar 8's support ends, only Bar 9 and 10 are left to satisfy.
    live.end_support("Bar", "8").await;
    for version in ["1", "2"] {
        live.assert_answer(
            "Foo",
            version,
            Some(true),
            &["All required verification results are published and successful"],
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_released_version_of_the_consumer_that_is_still_supported_is_checked() {
    let live = Live::new(1).await;
    let w = &live.w;
    for (version, variant) in [("1", "a"), ("2", "b"), ("3", "c")] {
        w.publish("Foo", version, "Bar", variant).await;
        live.release("Foo", version).await;
    }
    for (consumer, provider, success) in [
        ("1", "20", true),
        ("2", "20", true),
        ("1", "21", true),
        ("2", "21", false),
        ("3", "21", true),
    ] {
        w.verify("Foo", consumer, "Bar", provider, success).await;
    }

    // Bar 20 never verified the pact of Foo 3, which is still supported in production.
    live.assert_answer(
        "Bar",
        "20",
        None,
        &["There is no verified pact between one of the versions of Foo currently in production (3) and version 20 of Bar"],
    )
    .await;
    // Bar 21 fails Foo 2's pact: the passing pacts of Foo 1 and 3 must not hide it.
    live.assert_answer(
        "Bar",
        "21",
        Some(false),
        &["The verification for the pact between one of the versions of Foo currently in production (2) and version 21 of Bar failed"],
    )
    .await;

    // Foo 2 out of support: Bar 21 can go.
    live.end_support("Foo", "2").await;
    live.assert_answer(
        "Bar",
        "21",
        Some(true),
        &["All required verification results are published and successful"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployed_and_released_versions_on_both_sides_and_every_application_instance_are_checked() {
    let live = Live::new(2).await;
    let w = &live.w;
    // Mid is Foo's provider and Bar's consumer.
    w.publish("Foo", "1", "Mid", "f1").await;
    w.publish("Foo", "2", "Mid", "f2").await;
    w.publish("Mid", "5", "Bar", "m5").await;
    w.publish("Mid", "6", "Bar", "m6").await;
    for (consumer, cv, provider, pv, success) in [
        ("Foo", "1", "Mid", "5", true),
        ("Foo", "2", "Mid", "5", true),
        ("Foo", "1", "Mid", "6", true),
        ("Foo", "2", "Mid", "6", false),
        ("Mid", "5", "Bar", "8", false),
        ("Mid", "5", "Bar", "9", true),
        ("Mid", "5", "Bar", "10", true),
        ("Mid", "5", "Bar", "11", true),
        ("Mid", "6", "Bar", "8", true),
        ("Mid", "6", "Bar", "10", true),
        ("Mid", "6", "Bar", "11", true),
    ] {
        w.verify(consumer, cv, provider, pv, success).await;
    }
    // Foo 1 is released and Foo 2 deployed, both live at once.
    live.release("Foo", "1").await;
    live.deploy("Foo", "2", None).await;
    // Bar 8 was deployed and then replaced by Bar 11 (no instance); Bar 9 and 10 run on their
    // own application instances; Bar 11 is also released.
    live.deploy("Bar", "8", None).await;
    live.deploy("Bar", "9", Some("blue")).await;
    live.deploy("Bar", "10", Some("green")).await;
    live.deploy("Bar", "11", None).await;
    live.release("Bar", "11").await;

    // Mid 5: every live Bar verified it, every live Foo is verified by it; Bar 8's failure is
    // history (replaced).
    live.assert_answer(
        "Mid",
        "5",
        Some(true),
        &["All required verification results are published and successful"],
    )
    .await;
    // Mid 6: Bar 9 on the blue instance never verified it, and it fails Foo 2 (deployed).
    live.assert_answer(
        "Mid",
        "6",
        None,
        &[
            "There is no verified pact between version 6 of Mid and one of the versions of Bar currently in production (9)",
            "The verification for the pact between one of the versions of Foo currently in production (2) and version 6 of Mid failed",
        ],
    )
    .await;

    // With the blue instance gone and Foo 2 undeployed, Mid 6 is fine.
    live.cli(&[
        "record-undeployment",
        "-a",
        "Bar",
        "--environment",
        "production",
        "--application-instance",
        "blue",
    ])
    .await;
    live.cli(&[
        "record-undeployment",
        "-a",
        "Foo",
        "--environment",
        "production",
    ])
    .await;
    live.assert_answer(
        "Mid",
        "6",
        Some(true),
        &["All required verification results are published and successful"],
    )
    .await;
}
