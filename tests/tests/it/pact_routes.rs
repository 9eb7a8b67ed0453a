//! Pact routes over HTTP: publishing by consumer version (PUT/PATCH/DELETE), reading by version,
//! content, tag, branch and recency, the collections of an integration and of a provider,
//! previous-distinct versions and diffs, provider states — with the broker's shapes.

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::pact_fixtures::{pact, Broker};

const PACT: &str = "/pacts/provider/Orders/consumer/Web";

fn decode_metadata(href: &str) -> String {
    let segment = href
        .split("/metadata/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("metadata segment");
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .expect("base64url"),
    )
    .expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn putting_a_pact_creates_it_once_and_refuses_changed_content() {
    let broker = Broker::start("put").await;
    let path = format!("{PACT}/version/1.0.0");
    let document = pact("Web", "Orders", &["a request"]);

    let created = broker.request(Method::PUT, &path, Some(&document)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(
        created.header("location"),
        Some(format!("{}{path}", broker.base()).as_str())
    );
    assert_eq!(
        created.header("content-type"),
        Some("application/hal+json;charset=utf-8")
    );
    let body = created.json();
    assert_eq!(body["consumer"]["name"], "Web");
    assert!(body["interactions"][0]["_id"].is_string(), "{body}");

    // The same content again, or with other metadata, is not a change.
    let again = broker.request(Method::PUT, &path, Some(&document)).await;
    assert_eq!(again.status, StatusCode::OK);
    let mut newer_library = document.clone();
    newer_library["metadata"]["pact-js"] = json!({"version": "13.0.0"});
    let metadata_only = broker
        .request(Method::PUT, &path, Some(&newer_library))
        .await;
    assert_eq!(
        metadata_only.status,
        StatusCode::OK,
        "{}",
        metadata_only.text
    );

    // Changed interactions for the same version are refused with the broker's message.
    let changed = broker
        .request(
            Method::PUT,
            &path,
            Some(&pact("Web", "Orders", &["another request"])),
        )
        .await;
    assert_eq!(changed.status, StatusCode::CONFLICT);
    assert!(
        changed.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("Cannot change the content of the pact for Web version 1.0.0 and provider Orders, as race conditions"),
        "{}",
        changed.text
    );

    // Names in the pact must match the path.
    let mismatch = broker
        .request(
            Method::PUT,
            &format!("{PACT}/version/2"),
            Some(&pact("Mobile", "Orders", &["x"])),
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        mismatch.json()["errors"]["consumer.name"],
        json!(["name in pact 'Mobile' does not match name in URL path 'Web'."])
    );
    let invalid = broker
        .client
        .authed(
            Method::PUT,
            &format!("{PACT}/version/2"),
            &broker.tenant.read_write,
        )
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);

    let read_only = broker
        .request_as(
            &broker.tenant.read_only.clone(),
            Method::PUT,
            &format!("{PACT}/version/3"),
            Some(&document),
        )
        .await;
    assert_eq!(read_only.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patching_a_pact_merges_interactions_and_refuses_conflicting_requests() {
    let broker = Broker::start("patch").await;
    let path = format!("{PACT}/version/1");
    let first = broker
        .request(Method::PATCH, &path, Some(&pact("Web", "Orders", &["a"])))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let second = broker
        .request(Method::PATCH, &path, Some(&pact("Web", "Orders", &["b"])))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let merged = broker.get_ok(&path).await;
    let descriptions: Vec<&str> = merged["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["description"].as_str().unwrap())
        .collect();
    assert_eq!(descriptions, vec!["a", "b"]);

    let mut conflicting = pact("Web", "Orders", &["a"]);
    conflicting["interactions"][0]["request"]["method"] = json!("DELETE");
    let refused = broker
        .request(Method::PATCH, &path, Some(&conflicting))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_pact_answers_with_links_to_the_latest_remaining_pact() {
    let broker = Broker::start("delete").await;
    broker
        .publish("Web", "1", None, &[], &[("Orders", &["a"])])
        .await;
    broker
        .publish("Web", "2", None, &[], &[("Orders", &["b"])])
        .await;

    let deleted = broker
        .request(Method::DELETE, &format!("{PACT}/version/2"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let body = deleted.json();
    assert_eq!(body["_links"]["index"]["href"], broker.base());
    assert_eq!(
        body["_links"]["pb:latest-pact-version"],
        json!({"href": format!("{}{PACT}/latest", broker.base()), "title": "Latest pact"})
    );
    assert_eq!(
        broker.get(&format!("{PACT}/version/2")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        broker
            .get(&format!("{PACT}/latest"))
            .await
            .header("x-pact-consumer-version"),
        Some("1")
    );
    let missing = broker
        .request(Method::DELETE, &format!("{PACT}/version/9"), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pact_carries_every_link_the_broker_gives() {
    let broker = Broker::start("links").await;
    broker
        .publish("Web", "1.0.0", Some("main"), &[], &[("Orders", &["a"])])
        .await;
    let b = broker.base().to_owned();
    let pact = broker.get_ok(&format!("{PACT}/version/1.0.0")).await;
    let links = &pact["_links"];
    let sha = links["pb:pact-version"]["name"].as_str().unwrap();
    assert_eq!(sha.len(), 40);
    let expect = |rel: &str, href: String| {
        assert_eq!(links[rel]["href"], href, "{rel}: {links}");
    };
    expect("self", format!("{b}{PACT}/version/1.0.0"));
    assert_eq!(links["self"]["name"], "Pact between Web (1.0.0) and Orders");
    expect("pb:consumer", format!("{b}/pacticipants/Web"));
    expect(
        "pb:consumer-version",
        format!("{b}/pacticipants/Web/versions/1.0.0"),
    );
    expect("pb:provider", format!("{b}/pacticipants/Orders"));
    expect("pb:pact-version", format!("{b}{PACT}/pact-version/{sha}"));
    expect("pb:latest-pact-version", format!("{b}{PACT}/latest"));
    expect("pb:all-pact-versions", format!("{b}{PACT}/versions"));
    expect(
        "pb:latest-untagged-pact-version",
        format!("{b}{PACT}/latest-untagged"),
    );
    expect(
        "pb:latest-tagged-pact-version",
        format!("{b}{PACT}/latest/{{tag}}"),
    );
    assert_eq!(links["pb:latest-tagged-pact-version"]["templated"], true);
    expect(
        "pb:previous-distinct",
        format!("{b}{PACT}/version/1.0.0/previous-distinct"),
    );
    expect(
        "pb:diff-previous-distinct",
        format!("{b}{PACT}/version/1.0.0/diff/previous-distinct"),
    );
    expect(
        "pb:diff",
        format!("{b}{PACT}/pact-version/{sha}/diff/pact-version/{{pactVersion}}"),
    );
    expect(
        "pb:pact-webhooks",
        format!("{b}/webhooks/provider/Orders/consumer/Web"),
    );
    expect(
        "pb:consumer-webhooks",
        format!("{b}/webhooks/consumer/Orders"),
    );
    expect(
        "pb:tag-prod-version",
        format!("{b}/pacticipants/Web/versions/1.0.0/tags/prod"),
    );
    expect(
        "pb:tag-version",
        format!("{b}/pacticipants/Web/versions/1.0.0/tags/{{tag}}"),
    );
    expect(
        "pb:publish-verification-results",
        format!("{b}{PACT}/pact-version/{sha}/verification-results"),
    );
    expect(
        "pb:latest-verification-results",
        format!("{b}{PACT}/pact-version/{sha}/verification-results/latest"),
    );
    expect(
        "pb:triggered-webhooks",
        format!("{b}{PACT}/version/1.0.0/triggered-webhooks"),
    );
    expect(
        "pb:matrix-for-consumer-version",
        format!("{b}/matrix?q%5B%5D%5Bpacticipant%5D=Web&q%5B%5D%5Bversion%5D=1.0.0&latestby=cvpv"),
    );
    assert_eq!(
        links["curies"][0]["href"],
        format!("{b}/doc/{{rel}}?context=pact")
    );
    assert!(pact["createdAt"].as_str().unwrap().ends_with("+00:00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_pacts_are_found_by_tag_untagged_and_branch_with_the_consumer_version_header() {
    let broker = Broker::start("latest").await;
    broker
        .publish("Web", "1", Some("main"), &["prod"], &[("Orders", &["a"])])
        .await;
    broker
        .publish("Web", "2", Some("feat"), &[], &[("Orders", &["b"])])
        .await;
    broker
        .publish("Web", "3", Some("main"), &["dev"], &[("Orders", &["c"])])
        .await;

    let cases = [
        ("/latest", "3"),
        ("/latest/prod", "1"),
        ("/latest/dev", "3"),
        ("/latest-untagged", "2"),
        ("/branch/main/latest", "3"),
        ("/branch/feat/latest", "2"),
    ];
    for (suffix, version) in cases {
        let reply = broker.get(&format!("{PACT}{suffix}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{suffix}: {}", reply.text);
        assert_eq!(
            reply.header("x-pact-consumer-version"),
            Some(version),
            "{suffix}"
        );
        let body = reply.json();
        assert_eq!(
            body["_links"]["pb:consumer-version"]["name"], version,
            "{suffix}"
        );
        // The verification results link records the consumer version (and tag).
        let publish = body["_links"]["pb:publish-verification-results"]["href"]
            .as_str()
            .unwrap();
        let metadata = decode_metadata(publish);
        assert!(metadata.contains("cv="), "{suffix}: {metadata}");
        if suffix == "/latest/prod" {
            assert!(metadata.starts_with("cvt%5B%5D=prod&cv="), "{metadata}");
        }
    }
    for missing in ["/latest/nope", "/branch/nope/latest"] {
        assert_eq!(
            broker.get(&format!("{PACT}{missing}")).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    assert_eq!(
        broker
            .get("/pacts/provider/Orders/consumer/Nobody/latest")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_content_permalink_serves_the_pact_and_echoes_its_metadata() {
    let broker = Broker::start("permalink").await;
    broker
        .publish("Web", "1", None, &[], &[("Orders", &["same"])])
        .await;
    broker
        .publish("Web", "2", None, &[], &[("Orders", &["same"])])
        .await;
    let sha = broker.sha("Orders", "Web", "1").await;
    assert_eq!(
        sha,
        broker.sha("Orders", "Web", "2").await,
        "same content, same pact version"
    );

    // Without metadata: the latest consumer version with the content.
    let latest = broker.get_ok(&format!("{PACT}/pact-version/{sha}")).await;
    assert_eq!(latest["_links"]["pb:consumer-version"]["name"], "2");

    // With metadata naming a consumer version: that version.
    let segment = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("cvn=1");
    let pinned = broker
        .get_ok(&format!("{PACT}/pact-version/{sha}/metadata/{segment}"))
        .await;
    assert_eq!(pinned["_links"]["pb:consumer-version"]["name"], "1");
    assert_eq!(
        pinned["_links"]["pb:publish-verification-results"]["href"],
        format!(
            "{}{PACT}/pact-version/{sha}/metadata/{segment}/verification-results",
            broker.base()
        )
    );
    assert_eq!(pinned["_links"]["pb:consumer-versions"][0]["name"], "1");
    // Padded Base64 and garbage are tolerated.
    let padded = base64::engine::general_purpose::URL_SAFE.encode("cvn=1");
    assert_eq!(
        broker
            .get(&format!("{PACT}/pact-version/{sha}/metadata/{padded}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        broker
            .get(&format!("{PACT}/pact-version/{sha}/metadata/%21%21"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        broker
            .get(&format!("{PACT}/pact-version/{}", "0".repeat(40)))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integrations_pact_versions_are_listed_by_tag_and_branch_and_can_be_deleted() {
    let broker = Broker::start("versions").await;
    broker
        .publish("Web", "1", Some("main"), &["prod"], &[("Orders", &["a"])])
        .await;
    broker
        .publish("Web", "2", Some("feat"), &["prod"], &[("Orders", &["b"])])
        .await;
    broker
        .publish("Web", "3", Some("main"), &[], &[("Orders", &["c"])])
        .await;
    broker.main_branch("Web", Some("main")).await;
    let b = broker.base().to_owned();

    let all = broker.get_ok(&format!("{PACT}/versions")).await;
    let numbers = |doc: &Value| -> Vec<String> {
        doc["_embedded"]["pacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                p["_embedded"]["consumerVersion"]["number"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(numbers(&all), vec!["3", "2", "1"]);
    assert_eq!(
        all["_links"]["self"]["title"],
        "All versions of the pact between Web and Orders"
    );
    assert_eq!(
        all["_links"]["consumer"]["href"],
        format!("{b}/pacticipants/Web")
    );
    assert_eq!(
        all["_links"]["pact-versions"][0]["href"],
        format!("{b}{PACT}/version/3")
    );
    assert!(all["_links"]["pact-versions"][0]["name"]
        .as_str()
        .unwrap()
        .starts_with("Version 3 - "));
    assert_eq!(
        all["_embedded"]["pacts"][0]["_links"]["self"]["title"],
        "Pact between Web (3) and Orders"
    );

    let tagged = broker.get_ok(&format!("{PACT}/tag/prod")).await;
    assert_eq!(numbers(&tagged), vec!["2", "1"]);
    assert_eq!(
        tagged["_links"]["self"]["title"],
        "All versions of the pact between Web and Orders with tag prod"
    );
    assert_eq!(
        tagged["_links"]["pb:pact-versions"][0]["title"],
        "Pact version"
    );

    let cases = [
        ("/branch/main", vec!["1", "3"]),
        ("/branch/feat", vec!["2"]),
        ("/branch/versions", vec!["1", "3"]),
        ("/branch/latest/versions", vec!["3"]),
        ("/branch/main/latest/versions", vec!["3"]),
        ("/branch/feat/latest/versions", vec!["2"]),
        ("/branch/latest", vec![]),
    ];
    for (suffix, expected) in cases {
        let doc = broker.get_ok(&format!("{PACT}{suffix}")).await;
        assert_eq!(numbers(&doc), expected, "{suffix}");
    }

    let unknown = broker
        .get("/pacts/provider/Orders/consumer/Nobody/versions")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.json()["error"],
        "No consumer with name 'Nobody' found"
    );

    let deleted = broker
        .request(Method::DELETE, &format!("{PACT}/tag/prod"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(
        deleted.json()["_links"]["pb:latest-pact-version"]["href"],
        format!("{b}{PACT}/latest")
    );
    assert_eq!(
        numbers(&broker.get_ok(&format!("{PACT}/versions")).await),
        vec!["3"]
    );
    let all_gone = broker
        .request(Method::DELETE, &format!("{PACT}/versions"), None)
        .await;
    assert_eq!(all_gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        numbers(&broker.get_ok(&format!("{PACT}/versions")).await),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_pacts_are_listed_latest_by_tag_and_by_branch() {
    let broker = Broker::start("provider").await;
    broker
        .publish("Web", "1", Some("main"), &["prod"], &[("Orders", &["w1"])])
        .await;
    broker
        .publish("Web", "2", Some("main"), &[], &[("Orders", &["w2"])])
        .await;
    broker
        .publish(
            "Mobile",
            "7",
            Some("develop"),
            &["prod"],
            &[("Orders", &["m7"])],
        )
        .await;
    broker
        .publish("Mobile", "8", Some("feat"), &[], &[("Orders", &["m8"])])
        .await;
    let b = broker.base().to_owned();
    let names = |doc: &Value| -> Vec<String> {
        doc["_links"]["pb:pacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let cases: [(&str, &[&str], &str); 8] = [
        (
            "",
            &[
                "Pact between Mobile (7) and Orders",
                "Pact between Mobile (8) and Orders",
                "Pact between Web (1) and Orders",
                "Pact between Web (2) and Orders",
            ],
            "All pact versions for the provider Orders",
        ),
        (
            "/latest",
            &[
                "Pact between Mobile (8) and Orders",
                "Pact between Web (2) and Orders",
            ],
            "Latest pact versions for the provider Orders",
        ),
        (
            "/latest/prod",
            &[
                "Pact between Mobile (7) and Orders",
                "Pact between Web (1) and Orders",
            ],
            "Latest pact versions for the provider Orders with consumer version tag 'prod'",
        ),
        (
            "/tag/prod",
            &[
                "Pact between Mobile (7) and Orders",
                "Pact between Web (1) and Orders",
            ],
            "All pact versions for the provider Orders with consumer version tag 'prod'",
        ),
        (
            "/branch",
            &[
                "Pact between Mobile (7) and Orders",
                "Pact between Web (1) and Orders",
                "Pact between Web (2) and Orders",
            ],
            "All pact versions for the provider Orders",
        ),
        (
            "/branch/latest",
            &[
                "Pact between Mobile (7) and Orders",
                "Pact between Web (2) and Orders",
            ],
            "Latest pact versions for the provider Orders",
        ),
        (
            "/branch/main",
            &[
                "Pact between Web (1) and Orders",
                "Pact between Web (2) and Orders",
            ],
            "All pact versions for the provider Orders with consumer version branch 'main'",
        ),
        (
            "/branch/feat/latest",
            &["Pact between Mobile (8) and Orders"],
            "Latest pact versions for the provider Orders with consumer version branch 'feat'",
        ),
    ];
    for (suffix, expected, title) in cases {
        let doc = broker
            .get_ok(&format!("/pacts/provider/Orders{suffix}"))
            .await;
        assert_eq!(names(&doc), expected, "{suffix}");
        assert_eq!(doc["_links"]["self"]["title"], title, "{suffix}");
        assert_eq!(
            doc["_links"]["self"]["href"],
            format!("{b}/pacts/provider/Orders{suffix}")
        );
    }
    let doc = broker.get_ok("/pacts/provider/Orders/latest").await;
    assert_eq!(
        doc["_links"]["pb:provider"],
        json!({"href": format!("{b}/pacticipants/Orders"), "name": "Orders"})
    );
    assert_eq!(
        doc["_links"]["provider"]["name"],
        "DEPRECATED - please use the pb:provider relation"
    );
    assert_eq!(doc["_links"]["pb:pacts"][0]["name"], "Mobile");
    assert_eq!(
        doc["_links"]["pb:pacts"][0]["href"],
        format!("{b}/pacts/provider/Orders/consumer/Mobile/version/8")
    );
    assert!(doc["_links"]["pacts"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("DEPRECATED - please use the pb:pacts relation. Pact between Mobile (8)"));
    assert_eq!(
        broker.get("/pacts/provider/Nobody/latest").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_pact_of_every_integration_is_listed_with_the_deprecated_self_array() {
    let broker = Broker::start("all-latest").await;
    broker
        .publish(
            "Web",
            "1",
            None,
            &[],
            &[("Orders", &["a"]), ("Stock", &["b"])],
        )
        .await;
    broker
        .publish("Web", "2", None, &[], &[("Orders", &["c"])])
        .await;
    let b = broker.base().to_owned();
    let doc = broker.get_ok("/pacts/latest").await;
    assert_eq!(doc["_links"]["self"]["href"], format!("{b}/pacts/latest"));
    let pacts = doc["pacts"].as_array().unwrap();
    assert_eq!(pacts.len(), 2);
    assert_eq!(
        pacts[0]["_links"]["self"],
        json!([{"href": format!("{b}{PACT}/latest")}, {"href": format!("{b}{PACT}/version/2")}])
    );
    assert_eq!(pacts[0]["_embedded"]["consumer"]["name"], "Web");
    assert_eq!(
        pacts[0]["_embedded"]["consumer"]["_embedded"]["version"]["number"],
        "2"
    );
    assert_eq!(pacts[0]["_embedded"]["provider"]["name"], "Orders");
    assert_eq!(pacts[1]["_embedded"]["provider"]["name"], "Stock");
    assert!(pacts[0]["createdAt"].is_string());
    assert_eq!(
        doc["_links"]["pb:pacts"][0]["title"],
        "Latest pact between Web and Orders"
    );
    assert_eq!(
        doc["_links"]["pacts"][1]["name"],
        "DEPRECATED - please use the pb:pacts relation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_distinct_versions_and_diffs_are_served_as_the_broker_serves_them() {
    let broker = Broker::start("diff").await;
    broker
        .publish("Web", "1", None, &[], &[("Orders", &["a"])])
        .await;
    broker
        .publish("Web", "2", None, &[], &[("Orders", &["a", "b"])])
        .await;
    broker
        .publish("Web", "3", None, &[], &[("Orders", &["a", "b"])])
        .await;

    let previous = broker
        .get_ok(&format!("{PACT}/version/3/previous-distinct"))
        .await;
    assert_eq!(
        previous["_links"]["self"]["name"],
        "Pact between Web (1) and Orders"
    );
    assert_eq!(
        broker
            .get(&format!("{PACT}/version/1/previous-distinct"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let diff = broker
        .get(&format!("{PACT}/version/3/diff/previous-distinct"))
        .await;
    assert_eq!(diff.status, StatusCode::OK);
    assert_eq!(
        diff.header("content-type"),
        Some("text/plain;charset=utf-8")
    );
    assert!(diff.text.starts_with("# Diff between versions 1 and 3 of the pact between Web and Orders\n\nThe following changes were made less than a minute ago ("), "{}", diff.text);
    assert!(diff.text.contains("\n@@ -"), "{}", diff.text);
    assert!(
        diff.text.contains("+      \"description\": \"b\","),
        "{}",
        diff.text
    );
    assert!(
        diff.text.contains(
            "## Links\n\npact-version:\n  title: Pact\n  name: Pact between Web (3) and Orders\n"
        ),
        "{}",
        diff.text
    );
    assert!(
        diff.text.contains(
            "comparison-pact-version:\n  title: Pact\n  name: Pact between Web (1) and Orders\n"
        ),
        "{}",
        diff.text
    );

    let first = broker
        .get(&format!("{PACT}/version/1/diff/previous-distinct"))
        .await;
    assert_eq!(
        first.text,
        "No previous distinct version was found for Pact between Web (1) and Orders"
    );

    let by_version = broker
        .get(&format!("{PACT}/version/2/diff/version/1"))
        .await;
    assert!(
        by_version
            .text
            .starts_with("# Diff between versions 1 and 2"),
        "{}",
        by_version.text
    );
    let (sha1, sha2) = (
        broker.sha("Orders", "Web", "1").await,
        broker.sha("Orders", "Web", "2").await,
    );
    let by_sha = broker
        .get(&format!(
            "{PACT}/pact-version/{sha2}/diff/pact-version/{sha1}"
        ))
        .await;
    assert_eq!(by_sha.status, StatusCode::OK);
    assert!(
        by_sha.text.contains("\"description\": \"b\""),
        "{}",
        by_sha.text
    );
    assert_eq!(
        broker
            .get(&format!("{PACT}/version/2/diff/version/9"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_states_are_collected_from_main_branch_heads_branches_and_environments() {
    let broker = Broker::start("states").await;
    let publish = |consumer: &'static str,
                   version: &'static str,
                   branch: &'static str,
                   states: Vec<Value>| {
        let document = json!({
            "consumer": {"name": consumer}, "provider": {"name": "Orders"},
            "interactions": states.iter().enumerate().map(|(i, s)| {
                let mut interaction = json!({"description": format!("i{i}"), "request": {"method": "GET", "path": "/"}, "response": {"status": 200}});
                match s {
                    Value::String(_) => interaction["providerState"] = s.clone(),
                    _ => interaction["providerStates"] = s.clone(),
                }
                interaction
            }).collect::<Vec<_>>()
        });
        let body = json!({"pacticipantName": consumer, "pacticipantVersionNumber": version, "branch": branch,
            "contracts": [{"consumerName": consumer, "providerName": "Orders", "specification": "pact", "contentType": "application/json",
                "content": base64::engine::general_purpose::STANDARD.encode(document.to_string())}]});
        (body, consumer)
    };
    for (body, _) in [
        publish(
            "Web",
            "1",
            "main",
            vec![
                json!("an order exists"),
                json!([{"name": "a user exists", "params": {"id": 1}}]),
            ],
        ),
        publish("Mobile", "5", "main", vec![json!("an order exists")]),
        publish("Mobile", "6", "feat", vec![json!("a refund exists")]),
    ] {
        let reply = broker
            .request(Method::POST, "/contracts/publish", Some(&body))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let states = broker
        .get_ok("/pacts/provider/Orders/provider-states")
        .await;
    assert_eq!(
        states,
        json!({"providerStates": [
            {"name": "a user exists", "params": {"id": 1}, "consumers": ["Web"]},
            {"name": "an order exists", "consumers": ["Mobile", "Web"]},
        ]})
    );
    let feat = broker
        .get_ok("/pacts/provider/Orders/provider-states/branch/feat")
        .await;
    assert_eq!(
        feat,
        json!({"providerStates": [{"name": "a refund exists", "consumers": ["Mobile"]}]})
    );
    let env = broker.environment("production", true).await;
    broker.deploy("Mobile", "6", "production", None).await;
    let deployed = broker
        .get_ok(&format!(
            "/pacts/provider/Orders/provider-states/environment/{env}"
        ))
        .await;
    assert_eq!(
        deployed,
        json!({"providerStates": [{"name": "a refund exists", "consumers": ["Mobile"]}]})
    );
    assert_eq!(
        broker
            .get("/pacts/provider/Nobody/provider-states")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprecated_pact_paths_serve_the_same_pacts() {
    let broker = Broker::start("deprecated").await;
    broker
        .publish("Web", "1", None, &[], &[("Orders", &["a"])])
        .await;
    for path in [
        "/pacts/provider/Orders/consumer/Web/versions/1",
        "/pact/provider/Orders/consumer/Web/version/1",
        "/pact/provider/Orders/consumer/Web/latest",
    ] {
        let pact = broker.get_ok(path).await;
        assert_eq!(
            pact["_links"]["self"]["href"],
            format!("{}{PACT}/version/1", broker.base()),
            "{path}"
        );
    }
    // Names with spaces are path segments like any other.
    let body = crate::pact_fixtures::publish_body(
        "Web App",
        "1",
        None,
        &[],
        &[("Pricing Engine", &["a"])],
    );
    assert_eq!(
        broker
            .request(Method::POST, "/contracts/publish", Some(&body))
            .await
            .status,
        StatusCode::OK
    );
    let spaced = broker
        .get_ok("/pacts/provider/Pricing%20Engine/consumer/Web%20App/latest")
        .await;
    assert_eq!(
        spaced["_links"]["self"]["href"],
        format!(
            "{}/pacts/provider/Pricing%20Engine/consumer/Web%20App/version/1",
            broker.base()
        )
    );
}
