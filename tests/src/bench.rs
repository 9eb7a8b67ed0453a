//! Measurement helpers for `make bench`: running the release binaries as separate processes,
//! open-loop load at a fixed rate (latency counted from each request's *scheduled* start, so a
//! slow server cannot hide queueing — no coordinated omission), percentiles, and process RSS.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

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

/// A release binary of this workspace.
pub fn release_binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::tools::workspace().join("target"));
    let path = target.join("release").join(name);
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
        let port = free_port();
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
