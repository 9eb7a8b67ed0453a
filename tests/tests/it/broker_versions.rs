//! Versions, branches, branch versions and tags over HTTP, with the broker's side effects.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::broker_support::{expect, Broker};

fn numbers(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|v| v["number"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|v| v["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn pact(consumer: &str, provider: &str) -> Value {
    json!({
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [{
            "description": "a request", "request": {"method": "GET", "path": "/"},
            "response": {"status": 200}
        }],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_created_read_listed_newest_first_and_deleted() {
    let broker = Broker::start("versions").await;
    let base = broker.base().to_owned();
    let foo = format!("{base}/pacticipants/Foo");

    // PUT creates (201) the pacticipant and version; again it overwrites (200).
    let created = broker
        .put(
            "/pacticipants/Foo/versions/1.0.0",
            &json!({"buildUrl": "http://ci/1"}),
        )
        .await;
    expect(&created, StatusCode::CREATED);
    let version = created.json();
    assert_eq!(version["number"], "1.0.0");
    assert_eq!(version["buildUrl"], "http://ci/1");
    assert_eq!(
        version["_links"]["self"],
        json!({"title": "Version", "name": "1.0.0", "href": format!("{foo}/versions/1.0.0")})
    );
    assert_eq!(
        version["_links"]["pb:pacticipant"],
        json!({"title": "Pacticipant", "name": "Foo", "href": foo})
    );
    assert_eq!(
        version["_links"]["pb:tag"]["href"],
        format!("{foo}/versions/1.0.0/tags/{{tag}}")
    );
    assert_eq!(
        version["_links"]["pb:latest-verification-results-where-pacticipant-is-consumer"]["href"],
        format!("{base}/verification-results/consumer/Foo/version/1.0.0/latest")
    );
    assert_eq!(version["_links"]["pb:record-deployment"], json!([]));
    let overwritten = broker
        .put(
            "/pacticipants/Foo/versions/1.0.0",
            &json!({"tags": [{"name": "prod"}]}),
        )
        .await;
    expect(&overwritten, StatusCode::OK);
    let overwritten = overwritten.json();
    assert!(overwritten.get("buildUrl").is_none(), "{overwritten}");
    assert_eq!(names(&overwritten["_embedded"]["tags"]), ["prod"]);

    // PATCH (merge patch only) creates or updates what it names.
    let patched = broker
        .patch(
            "/pacticipants/Foo/versions/1.0.0",
            &json!({"buildUrl": "http://ci/2"}),
        )
        .await;
    expect(&patched, StatusCode::OK);
    assert_eq!(patched.json()["buildUrl"], "http://ci/2");
    assert_eq!(names(&patched.json()["_embedded"]["tags"]), ["prod"]);
    expect(
        &broker
            .patch("/pacticipants/Foo/versions/2.0.0", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    expect(
        &broker
            .with_body(
                Method::PATCH,
                "/pacticipants/Foo/versions/2.0.0",
                "application/json",
                &json!({}),
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    expect(
        &broker
            .with_body(
                Method::PUT,
                "/pacticipants/Foo/versions/2.0.0",
                "application/merge-patch+json",
                &json!({}),
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    expect(
        &broker
            .put("/pacticipants/Foo/versions/3.0.0", &json!({"tags": [{}]}))
            .await,
        StatusCode::BAD_REQUEST,
    );

    // The collection: newest first, with the broker's links.
    let list = broker.get("/pacticipants/Foo/versions").await;
    expect(&list, StatusCode::OK);
    let list = list.json();
    assert_eq!(numbers(&list["_embedded"]["versions"]), ["2.0.0", "1.0.0"]);
    assert_eq!(
        list["_links"]["self"],
        json!({"href": format!("{foo}/versions"), "title": "All application versions of Foo"})
    );
    assert_eq!(
        list["_links"]["pb:pacticipant"],
        json!({"href": foo, "title": "Foo"})
    );
    assert_eq!(
        list["_links"]["pb:versions"][1]["href"],
        format!("{foo}/versions/1.0.0")
    );
    assert!(list["_links"]["pb:versions"][1]["title"]
        .as_str()
        .unwrap()
        .starts_with("Version 1.0.0 - "));
    assert_eq!(
        list["_links"]["versions"][0]["title"],
        "Deprecated - please use pb:versions"
    );
    assert!(list["_embedded"]["versions"][0]["_links"]
        .get("pb:record-deployment")
        .is_none());
    let paged = broker.get("/pacticipants/Foo/versions?size=1").await.json();
    assert_eq!(numbers(&paged["_embedded"]["versions"]), ["2.0.0"]);
    assert_eq!(
        paged["_links"]["next"]["href"],
        format!("{foo}/versions?size=1&page=2")
    );
    expect(
        &broker.get("/pacticipants/Nope/versions").await,
        StatusCode::NOT_FOUND,
    );

    // Latest, overall and by tag; the self link is where it was asked for.
    let latest = broker.get("/pacticipants/Foo/latest-version").await;
    expect(&latest, StatusCode::OK);
    assert_eq!(latest.json()["number"], "2.0.0");
    assert_eq!(
        latest.json()["_links"]["self"]["href"],
        format!("{foo}/latest-version")
    );
    let tagged = broker.get("/pacticipants/Foo/latest-version/prod").await;
    assert_eq!(tagged.json()["number"], "1.0.0");
    expect(
        &broker.get("/pacticipants/Foo/latest-version/none").await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.get("/pacticipants/Nope/latest-version").await,
        StatusCode::NOT_FOUND,
    );

    // Record links per environment; pact links per published pact.
    let uuid = broker.create_environment("test", false).await;
    expect(
        &broker
            .put(
                "/pacts/provider/Bar/consumer/Foo/version/1.0.0",
                &pact("Foo", "Bar"),
            )
            .await,
        StatusCode::CREATED,
    );
    let version = broker.get("/pacticipants/Foo/versions/1.0.0").await.json();
    assert_eq!(
        version["_links"]["pb:record-deployment"],
        json!([{
            "title": "Record deployment to Test", "name": "test",
            "href": format!("{foo}/versions/1.0.0/deployed-versions/environment/{uuid}")
        }])
    );
    assert_eq!(
        version["_links"]["pb:record-release"][0]["href"],
        format!("{foo}/versions/1.0.0/released-versions/environment/{uuid}")
    );
    assert_eq!(
        version["_links"]["pb:pact-versions"],
        json!([{
            "title": "Pact", "name": "Pact between Foo (1.0.0) and Bar",
            "href": format!("{base}/pacts/provider/Bar/consumer/Foo/version/1.0.0")
        }])
    );

    // DELETE takes the version and its pact.
    expect(
        &broker.delete("/pacticipants/Foo/versions/1.0.0").await,
        StatusCode::NO_CONTENT,
    );
    expect(
        &broker.get("/pacticipants/Foo/versions/1.0.0").await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker
            .get("/pacts/provider/Bar/consumer/Foo/version/1.0.0")
            .await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.delete("/pacticipants/Foo/versions/1.0.0").await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branches_and_branch_versions_behave_as_in_the_broker() {
    let broker = Broker::start("branches").await;
    let base = broker.base().to_owned();
    let foo = format!("{base}/pacticipants/Foo");

    // PUT a branch version: auto-creates everything; 201 with Location, then 200.
    let created = broker
        .put(
            "/pacticipants/Foo/branches/feat-x/versions/1",
            &json!({"name": "feat-x"}),
        )
        .await;
    expect(&created, StatusCode::CREATED);
    assert_eq!(
        created.header("location"),
        Some(format!("{foo}/branches/feat-x/versions/1").as_str())
    );
    let body = created.json();
    assert_eq!(
        body["_links"]["pb:branch"],
        json!({"title": "Branch", "name": "feat-x", "href": format!("{foo}/branches/feat-x")})
    );
    assert_eq!(
        body["_links"]["pb:version"]["href"],
        format!("{foo}/versions/1")
    );
    expect(
        &broker
            .put("/pacticipants/Foo/branches/feat-x/versions/1", &json!({}))
            .await,
        StatusCode::OK,
    );
    for number in ["1", "2"] {
        expect(
            &broker
                .put(
                    &format!("/pacticipants/Foo/branches/main/versions/{number}"),
                    &json!({}),
                )
                .await,
            StatusCode::CREATED,
        );
    }
    // `main` is a main-branch candidate: it becomes Foo's main branch.
    assert_eq!(
        broker.get("/pacticipants/Foo").await.json()["mainBranch"],
        "main"
    );

    // The list is always paginated; `q` filters by name.
    let list = broker.get("/pacticipants/Foo/branches").await;
    expect(&list, StatusCode::OK);
    let list = list.json();
    let mut listed = names(&list["_embedded"]["branches"]);
    listed.sort();
    assert_eq!(listed, ["feat-x", "main"]);
    assert_eq!(
        list["page"],
        json!({"number": 1, "size": 100, "totalElements": 2, "totalPages": 1})
    );
    assert_eq!(list["_links"]["self"]["title"], "Foo branches");
    assert_eq!(list["_links"]["pb:branches"].as_array().unwrap().len(), 2);
    let filtered = broker.get("/pacticipants/Foo/branches?q=FEA").await.json();
    assert_eq!(names(&filtered["_embedded"]["branches"]), ["feat-x"]);
    expect(
        &broker.get("/pacticipants/Nope/branches").await,
        StatusCode::NOT_FOUND,
    );

    let branch = broker.get("/pacticipants/Foo/branches/main").await.json();
    assert_eq!(branch["name"], "main");
    assert_eq!(
        branch["_links"]["pb:latest-version"],
        json!({"title": "Latest version for branch", "href": format!("{foo}/branches/main/latest-version")})
    );
    let head = broker
        .get("/pacticipants/Foo/branches/main/latest-version")
        .await;
    assert_eq!(head.json()["number"], "2");
    let on_main = broker
        .get("/pacticipants/Foo/branches/main/versions")
        .await
        .json();
    assert_eq!(numbers(&on_main["_embedded"]["versions"]), ["2", "1"]);
    assert_eq!(
        on_main["_links"]["self"]["title"],
        "Versions for branch main of Foo"
    );

    // A version shows its branches, with which it heads.
    let version = broker.get("/pacticipants/Foo/versions/1").await.json();
    let branch_versions = &version["_embedded"]["branchVersions"];
    assert_eq!(branch_versions, &version["_embedded"]["branches"]);
    let by_name = |name: &str| {
        branch_versions
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("feat-x")["latest"], true);
    assert_eq!(by_name("main")["latest"], false);
    assert_eq!(
        by_name("main")["_links"]["self"]["href"],
        format!("{foo}/branches/main/versions/1")
    );

    // Taking the head off a branch moves the head back.
    expect(
        &broker
            .get("/pacticipants/Foo/branches/main/versions/2")
            .await,
        StatusCode::OK,
    );
    expect(
        &broker
            .delete("/pacticipants/Foo/branches/main/versions/2")
            .await,
        StatusCode::NO_CONTENT,
    );
    let head = broker
        .get("/pacticipants/Foo/branches/main/latest-version")
        .await;
    assert_eq!(head.json()["number"], "1");
    expect(
        &broker
            .get("/pacticipants/Foo/branches/main/versions/2")
            .await,
        StatusCode::NOT_FOUND,
    );

    // Deleting a branch keeps its versions.
    expect(
        &broker.delete("/pacticipants/Foo/branches/feat-x").await,
        StatusCode::NO_CONTENT,
    );
    expect(
        &broker.get("/pacticipants/Foo/branches/feat-x").await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.delete("/pacticipants/Foo/branches/feat-x").await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker.get("/pacticipants/Foo/versions/1").await,
        StatusCode::OK,
    );

    // Bulk delete keeps the main branch and the excluded ones.
    for branch in ["a", "b", "c"] {
        expect(
            &broker
                .put(
                    &format!("/pacticipants/Foo/branches/{branch}/versions/2"),
                    &json!({}),
                )
                .await,
            StatusCode::CREATED,
        );
    }
    let bulk = broker
        .delete("/pacticipants/Foo/branches?exclude[]=b&exclude[]=nonexistent")
        .await;
    expect(&bulk, StatusCode::ACCEPTED);
    assert_eq!(
        bulk.json()["notices"],
        json!([{"type": "success", "text": "Scheduled deletion of 2 branches for pacticipant Foo. Remaining branches are: main, b"}])
    );
    let remaining = broker.get("/pacticipants/Foo/branches").await.json();
    let mut remaining = names(&remaining["_embedded"]["branches"]);
    remaining.sort();
    assert_eq!(remaining, ["b", "main"]);
    expect(
        &broker.delete("/pacticipants/Nope/branches").await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_created_with_the_brokers_side_effects_and_deleted() {
    let broker = Broker::start("tags").await;
    let base = broker.base().to_owned();
    let db = broker.database().await;

    // A tag PUT creates pacticipant and version: 201 with Location, then 200.
    let created = broker
        .put("/pacticipants/Condor/versions/1.3.0/tags/prod", &json!({}))
        .await;
    expect(&created, StatusCode::CREATED);
    let tag_url = format!("{base}/pacticipants/Condor/versions/1.3.0/tags/prod");
    assert_eq!(created.header("location"), Some(tag_url.as_str()));
    let body = created.json();
    assert_eq!(body["name"], "prod");
    assert_eq!(body["_links"]["self"]["href"], tag_url);
    assert_eq!(
        body["_links"]["version"],
        json!({"title": "Version", "name": "1.3.0", "href": format!("{base}/pacticipants/Condor/versions/1.3.0")})
    );
    assert_eq!(body["_links"]["pacticipant"]["name"], "Condor");
    expect(
        &broker
            .put("/pacticipants/Condor/versions/1.3.0/tags/prod", &json!({}))
            .await,
        StatusCode::OK,
    );
    expect(
        &broker
            .get("/pacticipants/Condor/versions/1.3.0/tags/prod")
            .await,
        StatusCode::OK,
    );

    // The first tag of a new version on no branch becomes its branch; later tags do not.
    expect(
        &broker
            .put("/pacticipants/Condor/versions/1.3.0/tags/eu", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    let version = broker
        .get("/pacticipants/Condor/versions/1.3.0")
        .await
        .json();
    assert_eq!(names(&version["_embedded"]["branchVersions"]), ["prod"]);
    assert_eq!(names(&version["_embedded"]["tags"]), ["prod", "eu"]);
    let auto_created: bool = sqlx::query_scalar("select auto_created from branch_version")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(auto_created);

    // Not when the version is older than ten seconds, nor when it is already on a branch.
    expect(
        &broker.put("/pacticipants/Old/versions/1", &json!({})).await,
        StatusCode::CREATED,
    );
    sqlx::query("update version set created_at = now() - interval '1 minute' where number = '1'")
        .execute(&db)
        .await
        .unwrap();
    expect(
        &broker
            .put("/pacticipants/Old/versions/1/tags/feature", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    let old = broker.get("/pacticipants/Old/versions/1").await.json();
    assert!(old["_embedded"].get("branchVersions").is_none(), "{old}");
    expect(
        &broker
            .put("/pacticipants/Branched/branches/dev/versions/1", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    expect(
        &broker
            .put("/pacticipants/Branched/versions/1/tags/other", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    let branched = broker.get("/pacticipants/Branched/versions/1").await.json();
    assert_eq!(names(&branched["_embedded"]["branchVersions"]), ["dev"]);

    // A tag named like a main-branch candidate becomes the main branch of a pacticipant without.
    expect(
        &broker
            .put("/pacticipants/Sam/versions/1/tags/master", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    assert_eq!(
        broker.get("/pacticipants/Sam").await.json()["mainBranch"],
        "master"
    );
    expect(
        &broker
            .put("/pacticipants/Sam/versions/2/tags/develop", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    assert_eq!(
        broker.get("/pacticipants/Sam").await.json()["mainBranch"],
        "master"
    );

    // A tag named like an environment records a deployment there.
    let uuid = broker.create_environment("production", true).await;
    expect(
        &broker
            .put(
                "/pacticipants/Condor/versions/1.3.0/tags/production",
                &json!({}),
            )
            .await,
        StatusCode::CREATED,
    );
    let deployed = broker
        .get(&format!(
            "/environments/{uuid}/deployed-versions/currently-deployed"
        ))
        .await
        .json();
    let entries = deployed["_embedded"]["deployedVersions"]
        .as_array()
        .unwrap();
    assert_eq!(entries.len(), 1, "{deployed}");
    assert_eq!(entries[0]["_embedded"]["version"]["number"], "1.3.0");
    let auto: bool = sqlx::query_scalar("select auto_created from deployed_version")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(auto);

    // Versions by tag.
    let tagged = broker.get("/pacticipants/Condor/tags/prod/versions").await;
    expect(&tagged, StatusCode::OK);
    assert_eq!(numbers(&tagged.json()["_embedded"]["versions"]), ["1.3.0"]);
    expect(
        &broker.get("/pacticipants/Condor/tags/nope/versions").await,
        StatusCode::NOT_FOUND,
    );

    // Deleting.
    expect(
        &broker
            .delete("/pacticipants/Condor/versions/1.3.0/tags/prod")
            .await,
        StatusCode::NO_CONTENT,
    );
    expect(
        &broker
            .get("/pacticipants/Condor/versions/1.3.0/tags/prod")
            .await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker
            .delete("/pacticipants/Condor/versions/1.3.0/tags/prod")
            .await,
        StatusCode::NOT_FOUND,
    );
    expect(
        &broker
            .with_body(
                Method::PUT,
                "/pacticipants/Condor/versions/1.3.0/tags/x",
                "text/plain",
                &json!({}),
            )
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
}
