//! Verification results over HTTP: publishing (plain and through metadata URLs), reading one,
//! the latest for a pact, the summary for a consumer version, deleting.

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::pact_fixtures::Broker;

const PACT: &str = "/pacts/provider/Orders/consumer/Web";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_result_is_published_for_pact_content_and_read_back() {
    let broker = Broker::start("verify").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["a"])])
        .await;
    let sha = broker.sha("Orders", "Web", "1").await;
    let b = broker.base().to_owned();
    let body = json!({
        "success": true,
        "providerApplicationVersion": "4.5.6",
        "buildUrl": "https://ci/builds/1",
        "testResults": [{"interactionId": "x", "success": true}],
        "verifiedBy": {"implementation": "Pact-Rust", "version": "1.3.5", "clientLanguage": {"name": "rust", "version": "1.85", "testFramework": "cargo"}},
    });
    let reply = broker
        .request(
            Method::POST,
            &format!("{PACT}/pact-version/{sha}/verification-results"),
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let location = reply.header("location").unwrap().to_owned();
    assert!(
        location.starts_with(&format!(
            "{b}{PACT}/pact-version/{sha}/verification-results/"
        )),
        "{location}"
    );
    let result = reply.json();
    assert_eq!(result["providerName"], "Orders");
    assert_eq!(result["providerApplicationVersion"], "4.5.6");
    assert_eq!(result["success"], true);
    assert_eq!(result["buildUrl"], "https://ci/builds/1");
    assert_eq!(result["testResults"], body["testResults"]);
    assert_eq!(
        result["verifiedBy"],
        json!({"implementation": "Pact-Rust", "version": "1.3.5", "client_implementation": "rust", "client_version": "1.85", "client_test_framework": "cargo"})
    );
    assert!(result["verificationDate"]
        .as_str()
        .unwrap()
        .ends_with("+00:00"));
    assert_eq!(result["_links"]["self"]["href"], location);
    let number = location.rsplit('/').next().unwrap();
    assert_eq!(
        result["_links"]["self"]["name"],
        format!("Verification result {number} for Pact between Web (1) and Orders")
    );
    let cvn = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("cvn=1");
    assert_eq!(
        result["_links"]["pb:pact-version"]["href"],
        format!("{b}{PACT}/pact-version/{sha}/metadata/{cvn}")
    );
    assert_eq!(
        result["_links"]["pb:triggered-webhooks"]["href"],
        format!("{location}/triggered-webhooks")
    );

    let read = broker.get_ok(&location.replace(&b, "")).await;
    assert_eq!(read["providerApplicationVersion"], "4.5.6");
    // The provider version was created on the way.
    let provider_versions: i64 = sqlx::query_scalar(
        "select count(*) from version v join pacticipant p using (pacticipant_id) where p.name = 'Orders' and v.number = '4.5.6'",
    )
    .fetch_one(&broker.db)
    .await
    .unwrap();
    assert_eq!(provider_versions, 1);
    // Numbers increase across the tenant.
    let second = broker.verify("Orders", "Web", "1", "4.5.7", false).await;
    let second_number: i64 = second["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(second_number > number.parse::<i64>().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_verification_results_are_refused() {
    let broker = Broker::start("verify-invalid").await;
    broker
        .publish("Web", "1", None, &[], &[("Orders", &["a"])])
        .await;
    let sha = broker.sha("Orders", "Web", "1").await;
    let path = format!("{PACT}/pact-version/{sha}/verification-results");
    let cases = [
        (
            json!({}),
            json!({"providerApplicationVersion": ["is missing"], "success": ["is missing"]}),
        ),
        (
            json!({"success": "yes", "providerApplicationVersion": " "}),
            json!({"providerApplicationVersion": ["cannot be blank"], "success": ["must be boolean"]}),
        ),
        (
            json!({"success": true, "providerApplicationVersion": 1}),
            json!({"providerApplicationVersion": ["must be a string"]}),
        ),
        (
            json!({"success": true, "providerApplicationVersion": "1", "buildUrl": "not a url"}),
            json!({"buildUrl": ["is not a valid URL eg. http://example.org"]}),
        ),
    ];
    for (body, errors) in cases {
        let reply = broker.request(Method::POST, &path, Some(&body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.json()["errors"], errors, "{body}");
    }
    let unknown = broker
        .request(
            Method::POST,
            &format!(
                "{PACT}/pact-version/{}/verification-results",
                "0".repeat(40)
            ),
            Some(&json!({"success": true, "providerApplicationVersion": "1"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let read_only = broker
        .request_as(
            &broker.tenant.read_only.clone(),
            Method::POST,
            &path,
            Some(&json!({"success": true, "providerApplicationVersion": "1"})),
        )
        .await;
    assert_eq!(read_only.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_published_through_metadata_urls_record_wip_pending_and_selectors() {
    let broker = Broker::start("verify-metadata").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["a"])])
        .await;
    let sha = broker.sha("Orders", "Web", "1").await;
    let encode = |q: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(q);
    let version_id: i64 = sqlx::query_scalar("select version_id from version where number = '1'")
        .fetch_one(&broker.db)
        .await
        .unwrap();
    let cases = [
        (encode("w=true"), true, None),
        (
            encode(&format!(
                "s%5B%5D%5Bb%5D=main&s%5B%5D%5Bl%5D=true&s%5B%5D%5Bcv%5D={version_id}&p=true"
            )),
            false,
            Some(true),
        ),
        (encode("p=false"), false, Some(false)),
    ];
    for (segment, wip, pending) in cases {
        let reply = broker
            .request(
                Method::POST,
                &format!("{PACT}/pact-version/{sha}/metadata/{segment}/verification-results"),
                Some(&json!({"success": true, "providerApplicationVersion": "2"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let number: i32 = reply
            .header("location")
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let (stored_wip, stored_pending, selectors): (bool, Option<bool>, Option<Value>) = sqlx::query_as(
            "select wip, pact_pending, consumer_version_selectors from verification where number = $1",
        )
        .bind(number)
        .fetch_one(&broker.db)
        .await
        .unwrap();
        assert_eq!((stored_wip, stored_pending), (wip, pending), "{segment}");
        if pending == Some(true) {
            assert_eq!(
                selectors,
                Some(json!([{"branch": "main", "latest": true, "consumerVersionId": version_id}]))
            );
        }
        // The result can be read through the metadata URL too.
        let read = broker
            .get(&format!(
                "{PACT}/pact-version/{sha}/metadata/{segment}/verification-results/{number}"
            ))
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_verification_is_found_for_content_versions_and_latest_pacts() {
    let broker = Broker::start("verify-latest").await;
    broker
        .publish("Web", "1", None, &["prod"], &[("Orders", &["a"])])
        .await;
    broker
        .publish("Web", "2", None, &[], &[("Orders", &["b"])])
        .await;
    broker.verify("Orders", "Web", "1", "p1", true).await;
    broker.verify("Orders", "Web", "1", "p2", false).await;
    broker.verify("Orders", "Web", "2", "p3", true).await;
    let sha1 = broker.sha("Orders", "Web", "1").await;
    let cases = [
        (
            format!("{PACT}/pact-version/{sha1}/verification-results/latest"),
            "p2",
        ),
        (
            format!("{PACT}/version/1/verification-results/latest"),
            "p2",
        ),
        (
            format!("{PACT}/version/2/verification-results/latest"),
            "p3",
        ),
        (format!("{PACT}/latest/verification-results/latest"), "p3"),
        (
            format!("{PACT}/latest/prod/verification-results/latest"),
            "p2",
        ),
    ];
    for (path, provider_version) in cases {
        let result = broker.get_ok(&path).await;
        assert_eq!(
            result["providerApplicationVersion"], provider_version,
            "{path}"
        );
    }
    broker
        .publish("Web", "3", None, &[], &[("Orders", &["c"])])
        .await;
    assert_eq!(
        broker
            .get(&format!("{PACT}/version/3/verification-results/latest"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let all = broker
        .get(&format!(
            "{PACT}/pact-version/{sha1}/verification-results/all"
        ))
        .await;
    assert_eq!(all.status, StatusCode::NOT_FOUND);
    assert_eq!(
        all.json()["error"],
        "To see all the verifications for a pact, use the Matrix page"
    );
    assert_eq!(
        broker
            .get(&format!(
                "{PACT}/pact-version/{sha1}/verification-results/x1"
            ))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let deleted = broker
        .request(
            Method::DELETE,
            &format!("{PACT}/pact-version/{sha1}/verification-results/latest"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let now_latest = broker
        .get_ok(&format!("{PACT}/version/1/verification-results/latest"))
        .await;
    assert_eq!(now_latest["providerApplicationVersion"], "p1");
    let href = now_latest["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .replace(broker.base(), "");
    assert_eq!(
        broker.request(Method::DELETE, &href, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(broker.get(&href).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_versions_latest_results_are_summarised_per_provider() {
    let broker = Broker::start("verify-summary").await;
    broker
        .publish(
            "Web",
            "1",
            None,
            &[],
            &[("Orders", &["a"]), ("Stock", &["b"]), ("Users", &["c"])],
        )
        .await;
    broker.verify("Orders", "Web", "1", "o1", true).await;
    broker.verify("Stock", "Web", "1", "s1", true).await;
    broker.verify("Stock", "Web", "1", "s2", false).await;
    let summary = broker
        .get_ok("/verification-results/consumer/Web/version/1/latest")
        .await;
    assert_eq!(summary["success"], false);
    assert_eq!(
        summary["providerSummary"],
        json!({"successful": ["Orders"], "failed": ["Stock"], "unknown": ["Users"]})
    );
    let results = summary["_embedded"]["verificationResults"]
        .as_array()
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[1]["providerApplicationVersion"], "s2");
    assert_eq!(
        summary["_links"]["self"],
        json!({"href": format!("{}/verification-results/consumer/Web/version/1/latest", broker.base()),
               "title": "Latest verification results for consumer Web version 1"})
    );
    assert_eq!(
        broker
            .get("/verification-results/consumer/Web/version/9/latest")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
