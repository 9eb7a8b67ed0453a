//! A bounded random-request test: a few thousand malformed requests (fixed seed) over every
//! broker route template, taken from the tenant API's own route table, against a running tenant
//! API over a real socket. Path segments (NUL, non-UTF-8, huge, dots, slashes), query strings,
//! bodies, content types, `Accept` headers and credentials are drawn at random; no answer may be
//! a 5xx and the server may not panic (the panic layer would answer 500; a crash would break the
//! connection).
//!
//! `RANDOM_REQUESTS_SEED` and `RANDOM_REQUESTS_COUNT` override the seed and the number of
//! requests, to explore further by hand.

use std::time::Instant;

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::bad_input::raw;
use crate::pact_fixtures::Broker;

const SEED: u64 = 0x7472_6561_7479;
const COUNT: usize = 3000;

/// Every route template of the broker API (`/pacticipants/{pacticipant}`), read from the route
/// table the tenant API serves (axum's `Debug` lists each route's path).
fn route_templates() -> Vec<String> {
    let table = format!("{:?}", tenant_api::broker::router());
    let mut templates: Vec<String> = table
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| text.starts_with('/'))
        .map(str::to_owned)
        .collect();
    templates.sort();
    templates.dedup();
    templates
}

/// The data the tenant has, so that some random requests reach real rows.
struct Known {
    sha: String,
}

fn segment(rng: &mut StdRng, known: &Known) -> String {
    let fixed = [
        "Web",
        "Orders",
        "1",
        "main",
        "prod",
        known.sha.as_str(),
        "latest",
        "%00",
        "a%00b",
        "%FF",
        "%C3%28",
        "%E2%98%83",
        ".",
        "..",
        "%2e%2e",
        "%2F",
        "a%2Fb",
        "%20",
        "-1",
        "0",
        "99999999999999999999",
        "%0A",
        "%09",
        "'%3B%20drop%20table%20x",
        "~",
        "%25",
        "%",
        "x.json",
        "x.csv",
        "%5B%5D",
        "{}",
        "|",
    ];
    match rng.gen_range(0..10) {
        0 => "a".repeat(rng.gen_range(256..12_000)),
        1 => (0..rng.gen_range(1..40))
            .map(|_| format!("%{:02X}", rng.gen::<u8>()))
            .collect(),
        _ => fixed.choose(rng).copied().unwrap_or("x").to_owned(),
    }
}

fn query_value(rng: &mut StdRng, known: &Known) -> String {
    let fixed = [
        "",
        "1",
        "0",
        "-5",
        "1001",
        "abc",
        "true",
        "false",
        "%00",
        "%FF",
        "cvpv",
        "cvp",
        "cp",
        "bogus",
        "Web",
        "Orders",
        "main",
        "prod",
        "1e400",
        "9223372036854775808",
        "%5B",
    ];
    match rng.gen_range(0..8) {
        0 => segment(rng, known),
        1 => "9".repeat(rng.gen_range(20..2000)),
        _ => fixed.choose(rng).copied().unwrap_or("").to_owned(),
    }
}

fn query(rng: &mut StdRng, known: &Known) -> String {
    let keys = [
        "page",
        "size",
        "pageNumber",
        "pageSize",
        "q",
        "limit",
        "latestby",
        "latest",
        "tag",
        "environment",
        "mainBranch",
        "success%5B%5D",
        "q%5B%5D%5Bpacticipant%5D",
        "q%5B%5D%5Bversion%5D",
        "q%5B%5D%5Blatest%5D",
        "q%5B%5D%5Btag%5D",
        "q%5B%5D%5Bbranch%5D",
        "q%5B%5D%5BmainBranch%5D",
        "q%5B%5D%5Benvironment%5D",
        "ignore%5B%5D%5Bpacticipant%5D",
        "ignore%5B%5D%5Bversion%5D",
        "pacticipant",
        "version",
        "to",
        "label",
        "includePendingStatus",
        "consumer",
        "provider",
        "q%5B%5D%5B%5D%5B%5D",
        "a%5B%5B%5B%5B",
        "%00",
        "%FF",
    ];
    if rng.gen_bool(0.3) {
        return String::new();
    }
    let mut pairs = Vec::new();
    for _ in 0..rng.gen_range(1..8) {
        let key = keys.choose(rng).copied().unwrap_or("q");
        match rng.gen_range(0..10) {
            0 => pairs.push(key.to_owned()),
            1 => pairs.push(
                ["&", "=", "%", "&&=&", "a=b=c"]
                    .choose(rng)
                    .copied()
                    .unwrap_or("")
                    .to_owned(),
            ),
            2 => {
                let depth = rng.gen_range(1..80);
                pairs.push(format!("{}=1", "a".to_owned() + &"%5Bb%5D".repeat(depth)));
            }
            _ => pairs.push(format!("{key}={}", query_value(rng, known))),
        }
    }
    format!("?{}", pairs.join("&"))
}

