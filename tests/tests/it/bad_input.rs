//! Input from outside that used to reach PostgreSQL or panic, or that let a client load the
//! router database: NUL characters, malformed and random hosts, forged tokens, out-of-range page
//! sizes and matrix limits, and the dependencies check on a bare host. Requests go over a raw
//! socket where a client library would refuse or rewrite them.

use std::net::SocketAddr;
use std::time::Duration;

use provisioning::api_token::ApiToken;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tenant_api::broker::http::pagination::UNPAGINATED_MAX_ITEMS;
use tests::tenant_client::{set_plan, signup};
use tests::{RunningControlPlane, RunningTenantApi, Signup, TestEnv};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::pact_fixtures::Broker;

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub text: String,
}

impl RawReply {
    pub fn json(&self) -> Value {
        let body = self.text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(body).unwrap_or(Value::Null)
    }
}

/// Sends `head` (request line and headers, without the final blank line; `Connection: close`
/// and `Content-Length` are added) and `body` over a new connection, and reads the response.
pub async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> RawReply {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await.expect("write request");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .expect("response within 30 s")
        .expect("read response");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    RawReply { status, text }
}

/// One tenant on a tenant API started with `extra` flags.
struct Setup {
    api: RunningTenantApi,
    tenant: Signup,
    _cp: RunningControlPlane,
    _env: TestEnv,
}

impl Setup {
    async fn start(subdomain: &str, extra: &[&str]) -> Self {
        let env = TestEnv::new().await;
        let cp = env.start_control_plane().await;
        let api = env.start_tenant_api_with(extra).await;
        let tenant = signup(&cp, subdomain).await;
        set_plan(&cp, &tenant, "enterprise").await;
        Self {
            api,
            tenant,
            _cp: cp,
            _env: env,
        }
    }

    fn host(&self) -> String {
        format!("{}.localhost:{}", self.tenant.subdomain, self.api.port())
    }

    async fn get(&self, path: &str, host: &str, token: &str) -> RawReply {
        raw(
            self.api.running.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}"),
            b"",
        )
        .await
    }
}

