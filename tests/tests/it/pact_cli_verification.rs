//! The real clients end to end: a consumer publishes from branches with tags with
//! `pact-broker publish`; the real verifier (`pact verifier`) fetches pacts for verification with
//! a main-branch selector, pending and WIP pacts, verifies them against a small provider started
//! here, publishes the results with the provider branch — and the broker shows them.
//!
//! The verifier sets the provider version's branch through the provider's pacticipant resource
//! (`pb:branch-version`), which the resources work serves. So that this test does not depend on
//! it, the verifier talks to the tenant through a small front that forwards everything and only
//! answers those two requests itself when the tenant API has no such route (router 404); once
//! those routes exist the front is a plain pass-through.

use std::net::SocketAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method as AxumMethod, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use tests::tools::pact;
use tests::tools::{cli_subdomain, pact_broker};

use crate::pact_fixtures::{listed, listed_versions, Broker};

/// The provider under test: two endpoints.
async fn start_provider() -> SocketAddr {
    let app = Router::new()
        .route("/things", get(|| async { Json(json!([{"id": 1}])) }))
        .route("/widgets", get(|| async { Json(json!([{"name": "w"}])) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[derive(Clone)]
struct Front {
    api: SocketAddr,
    client: reqwest::Client,
    db: PgPool,
}

/// Forwards a request to the tenant API with its own `Host` (so links name the front).
async fn forward(State(front): State<Front>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let target = format!(
        "http://{}{}",
        front.api,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut upstream = front.client.request(parts.method.clone(), target);
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "connection" | "content-length" | "transfer-encoding"
        ) {
            upstream = upstream.header(name, value);
        }
    }
    let response = upstream
        .body(bytes.clone())
        .send()
        .await
        .expect("tenant API");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.bytes().await.unwrap_or_default();
    if status == StatusCode::NOT_FOUND && String::from_utf8_lossy(&text).contains("no resource at")
    {
        if let Some(answer) =
            stand_in(&front, &parts.method, parts.uri.path(), &parts.headers).await
        {
            return answer;
        }
    }
    let mut reply = Response::new(Body::from(text));
    *reply.status_mut() = status;
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "connection" | "content-length" | "transfer-encoding"
        ) {
            reply.headers_mut().insert(name, value.clone());
        }
    }
    reply
}

/// The two pacticipant requests the verifier makes to set the provider version's branch.
async fn stand_in(
    front: &Front,
    method: &AxumMethod,
    path: &str,
    headers: &axum::http::HeaderMap,
) -> Option<Response> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let base = format!("http://{host}");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let hal = |status: AxumStatus, body: Value| {
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/hal+json;charset=utf-8"),
        );
        response
    };
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["pacticipants", name]) => Some(hal(
            AxumStatus::OK,
            json!({"name": name, "_links": {
                "self": {"href": format!("{base}/pacticipants/{name}")},
                "pb:branch-version": {"href": format!("{base}/pacticipants/{name}/branches/{{branch}}/versions/{{version}}"), "templated": true},
                "pb:version-tag": {"href": format!("{base}/pacticipants/{name}/versions/{{version}}/tags/{{tag}}"), "templated": true},
            }}),
        )),
        ("PUT", ["pacticipants", name, "branches", branch, "versions", number]) => {
            sqlx::query(
                "with p as (insert into pacticipant (name) values ($1)
                            on conflict (name) do update set name = excluded.name returning pacticipant_id),
                      v as (insert into version (pacticipant_id, number) select pacticipant_id, $3 from p
                            on conflict (pacticipant_id, number) do update set number = excluded.number
                            returning version_id, pacticipant_id),
                      b as (insert into branch (pacticipant_id, name) select pacticipant_id, $2 from p
                            on conflict (pacticipant_id, name) do update set name = excluded.name
                            returning branch_id)
                 insert into branch_version (branch_id, version_id, pacticipant_id)
                 select b.branch_id, v.version_id, v.pacticipant_id from b, v on conflict do nothing",
            )
            .bind(name)
            .bind(branch)
            .bind(number)
            .execute(&front.db)
            .await
            .ok()?;
            Some(hal(
                AxumStatus::CREATED,
                json!({"name": branch, "_links": {}}),
            ))
        }
        _ => None,
    }
}

