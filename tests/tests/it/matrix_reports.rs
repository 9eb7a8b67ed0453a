//! Badges, the dashboard, metrics, relationships and groups over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::matrix::World;

async fn get_text(
    w: &World,
    path: &str,
    accept: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = w
        .client
        .authed(Method::GET, path, &w.tenant.read_only)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pact_badges_show_the_verification_status_of_the_latest_pact() {
    let w = World::new("badges-pact").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.tag("Foo", "1", "prod").await;

    let (status, headers, svg) = get_text(
        &w,
        "/pacts/provider/Bar/consumer/Foo/latest/badge",
        "image/svg+xml",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/svg+xml"));
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(
        svg.starts_with("<!-- Foo version 1 revision 1 Bar version ? number ? -->\n<svg"),
        "{svg}"
    );
    assert!(
        svg.contains(">foo/bar pact</text>") && svg.contains(">unknown</text>"),
        "{svg}"
    );

    w.verify("Foo", "1", "Bar", "10", true).await;
    let (_, _, svg) = get_text(
        &w,
        "/pacts/provider/Bar/consumer/Foo/latest/badge.svg",
        "image/svg+xml",
    )
    .await;
    assert!(
        svg.contains(">verified</text>") && svg.contains("#4c1"),
        "{svg}"
    );

    // A new pact content makes the last verification stale ("changed").
    w.publish("Foo", "2", "Bar", "b").await;
    let (_, _, svg) = get_text(
        &w,
        "/pacts/provider/Bar/consumer/Foo/latest/badge?label=consumer",
        "*/*",
    )
    .await;
    assert!(
        svg.contains(">changed</text>") && svg.contains(">foo pact</text>"),
        "{svg}"
    );

    // By tag, untagged, and as a matrix badge for a tag pair.
    let (_, _, svg) = get_text(
        &w,
        "/pacts/provider/Bar/consumer/Foo/latest/prod/badge",
        "*/*",
    )
    .await;
    assert!(svg.contains(">verified</text>"), "{svg}");
    let (_, _, svg) = get_text(
        &w,
        "/pacts/provider/Bar/consumer/Foo/latest-untagged/badge",
        "*/*",
    )
    .await;
    assert!(svg.contains(">unknown</text>"), "{svg}");
    w.tag("Bar", "10", "main").await;
    let (_, _, svg) = get_text(
        &w,
        "/matrix/provider/Bar/latest/main/consumer/Foo/latest/prod/badge",
        "*/*",
    )
    .await;
    assert!(
        svg.contains(">foo (prod)/bar (main) pact</text>") && svg.contains(">verified</text>"),
        "{svg}"
    );

    // Unknown names still get a badge.
    let (status, _, svg) =
        get_text(&w, "/pacts/provider/Nope/consumer/Foo/latest/badge", "*/*").await;
    assert_eq!(status, StatusCode::OK);
    assert!(svg.contains(">pact not found</text>"), "{svg}");

    // Badges are behind the tenant's token, like every broker route.
    let anonymous = w
        .client
        .request(Method::GET, "/pacts/provider/Bar/consumer/Foo/latest/badge")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_i_deploy_and_can_i_merge_badges_show_the_decision() {
    let w = World::new("badges-deploy").await;
    w.environment("production").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.branch("Foo", "1", "main").await;
    w.tag("Foo", "1", "dev").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.deploy("Bar", "10", "production").await;
    w.tag("Bar", "10", "production").await;

    let (_, _, svg) = get_text(
        &w,
        "/pacticipants/Foo/branches/main/latest-version/can-i-deploy/to-environment/production/badge",
        "*/*",
    )
    .await;
    assert!(
        svg.contains(">can-i-deploy</text>")
            && svg.contains(">main to production</text>")
            && svg.contains("#4c1"),
        "{svg}"
    );
    let (_, _, svg) = get_text(
        &w,
        "/pacticipants/Foo/branches/nope/latest-version/can-i-deploy/to-environment/production/badge",
        "*/*",
    )
    .await;
    assert!(
        svg.contains(">branch</text>") && svg.contains(">not found</text>"),
        "{svg}"
    );
    let (_, _, svg) = get_text(
        &w,
        "/pacticipants/Foo/latest-version/dev/can-i-deploy/to/production/badge?label=deploy",
        "*/*",
    )
    .await;
    assert!(
        svg.contains(">deploy</text>") && svg.contains(">dev to production</text>"),
        "{svg}"
    );

    let (_, headers, svg) =
        get_text(&w, "/pacticipants/Foo/main-branch/can-i-merge/badge", "*/*").await;
    assert!(
        svg.contains(">main branch version</text>"),
        "no main branch set yet: {svg}"
    );
    assert_eq!(headers["cache-control"], "no-cache");
    w.main_branch("Foo", "main").await;
    w.main_branch("Bar", "main").await;
    w.branch("Bar", "10", "main").await;
    let (_, headers, svg) =
        get_text(&w, "/pacticipants/Foo/main-branch/can-i-merge/badge", "*/*").await;
    assert!(
        svg.contains(">can-i-merge</text>") && svg.contains(">success</text>"),
        "{svg}"
    );
    assert_eq!(headers["cache-control"], "max-age=30");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_lists_head_pacts_with_their_latest_verification() {
    let w = World::new("dash-tenant").await;
    w.environment("production").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.publish("Foo", "2", "Bar", "b").await;
    w.publish("Foo", "3", "Bar", "c").await;
    w.publish("Web", "1", "Bar", "d").await;
    w.tag("Foo", "1", "prod").await;
    w.deploy("Foo", "2", "production").await;
    w.branch("Foo", "3", "main").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.tag("Bar", "10", "prod").await;
    w.verify("Foo", "2", "Bar", "10", false).await;

    let (status, body) = w.get("/dashboard").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    let versions: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["consumer"]["name"].as_str().unwrap(),
                i["consumer"]["version"]["number"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        items.len(),
        4,
        "latest, tagged and deployed pacts: {versions:?}"
    );
    let foo1 = items
        .iter()
        .find(|i| i["consumer"]["version"]["number"] == "1" && i["consumer"]["name"] == "Foo")
        .unwrap();
    assert_eq!(foo1["pactTags"][0]["name"], "prod");
    assert_eq!(foo1["verificationStatus"], "success");
    assert_eq!(foo1["latestVerificationResult"]["success"], true);
    assert_eq!(foo1["provider"]["version"]["number"], "10");
    assert_eq!(foo1["latestVerificationResultTags"][0]["name"], "prod");
    assert_eq!(foo1["webhookStatus"], "none");
    let foo2 = items
        .iter()
        .find(|i| i["consumer"]["version"]["number"] == "2")
        .unwrap();
    assert_eq!(foo2["verificationStatus"], "failed");
    let foo3 = items
        .iter()
        .find(|i| i["consumer"]["version"]["number"] == "3")
        .unwrap();
    assert_eq!(foo3["verificationStatus"], "never");
    assert_eq!(foo3["consumer"]["version"]["branch"], "main");
    assert_eq!(foo3["provider"]["version"], Value::Null);
    assert_eq!(
        foo3["_links"]["pb:webhook-status"]["href"],
        format!(
            "{}/pacts/provider/Bar/consumer/Foo/webhooks/status",
            w.client.base_url
        )
    );

    let (_, body) = w.get("/dashboard/provider/Bar/consumer/Web").await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (_, body) = w.get("/dashboard?page=2&size=3").await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (status, _) = w.get("/dashboard?size=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = w.get("/dashboard/provider/Bar/consumer/Nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, headers, text) = get_text(&w, "/dashboard", "text/plain").await;
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        text.starts_with(
            "CONSUMER_NAME | C_VERSION | C_TAGS | PROVIDER_NAME | P_VERSION | P_TAGS | SUCCESS"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_tenants_broker_data() {
    let w = World::new("counts-tenant").await;
    w.environment("production").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.publish("Foo", "2", "Bar", "a").await;
    w.verify("Foo", "1", "Bar", "10", true).await;
    w.verify("Foo", "1", "Bar", "11", false).await;
    w.tag("Foo", "1", "prod").await;
    w.branch("Foo", "2", "main").await;
    w.main_branch("Foo", "main").await;
    w.deploy("Bar", "10", "production").await;
    w.release("Bar", "11", "production").await;

    let (status, body) = w.get("/metrics").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["pacticipants"],
        json!({"count": 2, "withMainBranchSetCount": 1})
    );
    assert_eq!(body["integrations"]["count"], 1);
    assert_eq!(body["pactPublications"]["count"], 2);
    assert_eq!(body["pactVersions"]["count"], 1);
    assert_eq!(body["interactions"]["latestInteractionsCount"], 1);
    assert_eq!(body["verificationResults"]["count"], 2);
    assert_eq!(body["verificationResults"]["successCount"], 1);
    assert_eq!(body["verificationResults"]["failureCount"], 1);
    assert_eq!(
        body["verificationResultsPerPactVersion"]["distribution"],
        json!({"2": 1})
    );
    assert_eq!(
        body["pactRevisionsPerConsumerVersion"]["distribution"],
        json!({"1": 2})
    );
    assert_eq!(body["pacticipantVersions"]["count"], 4);
    assert_eq!(body["pacticipantVersions"]["withBranchCount"], 1);
    assert_eq!(
        body["tags"],
        json!({"count": 1, "distinctCount": 1, "distinctWithPacticipantCount": 1})
    );
    assert_eq!(body["environments"]["count"], 1);
    assert_eq!(body["deployedVersions"]["currentlyDeployedCount"], 1);
    assert_eq!(body["releasedVersions"]["currentlySupportedCount"], 1);
    assert_eq!(body["matrix"]["count"], -1);
    assert_eq!(body["webhooks"]["count"], 0);
    assert!(body["pactPublications"]["first"]
        .as_str()
        .unwrap()
        .ends_with("+00:00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relationships_and_groups_are_csv_of_the_integration_graph() {
    let w = World::new("relationships").await;
    w.publish("Foo", "1", "Bar", "a").await;
    w.publish("Foo", "1", "Baz", "b").await;
    w.publish("Baz", "1", "Bar", "c").await;
    w.publish("Lonely", "1", "Island", "d").await;
    let id = |name: &str| {
        let db = w.db.clone();
        let name = name.to_owned();
        async move {
            sqlx::query_scalar::<_, i64>("select pacticipant_id from pacticipant where name = $1")
                .bind(name)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let (foo, bar, baz, lonely, island) = (
        id("Foo").await,
        id("Bar").await,
        id("Baz").await,
        id("Lonely").await,
        id("Island").await,
    );

    let (status, headers, csv) = get_text(&w, "/relationships", "text/csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(
        csv,
        format!(
            "{baz},Baz,1,1,0,1,{bar},0\n{bar},Bar,1,1,0,2,0,0\n{foo},Foo,1,1,0,3,{bar},{baz}\n{lonely},Lonely,1,1,0,4,{island},0\n{island},Island,1,1,0,5,0,0\n"
        )
    );

    let (status, _, csv) = get_text(&w, "/groups/Bar", "text/csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(!csv.contains("Lonely"));
    let (status, _, _) = get_text(&w, "/groups/Nope", "text/csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
