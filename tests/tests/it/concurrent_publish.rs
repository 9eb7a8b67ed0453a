//! Publishing at the same time (the broker deadlocked here, its issue #987): 20 publications at
//! once of the same consumer version, the same new branch, the same new pacticipants, and of
//! contracts listing the same providers in opposite orders — through `POST /contracts/publish`,
//! `PUT /pacts/…` and the real Pact CLI. Each one succeeds or is a clean 409 (never a 500 or a
//! deadlock), and the tenant database holds each thing once.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use tests::tools::{cli_subdomain, pact_broker};

use crate::pact_fixtures::{pact, publish_body, Broker};

const AT_ONCE: usize = 20;

/// Sends all `requests` at once; returns each status with its body.
async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<(StatusCode, String)> {
    join_all(requests.into_iter().map(|request| async move {
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.text().await.expect("body"))
    }))
    .await
}

/// Every answer is a success or a clean 409 (with the broker's conflict text); all others are
/// listed on failure.
fn assert_clean(what: &str, answers: &[(StatusCode, String)]) {
    let unclean: Vec<&(StatusCode, String)> = answers
        .iter()
        .filter(|(status, body)| {
            let clean_status = status.is_success()
                || (*status == StatusCode::CONFLICT && body.contains("Cannot change the content"));
            !clean_status || body.contains("40P01") || body.to_lowercase().contains("deadlock")
        })
        .collect();
    assert!(
        unclean.is_empty(),
        "{what}: {} of {} answers were not a success or a clean 409: {unclean:#?}",
        unclean.len(),
        answers.len()
    );
}

async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.expect(sql)
}

/// No row is there twice, and each named thing exists exactly as often as expected.
async fn assert_rows(db: &PgPool, expected: &[(&str, i64)]) {
    for (sql, n) in expected {
        assert_eq!(count(db, sql).await, *n, "{sql}");
    }
}

