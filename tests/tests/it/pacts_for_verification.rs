//! Pacts for verification over HTTP: every consumer version selector, the defaults, merging by
//! content, validation, pending by provider branch or tags, WIP pacts, the notices, the metadata
//! in pact URLs, and the deprecated GET form.

use base64::Engine;
use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::pact_fixtures::{listed, listed_versions, Broker};

const PACT: &str = "/pacts/provider/Orders/consumer/Web";

fn short(response: &Value) -> Vec<String> {
    listed(response)
        .iter()
        .map(|p| p["shortDescription"].as_str().unwrap().to_owned())
        .collect()
}

fn pending(response: &Value) -> Vec<Value> {
    listed(response)
        .iter()
        .map(|p| p["verificationProperties"]["pending"].clone())
        .collect()
}

fn decode(href: &str) -> String {
    let segment = href.rsplit("/metadata/").next().unwrap();
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .unwrap(),
    )
    .unwrap()
}

async fn select(broker: &Broker, selectors: Value) -> Value {
    broker
        .for_verification("Orders", json!({"consumerVersionSelectors": selectors}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_branch_selector_picks_each_consumers_main_branch_head() {
    let broker = Broker::start("pfv-main").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["w1"])])
        .await;
    broker
        .publish("Web", "2", Some("main"), &[], &[("Orders", &["w2"])])
        .await;
    broker
        .publish("Web", "3", Some("feat"), &[], &[("Orders", &["w3"])])
        .await;
    broker
        .publish("Mobile", "7", Some("develop"), &[], &[("Orders", &["m7"])])
        .await;
    // Mobile's main branch head has no pact with Orders: nothing is selected for Mobile.
    broker
        .publish("Mobile", "8", Some("develop"), &[], &[("Stock", &["m8"])])
        .await;

    let response = select(&broker, json!([{"mainBranch": true}])).await;
    assert_eq!(listed_versions(&response), vec!["Web 2"]);
    assert_eq!(short(&response), vec!["latest from main branch"]);
    let sha = broker.sha("Orders", "Web", "2").await;
    let b = broker.base();
    let entry = &listed(&response)[0];
    assert_eq!(
        entry["verificationProperties"]["notices"][0],
        json!({"when": "before_verification", "text": format!(
            "The pact at {b}{PACT}/pact-version/{sha} is being verified because the pact content belongs to the consumer version matching the following criterion:\n    * latest version from the main branch 'main' (2)")})
    );
    assert_eq!(
        response["_links"]["self"],
        json!({"href": format!("{b}/pacts/provider/Orders/for-verification"), "title": "Pacts to be verified"})
    );
    // Never verified, no provider branch or tags: pending (the default asks for pending status).
    assert_eq!(pending(&response), vec![json!(true)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branch_selectors_pick_branch_heads_and_matching_branch_uses_the_provider_branch() {
    let broker = Broker::start("pfv-branch").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["w1"])])
        .await;
    broker
        .publish("Web", "2", Some("feat-a"), &[], &[("Orders", &["w2"])])
        .await;
    broker
        .publish("Web", "3", Some("feat-b"), &[], &[("Orders", &["w3"])])
        .await;
    broker
        .publish("Mobile", "5", Some("feat-a"), &[], &[("Orders", &["m5"])])
        .await;
    broker
        .publish("Mobile", "6", Some("main"), &[], &[("Orders", &["m6"])])
        .await;

    let named = select(&broker, json!([{"branch": "feat-a"}])).await;
    assert_eq!(listed_versions(&named), vec!["Mobile 5", "Web 2"]);
    assert_eq!(
        short(&named),
        vec!["latest from branch feat-a", "latest from branch feat-a"]
    );

    let matching = broker
        .for_verification("Orders", json!({"providerVersionBranch": "feat-a", "consumerVersionSelectors": [{"matchingBranch": true}]}))
        .await;
    assert_eq!(listed_versions(&matching), vec!["Mobile 5", "Web 2"]);

    let every_branch = select(&broker, json!([{"branch": true}])).await;
    assert_eq!(
        listed_versions(&every_branch),
        vec!["Mobile 5", "Mobile 6", "Web 1", "Web 2", "Web 3"]
    );

    let one_consumer = select(&broker, json!([{"branch": "feat-a", "consumer": "Web"}])).await;
    assert_eq!(listed_versions(&one_consumer), vec!["Web 2"]);

    let fallback = select(
        &broker,
        json!([{"branch": "nope", "fallbackBranch": "main"}]),
    )
    .await;
    assert_eq!(listed_versions(&fallback), vec!["Mobile 6", "Web 1"]);
    assert_eq!(short(&fallback)[0], "latest from branch main");
    let text = listed(&fallback)[0]["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.ends_with("* latest version from branch 'main' (fallback branch used as no pact was found from branch 'nope') (6)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_and_latest_selectors_pick_latest_or_all_tagged_versions_with_fallbacks() {
    let broker = Broker::start("pfv-tags").await;
    broker
        .publish("Web", "1", Some("b1"), &["prod"], &[("Orders", &["w1"])])
        .await;
    broker
        .publish("Web", "2", Some("b2"), &["prod"], &[("Orders", &["w2"])])
        .await;
    broker
        .publish("Web", "3", Some("b3"), &["dev"], &[("Orders", &["w3"])])
        .await;
    broker
        .publish("Mobile", "5", Some("b5"), &["prod"], &[("Orders", &["m5"])])
        .await;

    let cases: Vec<(Value, Vec<&str>, Vec<&str>)> = vec![
        (
            json!([{"tag": "prod", "latest": true}]),
            vec!["Mobile 5", "Web 2"],
            vec!["latest with tag prod", "latest with tag prod"],
        ),
        (
            json!([{"tag": "prod"}]),
            vec!["Mobile 5", "Web 1", "Web 2"],
            vec!["one of prod", "one of prod", "one of prod"],
        ),
        (
            json!([{"tag": "prod", "consumer": "Web"}]),
            vec!["Web 1", "Web 2"],
            vec!["one of Web prod", "one of Web prod"],
        ),
        (
            json!([{"tag": "qa", "latest": true, "fallbackTag": "dev"}]),
            vec!["Web 3"],
            vec!["latest with tag dev"],
        ),
        (
            json!([{"latest": true}]),
            vec!["Mobile 5", "Web 3"],
            vec!["latest", "latest"],
        ),
        (
            json!([{"latest": true, "consumer": "Mobile"}]),
            vec!["Mobile 5"],
            vec!["latest"],
        ),
        (
            json!([{"tag": "prod", "latest": true, "consumer": "Nobody"}]),
            vec![],
            vec![],
        ),
    ];
    for (selectors, versions, descriptions) in cases {
        let response = select(&broker, selectors.clone()).await;
        assert_eq!(listed_versions(&response), versions, "{selectors}");
        assert_eq!(short(&response), descriptions, "{selectors}");
    }
    let all = select(&broker, json!([{"tag": "prod"}])).await;
    let text = listed(&all)[1]["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.ends_with("criterion:\n    * all consumer versions tagged 'prod' (1)"),
        "{text}"
    );
    let fallback = select(
        &broker,
        json!([{"tag": "qa", "latest": true, "fallbackTag": "dev"}]),
    )
    .await;
    let text = listed(&fallback)[0]["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.ends_with("* latest version tagged 'dev' (fallback tag used as no pact was found with tag 'qa') (3)"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployed_released_and_environment_selectors_pick_versions_in_environments() {
    let broker = Broker::start("pfv-env").await;
    for (consumer, version) in [
        ("Web", "1"),
        ("Web", "2"),
        ("Web", "3"),
        ("Mobile", "5"),
        ("Mobile", "6"),
    ] {
        let branch = format!("b{version}");
        let description = format!("{consumer}{version}");
        broker
            .publish(
                consumer,
                version,
                Some(&branch),
                &[],
                &[("Orders", &[description.as_str()])],
            )
            .await;
    }
    broker.environment("production", true).await;
    broker.environment("test", false).await;
    broker.deploy("Web", "1", "production", None).await;
    broker.deploy("Web", "2", "test", Some("blue")).await;
    broker.release("Web", "3", "production").await;
    broker.release("Mobile", "5", "test").await;
    broker.release("Mobile", "6", "production").await;
    broker.end_support("Mobile", "6").await;

    let cases: Vec<(Value, Vec<&str>, Vec<&str>)> = vec![
        (
            json!([{"deployed": true}]),
            vec!["Web 1", "Web 2"],
            vec!["deployed to production", "deployed to test"],
        ),
        (
            json!([{"released": true}]),
            vec!["Mobile 5", "Web 3"],
            vec!["released in test", "released in production"],
        ),
        (
            json!([{"deployed": true, "environment": "test"}]),
            vec!["Web 2"],
            vec!["deployed to test"],
        ),
        (
            json!([{"environment": "production"}]),
            vec!["Web 1", "Web 3"],
            vec![],
        ),
        (
            json!([{"deployedOrReleased": true, "environment": "test"}]),
            vec!["Mobile 5", "Web 2"],
            vec!["released in test", "deployed to test"],
        ),
        (
            json!([{"deployed": true, "consumer": "Mobile"}]),
            vec![],
            vec![],
        ),
    ];
    for (selectors, versions, descriptions) in cases {
        let response = select(&broker, selectors.clone()).await;
        assert_eq!(listed_versions(&response), versions, "{selectors}");
        if !descriptions.is_empty() {
            assert_eq!(short(&response), descriptions, "{selectors}");
        }
    }
    let deployed = select(&broker, json!([{"deployed": true}])).await;
    let text = listed(&deployed)[0]["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.ends_with(
            "criterion:\n    * consumer version(s) currently deployed to production (1)"
        ),
        "{text}"
    );
    let in_env = select(&broker, json!([{"environment": "production"}])).await;
    let text = listed(&in_env)[1]["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.ends_with("* a consumer version in environment production (3)"),
        "{text}"
    );
    // The environment is recorded in the pact URL's metadata.
    let href = listed(&in_env)[0]["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        decode(&href).contains("s%5B%5D%5Be%5D=production"),
        "{}",
        decode(&href)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_selectors_the_brokers_defaults_apply() {
    let broker = Broker::start("pfv-defaults").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["w1"])])
        .await;
    broker
        .publish("Web", "2", Some("feat"), &[], &[("Orders", &["w2"])])
        .await;
    broker
        .publish(
            "Mobile",
            "5",
            Some("feat-x"),
            &["trunk"],
            &[("Orders", &["m5"])],
        )
        .await;
    broker
        .publish("Mobile", "6", Some("feat-x"), &[], &[("Orders", &["m6"])])
        .await;
    broker.main_branch("Mobile", Some("trunk")).await;
    broker
        .publish("Tablet", "8", Some("feat-y"), &[], &[("Orders", &["t8"])])
        .await;
    broker
        .publish("Tablet", "9", Some("feat-y"), &[], &[("Orders", &["t9"])])
        .await;
    broker.environment("production", true).await;
    broker.deploy("Web", "2", "production", None).await;

    let response = broker.for_verification("Orders", json!({})).await;
    assert_eq!(
        listed_versions(&response),
        vec!["Mobile 5", "Tablet 9", "Web 1", "Web 2"]
    );
    assert_eq!(
        short(&response),
        vec![
            "latest with tag trunk",
            "latest",
            "latest from main branch",
            "deployed to production"
        ]
    );
    let text = listed(&response)[0]["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.ends_with("* latest version of Mobile tagged 'trunk' (5)"),
        "{text}"
    );
    let text = listed(&response)[1]["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.ends_with("* latest version of Tablet that has a pact with Orders (9)"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacts_with_the_same_content_are_listed_once_with_every_selector() {
    let broker = Broker::start("pfv-dedupe").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["same"])])
        .await;
    broker
        .publish("Web", "2", Some("feat"), &[], &[("Orders", &["same"])])
        .await;
    let ids: Vec<(String, i64)> =
        sqlx::query_as("select number, version_id from version order by version_id")
            .fetch_all(&broker.db)
            .await
            .unwrap();
    let response = select(&broker, json!([{"mainBranch": true}, {"branch": "feat"}])).await;
    assert_eq!(listed_versions(&response), vec!["Web 2"]);
    assert_eq!(
        short(&response),
        vec!["latest from branch feat, latest from main branch"]
    );
    let entry = &listed(&response)[0];
    let text = entry["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.ends_with("belongs to the consumer versions matching the following criteria:\n    * latest version from branch 'feat' (2)\n    * latest version from the main branch 'main' (1)"), "{text}");
    let metadata = decode(entry["_links"]["self"]["href"].as_str().unwrap());
    assert_eq!(
        metadata,
        format!("s%5B%5D%5Bb%5D=feat&s%5B%5D%5Bl%5D=true&s%5B%5D%5Bcv%5D={}&s%5B%5D%5Bl%5D=true&s%5B%5D%5Bcv%5D={}&p=true", ids[1].1, ids[0].1)
    );
    assert_eq!(
        entry["_links"]["self"]["name"],
        "Pact between Web (2) and Orders"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_are_refused_with_the_brokers_messages() {
    let broker = Broker::start("pfv-invalid").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["w1"])])
        .await;
    let post = |body: Value| {
        let broker = &broker;
        async move {
            broker
                .request(
                    Method::POST,
                    "/pacts/provider/Orders/for-verification",
                    Some(&body),
                )
                .await
        }
    };
    let reply = post(json!({"consumerVersionSelectors": [{"consumer": "Web"}, {"mainBranch": true, "tag": "x"}, {"environment": "nowhere"}], "includePendingStatus": "maybe"})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json()["errors"],
        json!({
            "consumerVersionSelectors": [
                "must specify a value for environment or tag or branch, or specify mainBranch=true, matchingBranch=true, latest=true, deployed=true, released=true or deployedOrReleased=true (at index 0)",
                "cannot specify mainBranch=true with any other criteria apart from consumer (at index 1)",
                "environment with name 'nowhere' does not exist (at index 2)",
            ],
            "includePendingStatus": ["must be one of: true, false"],
        })
    );
    let matching = post(json!({"consumerVersionSelectors": [{"matchingBranch": true}]})).await;
    assert_eq!(
        matching.json()["errors"]["consumerVersionSelectors"],
        json!(["the providerVersionBranch must be specified when the selector matchingBranch=true is used (at index 0)"])
    );
    let blank_branch =
        post(json!({"providerVersionBranch": "", "includeWipPactsSince": "2020-01-01"})).await;
    assert_eq!(blank_branch.status, StatusCode::BAD_REQUEST);
    assert!(blank_branch.json()["errors"]["providerVersionBranch"][0]
        .as_str()
        .unwrap()
        .starts_with("when pending or WIP pacts are enabled and there are no tags provided"));
    let unknown = broker
        .request(
            Method::POST,
            "/pacts/provider/Nobody/for-verification",
            Some(&json!({})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.json()["error"],
        "No provider with name 'Nobody' found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_follows_successful_verifications_from_the_provider_branch() {
    let broker = Broker::start("pfv-pending-branch").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["w1"])])
        .await;
    broker
        .publish("Mobile", "5", Some("develop"), &[], &[("Orders", &["m5"])])
        .await;
    let query = json!({"providerVersionBranch": "main", "includePendingStatus": true, "consumerVersionSelectors": [{"mainBranch": true}]});

    // Mobile's content was verified from another branch before Orders' main branch existed.
    broker.branch_version("Orders", "p1", "feat").await;
    broker.verify("Orders", "Mobile", "5", "p1", true).await;
    broker.branch_version("Orders", "p0", "main").await;
    // Web's, from another branch after it existed: that does not count.
    broker.verify("Orders", "Web", "1", "p1", true).await;
    let response = broker.for_verification("Orders", query.clone()).await;
    assert_eq!(listed_versions(&response), vec!["Mobile 5", "Web 1"]);
    assert_eq!(pending(&response), vec![json!(false), json!(true)]);

    let web = &listed(&response)[1];
    let notices: Vec<Value> =
        web["verificationProperties"]["notices"].as_array().unwrap()[1..].to_vec();
    let still = "This pact is still in pending state for any version of Orders from branch 'main' as a successful verification result has not yet been published";
    assert_eq!(
        notices,
        vec![
            json!({"when": "before_verification", "text": "This pact is in pending state for this version of Orders because a successful verification result for a version of Orders from branch 'main' has not yet been published. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending"}),
            json!({"when": "after_verification:success_true_published_false", "text": "This pact is still in pending state for any version of Orders from branch 'main' as the successful verification results have not yet been published."}),
            json!({"when": "after_verification:success_false_published_false", "text": still}),
            json!({"when": "after_verification:success_true_published_true", "text": "This pact is no longer in pending state for any version of Orders from branch 'main', as a successful verification result has been published. If a verification for a version of Orders fails in the future, it will fail the build. Read more at https://docs.pact.io/go/pending"}),
            json!({"when": "after_verification:success_false_published_true", "text": still}),
        ]
    );

    // A failure from main changes nothing; a success from main ends pending.
    broker.branch_version("Orders", "p2", "main").await;
    broker.verify("Orders", "Web", "1", "p2", false).await;
    assert_eq!(
        pending(&broker.for_verification("Orders", query.clone()).await),
        vec![json!(false), json!(true)]
    );
    broker.branch_version("Orders", "p3", "main").await;
    broker.verify("Orders", "Web", "1", "p3", true).await;
    let response = broker.for_verification("Orders", query.clone()).await;
    assert_eq!(pending(&response), vec![json!(false), json!(false)]);
    assert_eq!(
        listed(&response)[1]["verificationProperties"]["notices"][1]["text"],
        "This pact has previously been successfully verified by a version of Orders from branch 'main'. If this verification fails, it will fail the build. Read more at https://docs.pact.io/go/pending"
    );
    assert_eq!(
        listed(&response)[1]["verificationProperties"]["notices"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Without pending status, no pending property and no pending notices.
    let without = broker
        .for_verification("Orders", json!({"providerVersionBranch": "main", "includePendingStatus": false, "consumerVersionSelectors": [{"mainBranch": true}]}))
        .await;
    assert!(listed(&without)[0]["verificationProperties"]
        .get("pending")
        .is_none());
    assert_eq!(
        listed(&without)[0]["verificationProperties"]["notices"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_follows_successful_verifications_from_provider_versions_with_the_tags() {
    let broker = Broker::start("pfv-pending-tags").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["w1"])])
        .await;
    let query = json!({"providerVersionTags": ["dev", "prod"], "consumerVersionSelectors": [{"mainBranch": true}]});
    broker.tag("Orders", "p0", "prod").await;
    broker.tag("Orders", "p1", "dev").await;
    broker.verify("Orders", "Web", "1", "p1", true).await;
    let response = broker.for_verification("Orders", query.clone()).await;
    assert_eq!(pending(&response), vec![json!(true)]);
    let notices = listed(&response)[0]["verificationProperties"]["notices"].clone();
    assert_eq!(
        notices[1]["text"],
        "This pact is in pending state for this version of Orders because a successful verification result for a version of Orders with tag 'prod' has not yet been published. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending"
    );
    assert_eq!(
        notices[2]["text"],
        "This pact is still in pending state for any version of Orders with tag 'prod' as the successful verification results with this tag have not yet been published."
    );
    broker.tag("Orders", "p2", "prod").await;
    broker.verify("Orders", "Web", "1", "p2", true).await;
    let response = broker.for_verification("Orders", query).await;
    assert_eq!(pending(&response), vec![json!(false)]);
    assert_eq!(
        listed(&response)[0]["verificationProperties"]["notices"][1]["text"],
        "This pact has previously been successfully verified by a version of Orders with tag 'dev' and 'prod'. If this verification fails, it will fail the build. Read more at https://docs.pact.io/go/pending"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wip_pacts_are_branch_and_tag_heads_not_yet_verified_by_the_provider_branch() {
    let broker = Broker::start("pfv-wip").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["w1"])])
        .await;
    broker
        .publish("Web", "2", Some("feat"), &[], &[("Orders", &["w2"])])
        .await;
    broker
        .publish("Web", "3", Some("feat2"), &["exp"], &[("Orders", &["w3"])])
        .await;
    broker
        .publish("Mobile", "5", Some("old"), &[], &[("Orders", &["m5"])])
        .await;
    broker.backdate_publication("Mobile", "5", 10).await;
    let since = (Utc::now() - Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let query = json!({"providerVersionBranch": "main", "includePendingStatus": true, "includeWipPactsSince": since,
                       "consumerVersionSelectors": [{"mainBranch": true}]});
    let b = broker.base().to_owned();

    let response = broker.for_verification("Orders", query.clone()).await;
    assert_eq!(listed_versions(&response), vec!["Web 1", "Web 2", "Web 3"]);
    let wip = &listed(&response)[1];
    assert_eq!(wip["verificationProperties"]["wip"], true);
    assert_eq!(wip["verificationProperties"]["pending"], true);
    assert!(listed(&response)[0]["verificationProperties"]
        .get("wip")
        .is_none());
    assert_eq!(wip["shortDescription"], "latest from branch feat");
    assert_eq!(
        decode(wip["_links"]["self"]["href"].as_str().unwrap()),
        "w=true"
    );
    let sha2 = broker.sha("Orders", "Web", "2").await;
    assert_eq!(
        wip["verificationProperties"]["notices"][0]["text"],
        format!("The pact at {b}{PACT}/pact-version/{sha2}/metadata/d2lwPXRydWU is being verified because it is a 'work in progress' pact (ie. it is the pact for the latest version of Web from branch 'feat' and it has not yet been successfully verified by a version of Orders from branch 'main' when the pact's application version was explicitly specified in the consumer version selectors). Read more at https://docs.pact.io/go/wip")
    );
    assert_eq!(
        wip["verificationProperties"]["notices"][1]["text"],
        "This pact is in pending state for this version of Orders because it was included as a 'work in progress' pact. If this verification fails, it will not cause the overall build to fail. Read more at https://docs.pact.io/go/pending"
    );
    assert_eq!(
        listed(&response)[2]["shortDescription"],
        "latest from branch feat2, latest with tag exp"
    );
    let text = listed(&response)[2]["verificationProperties"]["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("it is the pact for the latest version of Web from branch 'feat2' and tagged with 'exp' (both have the same content) and"), "{text}");

    // A successful verification from main takes Web 2 out of WIP; one published as WIP does not.
    broker.branch_version("Orders", "p1", "main").await;
    broker.verify("Orders", "Web", "2", "p1", true).await;
    let sha3 = broker.sha("Orders", "Web", "3").await;
    let wip_result = broker
        .request(
            Method::POST,
            &format!("{PACT}/pact-version/{sha3}/metadata/dz10cnVl/verification-results"),
            Some(&json!({"success": true, "providerApplicationVersion": "p1"})),
        )
        .await;
    assert_eq!(wip_result.status, StatusCode::CREATED);
    let response = broker.for_verification("Orders", query.clone()).await;
    assert_eq!(listed_versions(&response), vec!["Web 1", "Web 3"]);

    // By tags instead of a branch; and none without either.
    let by_tags = broker
        .for_verification("Orders", json!({"providerVersionTags": ["dev"], "includeWipPactsSince": since, "consumerVersionSelectors": [{"mainBranch": true}]}))
        .await;
    assert_eq!(listed_versions(&by_tags), vec!["Web 1", "Web 2", "Web 3"]);
    assert!(
        listed(&by_tags)[1]["verificationProperties"]["notices"][0]["text"]
            .as_str()
            .unwrap()
            .contains("verified by a version of Orders with tag 'dev'")
    );
    let neither = broker
        .for_verification("Orders", json!({"includeWipPactsSince": since, "consumerVersionSelectors": [{"mainBranch": true}]}))
        .await;
    assert_eq!(listed_versions(&neither), vec!["Web 1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deprecated_get_form_reads_snake_case_queries_and_warns() {
    let broker = Broker::start("pfv-get").await;
    broker
        .publish("Web", "1", Some("main"), &["prod"], &[("Orders", &["w1"])])
        .await;
    broker
        .publish("Web", "2", Some("main"), &[], &[("Orders", &["w2"])])
        .await;
    let reply = broker
        .get("/pacts/provider/Orders/for-verification?consumer_version_selectors[][tag]=prod&consumer_version_selectors[][latest]=true&include_pending_status=false")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let response = reply.json();
    assert_eq!(listed_versions(&response), vec!["Web 1"]);
    let notices = &listed(&response)[0]["verificationProperties"]["notices"];
    assert!(notices[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("WARNING - this version of the Pact library uses a beta version of the API"));
    assert!(listed(&response)[0]["verificationProperties"]
        .get("pending")
        .is_none());
    assert_eq!(
        response["_links"]["self"]["href"],
        format!("{}/pacts/provider/Orders/for-verification", broker.base())
    );
    let defaults = broker
        .get_ok("/pacts/provider/Orders/for-verification")
        .await;
    assert_eq!(listed_versions(&defaults), vec!["Web 2"]);
    let invalid = broker
        .get("/pacts/provider/Orders/for-verification?consumer_version_selectors[][latest]=true")
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json()["errors"]["consumer_version_selectors"],
        json!(["tag is missing (at index 0)"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pact_url_handed_out_for_verification_attributes_the_result_published_through_it() {
    let broker = Broker::start("pfv-attribution").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["w1"])])
        .await;
    // Read-only tokens may ask (the POST is a read).
    let reply = broker
        .request_as(
            &broker.tenant.read_only.clone(),
            Method::POST,
            "/pacts/provider/Orders/for-verification",
            Some(&json!({"providerVersionBranch": "main", "includePendingStatus": true, "consumerVersionSelectors": [{"mainBranch": true}]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let href = listed(&reply.json())[0]["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let pact = broker.get_ok(&href.replace(broker.base(), "")).await;
    let publish = pact["_links"]["pb:publish-verification-results"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(publish.starts_with(&href), "{publish} vs {href}");
    assert_eq!(pact["_links"]["pb:consumer-versions"][0]["name"], "1");
    let result = broker
        .request(
            Method::POST,
            &publish.replace(broker.base(), ""),
            Some(&json!({"success": true, "providerApplicationVersion": "p1"})),
        )
        .await;
    assert_eq!(result.status, StatusCode::CREATED, "{}", result.text);
    let (pact_pending, wip): (Option<bool>, bool) =
        sqlx::query_as("select pact_pending, wip from verification")
            .fetch_one(&broker.db)
            .await
            .unwrap();
    assert_eq!((pact_pending, wip), (Some(true), false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wip_pacts_are_found_both_from_recent_publications_and_from_branch_and_tag_heads() {
    // The query starts from whichever is smaller: the provider's publications since the date,
    // or its consumers' branches. Both ways must find the same heads.
    let broker = Broker::start("pfv-wip-sides").await;
    for (version, branch, tags) in [
        ("1", "main", vec![]),
        ("2", "feat-a", vec!["t1"]),
        ("3", "feat-a", vec!["t1"]),
        ("4", "feat-b", vec![]),
        ("5", "feat-b", vec![]),
        ("6", "main", vec![]),
    ] {
        let description = format!("w{version}");
        broker
            .publish(
                "Web",
                version,
                Some(branch),
                &tags,
                &[("Orders", &[description.as_str()])],
            )
            .await;
    }
    for version in ["1", "2", "3", "4"] {
        broker.backdate_publication("Web", version, 10).await;
    }
    let query = |days: i64| {
        json!({"providerVersionBranch": "main", "includeWipPactsSince": (Utc::now() - Duration::days(days)).to_rfc3339(),
               "consumerVersionSelectors": [{"mainBranch": true}]})
    };
    // 6 publications in 30 days > 3 branches: from the heads.
    let from_heads = broker.for_verification("Orders", query(30)).await;
    assert_eq!(
        listed_versions(&from_heads),
        vec!["Web 6", "Web 3", "Web 5"]
    );
    assert_eq!(
        listed(&from_heads)[1]["shortDescription"],
        "latest from branch feat-a, latest with tag t1"
    );
    // 2 publications in 5 days ≤ 3 branches: from the publications.
    let from_recent = broker.for_verification("Orders", query(5)).await;
    assert_eq!(listed_versions(&from_recent), vec!["Web 6", "Web 5"]);
    assert_eq!(
        listed(&from_recent)[1]["shortDescription"],
        "latest from branch feat-b"
    );
}