async fn start_front(api: SocketAddr, db: PgPool) -> SocketAddr {
    let front = Front {
        api,
        client: reqwest::Client::new(),
        db,
    };
    let app = Router::new().fallback(forward).with_state(front);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn write_pact(dir: &std::path::Path, descriptions: &[(&str, &str)]) {
    let pact = json!({
        "consumer": {"name": "Web"},
        "provider": {"name": "Orders"},
        "interactions": descriptions.iter().map(|(description, path)| json!({
            "description": description,
            "request": {"method": "GET", "path": path},
            "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": if *path == "/things" { json!([{"id": 1}]) } else { json!([{"name": "w"}]) }}
        })).collect::<Vec<_>>(),
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    });
    std::fs::write(
        dir.join("Web-Orders.json"),
        serde_json::to_vec_pretty(&pact).unwrap(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_verifier_verifies_pacts_published_from_branches_and_its_results_appear_in_the_broker(
) {
    let subdomain = cli_subdomain(1);
    let broker = Broker::start(&subdomain).await;
    let front = start_front(broker.api.running.addr, broker.db.clone()).await;
    let base = format!("http://{subdomain}.localhost:{}", front.port());
    let token = broker.tenant.read_write.clone();

    // The consumer publishes its main branch, then a feature branch with a new interaction.
    let main = tempfile::tempdir().unwrap();
    write_pact(main.path(), &[("a request for things", "/things")]);
    let feature = tempfile::tempdir().unwrap();
    write_pact(
        feature.path(),
        &[
            ("a request for things", "/things"),
            ("a request for widgets", "/widgets"),
        ],
    );
    for (dir, version, branch, tag) in [
        (main.path(), "1.0.0", "main", "main"),
        (feature.path(), "1.1.0", "feat/widgets", "feat-widgets"),
    ] {
        let out = pact_broker(&[
            "publish",
            dir.to_str().unwrap(),
            "--broker-base-url",
            &base,
            "--broker-token",
            &token,
            "--consumer-app-version",
            version,
            "--branch",
            branch,
            "--tag",
            tag,
        ])
        .await;
        assert!(
            out.success,
            "pact-broker publish {version}:\n{}\n{}",
            out.stdout, out.stderr
        );
        assert!(
            out.stdout.contains(&format!(
                "Pact successfully published for Web version {version} and provider Orders"
            )),
            "{}",
            out.stdout
        );
    }

    // Before verification: the main pact is pending; the feature pact is work in progress.
    let before = broker
        .for_verification("Orders", json!({"providerVersionBranch": "main", "includePendingStatus": true,
            "includeWipPactsSince": "2020-01-01", "consumerVersionSelectors": [{"mainBranch": true}]}))
        .await;
    assert_eq!(listed_versions(&before), vec!["Web 1.0.0", "Web 1.1.0"]);
    assert_eq!(listed(&before)[1]["verificationProperties"]["wip"], true);

    let provider = start_provider().await;
    let port = provider.port().to_string();
    let out = pact(&[
        "verifier",
        "--broker-url",
        &base,
        "--token",
        &token,
        "--provider-name",
        "Orders",
        "--hostname",
        "127.0.0.1",
        "--port",
        &port,
        "--consumer-version-selectors",
        r#"{"mainBranch":true}"#,
        "--enable-pending",
        "--include-wip-pacts-since",
        "2020-01-01",
        "--publish",
        "--provider-version",
        "2.0.0",
        "--provider-branch",
        "main",
        "--no-colour",
    ])
    .await;
    assert!(
        out.success,
        "pact verifier:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout
            .contains("Verifying a pact between Web and Orders"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("work in progress"),
        "the broker's notices are printed:\n{}",
        out.stdout
    );

    // The results are in the broker, attributed as the broker handed the pacts out.
    let latest = broker
        .get_ok("/pacts/provider/Orders/consumer/Web/version/1.0.0/verification-results/latest")
        .await;
    assert_eq!(latest["providerApplicationVersion"], "2.0.0");
    assert_eq!(latest["success"], true);
    assert_eq!(latest["verifiedBy"]["implementation"], "Pact-Rust");
    let summary = broker
        .get_ok("/verification-results/consumer/Web/version/1.0.0/latest")
        .await;
    assert_eq!(summary["success"], true);
    let recorded: Vec<(String, bool, Option<bool>, bool)> = sqlx::query_as(
        "select cv.number, x.success, x.pact_pending, x.wip from verification x
         join pact_publication pp on pp.pact_version_id = x.pact_version_id
         join version cv on cv.version_id = pp.consumer_version_id
         order by cv.number",
    )
    .fetch_all(&broker.db)
    .await
    .unwrap();
    assert_eq!(
        recorded,
        vec![
            ("1.0.0".to_owned(), true, Some(true), false),
            ("1.1.0".to_owned(), true, None, true),
        ]
    );

    // The provider version is on main, so the main pact is no longer pending for main; the
    // feature pact, verified only as work in progress, still is work in progress.
    let after = broker
        .for_verification("Orders", json!({"providerVersionBranch": "main", "includePendingStatus": true,
            "includeWipPactsSince": "2020-01-01", "consumerVersionSelectors": [{"mainBranch": true}]}))
        .await;
    assert_eq!(listed_versions(&after), vec!["Web 1.0.0", "Web 1.1.0"]);
    assert_eq!(
        listed(&after)[0]["verificationProperties"]["pending"],
        false
    );
    assert_eq!(listed(&after)[1]["verificationProperties"]["wip"], true);
}
