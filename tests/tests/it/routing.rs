//! The tenant API's front door: which host is which tenant, what a tenant's status does to its
//! requests, tokens and scopes, the diagnostic endpoints, and bad input on the broker routes.

use std::time::Duration;

use provisioning::database_server::{Endpoint, TenantDatabase};
use provisioning::registry::{self, NewTenant};
use provisioning::{Subdomain, TenantId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{status}"
    );
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_that_are_not_a_known_tenant_are_404_problem_json() {
    let env = TestEnv::new().await;
    let api = env.start_tenant_api().await;
    for host in ["nobody", "www"] {
        let response = TenantClient::new(&api, host)
            .request(Method::GET, "/")
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{host}");
        assert_eq!(body["code"], "unknown_tenant");
    }
    let bare = reqwest::get(format!("http://{}/", api.running.addr))
        .await
        .unwrap();
    assert_eq!(problem(bare).await.0, StatusCode::NOT_FOUND);
    let nested = reqwest::Client::new()
        .get(format!("http://{}/", api.running.addr))
        .header("host", "a.b.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(nested).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_still_being_provisioned_answers_503_with_retry_after() {
    let env = TestEnv::new().await;
    let api = env.start_tenant_api().await;
    let id = TenantId::new();
    let subdomain = Subdomain::parse("pending").unwrap();
    let database = TenantDatabase::for_tenant(&env.prefix, id);
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port: 5432,
    };
    let mut conn = env.control.acquire().await.unwrap();
    registry::insert_requested(
        &mut conn,
        &NewTenant {
            id,
            subdomain: &subdomain,
            organisation: "Pending",
            database: &database,
            endpoint: &endpoint,
        },
    )
    .await
    .unwrap();

    let response = TenantClient::new(&api, "pending")
        .request(Method::GET, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["code"], "tenant_not_ready");

    sqlx::query("update tenant set failed_at = now() where tenant_id = $1")
        .bind(id)
        .execute(&env.control)
        .await
        .unwrap();
    // Still 503, now for being failed (once the change notification has reached the cache).
    let client = TenantClient::new(&api, "pending");
    let mut last = String::new();
    for _ in 0..100 {
        let response = client.request(Method::GET, "/").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        last = response.text().await.unwrap();
        if last.contains("(failed)") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(last.contains("(failed)"), "{last}");
}

/// Polls `GET /` until it answers `status` (cache invalidation is asynchronous); returns the body.
async fn wait_for_status(client: &TenantClient, token: &str, status: StatusCode) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        let response = client.authed(Method::GET, "/", token).send().await.unwrap();
        let actual = response.status();
        last = response.text().await.unwrap();
        if actual == status {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never answered {status}; last: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_takes_effect_at_once_and_resuming_restores_access() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "pausable").await;
    let client = TenantClient::new(&api, "pausable");
    assert_eq!(
        client
            .authed(Method::GET, "/", &tenant.read_write)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    sqlx::query("update tenant set suspended_at = now() where tenant_id = $1")
        .bind(tenant.tenant_id)
        .execute(&env.control)
        .await
        .unwrap();
    let body = wait_for_status(&client, &tenant.read_write, StatusCode::FORBIDDEN).await;
    assert!(body.contains("tenant_suspended"), "{body}");

    sqlx::query("update tenant set suspended_at = null where tenant_id = $1")
        .bind(tenant.tenant_id)
        .execute(&env.control)
        .await
        .unwrap();
    wait_for_status(&client, &tenant.read_write, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_required_checked_and_scoped() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "scoped").await;
    let client = TenantClient::new(&api, "scoped");

    let anonymous = client.request(Method::GET, "/").send().await.unwrap();
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        "Bearer realm=\"treaty\""
    );
    assert_eq!(problem(anonymous).await.0, StatusCode::UNAUTHORIZED);
    let almost = format!("{}x", &tenant.read_write[..tenant.read_write.len() - 1]);
    for bad in ["trty_garbage", "Bearer", almost.as_str()] {
        let response = client.authed(Method::GET, "/", bad).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
    // Legacy clients send the token as a basic-auth password.
    let basic = client
        .request(Method::GET, "/")
        .basic_auth("ci", Some(&tenant.read_only))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);

    let pact = json!({"consumer": {"name": "C"}, "provider": {"name": "P"}, "interactions": []});
    let path = "/pacts/provider/P/consumer/C/version/1";
    let read_only = client
        .authed(Method::PUT, path, &tenant.read_only)
        .json(&pact)
        .send()
        .await
        .unwrap();
    assert_eq!(read_only.status(), StatusCode::FORBIDDEN);
    let nothing: StatusCode = client
        .authed(Method::GET, path, &tenant.read_only)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        nothing,
        StatusCode::NOT_FOUND,
        "a refused write must write nothing"
    );
    let read_write = client
        .authed(Method::PUT, path, &tenant.read_write)
        .json(&pact)
        .send()
        .await
        .unwrap();
    assert_eq!(read_write.status(), StatusCode::CREATED);
    assert!(read_write.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with(path));
    let again = client
        .authed(Method::PUT, path, &tenant.read_write)
        .json(&pact)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let read = client
        .authed(Method::GET, path, &tenant.read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    // Revocation takes effect without waiting for a cache to expire.
    sqlx::query("update api_token set revoked_at = now()")
        .execute(&env.control)
        .await
        .unwrap();
    wait_for_status(&client, &tenant.read_only, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_needs_no_token_no_tenant_and_no_database() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let tenant = signup(&cp, "beating").await;
    // A tenant API whose control database is unreachable still beats.
    let dead = env.tenant_api_args(&[]);
    let mut args = dead.clone();
    let url_at = args
        .iter()
        .position(|a| a == "--router-database-url")
        .unwrap()
        + 1;
    args[url_at] = "postgres://nobody:nothing@127.0.0.1:1/none".into();
    let config = <tenant_api::config::Config as clap::Parser>::try_parse_from(args).unwrap();
    let orphan = tenant_api::app::Application::build(config).await.unwrap();
    let orphan_addr = orphan.local_addr();
    let orphan_task = tokio::spawn(orphan.run(std::future::pending()));

    let api = env.start_tenant_api().await;
    for (addr, host) in [
        (api.running.addr, "beating.localhost"),
        (api.running.addr, "nobody.localhost"),
        (orphan_addr, "beating.localhost"),
        (orphan_addr, "127.0.0.1"),
    ] {
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/diagnostic/status/heartbeat"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{host}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["ok"], true);
        assert_eq!(
            body["_links"]["self"]["href"],
            format!("http://{host}/diagnostic/status/heartbeat")
        );
    }

    let down = reqwest::Client::new()
        .get(format!(
            "http://{orphan_addr}/diagnostic/status/dependencies"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["controlDatabase"]["ok"], false);
    orphan_task.abort();

    let client = TenantClient::new(&api, "beating");
    let up: Value = client
        .authed(
            Method::GET,
            "/diagnostic/status/dependencies",
            &tenant.read_only,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(up["controlDatabase"]["ok"], true, "{up}");
    assert_eq!(up["database"]["ok"], true, "{up}");
    let anonymous = client
        .request(Method::GET, "/diagnostic/status/dependencies")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_cache_works_through_redis_and_reports_it() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let redis = tests::env::redis_url();
    let api = env.start_tenant_api_with(&["--redis-url", &redis]).await;
    let tenant = signup(&cp, "cached").await;
    let client = TenantClient::new(&api, "cached");
    assert_eq!(
        client
            .authed(Method::GET, "/", &tenant.read_write)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let deps: Value = client
        .authed(
            Method::GET,
            "/diagnostic/status/dependencies",
            &tenant.read_write,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deps["redis"]["ok"], true, "{deps}");

    // A second instance finds the route in Redis; suspension still reaches both at once.
    let second = env.start_tenant_api_with(&["--redis-url", &redis]).await;
    let second_client = TenantClient::new(&second, "cached");
    assert_eq!(
        second_client
            .authed(Method::GET, "/", &tenant.read_write)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    sqlx::query("update tenant set suspended_at = now() where tenant_id = $1")
        .bind(tenant.tenant_id)
        .execute(&env.control)
        .await
        .unwrap();
    wait_for_status(&client, &tenant.read_write, StatusCode::FORBIDDEN).await;
    wait_for_status(&second_client, &tenant.read_write, StatusCode::FORBIDDEN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_the_broker_api_is_a_clear_4xx_never_a_500() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env
        .start_tenant_api_with(&["--max-body-bytes", "20000"])
        .await;
    let tenant = signup(&cp, "sloppy").await;
    let client = TenantClient::new(&api, "sloppy");
    let token = tenant.read_write.as_str();
    let publish = |body: reqwest::Body, content_type: &str| {
        client
            .authed(Method::POST, "/contracts/publish", token)
            .header("content-type", content_type.to_owned())
            .body(body)
    };
    let contract = |content: &str| {
        json!({"pacticipantName": "C", "pacticipantVersionNumber": "1", "contracts": [
            {"consumerName": "C", "providerName": "P", "specification": "pact", "contentType": "application/json", "content": content}
        ]})
        .to_string()
    };
    let mismatched = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(r#"{"consumer":{"name":"Other"},"provider":{"name":"P"}}"#)
    };
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "malformed JSON",
            publish("{".into(), "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong content type",
            publish("{}".into(), "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "missing fields",
            publish("{}".into(), "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not base64",
            publish(contract("%%%").into(), "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "names do not match",
            publish(contract(&mismatched).into(), "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "body over the limit",
            publish(contract(&"A".repeat(30_000)).into(), "application/json"),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "pact that is not an object",
            client
                .authed(Method::PUT, "/pacts/provider/P/consumer/C/version/1", token)
                .json(&json!([1])),
            StatusCode::BAD_REQUEST,
        ),
        (
            "pact for another consumer than the path",
            client
                .authed(Method::PUT, "/pacts/provider/P/consumer/C/version/1", token)
                .json(&json!({"consumer": {"name": "X"}})),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown route",
            client.authed(Method::GET, "/no/such/thing", token),
            StatusCode::NOT_FOUND,
        ),
        (
            "wrong method",
            client.authed(Method::DELETE, "/contracts/publish", token),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (name, request, status) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{name}");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
        assert!(
            body.get("errors").is_some()
                || body.get("error").is_some()
                || body.get("detail").is_some(),
            "{name}: {body}"
        );
    }

    let validation: Value = publish("{}".into(), "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        validation["errors"]["pacticipantName"].is_array(),
        "{validation}"
    );
    // Asking for problem JSON gets problem JSON, same status.
    let asked = publish("{}".into(), "application/json")
        .header("accept", "application/problem+json")
        .send()
        .await
        .unwrap();
    let (status, body) = problem(asked).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["contracts"].is_array(), "{body}");

    let nothing = client
        .authed(Method::GET, "/pacts/provider/P/consumer/C/latest", token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        nothing.status(),
        StatusCode::NOT_FOUND,
        "no bad request may have published anything"
    );
}
