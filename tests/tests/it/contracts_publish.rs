//! `POST /contracts/publish` in detail: the broker's notices, validation messages, conflicts with
//! their diff notice, potential duplicate names, the tag and branch side effects, and the events
//! a publication raises.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tenant_api::events::{EventName, RecordingSink};

use crate::pact_fixtures::{pact, publish_body, Broker};

fn notices(body: &Value) -> Vec<(String, String)> {
    body["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap().to_owned(),
                n["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_contracts_answers_with_the_brokers_notices() {
    let broker = Broker::start("notices").await;
    let b = broker.base().to_owned();
    let first = broker
        .publish("Web", "1", Some("main"), &["a", "b"], &[("Orders", &["x"])])
        .await;
    let next_steps = [
        ("prompt".to_owned(), "  Next steps:".to_owned()),
        ("prompt".to_owned(), "    * Add Pact verification tests to the Orders build. See https://docs.pact.io/go/provider_verification".to_owned()),
        ("prompt".to_owned(), "    * Configure separate Orders pact verification build and webhook to trigger it when the pact content changes. See https://docs.pact.io/go/webhooks".to_owned()),
    ];
    let mut expected = vec![
        (
            "debug".to_owned(),
            "Created Web version 1 with branch main and tags a, b".to_owned(),
        ),
        (
            "success".to_owned(),
            "Pact successfully published for Web version 1 and provider Orders.".to_owned(),
        ),
        (
            "debug".to_owned(),
            format!(
                "  View the published pact at {b}/pacts/provider/Orders/consumer/Web/version/1"
            ),
        ),
    ];
    expected.extend(next_steps.iter().cloned());
    assert_eq!(notices(&first), expected);
    assert_eq!(first["logs"][1]["level"], "success");
    assert_eq!(
        first["logs"][1]["deprecationWarning"],
        "Replaced by notices"
    );
    assert_eq!(
        first["_links"]["pb:contracts"][0]["name"],
        "Pact between Web (1) and Orders"
    );
    assert_eq!(
        first["_links"]["pb:pacticipant-version-tags"][1]["href"],
        format!("{b}/pacticipants/Web/versions/1/tags/b")
    );

    let again = broker
        .publish("Web", "1", Some("main"), &["a", "b"], &[("Orders", &["x"])])
        .await;
    let texts = notices(&again);
    assert_eq!(
        texts[0].1,
        "Updated Web version 1 with branch main and tags a, b"
    );
    assert_eq!(texts[1], ("success".into(), "Pact successfully republished for Web version 1 and provider Orders with no content changes.".into()));

    // Without a branch, the broker prompts for one; once verified, it stops asking for tests.
    broker.verify("Orders", "Web", "1", "p1", true).await;
    let untagged = broker
        .publish("Web", "2", None, &[], &[("Orders", &["x"])])
        .await;
    let texts = notices(&untagged);
    assert_eq!(texts[0].1, "Created Web version 2");
    assert_eq!(texts[1], ("prompt".into(), "  Next steps:\n    Configure the version branch to be the value of your repository branch.".into()));
    assert!(
        !texts
            .iter()
            .any(|(_, t)| t.contains("Add Pact verification tests")),
        "{texts:?}"
    );
    let tagged = broker
        .publish("Web", "3", None, &["t"], &[("Orders", &["x"])])
        .await;
    assert_eq!(notices(&tagged)[0].1, "Created Web version 3 with tags t");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_publication_is_refused_with_the_error_and_diff_notices() {
    let broker = Broker::start("conflict").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["a"])])
        .await;
    let reply = broker
        .request(
            Method::POST,
            "/contracts/publish",
            Some(&publish_body(
                "Web",
                "1",
                Some("main"),
                &["new-tag"],
                &[("Orders", &["b"])],
            )),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    let body = reply.json();
    let message = "Cannot change the content of the pact for Web version 1 and provider Orders, as race conditions will cause unreliable results for can-i-deploy. Each pact must be published with a unique consumer version number. Some Pact libraries generate random data when a concrete value for a type matcher is not specified, and this can cause the contract to mutate - ensure you have given example values for all type matchers. For more information see https://docs.pact.io/go/versioning";
    assert_eq!(
        body["notices"][0],
        json!({"type": "error", "text": message})
    );
    assert_eq!(body["notices"][1]["type"], "info");
    let diff = body["notices"][1]["text"].as_str().unwrap();
    assert!(diff.starts_with("@@ -"), "{diff}");
    assert!(diff.contains("-      \"description\": \"a\","), "{diff}");
    assert!(diff.contains("+      \"description\": \"b\","), "{diff}");
    assert_eq!(body["errors"], json!({"contracts": [message]}));
    // Nothing of the refused request was recorded.
    assert_eq!(
        broker
            .get("/pacts/provider/Orders/consumer/Web/latest/new-tag")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_a_publication_adds_its_interactions_to_the_consumer_versions_pact() {
    let broker = Broker::start("merge").await;
    broker
        .publish("Web", "1", None, &[], &[("Orders", &["a"])])
        .await;
    let mut body = publish_body("Web", "1", None, &[], &[("Orders", &["b"])]);
    body["contracts"][0]["onConflict"] = json!("merge");
    let reply = broker
        .request(Method::POST, "/contracts/publish", Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(notices(&reply.json()).contains(&(
        "success".into(),
        "Pact content merged with existing content for Web version 1 and provider Orders.".into()
    )));
    let merged = broker
        .get_ok("/pacts/provider/Orders/consumer/Web/version/1")
        .await;
    assert_eq!(merged["interactions"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_publications_are_refused_with_the_brokers_messages() {
    let broker = Broker::start("invalid").await;
    let reply = broker
        .request(Method::POST, "/contracts/publish", Some(&json!({})))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json()["errors"],
        json!({"contracts": ["is missing"], "pacticipantName": ["is missing"], "pacticipantVersionNumber": ["is missing"]})
    );
    let mut body = publish_body("Web", "1", Some(" "), &[], &[("Orders", &["a"])]);
    body["contracts"][0]["specification"] = json!("oas");
    body["contracts"][0]["content"] = json!("not base64!");
    body["contracts"][0]["consumerName"] = json!("Mobile");
    let reply = broker
        .request(Method::POST, "/contracts/publish", Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let errors = reply.json()["errors"].clone();
    assert_eq!(errors["branch"], json!(["cannot be blank"]));
    let contracts: Vec<&str> = errors["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for message in [
        "specification must be one of: pact (at index 0)",
        "is not valid Base64 (at index 0)",
        "consumerName ('Mobile') must match pacticipantName ('Web') (at index 0)",
    ] {
        assert!(contracts.contains(&message), "{message}: {contracts:?}");
    }
    // Problem JSON when asked.
    let problem = broker
        .client
        .authed(
            Method::POST,
            "/contracts/publish",
            &broker.tenant.read_write,
        )
        .header("accept", "application/problem+json")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        problem.headers()["content-type"],
        "application/problem+json"
    );
    // Not JSON at all.
    let text = broker
        .client
        .authed(
            Method::POST,
            "/contracts/publish",
            &broker.tenant.read_write,
        )
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn potential_duplicate_pacticipant_names_are_refused() {
    let broker = Broker::start("duplicates").await;
    broker
        .publish("Web", "1", None, &[], &[("Pricing", &["a"])])
        .await;
    let reply = broker
        .request(
            Method::POST,
            "/contracts/publish",
            Some(&publish_body(
                "Web",
                "2",
                None,
                &[],
                &[("Pricing Service", &["a"])],
            )),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let text = reply.json()["notices"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.starts_with("This is the first time a pact has been published for \"Pricing Service\".\nThe name \"Pricing Service\" is very similar to the following existing pacticipants:\n* Pricing\n"), "{text}");
    assert!(text.contains(&format!(
        "pact-broker create-or-update-pacticipant --name \"Pricing Service\" --broker-base-url {}",
        broker.base()
    )));

    let put = broker
        .request(
            Method::PUT,
            "/pacts/provider/PricingAPI/consumer/Web/version/3",
            Some(&pact("Web", "PricingAPI", &["a"])),
        )
        .await;
    assert_eq!(put.status, StatusCode::CONFLICT);
    assert_eq!(put.header("content-type"), Some("text/plain"));
    assert!(put.text.contains("* Pricing"), "{}", put.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_tag_of_a_new_version_becomes_its_branch_and_main_branches_are_detected() {
    let broker = Broker::start("side-effects").await;
    broker
        .publish("Web", "1", None, &["main", "prod"], &[("Orders", &["a"])])
        .await;
    broker
        .publish(
            "Mobile",
            "1",
            Some("feature/x"),
            &["master"],
            &[("Orders", &["a"])],
        )
        .await;
    let branches: Vec<(String, String, bool)> = sqlx::query_as(
        "select p.name, b.name, bv.auto_created from branch_version bv
         join branch b using (branch_id) join pacticipant p on p.pacticipant_id = b.pacticipant_id
         order by p.name, b.name",
    )
    .fetch_all(&broker.db)
    .await
    .unwrap();
    assert_eq!(
        branches,
        vec![
            ("Mobile".to_owned(), "feature/x".to_owned(), false),
            ("Web".to_owned(), "main".to_owned(), true),
        ]
    );
    let main_branches: Vec<(String, Option<String>)> =
        sqlx::query_as("select name, main_branch from pacticipant order by name")
            .fetch_all(&broker.db)
            .await
            .unwrap();
    assert_eq!(
        main_branches,
        vec![
            ("Mobile".to_owned(), Some("master".to_owned())),
            ("Orders".to_owned(), None),
            ("Web".to_owned(), Some("main".to_owned())),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_and_verifying_raise_the_brokers_events() {
    let sink = Arc::new(RecordingSink::default());
    let broker = Broker::start_with_events("events", sink.clone()).await;
    let tenant = provisioning::TenantId(broker.tenant.tenant_id);
    broker.main_branch("Orders", Some("main")).await;
    broker.branch_version("Orders", "p1", "main").await;
    broker.environment("production", true).await;
    broker.deploy("Orders", "p0", "production", None).await;

    let mine = || -> Vec<(EventName, Option<String>, Option<String>)> {
        sink.events()
            .into_iter()
            .filter(|e| e.tenant_id == tenant)
            .map(|e| (e.name, e.comment, e.provider_version_number))
            .collect()
    };
    broker
        .publish("Web", "1", Some("main"), &["dev"], &[("Orders", &["a"])])
        .await;
    assert_eq!(
        mine(),
        vec![
            (EventName::ContractPublished, None, None),
            (EventName::ContractContentChanged, Some("first time any pact published for this consumer with consumer version tagged dev".into()), None),
            (EventName::ContractRequiringVerificationPublished, None, Some("p1".into())),
            (EventName::ContractRequiringVerificationPublished, None, Some("p0".into())),
        ]
    );
    let requiring: Vec<Vec<String>> = sink
        .events()
        .into_iter()
        .filter(|e| {
            e.name == EventName::ContractRequiringVerificationPublished && e.tenant_id == tenant
        })
        .map(|e| e.provider_version_descriptions)
        .collect();
    assert_eq!(
        requiring,
        vec![
            vec!["latest from main branch".to_owned()],
            vec!["deployed in production".to_owned()]
        ]
    );

    let before = mine().len();
    broker.verify("Orders", "Web", "1", "p1", false).await;
    let after: Vec<EventName> = mine()[before..].iter().map(|e| e.0).collect();
    assert_eq!(
        after,
        vec![
            EventName::ProviderVerificationPublished,
            EventName::ProviderVerificationFailed
        ]
    );

    // Same content for a new version with the same tag: published, not changed; p1 has verified it.
    let before = mine().len();
    broker
        .publish("Web", "2", Some("main"), &["dev"], &[("Orders", &["a"])])
        .await;
    let after = mine()[before..].to_vec();
    assert_eq!(after[0].0, EventName::ContractPublished);
    assert_eq!(after[0].1.as_deref(), Some("pact content is the same as previous version with tag dev and no new tags were applied"));
    assert_eq!(
        after[1],
        (
            EventName::ContractRequiringVerificationPublished,
            None,
            Some("p0".into())
        )
    );
    assert_eq!(after.len(), 2);

    // Re-publishing a version's pact is published again, unchanged.
    let before = mine().len();
    broker
        .publish("Web", "2", Some("main"), &["dev"], &[("Orders", &["a"])])
        .await;
    let after: Vec<EventName> = mine()[before..].iter().map(|e| e.0).collect();
    assert_eq!(
        after[..2],
        [
            EventName::ContractPublished,
            EventName::ContractContentUnchanged
        ]
    );
}
