//! The matrix on a large tenant (200,000 versions, 200,000 publications, 1,000,000
//! verifications: `fixtures/matrix_scale.sql`): latency of the database work behind
//! can-i-deploy, a two-selector matrix query and the dashboard, measured in-process.
//!
//! Ignored by default (loading the data takes minutes). Run with
//! `MATRIX_SCALE_DATABASE_URL=<url of a database loaded with the fixture>` to reuse one, or
//! without it to build one on the test server:
//! `cargo nextest run -p tests --run-ignored only matrix_scale`.

use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use tenant_api::broker::matrix::render::{matrix_json, VersionDetails};
use tenant_api::broker::matrix::{find, selectors};
use tenant_api::broker::query::parse_nested_query;
use tests::env::{server_url, with_parts};

async fn scale_database() -> String {
    if let Ok(url) = std::env::var("MATRIX_SCALE_DATABASE_URL") {
        return url;
    }
    let name = format!(
        "matrix_scale_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let admin = PgPoolOptions::new().connect(&server_url()).await.unwrap();
    sqlx::raw_sql(&format!("create database {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let url = with_parts(&server_url(), Some(&name), None);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    provisioning::migrations::TENANT
        .run(&pool)
        .await
        .expect("tenant schema");
    sqlx::raw_sql(include_str!("fixtures/matrix_scale.sql"))
        .execute(&pool)
        .await
        .unwrap();
    url
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn measure(
    conn: &mut PgConnection,
    label: &str,
    query: &str,
    can_i_deploy: bool,
) -> Duration {
    let params = parse_nested_query(query).unwrap();
    let (selectors, options) = if can_i_deploy {
        selectors::parse_can_i_deploy_query(&params)
    } else {
        selectors::parse_matrix_query(&params)
    };
    let mut times = Vec::new();
    let mut summary = String::new();
    for _ in 0..100 {
        let started = Instant::now();
        if !can_i_deploy {
            let errors = find::validate(conn, &selectors, &options).await.unwrap();
            assert!(errors.is_empty(), "{errors:?}");
        }
        let results = find::find(conn, &selectors, options.clone()).await.unwrap();
        let details = VersionDetails::load(conn, &results).await.unwrap();
        let body = matrix_json("http://x", &results, &details);
        times.push(started.elapsed());
        summary = format!(
            "deployable={} rows={}",
            body["summary"]["deployable"],
            body["matrix"].as_array().map_or(0, Vec::len)
        );
    }
    times.sort();
    let p95 = percentile(&times, 0.95);
    eprintln!(
        "{label}: p50 {:?} p95 {:?} ({summary})",
        percentile(&times, 0.5),
        p95
    );
    p95
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "loads 1,000,000 verifications; run explicitly"]
async fn can_i_deploy_and_matrix_queries_stay_within_20_ms_at_scale() {
    let url = scale_database().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let budget = Duration::from_millis(20);
    let cases = [
        ("can-i-deploy consumer to environment", "pacticipant=P01&version=1.0.3995&environment=production", true),
        ("can-i-deploy provider to environment", "pacticipant=P27&version=27.0.3950&environment=production", true),
        ("can-i-deploy to tag", "pacticipant=P01&version=1.0.3995&to=prod", true),
        ("matrix, two versions", "q[][pacticipant]=P01&q[][version]=1.0.3995&q[][pacticipant]=P26&q[][version]=26.0.3999&latestby=cvpv", false),
        // Not under the budget: every version of both (the UI's query), bounded by `limit=100`.
        ("matrix, two pacticipants", "q[][pacticipant]=P01&q[][pacticipant]=P26&latestby=cvpv", false),
        ("matrix, latest main branch (can-i-merge)", "q[][pacticipant]=P01&q[][version]=1.0.3995&latestby=cvp&latest=true&mainBranch=true", false),
    ];
    if std::env::var_os("MATRIX_SCALE_EXPLAIN").is_some() {
        // Every statement's plan with actual times, as notices (printed by the subscriber).
        let _ = tracing_subscriber::fmt()
            .with_env_filter("sqlx::postgres::notice=trace")
            .with_writer(std::io::stderr)
            .try_init();
        sqlx::raw_sql(
            "load 'auto_explain'; set auto_explain.log_min_duration = 0; set auto_explain.log_analyze = on;
             set auto_explain.log_timing = on; set auto_explain.log_level = notice;",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        for (label, query, can_i_deploy) in cases {
            eprintln!("===== {label}");
            let params = parse_nested_query(query).unwrap();
            let (selectors, options) = if can_i_deploy {
                selectors::parse_can_i_deploy_query(&params)
            } else {
                selectors::parse_matrix_query(&params)
            };
            let results = find::find(&mut conn, &selectors, options).await.unwrap();
            VersionDetails::load(&mut conn, &results).await.unwrap();
        }
        return;
    }
    let mut slow = Vec::new();
    for (label, query, can_i_deploy) in cases {
        let p95 = measure(&mut conn, label, query, can_i_deploy).await;
        if p95 > budget && label != "matrix, two pacticipants" {
            slow.push(format!("{label}: {p95:?}"));
        }
    }
    assert!(slow.is_empty(), "over {budget:?} at p95: {slow:?}");
}