fn publish(broker: &Broker, body: &Value) -> reqwest::RequestBuilder {
    broker
        .client
        .authed(
            Method::POST,
            "/contracts/publish",
            &broker.tenant.read_write,
        )
        .json(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_publications_of_the_same_version_and_branch_at_once_all_succeed_once() {
    let broker = Broker::start("concurrent-same").await;
    // The same new consumer version, branch, tags, providers: identical requests.
    let body = publish_body(
        "Web",
        "1",
        Some("main"),
        &["dev", "prod"],
        &[("Orders", &["a"]), ("Stock", &["b"])],
    );
    let answers = all_at_once((0..AT_ONCE).map(|_| publish(&broker, &body)).collect()).await;
    assert_clean("same version", &answers);
    assert!(answers.iter().all(|(s, _)| s.is_success()), "{answers:?}");
    assert_rows(
        &broker.db,
        &[
            ("select count(*) from pacticipant", 3),
            ("select count(*) from version", 1),
            ("select count(*) from branch", 1),
            ("select count(*) from branch_version", 1),
            ("select count(*) from tag", 2),
            ("select count(*) from pact_version", 2),
            ("select count(*) from pact_publication", 2),
            ("select count(*) from pact_revision", 0),
            ("select count(*) from integration", 2),
        ],
    )
    .await;
    assert_eq!(
        count(
            &broker.db,
            "select count(*) from pacticipant where main_branch = 'main'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_versions_on_one_new_branch_with_the_same_content_at_once() {
    let broker = Broker::start("concurrent-branch").await;
    // Web and its providers exist; then, in each round, 20 versions of Web on the same new
    // branch with the same new contents at once: every insert of the branch and of a content
    // that waited for the first one's must then find it. A round gives the race one chance;
    // ten rounds make it near certain.
    let providers = ["Orders", "Stock", "Billing", "Shipping"];
    let first: Vec<(&str, &[&str])> = providers.iter().map(|p| (*p, &["old"][..])).collect();
    broker
        .publish("Web", "0.9", Some("main"), &[], &first)
        .await;
    const ROUNDS: usize = 10;
    for round in 0..ROUNDS {
        let content = [format!("round {round}")];
        let content: Vec<&str> = content.iter().map(String::as_str).collect();
        let contracts: Vec<(&str, &[&str])> =
            providers.iter().map(|p| (*p, &content[..])).collect();
        let requests = (0..AT_ONCE)
            .map(|i| {
                publish(
                    &broker,
                    &publish_body(
                        "Web",
                        &format!("{round}.0.{i}"),
                        Some(&format!("feat/{round}")),
                        &["dev"],
                        &contracts,
                    ),
                )
            })
            .collect();
        let answers = all_at_once(requests).await;
        assert_clean(&format!("round {round}"), &answers);
    }
    let versions = (ROUNDS * AT_ONCE) as i64;
    let contracts = providers.len() as i64;
    assert_rows(
        &broker.db,
        &[
            ("select count(*) from pacticipant", 1 + contracts),
            ("select count(*) from version", versions + 1),
            ("select count(*) from branch", ROUNDS as i64 + 1),
            ("select count(*) from branch_version", versions + 1),
            ("select count(*) from tag", versions),
            (
                "select count(*) from pact_version",
                contracts * (ROUNDS as i64 + 1),
            ),
            (
                "select count(*) from pact_publication",
                contracts * (versions + 1),
            ),
            ("select count(*) from integration", contracts),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_publications_listing_new_providers_in_opposite_orders_at_once() {
    let broker = Broker::start("concurrent-order").await;
    // Half the requests list the two new providers one way round, half the other.
    let requests = (0..AT_ONCE)
        .map(|i| {
            let contracts: [(&str, &[&str]); 2] = if i % 2 == 0 {
                [("Orders", &["a"]), ("Stock", &["b"])]
            } else {
                [("Stock", &["b"]), ("Orders", &["a"])]
            };
            publish(
                &broker,
                &publish_body("Web", &format!("2.0.{i}"), None, &[], &contracts),
            )
        })
        .collect();
    let answers = all_at_once(requests).await;
    assert_clean("opposite orders", &answers);
    let n = AT_ONCE as i64;
    assert_rows(
        &broker.db,
        &[
            ("select count(*) from pacticipant", 3),
            ("select count(*) from version", n),
            ("select count(*) from pact_version", 2),
            ("select count(*) from pact_publication", 2 * n),
            ("select count(*) from integration", 2),
        ],
    )
    .await;

    // PUT: consumer and provider swap roles between requests, both new.
    let requests = (0..AT_ONCE)
        .map(|i| {
            let (consumer, provider) = if i % 2 == 0 {
                ("Alpha", "Beta")
            } else {
                ("Beta", "Alpha")
            };
            broker
                .client
                .authed(
                    Method::PUT,
                    &format!("/pacts/provider/{provider}/consumer/{consumer}/version/{i}"),
                    &broker.tenant.read_write,
                )
                .json(&pact(consumer, provider, &["x"]))
        })
        .collect();
    let answers = all_at_once(requests).await;
    assert_clean("swapped roles", &answers);
    assert_rows(
        &broker.db,
        &[
            ("select count(*) from pacticipant", 5),
            ("select count(*) from integration", 4),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_different_contents_for_one_version_at_once_leave_one_winner_and_clean_409s() {
    let broker = Broker::start("concurrent-conflict").await;
    let put = |description: String| {
        broker
            .client
            .authed(
                Method::PUT,
                "/pacts/provider/Orders/consumer/Web/version/1",
                &broker.tenant.read_write,
            )
            .json(&pact("Web", "Orders", &[&description]))
    };
    let post = |description: String| {
        publish(
            &broker,
            &publish_body(
                "Web",
                "2",
                Some("main"),
                &[],
                &[("Orders", &[&description])],
            ),
        )
    };
    let mut requests: Vec<_> = (0..AT_ONCE).map(|i| put(format!("put {i}"))).collect();
    requests.extend((0..AT_ONCE).map(|i| post(format!("post {i}"))));
    let answers = all_at_once(requests).await;
    assert_clean("different contents", &answers);
    let (puts, posts) = answers.split_at(AT_ONCE);
    for (what, answers) in [("PUT", puts), ("POST", posts)] {
        let won = answers.iter().filter(|(s, _)| s.is_success()).count();
        assert_eq!(won, 1, "{what}: one publication wins, {answers:?}");
    }
    assert_rows(
        &broker.db,
        &[
            ("select count(*) from pacticipant", 2),
            ("select count(*) from version", 2),
            ("select count(*) from pact_version", 2),
            ("select count(*) from pact_publication", 2),
            ("select count(*) from pact_revision", 0),
            ("select count(*) from integration", 1),
        ],
    )
    .await;

    // The same content PUT 20 times at once for a new version: all succeed, one publication.
    let same: Vec<_> = (0..AT_ONCE)
        .map(|_| {
            broker
                .client
                .authed(
                    Method::PUT,
                    "/pacts/provider/Billing/consumer/Mobile/version/7",
                    &broker.tenant.read_write,
                )
                .json(&pact("Mobile", "Billing", &["x"]))
        })
        .collect();
    let answers = all_at_once(same).await;
    assert_clean("same PUT", &answers);
    assert!(answers.iter().all(|(s, _)| s.is_success()), "{answers:?}");
    assert_rows(
        &broker.db,
        &[
            ("select count(*) from pacticipant", 4),
            ("select count(*) from pact_publication", 3),
            ("select count(*) from integration", 2),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_pact_cli_publishes_of_the_same_version_and_branch_at_once() {
    let broker = Broker::start(&cli_subdomain(1)).await;
    let dir = tempfile::tempdir().unwrap();
    for provider in ["Orders", "Stock", "Billing"] {
        std::fs::write(
            dir.path().join(format!("Web-{provider}.json")),
            serde_json::to_vec_pretty(&pact("Web", provider, &["a request"])).unwrap(),
        )
        .unwrap();
    }
    let path = dir.path().to_str().unwrap().to_owned();
    let runs = (0..AT_ONCE).map(|i| {
        let version = if i % 2 == 0 { "1.0.0" } else { "1.0.1" };
        let (path, base, token) = (
            path.clone(),
            broker.base().to_owned(),
            broker.tenant.read_write.clone(),
        );
        async move {
            pact_broker(&[
                "publish",
                &path,
                "--broker-base-url",
                &base,
                "--broker-token",
                &token,
                "--consumer-app-version",
                version,
                "--branch",
                "main",
                "--tag",
                "dev",
            ])
            .await
        }
    });
    for out in join_all(runs).await {
        assert!(
            out.success,
            "pact-broker publish:\n{}\n{}",
            out.stdout, out.stderr
        );
    }
    assert_rows(
        &broker.db,
        &[
            ("select count(*) from pacticipant", 4),
            ("select count(*) from version", 2),
            ("select count(*) from branch", 1),
            ("select count(*) from branch_version", 2),
            ("select count(*) from tag", 2),
            ("select count(*) from pact_version", 3),
            ("select count(*) from pact_publication", 6),
            ("select count(*) from integration", 3),
        ],
    )
    .await;
}
