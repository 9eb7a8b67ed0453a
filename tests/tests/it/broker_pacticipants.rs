//! Pacticipants and labels over HTTP, with the broker's shapes (including the deprecated ones
//! the client pact still asserts).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::broker_support::{expect, Broker};

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacticipants_are_created_listed_filtered_and_paginated() {
    let broker = Broker::start("pacticipants").await;
    let base = broker.base().to_owned();

    // Arrange / Act: create through POST.
    let created = broker
        .post(
            "/pacticipants",
            &json!({"name": "Foo", "repositoryUrl": "http://foo"}),
        )
        .await;
    expect(&created, StatusCode::CREATED);
    assert_eq!(
        created.header("location"),
        Some(format!("{base}/pacticipants/Foo").as_str())
    );
    assert_eq!(
        created.header("content-type"),
        Some("application/hal+json;charset=utf-8")
    );
    let body = created.json();
    assert_eq!(body["name"], "Foo");
    assert_eq!(body["repositoryUrl"], "http://foo");
    assert_eq!(
        body["_links"]["self"]["href"],
        format!("{base}/pacticipants/Foo")
    );
    assert!(body["createdAt"].as_str().unwrap().ends_with("+00:00"));

    for name in ["bar", "Pricing Service", "Condor"] {
        expect(
            &broker.post("/pacticipants", &json!({ "name": name })).await,
            StatusCode::CREATED,
        );
    }
    expect(
        &broker
            .put("/pacticipants/Condor/versions/1.3.0", &json!({}))
            .await,
        StatusCode::CREATED,
    );

    // Invalid bodies.
    let missing = broker.post("/pacticipants", &json!({})).await;
    expect(&missing, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["errors"]["name"], json!(["is missing"]));
    let spaced = broker
        .post("/pacticipants", &json!({"name": "X", "mainBranch": "a b"}))
        .await;
    assert_eq!(
        spaced.json()["errors"]["mainBranch"],
        json!(["cannot contain spaces"])
    );
    let text = broker
        .send(
            broker
                .request(Method::POST, "/pacticipants")
                .header("content-type", "text/plain")
                .body("name=Foo"),
        )
        .await;
    expect(&text, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // The whole list, by name regardless of case, with the deprecated copies.
    let list = broker.get("/pacticipants").await;
    expect(&list, StatusCode::OK);
    let list = list.json();
    assert_eq!(
        names(&list["_embedded"]["pacticipants"]),
        ["bar", "Condor", "Foo", "Pricing Service"]
    );
    assert_eq!(
        names(&list["pacticipants"]),
        names(&list["_embedded"]["pacticipants"])
    );
    assert!(list.get("page").is_none(), "{list}");
    let condor = &list["pacticipants"][1];
    assert_eq!(
        condor["_embedded"]["latest-version"]["number"], "1.3.0",
        "{condor}"
    );
    assert_eq!(
        condor["_embedded"]["latest-version"]["_links"]["self"]["href"],
        format!("{base}/pacticipants/Condor/versions/1.3.0")
    );
    assert_eq!(condor["_embedded"]["latestVersion"]["number"], "1.3.0");
    assert_eq!(
        list["_links"]["self"]["href"],
        format!("{base}/pacticipants")
    );
    assert_eq!(
        list["_links"]["pacticipants"][2],
        json!({"href": format!("{base}/pacticipants/Foo"), "title": "Foo", "name": "DEPRECATED - please use pb:pacticipants"})
    );
    assert_eq!(
        list["_links"]["pb:pacticipants"][3]["href"],
        format!("{base}/pacticipants/Pricing%20Service")
    );
    assert_eq!(
        list["_links"]["pb:pacticipants-with-label"]["href"],
        format!("{base}/pacticipants/label/{{label}}")
    );

    // `q` filters by a case-insensitive fragment; wildcards are literal.
    let filtered = broker.get("/pacticipants?q=co").await.json();
    assert_eq!(names(&filtered["_embedded"]["pacticipants"]), ["Condor"]);
    let literal = broker.get("/pacticipants?q=%25").await.json();
    assert_eq!(
        names(&literal["_embedded"]["pacticipants"]),
        Vec::<String>::new()
    );

    // Pages.
    let first = broker.get("/pacticipants?size=3").await.json();
    assert_eq!(
        first["page"],
        json!({"number": 1, "size": 3, "totalElements": 4, "totalPages": 2})
    );
    assert_eq!(
        first["_links"]["next"]["href"],
        format!("{base}/pacticipants?size=3&page=2")
    );
    assert!(first["_links"].get("previous").is_none());
    let second = broker.get("/pacticipants?size=3&page=2").await.json();
    assert_eq!(
        names(&second["_embedded"]["pacticipants"]),
        ["Pricing Service"]
    );
    assert_eq!(
        second["_links"]["previous"]["href"],
        format!("{base}/pacticipants?size=3&page=1")
    );
    let legacy = broker
        .get("/pacticipants?pageNumber=2&pageSize=2")
        .await
        .json();
    assert_eq!(
        names(&legacy["_embedded"]["pacticipants"]),
        ["Foo", "Pricing Service"]
    );
    let bad_page = broker.get("/pacticipants?page=0").await;
    expect(&bad_page, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_page.json()["errors"]["page"],
        json!(["must be greater than or equal to 1"])
    );
    let bad_size = broker.get("/pacticipants?size=many").await;
    assert_eq!(
        bad_size.json()["errors"]["size"],
        json!(["must be an integer"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pacticipant_is_read_patched_replaced_and_deleted_with_everything_it_owns() {
    let broker = Broker::start("pacticipant").await;
    let base = broker.base().to_owned();
    let path = "/pacticipants/Pricing%20Service";

    expect(&broker.get(path).await, StatusCode::NOT_FOUND);

    // PATCH with application/json creates a missing pacticipant (201), as old clients expect.
    let repo = "git@git.realestate.com.au:business-systems/pricing-service";
    let created = broker
        .with_body(
            Method::PATCH,
            path,
            "application/json",
            &json!({"repositoryUrl": repo}),
        )
        .await;
    expect(&created, StatusCode::CREATED);
    assert_eq!(
        created.header("location"),
        Some(format!("{base}{path}").as_str())
    );
    assert_eq!(created.json()["repositoryUrl"], repo);
    let again = broker
        .with_body(
            Method::PATCH,
            path,
            "application/json",
            &json!({"repository_url": "ignored"}),
        )
        .await;
    expect(&again, StatusCode::OK);
    assert_eq!(again.json()["repositoryUrl"], repo);

    // A merge patch changes only what it names.
    let patched = broker
        .patch(
            path,
            &json!({"displayName": "Pricing", "mainBranch": "main"}),
        )
        .await;
    expect(&patched, StatusCode::OK);
    let patched = patched.json();
    assert_eq!(patched["displayName"], "Pricing");
    assert_eq!(patched["repositoryUrl"], repo);
    assert_eq!(patched["mainBranch"], "main");

    // GET shows the broker's links and, with a version and labels, the embedded resources.
    expect(
        &broker
            .put(&format!("{path}/versions/1.3.0"), &json!({}))
            .await,
        StatusCode::CREATED,
    );
    expect(
        &broker
            .put(&format!("{path}/labels/finance"), &json!({}))
            .await,
        StatusCode::CREATED,
    );
    let got = broker.get(path).await;
    expect(&got, StatusCode::OK);
    let got = got.json();
    let url = format!("{base}{path}");
    assert_eq!(got["name"], "Pricing Service");
    assert_eq!(got["_links"]["self"]["href"], url);
    assert_eq!(got["_links"]["versions"]["href"], format!("{url}/versions"));
    assert_eq!(
        got["_links"]["pb:versions"]["href"],
        format!("{url}/versions")
    );
    assert_eq!(
        got["_links"]["pb:branches"]["href"],
        format!("{url}/branches")
    );
    assert_eq!(
        got["_links"]["pb:version"],
        json!({"title": "Get, create or delete a pacticipant version", "href": format!("{url}/versions/{{version}}"), "templated": true})
    );
    assert_eq!(
        got["_links"]["pb:label"]["href"],
        format!("{url}/labels/{{label}}")
    );
    assert_eq!(
        got["_links"]["pb:can-i-deploy-badge"]["href"],
        format!("{url}/latest-version/{{tag}}/can-i-deploy/to/{{environmentTag}}/badge")
    );
    assert_eq!(got["_links"]["pb:deployed-environments"], json!([]));
    assert_eq!(
        got["_links"]["curies"][0]["href"],
        format!("{base}/doc/{{rel}}?context=pacticipant")
    );
    assert_eq!(got["_embedded"]["latestVersion"]["number"], "1.3.0");
    assert_eq!(got["_embedded"]["latest-version"]["number"], "1.3.0");
    assert_eq!(
        got["_embedded"]["latest-version"]["title"],
        "DEPRECATED - please use latestVersion"
    );
    assert_eq!(got["_embedded"]["labels"][0]["name"], "finance");
    assert_eq!(
        got["_embedded"]["labels"][0]["_links"]["self"]["href"],
        format!("{url}/labels/finance")
    );

    // PUT replaces every property and never creates.
    let replaced = broker.put(path, &json!({"mainBranch": "trunk"})).await;
    expect(&replaced, StatusCode::OK);
    let replaced = replaced.json();
    assert_eq!(replaced["mainBranch"], "trunk");
    assert!(replaced.get("repositoryUrl").is_none(), "{replaced}");
    // A pacticipant always has a display name: without one given, it is derived from the name.
    assert_eq!(replaced["displayName"], "Pricing Service");
    expect(
        &broker.put("/pacticipants/Missing", &json!({})).await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker
            .with_body(
                Method::PUT,
                path,
                "application/merge-patch+json",
                &json!({}),
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    let invalid = broker.patch(path, &json!({"displayName": "a\nb"})).await;
    expect(&invalid, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.json()["errors"]["displayName"],
        json!(["cannot contain multiple lines"])
    );
    let not_json = broker
        .send(
            broker
                .request(Method::PATCH, path)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    expect(&not_json, StatusCode::BAD_REQUEST);
    assert!(not_json.json()["error"].is_string(), "{}", not_json.text);

    // DELETE removes it and everything it owns.
    expect(&broker.delete(path).await, StatusCode::NO_CONTENT);
    expect(&broker.get(path).await, StatusCode::NOT_FOUND);
    expect(&broker.delete(path).await, StatusCode::NOT_FOUND);
    let db = broker.database().await;
    let (versions, labels): (i64, i64) =
        sqlx::query_as("select (select count(*) from version), (select count(*) from label)")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((versions, labels), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_added_listed_found_and_removed() {
    let broker = Broker::start("labels").await;
    let base = broker.base().to_owned();

    // PUT creates the pacticipant as needed: 201 for a new label, 200 for an existing one.
    let created = broker
        .put("/pacticipants/Foo/labels/team-a", &json!({}))
        .await;
    expect(&created, StatusCode::CREATED);
    assert_eq!(
        created.header("location"),
        Some(format!("{base}/pacticipants/Foo/labels/team-a").as_str())
    );
    let body = created.json();
    assert_eq!(body["name"], "team-a");
    assert_eq!(
        body["_links"]["pacticipant"],
        json!({"title": "Pacticipant", "name": "Foo", "href": format!("{base}/pacticipants/Foo")})
    );
    expect(
        &broker
            .put("/pacticipants/Foo/labels/team-a", &json!({}))
            .await,
        StatusCode::OK,
    );
    for path in [
        "/pacticipants/Bar/labels/team-a",
        "/pacticipants/Bar/labels/team-b",
    ] {
        expect(&broker.put(path, &json!({})).await, StatusCode::CREATED);
    }

    let labels = broker.get("/labels").await.json();
    assert_eq!(
        labels["_embedded"]["labels"],
        json!([{"name": "team-a"}, {"name": "team-b"}])
    );
    assert_eq!(labels["_links"]["self"]["title"], "Labels");
    let paged = broker.get("/labels?size=1&page=2").await.json();
    assert_eq!(paged["_embedded"]["labels"], json!([{"name": "team-b"}]));
    assert_eq!(paged["page"]["totalElements"], 2);

    let team_a = broker.get("/pacticipants/label/team-a").await;
    expect(&team_a, StatusCode::OK);
    let team_a = team_a.json();
    assert_eq!(names(&team_a["_embedded"]["pacticipants"]), ["Bar", "Foo"]);
    assert!(team_a.get("pacticipants").is_none());
    let none = broker.get("/pacticipants/label/nobody").await.json();
    assert_eq!(none["_embedded"]["pacticipants"], json!([]));

    expect(
        &broker.get("/pacticipants/Foo/labels/team-a").await,
        StatusCode::OK,
    );
    expect(
        &broker.delete("/pacticipants/Foo/labels/team-a").await,
        StatusCode::NO_CONTENT,
    );
    expect(
        &broker.get("/pacticipants/Foo/labels/team-a").await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.delete("/pacticipants/Foo/labels/team-a").await,
        StatusCode::NOT_FOUND,
    );
}
