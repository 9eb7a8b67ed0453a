//! Environments, deployed versions and released versions over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::broker_support::{expect, Broker};

fn entries<'a>(document: &'a Value, key: &str) -> &'a Vec<Value> {
    document["_embedded"][key]
        .as_array()
        .unwrap_or_else(|| panic!("no _embedded.{key} in {document}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_are_created_listed_updated_and_deleted() {
    let broker = Broker::start("environments").await;
    let base = broker.base().to_owned();

    let contacts = json!([{"name": "Foo team", "details": {"emailAddress": "foo@bar.com"}}]);
    let created = broker
        .post(
            "/environments",
            &json!({"name": "test", "displayName": "Test", "production": false, "contacts": contacts}),
        )
        .await;
    expect(&created, StatusCode::CREATED);
    let test = created.json();
    let uuid = test["uuid"].as_str().unwrap().to_owned();
    let url = format!("{base}/environments/{uuid}");
    assert_eq!(created.header("location"), Some(url.as_str()));
    assert_eq!(test["name"], "test");
    assert_eq!(test["displayName"], "Test");
    assert_eq!(test["production"], false);
    assert_eq!(test["contacts"], contacts);
    assert_eq!(
        test["_links"]["pb:currently-deployed-deployed-versions"],
        json!({"title": "Versions currently deployed to Test environment", "href": format!("{url}/deployed-versions/currently-deployed")})
    );
    assert_eq!(
        test["_links"]["pb:currently-supported-released-versions"]["href"],
        format!("{url}/released-versions/currently-supported")
    );
    assert_eq!(test["_links"]["self"]["href"], url);

    // The display name defaults from the name.
    let prod = broker
        .post(
            "/environments",
            &json!({"name": "prod-eu", "production": true}),
        )
        .await;
    expect(&prod, StatusCode::CREATED);
    assert_eq!(prod.json()["displayName"], "Prod Eu");
    let prod_uuid = prod.json()["uuid"].as_str().unwrap().to_owned();

    // Validation: unique names without spaces, a boolean production flag.
    let taken = broker
        .post(
            "/environments",
            &json!({"name": "test", "production": true}),
        )
        .await;
    expect(&taken, StatusCode::BAD_REQUEST);
    assert_eq!(
        taken.json()["errors"]["name"],
        json!(["name 'test' is already used by an existing environment."])
    );
    let spaced = broker
        .post("/environments", &json!({"name": "a b", "production": "no"}))
        .await;
    assert_eq!(
        spaced.json()["errors"]["name"],
        json!(["cannot contain spaces"])
    );
    assert_eq!(
        spaced.json()["errors"]["production"],
        json!(["must be one of: true, false"])
    );

    // Listing, by display name, and by name.
    let list = broker.get("/environments").await;
    expect(&list, StatusCode::OK);
    let list = list.json();
    let listed: Vec<&str> = entries(&list, "environments")
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["prod-eu", "test"]);
    assert_eq!(
        list["_links"]["pb:environments"][1],
        json!({"title": "Environment", "name": "test", "href": url})
    );
    let named = broker.get("/environments?name=test").await.json();
    assert_eq!(entries(&named, "environments").len(), 1);
    let nothing = broker.get("/environments?name=nope").await.json();
    assert!(entries(&nothing, "environments").is_empty());

    // PUT replaces everything; it never creates, and keeps names unique.
    let updated = broker
        .put(
            &format!("/environments/{uuid}"),
            &json!({"name": "test", "production": true}),
        )
        .await;
    expect(&updated, StatusCode::OK);
    let updated = updated.json();
    assert_eq!(updated["production"], true);
    assert_eq!(updated["displayName"], "Test");
    assert!(updated.get("contacts").is_none(), "{updated}");
    let clash = broker
        .put(
            &format!("/environments/{uuid}"),
            &json!({"name": "prod-eu", "production": true}),
        )
        .await;
    expect(&clash, StatusCode::BAD_REQUEST);
    expect(
        &broker
            .put(
                "/environments/9b5b5a1e-0000-4000-8000-000000000000",
                &json!({"name": "x", "production": true}),
            )
            .await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.get("/environments/not-a-uuid").await,
        StatusCode::NOT_FOUND,
    );

    // DELETE.
    expect(
        &broker.delete(&format!("/environments/{prod_uuid}")).await,
        StatusCode::NO_CONTENT,
    );
    expect(
        &broker.get(&format!("/environments/{prod_uuid}")).await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.delete(&format!("/environments/{prod_uuid}")).await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_version_is_deployed_per_pacticipant_environment_and_application_instance() {
    let broker = Broker::start("deployments").await;
    let base = broker.base().to_owned();
    let uuid = broker.create_environment("production", true).await;
    for number in ["1", "2"] {
        expect(
            &broker
                .put(&format!("/pacticipants/Foo/versions/{number}"), &json!({}))
                .await,
            StatusCode::CREATED,
        );
    }
    let record = |number: &str| {
        format!("/pacticipants/Foo/versions/{number}/deployed-versions/environment/{uuid}")
    };

    // Recording a deployment: 201 with the deployed version, embedded pacticipant, version and
    // environment; the same version again is the same deployment.
    let first = broker.post(&record("1"), &json!({})).await;
    expect(&first, StatusCode::CREATED);
    let first = first.json();
    let first_uuid = first["uuid"].as_str().unwrap().to_owned();
    assert_eq!(first["currentlyDeployed"], true);
    assert!(first.get("target").is_none() && first.get("applicationInstance").is_none());
    assert_eq!(first["_embedded"]["pacticipant"]["name"], "Foo");
    assert_eq!(first["_embedded"]["version"]["number"], "1");
    assert_eq!(first["_embedded"]["environment"]["name"], "production");
    assert_eq!(
        first["_links"]["self"]["href"],
        format!("{base}/deployed-versions/{first_uuid}")
    );
    let again = broker.post(&record("1"), &json!({})).await;
    expect(&again, StatusCode::CREATED);
    assert_eq!(
        again.header("location"),
        Some(format!("{base}/deployed-versions/{first_uuid}").as_str())
    );

    // Deploying another version undeploys the previous one (same application instance).
    expect(
        &broker.post(&record("2"), &json!({})).await,
        StatusCode::CREATED,
    );
    let old = broker
        .get(&format!("/deployed-versions/{first_uuid}"))
        .await
        .json();
    assert_eq!(old["currentlyDeployed"], false);
    assert!(old["undeployedAt"].is_string(), "{old}");

    // Another application instance is deployed alongside.
    let blue = broker
        .post(
            &record("1"),
            &json!({"applicationInstance": "blue", "target": "blue"}),
        )
        .await;
    expect(&blue, StatusCode::CREATED);
    assert_eq!(blue.json()["target"], "blue");
    assert_eq!(blue.json()["applicationInstance"], "blue");
    let legacy = broker
        .post(&record("1"), &json!({"target": "green"}))
        .await
        .json();
    assert_eq!(legacy["applicationInstance"], "green");

    let current = format!("/environments/{uuid}/deployed-versions/currently-deployed");
    let all = broker.get(&current).await;
    expect(&all, StatusCode::OK);
    let all = all.json();
    let rows = entries(&all, "deployedVersions");
    assert_eq!(rows.len(), 3, "{all}");
    assert_eq!(rows[0]["applicationInstance"], "green");
    assert_eq!(rows[0]["_embedded"]["pacticipant"]["name"], "Foo");
    assert!(rows[0]["_embedded"].get("environment").is_none());
    assert_eq!(
        all["_links"]["self"]["title"],
        "Currently deployed versions for Production"
    );
    let count = |query: &str| {
        let broker = &broker;
        let path = format!("{current}?{query}");
        async move { entries(&broker.get(&path).await.json(), "deployedVersions").len() }
    };
    assert_eq!(count("pacticipant=Foo").await, 3);
    assert_eq!(count("pacticipant=Bar").await, 0);
    assert_eq!(count("pacticipant=Foo&applicationInstance=blue").await, 1);
    assert_eq!(count("target=blue").await, 1);
    assert_eq!(count("applicationInstance=").await, 1);
    let with_query = broker
        .get(&format!("{current}?pacticipant=Foo"))
        .await
        .json();
    assert_eq!(
        with_query["_links"]["self"]["href"],
        format!("{base}{current}?pacticipant=Foo")
    );

    // The version and the pacticipant show their deployments.
    let version = broker.get("/pacticipants/Foo/versions/1").await.json();
    let links = version["_links"]["pb:deployed-environments"]
        .as_array()
        .unwrap();
    assert_eq!(links.len(), 3);
    assert_eq!(links[0]["currently_deployed"], false);
    assert_eq!(links[0]["name"], "Production");
    assert_eq!(links[1]["application_instance"], "blue");
    let pacticipant = broker.get("/pacticipants/Foo").await.json();
    assert_eq!(
        pacticipant["_links"]["pb:deployed-environments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let for_version = broker.get(&record("1")).await.json();
    assert_eq!(entries(&for_version, "deployedVersions").len(), 3);
    assert_eq!(
        for_version["_links"]["self"]["title"],
        "Deployed versions for Foo version 1 in environment Production"
    );

    // The versions of a pacticipant that have been in the environment, newest first.
    let in_environment = broker
        .get(&format!("/pacticipants/Foo/environments/{uuid}/versions"))
        .await;
    expect(&in_environment, StatusCode::OK);
    let in_environment = in_environment.json();
    let numbers: Vec<&str> = entries(&in_environment, "versions")
        .iter()
        .map(|v| v["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["2", "1"]);
    assert_eq!(
        in_environment["_links"]["self"]["title"],
        "Versions for Foo in environment Production"
    );
    expect(
        &broker
            .get(&format!("/pacticipants/Nope/environments/{uuid}/versions"))
            .await,
        StatusCode::NOT_FOUND,
    );

    // Undeploying by merge patch; `true` is refused.
    let blue_uuid = blue.json()["uuid"].as_str().unwrap().to_owned();
    let blue_path = format!("/deployed-versions/{blue_uuid}");
    let undeployed = broker
        .patch(&blue_path, &json!({"currentlyDeployed": false}))
        .await;
    expect(&undeployed, StatusCode::OK);
    assert_eq!(undeployed.json()["currentlyDeployed"], false);
    assert_eq!(undeployed.json()["_embedded"]["version"]["number"], "1");
    let redeploy = broker
        .patch(&blue_path, &json!({"currentlyDeployed": true}))
        .await;
    expect(&redeploy, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        redeploy.json()["errors"]["currentlyDeployed"],
        json!(["The currentlyDeployed property cannot be set back to true. Please record a new deployment."])
    );
    expect(
        &broker
            .with_body(Method::PATCH, &blue_path, "application/json", &json!({}))
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    assert_eq!(count("pacticipant=Foo").await, 2);
    expect(
        &broker
            .patch(
                "/deployed-versions/9b5b5a1e-0000-4000-8000-000000000000",
                &json!({"currentlyDeployed": false}),
            )
            .await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.get("/deployed-versions/nope").await,
        StatusCode::NOT_FOUND,
    );

    // Unknown version or environment.
    expect(
        &broker.post(&record("9"), &json!({})).await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker
            .post(
                "/pacticipants/Foo/versions/1/deployed-versions/environment/9b5b5a1e-0000-4000-8000-000000000000",
                &json!({}),
            )
            .await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_are_found_or_created_and_their_support_can_end() {
    let broker = Broker::start("releases").await;
    let base = broker.base().to_owned();
    let uuid = broker.create_environment("test", false).await;
    let release = |number: &str| {
        format!("/pacticipants/Foo/versions/{number}/released-versions/environment/{uuid}")
    };
    for number in ["1", "2"] {
        expect(
            &broker
                .put(&format!("/pacticipants/Foo/versions/{number}"), &json!({}))
                .await,
            StatusCode::CREATED,
        );
    }

    let created = broker.post(&release("1"), &json!({})).await;
    expect(&created, StatusCode::CREATED);
    let released = created.json();
    let released_uuid = released["uuid"].as_str().unwrap().to_owned();
    let url = format!("{base}/released-versions/{released_uuid}");
    assert_eq!(created.header("location"), Some(url.as_str()));
    assert_eq!(released["currentlySupported"], true);
    assert_eq!(released["_embedded"]["environment"]["uuid"], uuid);
    let again = broker.post(&release("1"), &json!({})).await;
    expect(&again, StatusCode::OK);
    assert_eq!(again.json()["uuid"], released_uuid);
    expect(
        &broker.post(&release("2"), &json!({})).await,
        StatusCode::CREATED,
    );

    let supported = format!("/environments/{uuid}/released-versions/currently-supported");
    let list = broker.get(&supported).await;
    expect(&list, StatusCode::OK);
    let list = list.json();
    assert_eq!(entries(&list, "releasedVersions").len(), 2);
    assert_eq!(
        list["_links"]["self"]["title"],
        "Currently supported versions in Test"
    );
    let one = broker
        .get(&format!("{supported}?pacticipant=Foo&version=1"))
        .await
        .json();
    let rows = entries(&one, "releasedVersions");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["_embedded"]["version"]["number"], "1");
    assert_eq!(rows[0]["_links"]["self"]["href"], url);

    // Ending support; it cannot be set back to true, but recording the release again restores it.
    let ended = broker
        .patch(
            &format!("/released-versions/{released_uuid}"),
            &json!({"currentlySupported": false}),
        )
        .await;
    expect(&ended, StatusCode::OK);
    assert_eq!(ended.json()["currentlySupported"], false);
    assert!(ended.json()["supportEndedAt"].is_string());
    let refused = broker
        .patch(
            &format!("/released-versions/{released_uuid}"),
            &json!({"currentlySupported": true}),
        )
        .await;
    expect(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.json()["errors"]["currentlySupported"].is_array());
    let remaining = broker.get(&supported).await.json();
    assert_eq!(entries(&remaining, "releasedVersions").len(), 1);
    let version = broker.get("/pacticipants/Foo/versions/1").await.json();
    assert_eq!(
        version["_links"]["pb:released-environments"],
        json!([{"title": "Version released to Test", "name": "Test", "href": url, "currently_supported": false}])
    );
    let restored = broker.post(&release("1"), &json!({})).await;
    expect(&restored, StatusCode::OK);
    assert_eq!(restored.json()["currentlySupported"], true);

    let for_version = broker.get(&release("1")).await.json();
    assert_eq!(entries(&for_version, "releasedVersions").len(), 1);
    expect(
        &broker
            .get(&format!("/released-versions/{released_uuid}"))
            .await,
        StatusCode::OK,
    );
    expect(
        &broker.get("/released-versions/nope").await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.post(&release("9"), &json!({})).await,
        StatusCode::NOT_FOUND,
    );
}