fn body(rng: &mut StdRng, known: &Known) -> Vec<u8> {
    let string_value = |rng: &mut StdRng| -> String {
        let fixed = [
            "\"Web\"",
            "\"a\\u0000b\"",
            "\"\\u0000\"",
            "\"\\\\u0000\"",
            "\"\\ud800\"",
            "\"\"",
            "1",
            "-1",
            "1e400",
            "true",
            "null",
            "[]",
            "{}",
            "\"https://example.org/hook\"",
            "\"http://127.0.0.1:1/\"",
            "[{\"interactionId\":\"x\",\"success\":false,\"mismatches\":[\"\\u0000\"]}]",
        ];
        match rng.gen_range(0..6) {
            0 => format!("\"{}\"", "z".repeat(rng.gen_range(100..5000))),
            1 => format!("\"{}\"", known.sha),
            _ => fixed.choose(rng).copied().unwrap_or("1").to_owned(),
        }
    };
    let fields = [
        "name",
        "displayName",
        "mainBranch",
        "repositoryUrl",
        "success",
        "providerApplicationVersion",
        "testResults",
        "pacticipantName",
        "pacticipantVersionNumber",
        "branch",
        "tags",
        "contracts",
        "consumer",
        "provider",
        "interactions",
        "request",
        "events",
        "production",
        "currentlyDeployed",
        "currentlySupported",
        "providerName",
        "consumerVersionSelectors",
        "includePendingStatus",
        "includeWipPactsSince",
        "label",
    ];
    match rng.gen_range(0..12) {
        0 => Vec::new(),
        1 => (0..rng.gen_range(1..200)).map(|_| rng.gen()).collect(),
        2 => b"{\"name\": ".to_vec(),
        3 => {
            let depth = rng.gen_range(100..3000);
            let mut text = "[".repeat(depth);
            text.push_str(&"]".repeat(depth));
            text.into_bytes()
        }
        4 => [
            "null",
            "[]",
            "\"text\"",
            "42",
            "{\"a\":1,\"a\":2}",
            "{\"\u{e9}\":\"\\u00e9\"}",
        ]
        .choose(rng)
        .copied()
        .unwrap_or("null")
        .as_bytes()
        .to_vec(),
        5 => {
            let mut bytes = b"{\"name\":\"".to_vec();
            bytes.extend_from_slice(&[0xFF, 0xFE, 0xC3]);
            bytes.extend_from_slice(b"\"}");
            bytes
        }
        _ => {
            let mut entries = Vec::new();
            for _ in 0..rng.gen_range(1..7) {
                let field = fields.choose(rng).copied().unwrap_or("name");
                entries.push(format!("\"{field}\":{}", string_value(rng)));
            }
            format!("{{{}}}", entries.join(",")).into_bytes()
        }
    }
}

