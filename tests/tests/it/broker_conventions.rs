//! The broker's HTTP conventions on every broker route: OPTIONS, 405 with `Allow`, 406, 415,
//! file extensions as `Accept`, empty path segments, and the broker's response headers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::broker_support::{expect, Broker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_and_unsupported_methods_name_each_routes_methods() {
    let broker = Broker::start("conventions").await;
    let cases = [
        ("/pacticipants/Foo", "GET, PUT, PATCH, DELETE, OPTIONS"),
        ("/pacticipants", "GET, POST, OPTIONS"),
        ("/environments", "GET, POST, OPTIONS"),
        ("/deployed-versions/x", "GET, PATCH, OPTIONS"),
        ("/integrations/provider/P/consumer/C", "DELETE, OPTIONS"),
        ("/", "GET, OPTIONS"),
        ("/contracts/publish", "POST, OPTIONS"),
    ];
    for (path, methods) in cases {
        let options = broker.send(broker.request(Method::OPTIONS, path)).await;
        expect(&options, StatusCode::OK);
        assert_eq!(
            options.header("access-control-allow-methods"),
            Some(methods),
            "OPTIONS {path}"
        );
    }

    let not_allowed = broker.post("/pacticipants/Foo", &json!({})).await;
    expect(&not_allowed, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        not_allowed.header("allow"),
        Some("GET, PUT, PATCH, DELETE, OPTIONS")
    );
    let not_allowed = broker.delete("/labels").await;
    expect(&not_allowed, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(not_allowed.header("allow"), Some("GET, OPTIONS"));

    // Both are behind the tenant gate, as the broker authenticates first.
    let anonymous = broker
        .send(broker.client.request(Method::OPTIONS, "/pacticipants"))
        .await;
    expect(&anonymous, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_headers_are_negotiated_and_file_extensions_stand_for_them() {
    let broker = Broker::start("negotiation").await;
    expect(
        &broker.post("/pacticipants", &json!({"name": "Foo"})).await,
        StatusCode::CREATED,
    );
    let get = |accept: Option<&'static str>, path: &'static str| {
        let mut request = broker
            .client
            .authed(Method::GET, path, &broker.tenant.read_only);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        broker.send(request)
    };
    let cases = [
        (None, StatusCode::OK),
        (Some("*/*"), StatusCode::OK),
        (Some("application/hal+json"), StatusCode::OK),
        (
            Some("application/hal+json, application/json"),
            StatusCode::OK,
        ),
        (Some("application/*"), StatusCode::OK),
        (Some("application/hal+json;charset=utf-8"), StatusCode::OK),
        (Some("application/problem+json"), StatusCode::OK),
        (Some("application/json"), StatusCode::NOT_ACCEPTABLE),
        (Some("text/html"), StatusCode::NOT_ACCEPTABLE),
        (Some("text/csv"), StatusCode::NOT_ACCEPTABLE),
    ];
    for (accept, status) in cases {
        let reply = get(accept, "/pacticipants/Foo").await;
        assert_eq!(reply.status, status, "Accept: {accept:?}: {}", reply.text);
    }

    // `.json` is `Accept: application/hal+json`; `.csv` asks for CSV, which a pacticipant is not.
    let json = get(Some("text/html"), "/pacticipants/Foo.json").await;
    expect(&json, StatusCode::OK);
    assert_eq!(json.json()["name"], "Foo");
    let listed = get(None, "/pacticipants.json?q=F").await;
    expect(&listed, StatusCode::OK);
    expect(
        &get(None, "/pacticipants/Foo.csv").await,
        StatusCode::NOT_ACCEPTABLE,
    );
    // Other dots are part of the name.
    expect(
        &broker
            .put("/pacticipants/Foo/versions/1.2.3", &json!({}))
            .await,
        StatusCode::CREATED,
    );
    expect(
        &get(None, "/pacticipants/Foo/versions/1.2.3").await,
        StatusCode::OK,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_paths_and_bodies_get_the_brokers_4xx() {
    let broker = Broker::start("malformed").await;
    let base = broker.base().to_owned();

    // An empty path segment is a 404 problem; a new line in the path a 422.
    let empty = broker.get("//pacticipants").await;
    expect(&empty, StatusCode::NOT_FOUND);
    assert_eq!(
        empty.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        empty.json(),
        json!({"title": "Not Found", "type": format!("{base}/problem/not-found"), "detail": "Empty path component found", "status": 404})
    );
    expect(
        &broker.get("/pacticipants//versions").await,
        StatusCode::NOT_FOUND,
    );
    let newline = broker.get("/pacticipants/a%0Ab").await;
    expect(&newline, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        newline.json()["detail"],
        "URL path cannot contain a new line character."
    );

    // Bodies: wrong type 415, not JSON 400, not an object 400.
    let cases = [
        ("text/plain", "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "application/hal+json",
            "{}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("application/json", "{", StatusCode::BAD_REQUEST),
        ("application/json", "[1]", StatusCode::BAD_REQUEST),
        ("application/json", "\"x\"", StatusCode::BAD_REQUEST),
    ];
    for (content_type, body, status) in cases {
        let reply = broker
            .send(
                broker
                    .request(Method::POST, "/environments")
                    .header("content-type", content_type)
                    .body(body),
            )
            .await;
        assert_eq!(
            reply.status, status,
            "{content_type} {body}: {}",
            reply.text
        );
        assert!(
            reply.json().get("error").is_some() || reply.json().get("errors").is_some(),
            "{content_type} {body}: {}",
            reply.text
        );
    }
    let invalid_utf8 = broker
        .send(
            broker
                .request(Method::POST, "/environments")
                .header("content-type", "application/json")
                .body(vec![b'{', b'"', 0xff, b'"', b'}']),
        )
        .await;
    expect(&invalid_utf8, StatusCode::BAD_REQUEST);
    assert!(invalid_utf8.json()["error"]
        .as_str()
        .unwrap()
        .contains("non UTF-8 character at char 3"));

    // Problem JSON when asked for, with the same status.
    let problem = broker
        .send(
            broker
                .request(Method::POST, "/environments")
                .header("accept", "application/problem+json")
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    expect(&problem, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem.header("content-type"),
        Some("application/problem+json")
    );
    assert!(
        problem.json()["errors"]["name"].is_array(),
        "{}",
        problem.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broker_response_carries_the_brokers_headers() {
    let broker = Broker::start("headers").await;
    for (method, path) in [
        (Method::GET, "/"),
        (Method::GET, "/pacticipants"),
        (Method::GET, "/pacticipants/Nope"),
        (Method::OPTIONS, "/environments"),
        (Method::DELETE, "/labels"),
    ] {
        let reply = broker.send(broker.request(method.clone(), path)).await;
        assert_eq!(
            reply.header("x-pact-broker-version"),
            Some("2.120.0"),
            "{method} {path}"
        );
        assert_eq!(reply.header("vary"), Some("Accept"), "{method} {path}");
        assert_eq!(
            reply.header("cache-control"),
            Some("no-cache"),
            "{method} {path}"
        );
    }
    let ok = broker.get("/pacticipants").await;
    assert_eq!(
        ok.header("content-type"),
        Some("application/hal+json;charset=utf-8")
    );
}
