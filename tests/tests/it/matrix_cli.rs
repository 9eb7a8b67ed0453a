//! can-i-deploy and can-i-merge with the real clients: the consolidated Pact CLI
//! (`pact-broker`, Rust) and the legacy Ruby `pact-broker` (pact_broker-client 1.78.0), which
//! asks `/matrix` the classic way. Exit codes and printed reasons are what pipelines see.

use tests::tools::{cli_subdomain, legacy_pact_broker, pact_broker, Output};

use crate::matrix::World;

/// A tenant reachable by the CLIs, with Foo 1 verified by the deployed Bar, Foo 2 failed and
/// Foo 3 never verified.
async fn deployed_world(index: usize) -> (World, String) {
    let subdomain = cli_subdomain(index);
    let w = World::new(&subdomain).await;
    w.environment("production").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.publish("Foo", "2", "Bar", "b").await;
    w.publish("Foo", "3", "Bar", "c").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.verify("Foo", "2", "Bar", "10", false).await;
    w.deploy("Bar", "10", "production").await;
    let base_url = format!("http://{subdomain}.localhost:{}", w.api.port());
    (w, base_url)
}

fn all(out: &Output) -> String {
    format!("{}\n{}", out.stdout, out.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pact_cli_can_i_deploy_to_an_environment_says_yes_no_and_unknown() {
    let (w, base_url) = deployed_world(0).await;
    let token = w.tenant.read_only.clone();
    let run = |version: &'static str| {
        let base_url = base_url.clone();
        let token = token.clone();
        async move {
            pact_broker(&[
                "can-i-deploy",
                "--pacticipant",
                "Foo",
                "--version",
                version,
                "--to-environment",
                "production",
                "--broker-base-url",
                &base_url,
                "--broker-token",
                &token,
            ])
            .await
        }
    };

    let yes = run("1").await;
    assert!(yes.success, "{}", all(&yes));
    assert!(all(&yes).contains("Computer says yes"), "{}", all(&yes));
    assert!(
        all(&yes).contains("All required verification results are published and successful"),
        "{}",
        all(&yes)
    );

    let no = run("2").await;
    assert!(!no.success, "{}", all(&no));
    assert!(all(&no).contains("Computer says no"), "{}", all(&no));
    assert!(
        all(&no).contains("The verification for the pact between version 2 of Foo and the version of Bar currently in production (10) failed"),
        "{}",
        all(&no)
    );

    let unknown = run("3").await;
    assert!(!unknown.success, "{}", all(&unknown));
    assert!(
        all(&unknown).contains("There is no verified pact between version 3 of Foo and the version of Bar currently in production (10)"),
        "{}",
        all(&unknown)
    );

    // An unknown pacticipant is an error the CLI reports.
    let missing = pact_broker(&[
        "can-i-deploy",
        "--pacticipant",
        "Nope",
        "--version",
        "1",
        "--to-environment",
        "production",
        "--broker-base-url",
        &base_url,
        "--broker-token",
        &token,
    ])
    .await;
    assert!(!missing.success);
    assert!(
        all(&missing).contains("Pacticipant Nope not found"),
        "{}",
        all(&missing)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pact_cli_can_i_merge_checks_the_main_branches() {
    let (w, base_url) = deployed_world(1).await;
    w.main_branch("Foo", "main").await;
    w.main_branch("Bar", "main").await;
    w.branch("Foo", "1", "main").await;
    w.branch("Foo", "2", "main").await;
    w.branch("Bar", "10", "main").await;
    let token = w.tenant.read_only.clone();
    let run = |version: &'static str| {
        let base_url = base_url.clone();
        let token = token.clone();
        async move {
            pact_broker(&[
                "can-i-merge",
                "--pacticipant",
                "Foo",
                "--version",
                version,
                "--broker-base-url",
                &base_url,
                "--broker-token",
                &token,
            ])
            .await
        }
    };
    let yes = run("1").await;
    assert!(yes.success, "{}", all(&yes));
    assert!(all(&yes).contains("Computer says yes"), "{}", all(&yes));
    let no = run("2").await;
    assert!(!no.success, "{}", all(&no));
    assert!(
        all(&no).contains("The verification for the pact between version 2 of Foo and the latest version of Bar from branch main (10) failed"),
        "{}",
        all(&no)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_ruby_client_can_i_deploy_reads_the_classic_matrix() {
    let (w, base_url) = deployed_world(2).await;
    let token = w.tenant.read_only.clone();
    let run = |version: &'static str| {
        let base_url = base_url.clone();
        let token = token.clone();
        async move {
            legacy_pact_broker(&[
                "can-i-deploy",
                "-a",
                "Foo",
                "-e",
                version,
                "--to-environment",
                "production",
                "-b",
                &base_url,
                "-k",
                &token,
            ])
            .await
        }
    };
    let yes = run("1").await;
    assert!(yes.success, "{}", all(&yes));
    assert!(all(&yes).contains("Computer says yes"), "{}", all(&yes));
    assert!(
        all(&yes).contains("All required verification results are published and successful"),
        "{}",
        all(&yes)
    );
    let no = run("2").await;
    assert!(!no.success, "{}", all(&no));
    assert!(all(&no).contains("Computer says no"), "{}", all(&no));
    assert!(
        all(&no).contains("The verification for the pact between version 2 of Foo and the version of Bar currently in production (10) failed"),
        "{}",
        all(&no)
    );
    let unknown = run("3").await;
    assert!(!unknown.success, "{}", all(&unknown));
    assert!(
        all(&unknown).contains("There is no verified pact between version 3 of Foo"),
        "{}",
        all(&unknown)
    );
}
