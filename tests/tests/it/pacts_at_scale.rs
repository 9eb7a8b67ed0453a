//! Pacts for verification, verification publishing and pact reads on a tenant the size of
//! SPEC.md §6 (200,000 versions across 50 pacticipants, 200,000 pact publications, 1,000,000
//! verifications, branches, tags, deployments). Slow to set up (about a minute), so ignored by
//! default: `cargo nextest run -p tests --run-ignored only pacts_at_scale --no-capture` prints
//! p50/p95 per request (on stderr) and fails when a p95 exceeds the target.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::pact_fixtures::{publish_body, Broker};

/// Fills the tenant database. Each of App0..App49 has 4,000 versions (every 10th on `main`,
/// the others spread over 400 feature branches; every 5th tagged `dev`, every 50th `prod`) and
/// publishes one pact per version, alternately to the next and the one after next pacticipant;
/// content changes every 20 versions; each content is verified by 50 provider versions.
const GENERATE: &str = r#"
insert into pacticipant (name, main_branch) select 'App' || i, 'main' from generate_series(0, 49) i;
insert into version (pacticipant_id, number, created_at)
    select p.pacticipant_id, 'v' || k, now() - (4000 - k) * interval '2 hours'
    from generate_series(1, 4000) k, pacticipant p order by k, p.pacticipant_id;
insert into branch (pacticipant_id, name) select pacticipant_id, 'main' from pacticipant;
insert into branch (pacticipant_id, name)
    select pacticipant_id, 'feat-' || j from pacticipant, generate_series(0, 399) j;
insert into branch_version (branch_id, version_id, pacticipant_id, created_at)
    select b.branch_id, v.version_id, v.pacticipant_id, v.created_at from version v
    join branch b on b.pacticipant_id = v.pacticipant_id
     and b.name = case when substr(v.number, 2)::int % 10 = 0 then 'main'
                       else 'feat-' || ((substr(v.number, 2)::int / 10) % 400) end;
insert into tag (version_id, name, pacticipant_id, created_at)
    select version_id, 'dev', pacticipant_id, created_at from version where substr(number, 2)::int % 5 = 0;
insert into tag (version_id, name, pacticipant_id, created_at)
    select version_id, 'prod', pacticipant_id, created_at from version where substr(number, 2)::int % 50 = 0;
create temporary table pub as
    select v.version_id, v.pacticipant_id as consumer_id, v.created_at, k,
           (select pacticipant_id from pacticipant where name = 'App' || ((substr(c.name, 4)::int + 1 + k % 2) % 50)) as provider_id
    from version v join pacticipant c using (pacticipant_id)
    cross join lateral (select substr(v.number, 2)::int as k) kk;
create temporary table content as
    select consumer_id, provider_id, k / 20 as g, md5(consumer_id || '-' || provider_id || '-' || k / 20) as sha
    from pub group by consumer_id, provider_id, k / 20;
insert into pact_version (consumer_id, provider_id, sha, content, interactions_count)
    select consumer_id, provider_id, sha,
           '{"consumer":{"name":"c"},"interactions":[{"_id":"x","description":"' || g || '","providerState":"s' || (g % 7) || '"}],"provider":{"name":"p"}}', 1
    from content;
insert into pact_publication (consumer_id, provider_id, consumer_version_id, pact_version_id, created_at, updated_at)
    select pub.consumer_id, pub.provider_id, pub.version_id, pv.pact_version_id, pub.created_at, pub.created_at
    from pub join pact_version pv on pv.consumer_id = pub.consumer_id and pv.provider_id = pub.provider_id
     and pv.sha = md5(pub.consumer_id || '-' || pub.provider_id || '-' || pub.k / 20);
insert into integration (consumer_id, provider_id) select distinct consumer_id, provider_id from pact_publication;
insert into verification (pact_version_id, consumer_id, provider_id, provider_version_id, number, success,
                          execution_date, created_at, wip)
    select pv.pact_version_id, pv.consumer_id, pv.provider_id, pver.version_id,
           nextval('verification_number_seq'), j % 7 <> 0, pver.created_at + interval '1 hour',
           pver.created_at + interval '1 hour', j = 49
    from content c
    join pact_version pv on pv.consumer_id = c.consumer_id and pv.provider_id = c.provider_id and pv.sha = c.sha
    cross join generate_series(0, 49) j
    join version pver on pver.pacticipant_id = c.provider_id
     and pver.number = 'v' || least(4000, c.g * 20 + j + 1);
insert into environment (uuid, name, production) values
    (gen_random_uuid(), 'production', true), (gen_random_uuid(), 'staging', false), (gen_random_uuid(), 'test', false);
insert into deployed_version (uuid, version_id, pacticipant_id, environment_id, undeployed_at)
    select gen_random_uuid(), v.version_id, v.pacticipant_id, e.environment_id,
           case when substr(v.number, 2)::int = 3960 - e.environment_id * 40 then null else v.created_at + interval '1 day' end
    from version v cross join environment e
    where substr(v.number, 2)::int % 40 = 0 and substr(v.number, 2)::int <= 3960 - e.environment_id * 40;
