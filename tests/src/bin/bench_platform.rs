//! `make bench` — platform figures of SPEC §6, measured against the release binaries running as
//! separate processes on a durable (fsync on) PostgreSQL:
//!
//! - signup → the new tenant answers an authenticated request (median, p95 over BENCH_SIGNUPS);
//! - with BENCH_TENANTS provisioned tenants: the first request to a cold tenant (its pool opened),
//!   requests to warm tenants at BENCH_WARM_RATE req/s (open loop), and every tenant active;
//! - peak connections the tenant API holds (pg_stat_activity) against its budget, and its RSS.
//!
//! Needs TEST_DATABASE_URL (a superuser URL; infra/bench/run.sh starts a private cluster).

#![expect(
    clippy::print_stdout,
    reason = "a benchmark reports its figures on stdout"
)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    let signups = setting("BENCH_SIGNUPS", 50);
    let tenant_count = setting("BENCH_TENANTS", 1000);
    let warm_tenants = setting("BENCH_WARM_TENANTS", 20);
    let warm_rate = setting("BENCH_WARM_RATE", 1000) as f64;
    let warm_secs = setting("BENCH_WARM_SECS", 15) as u64;
    let cold_count = setting("BENCH_COLD", 300);
    let budget = setting("BENCH_BUDGET", 64);

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
        ("PROVISIONING_CONCURRENCY", "4".to_owned()),
    ]);
    let mail = tempfile::tempdir()?;
    cp_env.extend(tests::bench::control_plane_env(mail.path()));
    let control_plane = Service::start("control-plane", "CONTROL_PLANE_LISTEN", &cp_env).await;
    let mut api_env = common.to_vec();
    api_env.extend([
        ("ROUTER_DATABASE_URL", env.router_url.clone()),
        ("CONNECTION_BUDGET", budget.to_string()),
    ]);
    let api = Service::start("tenant-api", "TENANT_API_LISTEN", &api_env).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut platform = Platform::new(
        http,
        control_plane.port,
        api.port,
        mail.path().to_path_buf(),
    );

    // 1. Signup → served.
    let mut signup_latencies = Vec::new();
    let mut provisioning_latencies = Vec::new();
    let mut tenants = Vec::new();
    for i in 0..signups {
        let (tenant, served, provisioned) =
            platform.signup_until_served(&format!("signup-{i}")).await?;
        signup_latencies.push(served);
        provisioning_latencies.push(provisioned);
        tenants.push(tenant);
    }
    let signup = summarize(signup_latencies);
    let provisioning = summarize(provisioning_latencies);

    // 2. The rest of the tenants, then one pact each.
    let more: Vec<anyhow::Result<(Tenant, Duration, Duration)>> =
        stream::iter(tenants.len()..tenant_count)
            .map(|i| {
                let platform = &platform;
                async move { platform.signup_until_served(&format!("tenant-{i}")).await }
            })
            .buffer_unordered(8)
            .collect()
            .await;
    for result in more {
        tenants.push(result?.0);
    }
    let published: Vec<anyhow::Result<()>> = stream::iter(&tenants)
        .map(|t| platform.publish(t))
        .buffer_unordered(16)
        .collect()
        .await;
    published.into_iter().collect::<anyhow::Result<Vec<()>>>()?;

    // Provisioning a thousand databases leaves PostgreSQL a checkpoint and the kernel gigabytes
    // of dirty pages to write back; requests measured meanwhile stall behind the disk for
    // hundreds of milliseconds, which measures the disk, not Treaty. Let both finish first, as
    // they long since would have on a production server between signups.
    let admin = env.server_admin().await;
    let quiesce = Instant::now();
    sqlx::query("checkpoint").execute(&admin).await?;
    std::process::Command::new("sync").status()?;
    println!(
        "checkpoint and write-back after provisioning took {:.1} s",
        quiesce.elapsed().as_secs_f64()
    );

    // 3. A fresh tenant API: every tenant is cold. Watch its connections from the server's side.
    api.stop().await;
    let api = Service::start("tenant-api", "TENANT_API_LISTEN", &api_env).await;
    platform.api_port = api.port;
    let peak = Arc::new(AtomicI64::new(0));
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (peak, watching) = (peak.clone(), watching.clone());
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                if let Ok(now) = sqlx::query_scalar::<_, i64>(
                    "select count(*) from pg_stat_activity where application_name = 'treaty-tenant-api'",
                )
                .fetch_one(&admin)
                .await
                {
                    peak.fetch_max(now, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    let cold_latencies: Vec<Option<Duration>> =
        stream::iter(tenants.iter().skip(warm_tenants).take(cold_count))
            .map(|tenant| {
                let platform = &platform;
                async move {
                    let started = Instant::now();
                    platform.get_pact(tenant).await.then(|| started.elapsed())
                }
            })
            .buffer_unordered(4)
            .collect()
            .await;
    let cold_failures = cold_latencies.iter().filter(|l| l.is_none()).count();
    let cold = summarize(cold_latencies.into_iter().flatten().collect());

    // 4. Warm tenants at a fixed rate.
    let warm_set: Arc<Vec<Tenant>> = Arc::new(
        tenants
            .iter()
            .take(warm_tenants)
            .map(|t| Tenant {
                subdomain: t.subdomain.clone(),
                token: t.token.clone(),
            })
            .collect(),
    );
    for tenant in warm_set.iter() {
        platform.get_pact(tenant).await;
        platform.get_pact(tenant).await;
    }
    let platform = Arc::new(platform);
    let (warm_latencies, warm_failures) = {
        let (platform, warm_set) = (platform.clone(), warm_set.clone());
        open_loop(warm_rate, Duration::from_secs(warm_secs), move |i| {
            let (platform, warm_set) = (platform.clone(), warm_set.clone());
            async move { platform.get_pact(&warm_set[i % warm_set.len()]).await }
        })
        .await
    };
    let warm = summarize(warm_latencies);

    // 5. Every tenant active, then memory.
    let active_latencies: Vec<Option<Duration>> =
        stream::iter(tenants.iter().chain(tenants.iter()))
            .map(|tenant| {
                let platform = &platform;
                async move {
                    let started = Instant::now();
                    platform.get_pact(tenant).await.then(|| started.elapsed())
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
    let active_failures = active_latencies.iter().filter(|l| l.is_none()).count();
    let active = summarize(active_latencies.into_iter().flatten().collect());
    let (rss, hwm) = api.memory_mib();
    watching.store(false, Ordering::Relaxed);
    watcher.await?;
    let peak = peak.load(Ordering::Relaxed);

    println!();
    println!(
        "Treaty platform benchmark ({} tenants, budget {budget})",
        tenants.len()
    );
    print_summary(
        "signup → authenticated request served",
        &signup,
        "median ≤ 250 ms, p95 ≤ 500 ms",
    );
    print_summary("first request to a cold tenant", &cold, "p99 ≤ 50 ms");
    print_summary(
        &format!("warm tenant GET pact @ {warm_rate} req/s"),
        &warm,
        "p99 ≤ 5 ms",
    );
    print_summary(
        &format!("all {} tenants active (16 concurrent)", tenants.len()),
        &active,
        "-",
    );
    println!("peak tenant-API connections to tenant databases: {peak} (budget {budget})");
    println!(
        "tenant-API RSS after {} active tenants: {rss:.1} MiB (peak {hwm:.1} MiB), target ≤ 200 MB",
        tenants.len()
    );
    println!("failures: cold {cold_failures}, warm {warm_failures}, active {active_failures}");

    let report = json!({
        "tenants": tenants.len(), "budget": budget,
        "signup_to_served": signup, "signup_to_active": provisioning, "cold_first_request": cold, "warm_get_pact": warm, "warm_rate": warm_rate,
        "all_tenants_active": active, "peak_connections": peak, "rss_mib": rss, "rss_peak_mib": hwm,
        "failures": {"cold": cold_failures, "warm": warm_failures, "active": active_failures},
    });
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| "target/bench/platform.json".into());
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
    println!("written to {out}");
    anyhow::ensure!(peak <= budget as i64, "the connection budget was exceeded");
    drop(control_plane);
    Ok(())
}
