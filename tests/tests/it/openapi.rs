//! The OpenAPI documents: they describe exactly the routes each service serves (method and path,
//! probed over HTTP from the document itself), and schemathesis, driven by the control plane's
//! document, finds no 5xx and no answer outside the described statuses and schemas.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tests::tenant_client::{signup, PASSWORD};
use tests::{tools, Session, TestEnv};

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The document's operations, as (method, path template).
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_string(), path.clone()))
        })
        .collect()
}

/// A concrete path for a template: every parameter a UUID that names nothing.
fn concrete(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("closing brace") + open;
        path.push_str(&rest[..open]);
        path.push_str("00000000-0000-0000-0000-000000000000");
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    path
}

/// Whether an answer is the router's own: no route at the path (its 404 says "no resource at")
/// or none for the method (405).
async fn unrouted(response: reqwest::Response) -> Option<String> {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let no_route = status == StatusCode::NOT_FOUND && body.contains("no resource at");
    (no_route || status == StatusCode::METHOD_NOT_ALLOWED).then(|| format!("{status} {body}"))
}

/// Checks over HTTP that `base` serves every operation of its document, and on the document's
/// paths no method the document leaves out.
async fn assert_document_matches_routes(base: &str, document: &Value) {
    let described = operations(document);
    assert!(!described.is_empty(), "the document describes no operation");
    let client = reqwest::Client::new();
    let mut wrong = Vec::new();
    let paths: BTreeSet<&String> = described.iter().map(|(_, p)| p).collect();
    for template in paths {
        let url = format!("{base}{}", concrete(template));
        for method in METHODS {
            let response = client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                    &url,
                )
                .send()
                .await
                .expect("request");
            let answer = unrouted(response).await;
            match (
                described.contains(&(method.to_owned(), template.clone())),
                answer,
            ) {
                (true, Some(answer)) => wrong.push(format!(
                    "{method} {template} is described but not served: {answer}"
                )),
                (false, None) => {
                    wrong.push(format!("{method} {template} is served but not described"))
                }
                _ => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "document and routes differ:\n{}",
        wrong.join("\n")
    );
}

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.expect("document request");
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{url}"
    );
    response.json().await.expect("the document is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_describes_exactly_the_routes_it_serves() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let document = get_json(&cp.url("/api/openapi.json")).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["info"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("Pact Broker")));
    // Every error is described once, as problem JSON.
    assert!(document["components"]["schemas"]["Problem"].is_object());
    for (method, path) in operations(&document) {
        let responses = &document["paths"][&path][&method]["responses"];
        assert!(
            responses["default"]["content"]["application/problem+json"].is_object(),
            "{method} {path} has no problem default: {responses}"
        );
    }
    assert_document_matches_routes(&cp.url(""), &document).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_api_describes_exactly_its_additions_to_the_broker_api() {
    let env = TestEnv::new().await;
    let api = env.start_tenant_api().await;
    let base = format!("http://{}", api.running.addr);
    let document = get_json(&format!("{base}/openapi")).await;
    assert_eq!(document["openapi"], "3.1.0");
    // The broker's own extension convention serves it as `.json` too.
    assert_eq!(get_json(&format!("{base}/openapi.json")).await, document);
    let description = document["info"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("described by the Pact Broker project"),
        "{description}"
    );
    assert!(operations(&document).contains(&("get".into(), "/diagnostic/status/heartbeat".into())));
    // No broker route is re-described.
    assert!(document["paths"].get("/pacticipants").is_none());
    assert_document_matches_routes(&base, &document).await;
}

/// Schemathesis against a running control plane, signed in as an organisation's administrator
/// (so the handlers behind the session run too): a bounded number of examples per operation,
/// a fixed seed, every answer checked for 5xx, an undescribed status, or a body outside its
/// schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_or_schema_mismatch_in_the_control_plane() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "openapi-fuzz").await;
    let session = Session::login(&cp, &acme.email, PASSWORD).await;
    let document = cp.url("/api/openapi.json");
    let cookie = format!("Cookie: {}", session.cookie);
    let csrf = format!("X-CSRF-Token: {}", session.csrf);
    let common = [
        "run",
        document.as_str(),
        "--checks",
        "not_a_server_error,status_code_conformance,response_schema_conformance",
        "--max-examples",
        "20",
        "--seed",
        "20261205",
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-database",
        "none",
        "--generation-with-security-parameters",
        "false",
        "--continue-on-failure",
        "--request-timeout",
        "10",
        "--workers",
        "2",
        "--no-color",
    ];
    let started = Instant::now();
    // Signed in, everything but signing out (which would end the session mid-run).
    let mut args = common.to_vec();
    args.extend(["-H", &cookie, "-H", &csrf, "--exclude-path", "/api/logout"]);
    let signed_in = tools::schemathesis(&args).await;
    // Anonymous, everything (signing out included).
    let anonymous = tools::schemathesis(&common).await;
    let elapsed = started.elapsed();
    for (name, run) in [("signed in", &signed_in), ("anonymous", &anonymous)] {
        assert!(
            run.success,
            "schemathesis ({name}) found problems:\n{}\n{}",
            run.stdout, run.stderr
        );
    }
    eprintln!("schemathesis: both runs in {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(120),
        "schemathesis took {elapsed:?}"
    );
    // The session survived the run: nothing it did signed the administrator out.
    let (status, _) = session.send(Method::GET, "/api/user", None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Found by schemathesis: a NUL character reached PostgreSQL, which refuses it, and the control
/// plane answered 500. Any data exception from the database is the client's input: 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_in_a_query_or_body_is_a_400_not_a_500() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "openapi-nul").await;
    let session = Session::login(&cp, &acme.email, PASSWORD).await;
    let (status, body) = session
        .send(Method::GET, "/api/admin/users?q=%00%C3%AD", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad_request");
    let response = reqwest::Client::new()
        .post(cp.url("/api/login"))
        .json(&serde_json::json!({"email": "lead\u{0}@openapi-nul.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// Found by schemathesis: giving a system account a token (its row locked, then rows referencing
/// the tenant inserted) while renaming it (the tenant locked, then its row updated) deadlocked in
/// PostgreSQL, and one of the two answered 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_to_a_system_account_do_not_deadlock() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let acme = signup(&cp, "openapi-lock").await;
    let session = Session::login(&cp, &acme.email, PASSWORD).await;
    let (status, account) = session
        .send(
            Method::POST,
            "/api/admin/system-accounts",
            Some(serde_json::json!({"name": "ci"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let path = format!(
        "/api/admin/system-accounts/{}",
        account["id"].as_str().unwrap()
    );
    for round in 0..8 {
        let mut tasks = Vec::new();
        for i in 0..10 {
            let session = session.clone();
            let path = path.clone();
            tasks.push(tokio::spawn(async move {
                if i % 2 == 0 {
                    session
                        .send(
                            Method::PUT,
                            &path,
                            Some(serde_json::json!({"name": format!("ci-{round}-{i}")})),
                        )
                        .await
                } else {
                    let (status, body) = session
                        .send(
                            Method::POST,
                            &format!("{path}/tokens"),
                            Some(serde_json::json!({"name": "t", "scope": "read-write"})),
                        )
                        .await;
                    if status == StatusCode::CREATED {
                        let token = body["id"].as_str().unwrap().to_owned();
                        session
                            .send(Method::DELETE, &format!("{path}/tokens/{token}"), None)
                            .await;
                    }
                    (status, body)
                }
            }));
        }
        for task in tasks {
            let (status, body) = task.await.unwrap();
            assert!(status.is_success(), "round {round}: {status} {body}");
        }
    }
}