insert into released_version (uuid, version_id, pacticipant_id, environment_id)
    select gen_random_uuid(), v.version_id, v.pacticipant_id, e.environment_id
    from version v join environment e on e.name = 'production'
    where substr(v.number, 2)::int in (3000, 3500);
"#;

async fn timings(
    broker: &Broker,
    label: &str,
    runs: usize,
    mut request: impl FnMut(usize) -> (Method, String, Option<serde_json::Value>),
    expect: StatusCode,
) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs + 3 {
        let (method, path, body) = request(i);
        let started = Instant::now();
        let reply = broker.request(method, &path, body.as_ref()).await;
        let elapsed = started.elapsed();
        assert_eq!(reply.status, expect, "{label}: {}", reply.text);
        if i >= 3 {
            samples.push(elapsed);
        }
    }
    samples.sort();
    let p50 = samples[samples.len() / 2];
    let p95 = samples[samples.len() * 95 / 100];
    eprintln!(
        "{label}: p50 {:.1} ms, p95 {:.1} ms",
        p50.as_secs_f64() * 1000.0,
        p95.as_secs_f64() * 1000.0
    );
    (p50, p95)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "generates a large tenant (about a minute); run explicitly"]
async fn pacts_for_verification_and_publishing_stay_fast_on_a_large_tenant() {
    let broker = Broker::start("scale").await;
    let started = Instant::now();
    sqlx::raw_sql(GENERATE)
        .execute(&broker.db)
        .await
        .expect("generate");
    // As autovacuum would have done: statistics, and the visibility map index-only scans need.
    sqlx::raw_sql("vacuum analyze")
        .execute(&broker.db)
        .await
        .expect("vacuum");
    let counts: (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from version), (select count(*) from pact_publication), (select count(*) from verification)",
    )
    .fetch_one(&broker.db)
    .await
    .unwrap();
    eprintln!(
        "generated {counts:?} in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(counts.0, 200_000);
    assert_eq!(counts.1, 200_000);
    assert!(counts.2 >= 1_000_000, "{counts:?}");

    let since = (chrono::Utc::now() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let mut results = Vec::new();
    results.push(timings(&broker, "pacts for verification (defaults, pending, WIP by branch)", 40, |i| {
        (Method::POST, format!("/pacts/provider/App{}/for-verification", i % 50),
         Some(json!({"providerVersionBranch": "main", "includePendingStatus": true, "includeWipPactsSince": since})))
    }, StatusCode::OK).await);
    results.push(timings(&broker, "pacts for verification (selectors, pending and WIP by tags)", 40, |i| {
        (Method::POST, format!("/pacts/provider/App{}/for-verification", i % 50),
         Some(json!({"providerVersionTags": ["dev", "prod"], "includePendingStatus": true, "includeWipPactsSince": since,
                     "consumerVersionSelectors": [{"mainBranch": true}, {"tag": "prod", "latest": true}, {"deployedOrReleased": true}, {"branch": "feat-7"}]})))
    }, StatusCode::OK).await);
    results.push(
        timings(
            &broker,
            "latest pact",
            40,
            |i| {
                (
                    Method::GET,
                    format!(
                        "/pacts/provider/App{}/consumer/App{}/latest",
                        (i + 1) % 50,
                        i % 50
                    ),
                    None,
                )
            },
            StatusCode::OK,
        )
        .await,
    );
    results.push(
        timings(
            &broker,
            "publish a pact (contracts/publish)",
            40,
            |i| {
                (
                    Method::POST,
                    "/contracts/publish".to_owned(),
                    Some(publish_body(
                        &format!("App{}", i % 50),
                        &format!("new-{i}"),
                        Some("main"),
                        &["dev"],
                        &[(&format!("App{}", (i + 1) % 50), &["fresh"])],
                    )),
                )
            },
            StatusCode::OK,
        )
        .await,
    );
    let sha: String = sqlx::query_scalar(
        "select pv.sha from pact_publication pp join pact_version pv using (pact_version_id)
         join pacticipant c on c.pacticipant_id = pp.consumer_id join pacticipant p on p.pacticipant_id = pp.provider_id
         where c.name = 'App3' and p.name = 'App4' order by pp.consumer_version_id desc limit 1",
    )
    .fetch_one(&broker.db)
    .await
    .unwrap();
    results.push(timings(&broker, "publish a verification result", 40, |i| {
        (Method::POST, format!("/pacts/provider/App4/consumer/App3/pact-version/{sha}/verification-results"),
         Some(json!({"success": true, "providerApplicationVersion": format!("pv-{i}")})))
    }, StatusCode::CREATED).await);
    for (_, p95) in results {
        assert!(p95 <= Duration::from_millis(20), "p95 {p95:?} over 20 ms");
    }
}
