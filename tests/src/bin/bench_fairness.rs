//! `make bench` — pool fairness: a bystander tenant's latency while one customer cycles through
//! 40 tenants, against a connection budget too small to keep all their pools open. The pool
//! manager must evict only idle pools, so the bystander's pool survives and its p99 stays near
//! its baseline (measured first, alone).
//!
//! Needs TEST_DATABASE_URL (a superuser URL; infra/bench/run.sh starts a private cluster).
//! BENCH_FAIR_CYCLED (40), BENCH_FAIR_BUDGET (16), BENCH_FAIR_RATE (200 req/s),
//! BENCH_FAIR_SECS (10).

#![expect(
    clippy::print_stdout,
    reason = "a benchmark reports its figures on stdout"
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde_json::json;
use tests::bench::{open_loop, print_summary, summarize, Platform, Service, Tenant};
use tests::TestEnv;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cycled = setting("BENCH_FAIR_CYCLED", 40);
    let budget = setting("BENCH_FAIR_BUDGET", 16);
    let rate = setting("BENCH_FAIR_RATE", 200) as f64;
    let secs = setting("BENCH_FAIR_SECS", 10) as u64;

    let env = TestEnv::new().await;
    let key_file = env.master_key_file().display().to_string();
    let common = [
        ("TREATY_ENV", "production".to_owned()),
        // The test's PostgreSQL is local, without TLS.
        ("ALLOW_UNVERIFIED_DATABASE_TLS", "true".to_owned()),
        ("KEY_PROVIDER", "local".to_owned()),
        ("LOCAL_MASTER_KEY_FILE", key_file),
    ];
    let mut cp_env = common.to_vec();
    cp_env.extend([
        ("DATABASE_URL", env.control_url.clone()),
        ("TENANT_DB_PREFIX", env.prefix.as_str().to_owned()),
        ("PROVISIONING_CONCURRENCY", "4".to_owned()),
    ]);
    let mail = tempfile::tempdir()?;
    cp_env.extend(tests::bench::control_plane_env(mail.path()));
    let control_plane = Service::start("control-plane", "CONTROL_PLANE_LISTEN", &cp_env).await;
    let mut api_env = common.to_vec();
    api_env.extend([
        ("ROUTER_DATABASE_URL", env.router_url.clone()),
        ("CONNECTION_BUDGET", budget.to_string()),
        ("TENANT_POOL_MAX_CONNECTIONS", "2".to_owned()),
    ]);
    let api = Service::start("tenant-api", "TENANT_API_LISTEN", &api_env).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let platform = Platform::new(
        http,
        control_plane.port,
        api.port,
        mail.path().to_path_buf(),
    );

    let created: Vec<anyhow::Result<(Tenant, Duration, Duration)>> = stream::iter(0..=cycled)
        .map(|i| {
            let platform = &platform;
            async move { platform.signup_until_served(&format!("fair-{i}")).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut tenants = Vec::new();
    for result in created {
        tenants.push(result?.0);
    }
    for tenant in &tenants {
        platform.publish(tenant).await?;
    }
    let bystander = Arc::new(tenants.remove(0));
    let cycled_tenants = Arc::new(tenants);
    let platform = Arc::new(platform);

    let measure = || {
        let (platform, bystander) = (platform.clone(), bystander.clone());
        open_loop(rate, Duration::from_secs(secs), move |_| {
            let (platform, bystander) = (platform.clone(), bystander.clone());
            async move { platform.get_pact(&bystander).await }
        })
    };
    platform.get_pact(&bystander).await;
    let (alone, alone_failures) = measure().await;
    let alone = summarize(alone);

    // One customer cycling through its tenants, eight requests at a time, all the while.
    let running = Arc::new(AtomicBool::new(true));
    let next = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let cyclers: Vec<_> = (0..8)
        .map(|_| {
            let (platform, tenants, running, next, statuses) = (
                platform.clone(),
                cycled_tenants.clone(),
                running.clone(),
                next.clone(),
                statuses.clone(),
            );
            tokio::spawn(async move {
                while running.load(Ordering::Relaxed) {
                    let tenant = &tenants[next.fetch_add(1, Ordering::Relaxed) % tenants.len()];
                    let status = match platform
                        .tenant_get(tenant, "/pacts/provider/Orders/consumer/Web/latest")
                        .send()
                        .await
                    {
                        Ok(response) => response.status().as_u16(),
                        Err(_) => 0,
                    };
                    *statuses
                        .lock()
                        .expect("status lock")
                        .entry(status)
                        .or_default() += 1;
                }
            })
        })
        .collect();
    let (pressed, pressed_failures) = measure().await;
    running.store(false, Ordering::Relaxed);
    for cycler in cyclers {
        cycler.await?;
    }
    let pressed = summarize(pressed);
    let statuses = statuses.lock().expect("status lock").clone();

    println!();
    println!(
        "Pool fairness: one customer cycling through {cycled} tenants, budget {budget} (2 per pool)"
    );
    print_summary(
        &format!("bystander GET pact @ {rate} req/s, alone"),
        &alone,
        "-",
    );
    print_summary(
        &format!("bystander GET pact @ {rate} req/s, {cycled} cycled"),
        &pressed,
        "no failures (compare with alone)",
    );
    println!(
        "bystander failures: alone {alone_failures}, under pressure {pressed_failures}; the cycling customer's answers by status: {statuses:?}"
    );
    let report = json!({
        "cycled_tenants": cycled, "budget": budget, "rate": rate,
        "bystander_alone": alone, "bystander_while_cycling": pressed,
        "bystander_failures": {"alone": alone_failures, "while_cycling": pressed_failures},
        "cycling_statuses": statuses,
    });
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| "target/bench/fairness.json".into());
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
    println!("written to {out}");
    anyhow::ensure!(
        pressed_failures == 0,
        "the bystander failed {pressed_failures} requests while another customer cycled"
    );
    drop(api);
    drop(control_plane);
    Ok(())
}
