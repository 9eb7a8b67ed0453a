//! Every broker route reads its input through one extractor family (`broker/http/extract.rs`), so
//! bad input is answered in the broker's error shape (`{"error": …}` as HAL+JSON), never as
//! axum's plain-text rejection: a path segment that is not UTF-8 on each route family that used
//! axum's `Path`, duplicate query keys on the routes that used axum's `Query`, and bodies that
//! are not JSON, not UTF-8 or carry a NUL on the routes that used the old JSON body extractor.

use reqwest::{Method, StatusCode};

use crate::broker_support::{Broker, Reply};

/// A read-write request accepting anything (badges, diffs and groups are not HAL).
async fn send(broker: &Broker, method: Method, path: &str, body: Option<(&str, &[u8])>) -> Reply {
    let mut request = broker
        .client
        .authed(method, path, &broker.tenant.read_write)
        .header("accept", "*/*");
    if let Some((content_type, bytes)) = body {
        request = request
            .header("content-type", content_type)
            .body(bytes.to_vec());
    }
    broker.send(request).await
}

/// A 4xx in the broker's shape: HAL+JSON with an `error` message (or `errors`, by field or as a
/// list).
#[track_caller]
fn assert_broker_shaped(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text);
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/hal+json"),
        "{what}: content type {content_type:?}, body {}",
        reply.text
    );
    let body = reply.json();
    assert!(
        body["error"].is_string() || body["errors"].is_object() || body["errors"].is_array(),
        "{what}: {}",
        reply.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_segment_that_is_not_utf8_is_a_broker_shaped_400_on_every_route_family() {
    let broker = Broker::start("input-paths").await;
    const PAIR: &str = "/pacts/provider/P/consumer/C";
    let cases = [
        // pacts: by version, recency, collections, diffs, provider states, publication
        (
            Method::GET,
            "/pacts/provider/%FF/consumer/C/latest".to_owned(),
        ),
        (Method::GET, format!("{PAIR}/version/%FF")),
        (Method::DELETE, format!("{PAIR}/version/%FF")),
        (
            Method::GET,
            "/pacts/provider/P/consumer/%FF/versions".to_owned(),
        ),
        (Method::GET, "/pacts/provider/%FF/latest".to_owned()),
        (
            Method::GET,
            format!("{PAIR}/version/%FF/diff/previous-distinct"),
        ),
        (
            Method::GET,
            "/pacts/provider/%FF/provider-states".to_owned(),
        ),
        // verification results and pacts for verification
        (
            Method::GET,
            format!("{PAIR}/pact-version/%FF/verification-results/latest"),
        ),
        (
            Method::GET,
            "/verification-results/consumer/%FF/version/1/latest".to_owned(),
        ),
        (
            Method::GET,
            "/pacts/provider/%FF/for-verification".to_owned(),
        ),
        // matrix, can-i-deploy, badges, dashboard, groups
        (Method::GET, "/matrix/provider/%FF/consumer/C".to_owned()),
        (
            Method::GET,
            "/pacticipants/%FF/latest-version/main/can-i-deploy/to/prod".to_owned(),
        ),
        (Method::GET, format!("{PAIR}/latest/%FF/badge")),
        (Method::GET, "/dashboard/provider/%FF/consumer/C".to_owned()),
        (Method::GET, "/groups/%FF".to_owned()),
        // webhooks
        (Method::GET, "/webhooks/%FF".to_owned()),
        (Method::GET, "/webhooks/provider/%FF".to_owned()),
        (
            Method::GET,
            "/pacts/provider/P/consumer/%FF/webhooks".to_owned(),
        ),
        // already on the broker's extractors before: the same answer
        (Method::GET, "/pacticipants/%FF".to_owned()),
    ];
    for (method, path) in cases {
        let reply = send(&broker, method.clone(), &path, None).await;
        let what = format!("{method} {path}");
        assert_broker_shaped(&reply, StatusCode::BAD_REQUEST, &what);
        assert!(
            reply.json()["error"]
                .as_str()
                .unwrap_or_default()
                .contains("UTF-8"),
            "{what}: {}",
            reply.text
        );
    }

    // A pact published to a bad path is refused before its body is read.
    let reply = send(
        &broker,
        Method::PUT,
        &format!("{PAIR}/version/%FF"),
        Some((
            "application/json",
            br#"{"consumer":{"name":"C"},"provider":{"name":"P"}}"#,
        )),
    )
    .await;
    assert_broker_shaped(&reply, StatusCode::BAD_REQUEST, "PUT a pact at version %FF");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_malformed_query_keys_are_broker_shaped_400s() {
    let broker = Broker::start("input-queries").await;
    for path in [
        "/pacts/provider/P/consumer/C/latest/badge?label=consumer&label=provider",
        "/pacticipants/Web/latest-version/main/can-i-deploy/to/prod/badge?label=a&label=b",
        "/groups/Web?maxPacticipants=1&maxPacticipants=2",
    ] {
        let reply = send(&broker, Method::GET, path, None).await;
        assert_broker_shaped(&reply, StatusCode::BAD_REQUEST, path);
        assert!(
            reply.json()["error"]
                .as_str()
                .unwrap_or_default()
                .contains("duplicate field"),
            "{path}: {}",
            reply.text
        );
    }
    // Rack's nested keys that contradict each other (an array, then a hash).
    let path = "/matrix/provider/P/consumer/C?q%5B%5D=a&q%5Bx%5D=b";
    let reply = send(&broker, Method::GET, path, None).await;
    assert_broker_shaped(&reply, StatusCode::BAD_REQUEST, path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_json_not_utf8_or_hold_a_nul_are_broker_shaped() {
    let broker = Broker::start("input-bodies").await;
    const PAIR: &str = "/pacts/provider/P/consumer/C";
    let routes = [
        (Method::POST, "/webhooks".to_owned()),
        (Method::PUT, "/webhooks/0123456789abcdef".to_owned()),
        (Method::POST, "/webhooks/provider/P/consumer/C".to_owned()),
        (
            Method::POST,
            format!("{PAIR}/pact-version/abc/verification-results"),
        ),
        (Method::POST, "/contracts/publish".to_owned()),
        (
            Method::POST,
            "/pacts/provider/P/for-verification".to_owned(),
        ),
        (Method::PUT, format!("{PAIR}/version/1")),
    ];
    let bodies: [(&str, &[u8], StatusCode); 4] = [
        ("not JSON", b"this is not json", StatusCode::BAD_REQUEST),
        (
            "not UTF-8",
            b"{\"name\":\"caf\xe9\"}",
            StatusCode::BAD_REQUEST,
        ),
        ("a NUL", br#"{"name":"a\u0000b"}"#, StatusCode::BAD_REQUEST),
        ("no JSON type", b"{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ];
    for (method, path) in &routes {
        for (kind, bytes, status) in bodies {
            let content_type = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                "text/plain"
            } else {
                "application/json"
            };
            let reply = send(&broker, method.clone(), path, Some((content_type, bytes))).await;
            assert_broker_shaped(&reply, status, &format!("{method} {path} with {kind}"));
        }
    }
    // Nothing was written.
    let webhooks = send(&broker, Method::GET, "/webhooks", None).await;
    assert_eq!(webhooks.status, StatusCode::OK, "{}", webhooks.text);
    assert_eq!(
        webhooks.json()["_links"]["pb:webhooks"]
            .as_array()
            .map(Vec::len),
        Some(0),
        "{}",
        webhooks.text
    );
    let consumer = send(&broker, Method::GET, "/pacticipants/C", None).await;
    assert_eq!(consumer.status, StatusCode::NOT_FOUND, "{}", consumer.text);
}
