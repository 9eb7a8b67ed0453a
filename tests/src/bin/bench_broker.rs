//! `make bench` — broker figures of SPEC §6 on a large tenant (infra/bench/large_tenant.sql:
//! 50 pacticipants, 200,000 versions, 200,000 pact publications, 1,000,000 verifications,
//! branches, tags, environments, deployments and releases), measured over HTTP against the
//! release tenant API: can-i-deploy to an environment, a two-selector matrix query, pacts for
//! verification with the default selectors plus pending and WIP, publishing a pact, and the
//! dashboard. Each series runs one request at a time after a warm-up; parameters vary so no
//! answer is served twice from a cache.
//!
//! Needs TEST_DATABASE_URL (a superuser URL; infra/bench/run.sh starts a private cluster).

#![expect(
    clippy::print_stdout,
    reason = "a benchmark reports its figures on stdout"
)]

use std::time::{Duration, Instant};

use serde_json::json;
use tests::bench::{print_summary, summarize, Platform, Service, Summary};
use tests::tools::workspace;
use tests::TestEnv;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `request(i)` `count` times after `warmup` unmeasured runs; every request must succeed.
async fn series<F, Fut>(
    name: &str,
    warmup: usize,
    count: usize,
    request: F,
) -> anyhow::Result<Summary>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<reqwest::StatusCode>>,
{
    for i in 0..warmup {
        request(count + i).await?;
    }
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        let status = request(i).await?;
        latencies.push(started.elapsed());
        anyhow::ensure!(status.is_success(), "{name}: request {i} answered {status}");
    }
    Ok(summarize(latencies))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count = setting("BENCH_REQUESTS", 200);
    let warmup = setting("BENCH_WARMUP", 20);

    let env = TestEnv::new().await;
    let key_file = env.master_key_file().display().to_string();
    let common = [
        ("TREATY_ENV", "production".to_owned()),
        // The benchmark's PostgreSQL is local, without TLS.
        ("ALLOW_UNVERIFIED_DATABASE_TLS", "true".to_owned()),
        ("KEY_PROVIDER", "local".to_owned()),
        ("LOCAL_MASTER_KEY_FILE", key_file),
    ];
    let mut cp_env = common.to_vec();
    cp_env.extend([
        ("DATABASE_URL", env.control_url.clone()),
        ("TENANT_DB_PREFIX", env.prefix.as_str().to_owned()),
    ]);
    let mail = tempfile::tempdir()?;
    cp_env.extend(tests::bench::control_plane_env(mail.path()));
    let control_plane = Service::start("control-plane", "CONTROL_PLANE_LISTEN", &cp_env).await;
    let mut api_env = common.to_vec();
    api_env.push(("ROUTER_DATABASE_URL", env.router_url.clone()));
    let api = Service::start("tenant-api", "TENANT_API_LISTEN", &api_env).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let platform = Platform::new(
        http,
        control_plane.port,
        api.port,
        mail.path().to_path_buf(),
    );
    let (tenant, _, _) = platform.signup_until_served("large").await?;
    let tenant_id: uuid::Uuid =
        sqlx::query_scalar("select tenant_id from tenant where subdomain = 'large'")
            .fetch_one(&env.control)
            .await?;

    let started = Instant::now();
    let data = std::fs::read_to_string(workspace().join("infra/bench/large_tenant.sql"))?;
    let db = env.tenant_database(tenant_id).await;
    sqlx::raw_sql(&data).execute(&db).await?;
    let counts: (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from version), (select count(*) from pact_publication), (select count(*) from verification)",
    )
    .fetch_one(&db)
    .await?;
    println!(
        "loaded the large tenant in {:.0} s: {} versions, {} pact publications, {} verifications",
        started.elapsed().as_secs_f64(),
        counts.0,
        counts.1,
        counts.2
    );

    let get = |path: String| {
        let request = platform.tenant_get(&tenant, &path);
        async move { Ok(request.send().await?.status()) }
    };
    let post = |path: String, body: serde_json::Value| {
        let request = platform
            .http
            .post(format!("http://127.0.0.1:{}{path}", platform.api_port))
            .header("host", format!("{}.localhost", tenant.subdomain))
            .bearer_auth(&tenant.token)
            .json(&body);
        async move { Ok(request.send().await?.status()) }
    };

    // Consumers are P01..P25 (ids 1..25), providers P26..P50; version n of pacticipant p is "p.0.n".
    let can_i_deploy = series("can-i-deploy", warmup, count, |i| {
        let consumer = 1 + i % 25;
        get(format!("/can-i-deploy?pacticipant=P{consumer:02}&version={consumer}.0.{}&environment=production", 3990 - i % 50))
    })
    .await?;
    let matrix = series("matrix", warmup, count, |i| {
        let consumer = 1 + i % 25;
        let provider = 26 + (consumer - 1) % 25;
        let n = 3000 + i % 900;
        get(format!(
            "/matrix?q[][pacticipant]=P{consumer:02}&q[][version]={consumer}.0.{n}&q[][pacticipant]=P{provider:02}&q[][version]={provider}.0.{}&latestby=cvpv",
            n + 10
        ))
    })
    .await?;
    let for_verification = series("for-verification", warmup, count, |i| {
        let provider = 26 + i % 25;
        post(
            format!("/pacts/provider/P{provider:02}/for-verification"),
            json!({"providerVersionBranch": "main", "includePendingStatus": true, "includeWipPactsSince": "2020-01-01"}),
        )
    })
    .await?;
    let publish = series("publish", warmup, count, |i| {
        use base64::Engine;
        let consumer = 1 + i % 25;
        let provider = 26 + (consumer - 1) % 25;
        let interactions: Vec<_> = (0..5)
            .map(|k| json!({"description": format!("request {k}"), "request": {"method": "GET", "path": format!("/items/{k}")},
                           "response": {"status": 200, "body": {"id": k, "name": "item", "bench": i}}}))
            .collect();
        let pact = json!({"consumer": {"name": format!("P{consumer:02}")}, "provider": {"name": format!("P{provider:02}")},
                          "interactions": interactions, "metadata": {"pactSpecification": {"version": "2.0.0"}}});
        post(
            "/contracts/publish".into(),
            json!({"pacticipantName": format!("P{consumer:02}"), "pacticipantVersionNumber": format!("bench-{i}"), "branch": "main",
                   "contracts": [{"consumerName": format!("P{consumer:02}"), "providerName": format!("P{provider:02}"),
                                  "specification": "pact", "contentType": "application/json",
                                  "content": base64::engine::general_purpose::STANDARD.encode(pact.to_string())}]}),
        )
    })
    .await?;
    let dashboard = series("dashboard", warmup, count, |_| get("/dashboard".into())).await?;

    println!();
    println!("Treaty broker benchmark (large tenant, one request at a time, release build)");
    print_summary(
        "can-i-deploy to an environment",
        &can_i_deploy,
        "p95 ≤ 20 ms",
    );
    print_summary(
        "matrix, two selectors (latestby=cvpv)",
        &matrix,
        "p95 ≤ 20 ms",
    );
    print_summary(
        "pacts for verification (defaults, pending, WIP)",
        &for_verification,
        "p95 ≤ 20 ms",
    );
    print_summary(
        "publish a pact (POST /contracts/publish)",
        &publish,
        "p95 ≤ 20 ms",
    );
    print_summary("dashboard", &dashboard, "p95 ≤ 20 ms");
    let report = json!({
        "versions": counts.0, "pact_publications": counts.1, "verifications": counts.2,
        "can_i_deploy": can_i_deploy, "matrix": matrix, "pacts_for_verification": for_verification,
        "publish": publish, "dashboard": dashboard,
    });
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| "target/bench/broker.json".into());
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
    println!("written to {out}");
    drop(api);
    drop(control_plane);
    Ok(())
}
