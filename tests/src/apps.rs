//! The two services, built from the same code as the binaries and served on real sockets
//! (port 0), stoppable and restartable within a test.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use tenant_api::events::{EventSink, NoopSink};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::env::TestEnv;

pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    fn spawn<F>(addr: SocketAddr, run: impl FnOnce(oneshot::Receiver<()>) -> F) -> Self
    where
        F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        let handle = tokio::spawn(run(stopped));
        Self {
            addr,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Graceful shutdown, as on SIGTERM; waits until the service has drained and stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle
                .await
                .expect("service task")
                .expect("service ran cleanly");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

pub struct RunningControlPlane {
    pub running: Running,
    /// Where it writes e-mail, when it has no SMTP server.
    pub mail_dir: Option<std::path::PathBuf>,
}

impl RunningControlPlane {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.addr)
    }

    /// A link the control plane made (e-mails use its configured public URL,
    /// `http://localhost:9393`), pointed at this instance's real address.
    pub fn local(&self, link: &str) -> String {
        link.replace("http://localhost:9393", &self.url(""))
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

pub struct RunningTenantApi {
    pub running: Running,
    pub pools: tenant_api::pools::PoolManager,
    /// For tests that count the router database's token and host lookups.
    pub tokens: std::sync::Arc<tenant_api::auth::TokenVerifier>,
    pub directory: std::sync::Arc<tenant_api::directory::TenantDirectory>,
}

impl RunningTenantApi {
    pub fn port(&self) -> u16 {
        self.running.addr.port()
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// Appends `extra` (`--flag value` pairs) to `args`, replacing a default given for the same flag.
fn override_args(args: &mut Vec<String>, extra: &[&str]) {
    for pair in extra.chunks(2) {
        if let Some(at) = args.iter().position(|a| a == pair[0]) {
            args.drain(at..(at + 2).min(args.len()));
        }
        args.extend(pair.iter().map(|s| s.to_string()));
    }
}

impl TestEnv {
    /// Command-line arguments of a control plane for this test (before `extra`).
    pub fn control_plane_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "control-plane",
            "--database-url",
            &self.control_url,
            "--tenant-db-prefix",
            self.prefix.as_str(),
            "--listen",
            "127.0.0.1:0",
            "--environment",
            "development",
            "--key-provider",
            "local",
            "--local-master-key-file",
            self.master_key_file().to_str().expect("utf-8 path"),
            "--tenant-url-port",
            "9292",
            "--provisioning-poll-ms",
            "100",
            "--provisioning-lease-secs",
            "2",
            "--provisioning-retry-base-ms",
            "100",
            "--mail-dir",
            self.mail_dir().to_str().expect("utf-8 path"),
            "--outbox-poll-ms",
            "100",
            // Tests sign up and sign in far more often than people do; the rate-limit tests
            // set their own limits.
            "--rate-limit-signup",
            "100000/60",
            "--rate-limit-login",
            "100000/60",
            "--rate-limit-mail",
            "100000/60",
            "--rate-limit-links",
            "100000/60",
            "--rate-limit-signup-wait",
            "100000/60",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        override_args(&mut args, extra);
        args
    }

    pub async fn start_control_plane(&self) -> RunningControlPlane {
        self.start_control_plane_with(&[]).await
    }

    /// A control plane with extra flags (e.g. `--failpoint after-effect:key_created`).
    pub async fn start_control_plane_with(&self, extra: &[&str]) -> RunningControlPlane {
        let args = self.control_plane_args(extra);
        let mail_dir = (!args.iter().any(|a| a == "--smtp-host")).then(|| {
            let at = args
                .iter()
                .position(|a| a == "--mail-dir")
                .expect("--mail-dir");
            std::path::PathBuf::from(&args[at + 1])
        });
        let cli = control_plane::config::Cli::try_parse_from(args).expect("control-plane args");
        let app = control_plane::app::Application::build(cli.config)
            .await
            .expect("control plane builds");
        let addr = app.local_addr();
        let running = Running::spawn(addr, |stopped| {
            app.run(async move {
                let _ = stopped.await;
            })
        });
        RunningControlPlane { running, mail_dir }
    }

    pub fn tenant_api_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "tenant-api",
            "--router-database-url",
            &self.router_url,
            "--listen",
            "127.0.0.1:0",
            "--environment",
            "development",
            "--key-provider",
            "local",
            "--local-master-key-file",
            self.master_key_file().to_str().expect("utf-8 path"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        override_args(&mut args, extra);
        args
    }

    pub async fn start_tenant_api(&self) -> RunningTenantApi {
        self.start_tenant_api_with(&[]).await
    }

    pub async fn start_tenant_api_with(&self, extra: &[&str]) -> RunningTenantApi {
        self.start_tenant_api_with_events(extra, Arc::new(NoopSink))
            .await
    }

    /// A tenant API that hands the broker's events to `sink`.
    pub async fn start_tenant_api_with_events(
        &self,
        extra: &[&str],
        sink: Arc<dyn EventSink>,
    ) -> RunningTenantApi {
        let config = tenant_api::config::Config::try_parse_from(self.tenant_api_args(extra))
            .expect("tenant-api args");
        let app = tenant_api::app::Application::build(config)
            .await
            .expect("tenant API builds")
            .with_event_sink(sink);
        let addr = app.local_addr();
        let pools = app.pools();
        let (tokens, directory) = (app.tokens(), app.directory());
        let running = Running::spawn(addr, |stopped| {
            app.run(async move {
                let _ = stopped.await;
            })
        });
        RunningTenantApi {
            running,
            pools,
            tokens,
            directory,
        }
    }
}
