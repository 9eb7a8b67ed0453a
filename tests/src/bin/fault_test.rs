//! The fault test (`infra/dev/faults.sh`, run by CI): the services as separate processes under a
//! steady mixed load from several clients (publish, read the latest pact, matrix), while their
//! dependencies fail one at a time — PostgreSQL fast-stopped, PostgreSQL's postmaster killed -9,
//! Redis killed -9, the tenant API killed -9 — each for a few seconds, then brought back.
//!
//! It asserts what an operator needs from a fault: no 500 over the whole run; every request
//! made while a dependency was down answered within 1 s, and when not a success, a 503 problem
//! JSON with `Retry-After`; service back within 1 s of the dependency returning; and every
//! acknowledged publication readable afterwards. Figures per fault are printed.
//!
//! Needs TEST_DATABASE_URL of a private cluster it may stop and kill, FAULT_PG_DIR (that
//! cluster's `infra/dev/postgres.sh` directory), and `redis-server` on PATH (it runs its own, on
//! a free port).

#![expect(
    clippy::print_stdout,
    reason = "the fault test reports its figures on stdout"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use serde_json::json;
use tests::bench::{free_port, Platform, Service, Tenant};
use tests::TestEnv;
use tokio::process::{Child, Command};

/// How long each dependency stays down.
const OUTAGE: Duration = Duration::from_secs(3);
/// Steady load between faults.
const SETTLE: Duration = Duration::from_secs(3);
const CLIENTS: usize = 6;
/// The bound on every answer during an outage, and on recovery.
const BOUND: Duration = Duration::from_secs(1);

/// One request's outcome.
#[derive(Clone, Debug)]
struct Sample {
    started: Instant,
    took: Duration,
    /// HTTP status, or 0 when no response came (connection refused: the API itself was down).
    status: u16,
    problem_with_retry_after: bool,
    what: &'static str,
}

#[derive(Default)]
struct Log {
    samples: Vec<Sample>,
    /// (tenant index, consumer, version) of every acknowledged publication.
    acknowledged: Vec<(usize, String, u64)>,
}

/// A fault's timeline.
struct Fault {
    name: &'static str,
    down: Instant,
    up: Instant,
}

fn pg_dir() -> anyhow::Result<PathBuf> {
    Ok(PathBuf::from(
        std::env::var("FAULT_PG_DIR").context("FAULT_PG_DIR: the cluster's directory")?,
    ))
}

async fn postgres(action: &str) -> anyhow::Result<()> {
    let status = Command::new("infra/dev/postgres.sh")
        .args([action, &pg_dir()?.display().to_string()])
        .stdout(Stdio::null())
        .status()
        .await?;
    ensure!(status.success(), "postgres.sh {action} failed");
    Ok(())
}

async fn kill_postmaster() -> anyhow::Result<()> {
    let pid_file = std::fs::read_to_string(pg_dir()?.join("data/postmaster.pid"))?;
    let pid = pid_file
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let status = Command::new("kill").args(["-9", &pid]).status().await?;
    ensure!(status.success(), "kill -9 {pid} failed");
    Ok(())
}