fn fill(template: &str, rng: &mut StdRng, known: &Known) -> String {
    let mut path = String::new();
    for part in template.split('/').skip(1) {
        path.push('/');
        if part.starts_with('{') {
            if rng.gen_bool(0.03) {
                // An empty segment (`//`).
                continue;
            }
            path.push_str(&segment(rng, known));
        } else {
            path.push_str(part);
        }
    }
    if rng.gen_bool(0.1) {
        path.push_str(
            [".json", ".csv", ".svg", ".yaml", ".xml", "/"]
                .choose(rng)
                .copied()
                .unwrap_or(""),
        );
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

struct RandomRequest {
    head: String,
    body: Vec<u8>,
}

fn generate(
    rng: &mut StdRng,
    templates: &[String],
    broker: &Broker,
    known: &Known,
) -> RandomRequest {
    let template = templates.choose(rng).map_or("/", String::as_str);
    let method = match rng.gen_range(0..12) {
        0..=4 => "GET",
        5 | 6 => "POST",
        7 => "PUT",
        8 => "PATCH",
        9 => "DELETE",
        10 => "OPTIONS",
        _ => "HEAD",
    };
    let target = format!("{}{}", fill(template, rng, known), query(rng, known));
    let host = format!(
        "{}.localhost:{}",
        broker.tenant.subdomain,
        broker.api.port()
    );
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}");
    let token = match rng.gen_range(0..10) {
        0 => None,
        1 => Some(broker.tenant.read_only.clone()),
        2 => Some(
            provisioning::api_token::ApiToken::generate()
                .reveal()
                .to_owned(),
        ),
        3 => Some("trty_garbage".to_owned()),
        _ => Some(broker.tenant.read_write.clone()),
    };
    if let Some(token) = token {
        head.push_str(&format!("\r\nAuthorization: Bearer {token}"));
    }
    let accepts = [
        "*/*",
        "application/hal+json",
        "application/json",
        "application/problem+json",
        "text/csv",
        "text/html",
        "text/plain",
        "image/svg+xml",
        "text/vnd.graphviz",
        "application/vnd.pactbrokerextended.v1+json",
        "garbage;;q=x",
        "application/hal+json;q=abc, */*;q=0",
        ",,,",
        "text/*;q=0.5, application/*;q=0.9",
    ];
    if rng.gen_bool(0.8) {
        let accept = if rng.gen_bool(0.02) {
            "a/b,".repeat(2000)
        } else {
            accepts.choose(rng).copied().unwrap_or("*/*").to_owned()
        };
        head.push_str(&format!("\r\nAccept: {accept}"));
    }
    let body = if method == "GET" && rng.gen_bool(0.8) {
        Vec::new()
    } else {
        body(rng, known)
    };
    let types = [
        "application/json",
        "application/hal+json",
        "application/merge-patch+json",
        "application/json; charset=latin1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/vnd.pactbrokerextended.v1+json",
        ";;;",
    ];
    if rng.gen_bool(0.85) {
        let content_type = types.choose(rng).copied().unwrap_or("application/json");
        head.push_str(&format!("\r\nContent-Type: {content_type}"));
    }
    RandomRequest { head, body }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_malformed_requests_never_get_a_server_error() {
    let seed = std::env::var("RANDOM_REQUESTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let count = std::env::var("RANDOM_REQUESTS_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(COUNT);
    let templates = route_templates();
    assert!(
        templates.len() > 100 && templates.iter().any(|t| t == "/pacticipants/{pacticipant}"),
        "the route table was not read: {templates:?}"
    );

    let broker = Broker::start("random-requests").await;
    broker
        .publish(
            "Web",
            "1",
            Some("main"),
            &["prod"],
            &[("Orders", &["a", "b"])],
        )
        .await;
    let known = Known {
        sha: broker.sha("Orders", "Web", "1").await,
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let requests: Vec<RandomRequest> = (0..count)
        .map(|_| generate(&mut rng, &templates, &broker, &known))
        .collect();

    let started = Instant::now();
    let addr = broker.api.running.addr;
    let replies: Vec<(usize, u16, String)> = futures::stream::iter(requests.iter().enumerate())
        .map(|(i, request)| async move {
            let reply = raw(addr, &request.head, &request.body).await;
            (i, reply.status, reply.text)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for (_, status, _) in &replies {
        *by_status.entry(*status).or_default() += 1;
    }
    eprintln!(
        "{count} random requests (seed {seed}) over {} route templates in {elapsed:?}: {by_status:?}",
        templates.len()
    );
    let failures: Vec<String> = replies
        .iter()
        .filter(|(_, status, _)| *status >= 500)
        .map(|(i, status, text)| {
            let request = &requests[*i];
            let head: String = request.head.chars().take(400).collect();
            let body = String::from_utf8_lossy(&request.body);
            let body: String = body.chars().take(200).collect();
            let text: String = text.chars().take(600).collect();
            format!("#{i} → {status}\n{head}\n\n{body}\n---\n{text}")
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {count} requests (seed {seed}) got a server error:\n{}",
        failures.len(),
        failures.join("\n=====\n")
    );
    // The tenant still serves.
    broker.get_ok("/pacticipants").await;
}
