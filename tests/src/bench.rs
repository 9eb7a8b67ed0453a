//! Measurement helpers for `make bench`: running the release binaries as separate processes,
//! open-loop load at a fixed rate (latency counted from each request's *scheduled* start, so a
//! slow server cannot hide queueing — no coordinated omission), percentiles, and process RSS.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::process::{Child, Command};

/// Latency figures of one measured series.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Percentiles of `samples` (nearest-rank).
pub fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let at = |q: f64| {
        if samples.is_empty() {
            return 0.0;
        }
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1].as_secs_f64() * 1000.0
    };
    Summary {
        count: samples.len(),
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

/// A release binary of this workspace (or of the profile in `SERVICE_PROFILE`, e.g. `debug`
/// for the fault test).
pub fn release_binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::tools::workspace().join("target"));
    let profile = std::env::var("SERVICE_PROFILE").unwrap_or_else(|_| "release".into());
    let path = target.join(profile).join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo build --release -p {name}` (make bench does)",
        path.display()
    );
    path
}

/// A child process killed when dropped.
pub struct Service {
    pub child: Child,
    pub port: u16,
}

impl Service {
    /// Starts `binary` with `env`, listening on a free port given through `listen_var`, and waits
    /// for its port to accept connections.
    pub async fn start(binary: &str, listen_var: &str, env: &[(&str, String)]) -> Self {
        Self::start_on(binary, listen_var, env, free_port()).await
    }

    /// [`Service::start`] on a given port (a restart where clients expect it).
    pub async fn start_on(
        binary: &str,
        listen_var: &str,
        env: &[(&str, String)],
        port: u16,
    ) -> Self {
        let mut command = Command::new(release_binary(binary));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(listen_var, format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env("LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self { child, port };
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{binary} did not start listening on {port}");
    }

    /// Kills the process outright (SIGKILL), as a crash would.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running child")
    }

    /// Resident set size and its high-water mark, in MiB.
    pub fn memory_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("address")
        .port()
}

/// Runs `request(i)` at `rate` per second for `duration`, open loop; returns each request's
/// latency measured from its scheduled start, and the number of failed requests.
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, request: F) -> (Vec<Duration>, usize)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let total = (rate * duration.as_secs_f64()) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval * i as u32;
        tokio::time::sleep_until(scheduled).await;
        let fut = request(i);
        tasks.push(tokio::spawn(async move {
            let ok = fut.await;
            (scheduled.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failures = 0;
    for task in tasks {
        let (latency, ok) = task.await.expect("request task");
        if ok {
            latencies.push(latency);
        } else {
            failures += 1;
        }
    }
    (latencies, failures)
}

/// Wall-clock time of `f`.
pub async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let value = f.await;
    (value, started.elapsed())
}

/// A tenant the benchmark created, with its read-write token.
pub struct Tenant {
    pub subdomain: String,
    pub token: String,
}

/// The two services as the benchmarks drive them: over loopback, tenants by `Host` header.
pub struct Platform {
    pub http: reqwest::Client,
    pub control_plane: u16,
    pub api_port: u16,
    /// Where the control plane (in development mode) writes its e-mail.
    pub mail_dir: PathBuf,
}

/// The password every benchmark signup uses.
const PASSWORD: &str = "correct horse battery staple";

impl Platform {
    pub fn new(
        http: reqwest::Client,
        control_plane: u16,
        api_port: u16,
        mail_dir: PathBuf,
    ) -> Self {
        Self {
            http,
            control_plane,
            api_port,
            mail_dir,
        }
    }

    fn control(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.control_plane)
    }

    pub fn tenant_get(&self, tenant: &Tenant, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("http://127.0.0.1:{}{path}", self.api_port))
            .header("host", format!("{}.localhost", tenant.subdomain))
            .bearer_auth(&tenant.token)
    }

    /// The whole public flow a script follows: signup, the e-mailed confirmation link, login,
    /// a read-write token. Returns the tenant and the signup's status URL.
    pub async fn signup(&self, subdomain: &str) -> anyhow::Result<(Tenant, String)> {
        let email = format!("lead@{subdomain}.test");
        let response = self
            .http
            .post(self.control("/api/signup"))
            .json(&json!({"organisation": subdomain, "subdomain": subdomain, "email": email, "password": PASSWORD}))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 202,
            "signup {subdomain}: {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await?;
        let status_url = format!(
            "/api/signups/{}",
            body["tenantId"].as_str().unwrap_or_default()
        );

        let mail = crate::mail::wait_for(&self.mail_dir, &email, "Confirm").await;
        let token = mail.token("/api/signup/confirm");
        let confirmed = self
            .http
            .get(self.control(&format!("/api/signup/confirm?token={token}")))
            .send()
            .await?;
        anyhow::ensure!(
            confirmed.status() == 200,
            "confirm {subdomain}: {}",
            confirmed.status()
        );

        let login = self
            .http
            .post(self.control("/api/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await?;
        anyhow::ensure!(
            login.status() == 200,
            "login {subdomain}: {}",
            login.status()
        );
        let cookie = crate::session::session_cookie(&login).unwrap_or_default();
        let session: serde_json::Value = login.json().await?;
        let created = self
            .http
            .post(self.control("/api/settings/tokens"))
            .header("cookie", cookie)
            .header(
                "x-csrf-token",
                session["csrfToken"].as_str().unwrap_or_default(),
            )
            .json(&json!({"name": "bench", "scope": "read-write"}))
            .send()
            .await?;
        anyhow::ensure!(
            created.status() == 201,
            "token for {subdomain}: {}",
            created.status()
        );
        let created: serde_json::Value = created.json().await?;
        let token = created["value"].as_str().unwrap_or_default().to_owned();
        Ok((
            Tenant {
                subdomain: subdomain.to_owned(),
                token,
            },
            status_url,
        ))
    }

    /// Signup through to the first authenticated request the tenant API answers; returns the
    /// tenant, that latency, and how long provisioning alone took (signup → status active).
    pub async fn signup_until_served(
        &self,
        subdomain: &str,
    ) -> anyhow::Result<(Tenant, Duration, Duration)> {
        let started = Instant::now();
        let (tenant, status_url) = self.signup(subdomain).await?;
        let provisioned = {
            let url = self.control(&format!("{status_url}?wait=30"));
            let http = self.http.clone();
            async move {
                let status: serde_json::Value = http.get(url).send().await?.json().await?;
                anyhow::ensure!(status["status"] == "active", "not provisioned: {status}");
                Ok::<_, anyhow::Error>(started.elapsed())
            }
        };
        let served = async {
            loop {
                let status = self.tenant_get(&tenant, "/").send().await?.status();
                if status == 200 {
                    return Ok::<_, anyhow::Error>(started.elapsed());
                }
                anyhow::ensure!(
                    status == 503,
                    "{subdomain} answered {status} while provisioning"
                );
                anyhow::ensure!(
                    started.elapsed() < Duration::from_secs(120),
                    "{subdomain} not served after 120 s"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        let (provisioned, served) = tokio::join!(provisioned, served);
        Ok((tenant, served?, provisioned?))
    }

    pub async fn publish(&self, tenant: &Tenant) -> anyhow::Result<()> {
        let pact = json!({
            "consumer": {"name": "Web"}, "provider": {"name": "Orders"},
            "interactions": [{"description": "a request for orders", "request": {"method": "GET", "path": "/orders"},
                              "response": {"status": 200, "body": [{"id": 1, "total": 9.99}]}}],
            "metadata": {"pactSpecification": {"version": "2.0.0"}}
        });
        let status = self
            .http
            .put(format!(
                "http://127.0.0.1:{}/pacts/provider/Orders/consumer/Web/version/1.0.0",
                self.api_port
            ))
            .header("host", format!("{}.localhost", tenant.subdomain))
            .bearer_auth(&tenant.token)
            .json(&pact)
            .send()
            .await?
            .status();
        anyhow::ensure!(
            status.is_success(),
            "publish for {}: {status}",
            tenant.subdomain
        );
        Ok(())
    }

    pub async fn get_pact(&self, tenant: &Tenant) -> bool {
        match self
            .tenant_get(tenant, "/pacts/provider/Orders/consumer/Web/latest")
            .send()
            .await
        {
            Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
            Err(_) => false,
        }
    }
}

/// Control-plane settings for benchmarks: development mode (e-mail to files in `mail_dir`) and
/// rate limits far above what a load generator on one address sends.
pub fn control_plane_env(mail_dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("TREATY_ENV", "development".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("MAIL_DIR", mail_dir.display().to_string()),
        ("RATE_LIMIT_LOGIN", "1000000/60".to_owned()),
        ("RATE_LIMIT_SIGNUP", "1000000/60".to_owned()),
        ("RATE_LIMIT_MAIL", "1000000/60".to_owned()),
        ("RATE_LIMIT_LINKS", "1000000/60".to_owned()),
    ]
}

/// One line of a benchmark report.
#[expect(
    clippy::print_stdout,
    reason = "benchmarks report their figures on stdout"
)]
pub fn print_summary(name: &str, summary: &Summary, target: &str) {
    println!(
        "{name:<48} n={:<6} p50={:>7.2} ms  p95={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms   target: {target}",
        summary.count, summary.p50_ms, summary.p95_ms, summary.p99_ms, summary.max_ms
    );
}