fn start_redis(port: u16) -> anyhow::Result<Child> {
    Ok(Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}

async fn wait_for_port(port: u16) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn pact(consumer: &str, version: u64) -> serde_json::Value {
    json!({
        "consumer": {"name": consumer}, "provider": {"name": "Orders"},
        "interactions": [{"description": format!("orders for {version}"),
                          "request": {"method": "GET", "path": "/orders"},
                          "response": {"status": 200, "body": [{"id": version}]}}],
        "metadata": {"pactSpecification": {"version": "2.0.0"}}
    })
}

/// A client of the control plane: the signup status, one control-database read each time.
async fn control_client(
    http: reqwest::Client,
    control_port: u16,
    tenant_id: uuid::Uuid,
    log: Arc<Mutex<Log>>,
    running: Arc<AtomicBool>,
) {
    let url = format!("http://127.0.0.1:{control_port}/api/signups/{tenant_id}");
    while running.load(Ordering::Relaxed) {
        let started = Instant::now();
        let response = http.get(&url).timeout(Duration::from_secs(10)).send().await;
        let (status, problem) = answer(response).await;
        log.lock().expect("log lock").samples.push(Sample {
            started,
            took: started.elapsed(),
            status,
            problem_with_retry_after: problem,
            what: "control-plane signup status",
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Status and whether the response is problem JSON with `Retry-After` (0: no response).
async fn answer(response: reqwest::Result<reqwest::Response>) -> (u16, bool) {
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let problem = response.headers().contains_key("retry-after")
                && response
                    .headers()
                    .get("content-type")
                    .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
            let _ = response.bytes().await;
            (status, problem)
        }
        Err(_) => (0, false),
    }
}

/// One client: publish a new version, read the latest pact, ask the matrix; again and again.
async fn client(
    index: usize,
    http: reqwest::Client,
    api_port: u16,
    tenants: Arc<Vec<Tenant>>,
    log: Arc<Mutex<Log>>,
    running: Arc<AtomicBool>,
) {
    let tenant_index = index % tenants.len();
    let tenant = &tenants[tenant_index];
    let consumer = format!("Web{index}");
    let base = format!("http://127.0.0.1:{api_port}");
    let host = format!("{}.localhost", tenant.subdomain);
    let mut version = 0u64;
    while running.load(Ordering::Relaxed) {
        version += 1;
        let requests: [(&'static str, reqwest::RequestBuilder); 3] = [
            (
                "publish",
                http.put(format!(
                    "{base}/pacts/provider/Orders/consumer/{consumer}/version/{version}"
                ))
                .json(&pact(&consumer, version)),
            ),
            (
                "latest",
                http.get(format!(
                    "{base}/pacts/provider/Orders/consumer/{consumer}/latest"
                )),
            ),
            (
                "matrix",
                http.get(format!(
                    "{base}/matrix?q%5B%5D%5Bpacticipant%5D={consumer}&q%5B%5D%5Blatest%5D=true&latestby=cvp"
                )),
            ),
        ];
        for (what, request) in requests {
            let started = Instant::now();
            let response = request
                .header("host", &host)
                .bearer_auth(&tenant.token)
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            let (status, problem) = answer(response).await;
            let took = started.elapsed();
            let mut log = log.lock().expect("log lock");
            if what == "publish" && (200..300).contains(&status) {
                log.acknowledged
                    .push((tenant_index, consumer.clone(), version));
            }
            log.samples.push(Sample {
                started,
                took,
                status,
                problem_with_retry_after: problem,
                what,
            });
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let wall = Instant::now();
    let env = TestEnv::new().await;
    let redis_port = free_port();
    let mut redis = start_redis(redis_port)?;
    wait_for_port(redis_port).await;
    let redis_url = format!("redis://127.0.0.1:{redis_port}");

    let key_file = env.master_key_file().display().to_string();
    let common = [
        ("TREATY_ENV", "production".to_owned()),
        // The test's PostgreSQL is local, without TLS.
        ("ALLOW_UNVERIFIED_DATABASE_TLS", "true".to_owned()),
        ("KEY_PROVIDER", "local".to_owned()),
        ("LOCAL_MASTER_KEY_FILE", key_file),
        ("REDIS_URL", redis_url.clone()),
    ];
    let mail = tempfile::tempdir()?;
    let mut cp_env = common.to_vec();
    cp_env.extend([
        ("DATABASE_URL", env.control_url.clone()),
        ("TENANT_DB_PREFIX", env.prefix.as_str().to_owned()),
        ("REDIS_KEY_PREFIX", format!("treaty-faults-{}", env.id)),
    ]);
    cp_env.extend(tests::bench::control_plane_env(mail.path()));
    let control_plane = Service::start("control-plane", "CONTROL_PLANE_LISTEN", &cp_env).await;
    let mut api_env = common.to_vec();
    api_env.push(("ROUTER_DATABASE_URL", env.router_url.clone()));
    let mut api = Service::start("tenant-api", "TENANT_API_LISTEN", &api_env).await;
    let api_port = api.port;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let platform = Platform::new(
        http.clone(),
        control_plane.port,
        api_port,
        mail.path().to_path_buf(),
    );
    let mut tenants = Vec::new();
    for i in 0..3 {
        tenants.push(
            platform
                .signup_until_served(&format!("faults-{}-{i}", env.id))
                .await?
                .0,
        );
    }
    let tenants = Arc::new(tenants);

    let log = Arc::new(Mutex::new(Log::default()));
    let running = Arc::new(AtomicBool::new(true));
    let first: uuid::Uuid = sqlx::query_scalar("select tenant_id from tenant where subdomain = $1")
        .bind(&tenants[0].subdomain)
        .fetch_one(&env.control)
        .await?;
    let control = tokio::spawn(control_client(
        http.clone(),
        control_plane.port,
        first,
        log.clone(),
        running.clone(),
    ));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            tokio::spawn(client(
                i,
                http.clone(),
                api_port,
                tenants.clone(),
                log.clone(),
                running.clone(),
            ))
        })
        .collect();

    let mut faults = Vec::new();
    tokio::time::sleep(SETTLE).await;

    let down = Instant::now();
    postgres("stop").await?;
    tokio::time::sleep(OUTAGE).await;
    postgres("start").await?;
    faults.push(Fault {
        name: "PostgreSQL fast stop",
        down,
        up: Instant::now(),
    });
    tokio::time::sleep(SETTLE).await;

    let down = Instant::now();
    kill_postmaster().await?;
    tokio::time::sleep(OUTAGE).await;
    postgres("start").await?;
    faults.push(Fault {
        name: "PostgreSQL kill -9",
        down,
        up: Instant::now(),
    });
    tokio::time::sleep(SETTLE).await;

    let down = Instant::now();
    redis.start_kill()?;
    redis.wait().await?;
    tokio::time::sleep(OUTAGE).await;
    redis = start_redis(redis_port)?;
    wait_for_port(redis_port).await;
    faults.push(Fault {
        name: "Redis kill -9",
        down,
        up: Instant::now(),
    });
    tokio::time::sleep(SETTLE).await;

    let down = Instant::now();
    api.kill().await;
    api = Service::start_on("tenant-api", "TENANT_API_LISTEN", &api_env, api_port).await;
    faults.push(Fault {
        name: "tenant API kill -9",
        down,
        up: Instant::now(),
    });
    tokio::time::sleep(SETTLE).await;

    running.store(false, Ordering::Relaxed);
    for client in clients {
        client.await?;
    }
    control.await?;
    let log = std::mem::take(&mut *log.lock().expect("log lock"));

    // Every acknowledged publication is there.
    let mut lost = Vec::new();
    for (tenant, consumer, version) in &log.acknowledged {
        let tenant = &tenants[*tenant];
        let status = http
            .get(format!(
                "http://127.0.0.1:{api_port}/pacts/provider/Orders/consumer/{consumer}/version/{version}"
            ))
            .header("host", format!("{}.localhost", tenant.subdomain))
            .bearer_auth(&tenant.token)
            .send()
            .await?
            .status();
        if status != 200 {
            lost.push(format!("{consumer} {version}: {status}"));
        }
    }

    let mut failures = Vec::new();
    let total: BTreeMap<u16, usize> = log.samples.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.status).or_default() += 1;
        m
    });
    println!(
        "{} requests, {} acknowledged publications, by status: {total:?}",
        log.samples.len(),
        log.acknowledged.len()
    );
    let five_hundreds: Vec<&Sample> = log.samples.iter().filter(|s| s.status == 500).collect();
    if !five_hundreds.is_empty() {
        failures.push(format!("{} × 500", five_hundreds.len()));
    }
    if !lost.is_empty() {
        failures.push(format!(
            "{} acknowledged publications lost: {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        ));
    }
    for fault in &faults {
        let during: Vec<&Sample> = log
            .samples
            .iter()
            .filter(|s| s.started >= fault.down && s.started < fault.up)
            .collect();
        let counts: BTreeMap<u16, usize> = during.iter().fold(BTreeMap::new(), |mut m, s| {
            *m.entry(s.status).or_default() += 1;
            m
        });
        let slowest = during.iter().map(|s| s.took).max().unwrap_or_default();
        // Recovery: from the dependency's return to the start of the first request after which
        // every request succeeded.
        let after: Vec<&Sample> = log
            .samples
            .iter()
            .filter(|s| s.started >= fault.up && s.started + s.took < fault.up + SETTLE - BOUND)
            .collect();
        let last_failure = after
            .iter()
            .filter(|s| !(200..300).contains(&s.status))
            .map(|s| s.started + s.took)
            .max();
        let recovery = last_failure.map_or(Duration::ZERO, |t| t.duration_since(fault.up));
        println!(
            "{:<22} outage {:.2} s: {} requests {counts:?}; slowest {:.0} ms; recovered {:.0} ms after it returned",
            fault.name,
            fault.up.duration_since(fault.down).as_secs_f64(),
            during.len(),
            slowest.as_secs_f64() * 1000.0,
            recovery.as_secs_f64() * 1000.0
        );
        if slowest > BOUND {
            failures.push(format!("{}: a request took {slowest:?}", fault.name));
        }
        let unclean: Vec<String> = during
            .iter()
            .filter(|s| {
                !(200..300).contains(&s.status)
                    && s.status != 0
                    && !(s.status == 503 && s.problem_with_retry_after)
            })
            .map(|s| format!("{} {}", s.what, s.status))
            .collect();
        if !unclean.is_empty() {
            failures.push(format!(
                "{}: {} answers were neither success nor 503 problem JSON with Retry-After: {:?}",
                fault.name,
                unclean.len(),
                &unclean[..unclean.len().min(10)]
            ));
        }
        if recovery > BOUND {
            let late: Vec<String> = after
                .iter()
                .filter(|s| !(200..300).contains(&s.status))
                .map(|s| format!("{} {}", s.what, s.status))
                .collect();
            failures.push(format!(
                "{}: recovered after {recovery:?}; failing after the return: {:?}",
                fault.name,
                &late[..late.len().min(10)]
            ));
        }
    }
    println!("wall time {:.1} s", wall.elapsed().as_secs_f64());
    api.stop().await;
    control_plane.stop().await;
    let _ = redis.start_kill();
    ensure!(
        failures.is_empty(),
        "fault test failed:\n{}",
        failures.join("\n")
    );
    println!("fault test passed");
    Ok(())
}