async fn send_json(
    broker: &Broker,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, String) {
    let response = broker
        .client
        .authed(method, path, &broker.tenant.read_write)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    (response.status(), response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_in_paths_queries_and_json_are_refused_with_400() {
    let broker = Broker::start("nul-input").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["a"])])
        .await;
    let sha = broker.sha("Orders", "Web", "1").await;

    for path in [
        "/pacticipants/a%00b",
        "/webhooks/a%00b",
        "/pacticipants/Web/versions/1%00",
        "/matrix?q%5B%5D%5Bpacticipant%5D=a%00b&q%5B%5D%5Bversion%5D=1&latestby=cvpv",
        "/pacticipants?q=%00",
    ] {
        let reply = broker.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "GET {path}: {}",
            reply.text
        );
        assert!(reply.text.contains("NUL"), "GET {path}: {}", reply.text);
    }

    let bodies = [
        (Method::POST, "/pacticipants".to_owned(), r#"{"name":"a\u0000b"}"#.to_owned()),
        (
            Method::PUT,
            "/pacticipants/Web".to_owned(),
            r#"{"displayName":"W\u0000"}"#.to_owned(),
        ),
        (
            Method::POST,
            format!("/pacts/provider/Orders/consumer/Web/pact-version/{sha}/verification-results"),
            r#"{"success":true,"providerApplicationVersion":"2","testResults":[{"interactionId":"x","success":true,"mismatches":["\u0000"]}]}"#.to_owned(),
        ),
        (
            Method::PUT,
            "/pacts/provider/Orders/consumer/Web/version/2".to_owned(),
            r#"{"consumer":{"name":"Web"},"provider":{"name":"Orders"},"interactions":[{"description":"a\u0000"}]}"#.to_owned(),
        ),
    ];
    for (method, path, body) in bodies {
        let (status, text) = send_json(&broker, method.clone(), &path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {text}");
        assert!(text.contains("NUL"), "{method} {path}: {text}");
    }
    // An escaped backslash before `u0000` is text, not a NUL.
    let (status, text) = send_json(
        &broker,
        Method::POST,
        "/pacticipants",
        r#"{"name":"back\\u0000slash"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");

    // Nothing was written by the refused requests.
    let versions = broker.get_ok("/pacticipants/Web/versions").await;
    assert_eq!(
        versions["_embedded"]["versions"].as_array().map(Vec::len),
        Some(1),
        "{versions}"
    );
    let results = broker
        .get(&format!(
            "/pacts/provider/Orders/consumer/Web/pact-version/{sha}/verification-results/latest"
        ))
        .await;
    assert_eq!(results.status, StatusCode::NOT_FOUND, "{}", results.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_that_are_not_dns_names_or_ip_literals_are_refused_before_any_lookup() {
    let setup = Setup::start("host-check", &[]).await;
    let token = setup.tenant.read_write.clone();
    let ok = setup.get("/pacticipants", &setup.host(), &token).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let queries = setup.api.directory.database_queries();

    let huge = format!("{}.example.org", "a".repeat(60 * 1024));
    let long_label = format!("{}.example.org", "b".repeat(64));
    for host in [
        "[x",
        "[",
        "[::1",
        "a b",
        "under_score.example.org",
        "-dash.example.org",
        "two..dots.example.org",
        "user@example.org",
        huge.as_str(),
        long_label.as_str(),
    ] {
        for path in ["/diagnostic/status/heartbeat", "/pacticipants"] {
            let reply = setup.get(path, host, &token).await;
            let shown: String = host.chars().take(20).collect();
            assert_eq!(reply.status, 400, "Host {shown}… {path}: {}", reply.text);
            assert!(
                reply.text.contains("invalid_host"),
                "Host {shown}… {path}: {}",
                reply.text
            );
        }
    }
    assert_eq!(
        setup.api.directory.database_queries(),
        queries,
        "a refused host must not be looked up"
    );
    let still = setup.get("/pacticipants", &setup.host(), &token).await;
    assert_eq!(still.status, 200, "{}", still.text);
    let ipv6 = setup
        .get("/diagnostic/status/heartbeat", "[::1]:9292", &token)
        .await;
    assert_eq!(ipv6.status, 200, "{}", ipv6.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_custom_domains_cost_a_bounded_number_of_lookups_per_client() {
    let setup = Setup::start("host-flood", &["--failed-lookups-per-minute", "5"]).await;
    let token = setup.tenant.read_write.clone();
    let ok = setup.get("/pacticipants", &setup.host(), &token).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let before = setup.api.directory.database_queries();

    let mut statuses = Vec::new();
    for i in 0..20 {
        let host = format!("random-{i}.example.org");
        statuses.push(setup.get("/pacticipants", &host, &token).await.status);
    }
    assert_eq!(&statuses[..5], &[404; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(setup.api.directory.database_queries() - before, 5);

    // A miss already looked up is answered from the cache, even now.
    let again = setup
        .get("/pacticipants", "random-0.example.org", &token)
        .await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(setup.api.directory.database_queries() - before, 5);
    // The tenant's own host is unaffected.
    let still = setup.get("/pacticipants", &setup.host(), &token).await;
    assert_eq!(still.status, 200, "{}", still.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_cost_a_bounded_number_of_lookups_per_client() {
    let setup = Setup::start("token-flood", &["--failed-lookups-per-minute", "5"]).await;
    let host = setup.host();
    let valid = setup.tenant.read_write.clone();
    let ok = setup.get("/pacticipants", &host, &valid).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let before = setup.api.tokens.database_queries();

    // Well-formed tokens with valid checksums that no grant has.
    let forged: Vec<String> = (0..20)
        .map(|_| ApiToken::generate().reveal().to_owned())
        .collect();
    let mut statuses = Vec::new();
    for token in &forged {
        statuses.push(setup.get("/pacticipants", &host, token).await.status);
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(setup.api.tokens.database_queries() - before, 5);

    // A token already found unknown is refused from the cache, without a query.
    for _ in 0..10 {
        let again = setup.get("/pacticipants", &host, &forged[0]).await;
        assert_eq!(again.status, 401, "{}", again.text);
    }
    assert_eq!(setup.api.tokens.database_queries() - before, 5);
    // The valid (cached) token goes on working.
    let still = setup.get("/pacticipants", &host, &valid).await;
    assert_eq!(still.status, 200, "{}", still.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dependencies_check_on_a_bare_host_says_only_ok_or_failed() {
    let env = TestEnv::new().await;
    let wrong = env
        .router_url
        .replace(tests::env::ROUTER_PASSWORD, "not-the-password");
    assert_ne!(wrong, env.router_url);
    let api = env
        .start_tenant_api_with(&["--router-database-url", &wrong])
        .await;
    let reply = raw(
        api.running.addr,
        "GET /diagnostic/status/dependencies HTTP/1.1\r\nHost: localhost",
        b"",
    )
    .await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["controlDatabase"], json!({ "ok": false }), "{body}");
    assert!(
        !reply.text.contains(&env.router_role) && !reply.text.contains("password"),
        "{}",
        reply.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_sizes_and_matrix_limits_have_a_maximum() {
    let broker = Broker::start("bounds").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["a"])])
        .await;
    for (path, field) in [
        ("/pacticipants?size=1001", "size"),
        ("/pacticipants?pageSize=100000", "pageSize"),
        ("/integrations?size=5000", "size"),
        ("/dashboard?size=1001", "size"),
    ] {
        let reply = broker.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.text
        );
        assert_eq!(
            reply.json()["errors"][field][0],
            "must be less than or equal to 1000",
            "{path}: {}",
            reply.text
        );
    }
    let most = broker.get("/pacticipants?size=1000").await;
    assert_eq!(most.status, StatusCode::OK, "{}", most.text);
    assert_eq!(most.json()["page"]["size"], 1000);

    let matrix = "/matrix?q%5B%5D%5Bpacticipant%5D=Web&q%5B%5D%5Bversion%5D=1&latestby=cvpv";
    let over = broker.get(&format!("{matrix}&limit=1001")).await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "{}", over.text);
    assert_eq!(
        over.json()["errors"],
        json!(["The limit must be 1000 or less."]),
        "{}",
        over.text
    );
    let at_most = broker.get(&format!("{matrix}&limit=1000")).await;
    assert_eq!(at_most.status, StatusCode::OK, "{}", at_most.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_collection_is_answered_up_to_a_bound_with_a_link_to_the_rest() {
    let broker = Broker::start("wholelist").await;
    broker
        .publish("Web", "1", Some("main"), &[], &[("Orders", &["a"])])
        .await;
    // Small collections asked for whole come whole, without pagination.
    let small = broker.get_ok("/pacticipants").await;
    assert!(small.get("page").is_none(), "{small}");
    assert_eq!(
        small["_embedded"]["pacticipants"].as_array().unwrap().len(),
        2
    );

    // More pacticipants than a listing returns unpaginated (fixtures by SQL: 10,005 of them).
    let extra = UNPAGINATED_MAX_ITEMS + 5;
    sqlx::query("insert into pacticipant (name) select format('P%s', lpad(n::text, 6, '0')) from generate_series(1, $1) n")
        .bind(extra)
        .execute(&broker.db)
        .await
        .expect("pacticipants inserted");
    let total = extra + 2;
    let whole = broker.get_ok("/pacticipants").await;
    let names = |doc: &Value| -> Vec<String> {
        doc["_embedded"]["pacticipants"]
            .as_array()
            .expect("embedded pacticipants")
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = names(&whole);
    assert_eq!(first.len() as i64, UNPAGINATED_MAX_ITEMS);
    assert_eq!(whole["page"]["totalElements"], total, "{}", whole["page"]);
    let next = whole["_links"]["next"]["href"]
        .as_str()
        .expect("a link to the rest");
    let rest_path = &next[next.find("/pacticipants").expect("a pacticipants link")..];
    let rest = broker.get_ok(rest_path).await;
    let rest_names = names(&rest);
    assert_eq!(
        first.len() + rest_names.len(),
        total as usize,
        "the next page continues where the whole answer stopped: {rest_path}"
    );
    assert!(
        first.iter().all(|n| !rest_names.contains(n)),
        "{rest_names:?}"
    );
    assert!(rest["_links"].get("next").is_none(), "{}", rest["_links"]);
}
