//! The third-party tools tests drive: the Pact CLI and moto. `make tools` installs them into
//! `.tools/`; a missing tool fails the test with the command that installs it.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn tool(relative: &str) -> PathBuf {
    let path = workspace().join(".tools").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run `make tools`",
        path.display()
    );
    path
}

/// Subdomains whose `<name>.localhost` resolves on this machine (`make test` adds them to
/// /etc/hosts); tests that run the Pact CLI must use these.
pub fn cli_subdomain(index: usize) -> String {
    let list = std::fs::read_to_string(workspace().join("tests/cli-subdomains.txt"))
        .expect("cli-subdomains.txt");
    let name = list
        .lines()
        .nth(index)
        .expect("enough CLI subdomains")
        .trim()
        .to_owned();
    let resolves = (format!("{name}.localhost"), 80)
        .to_socket_addrs()
        .map(|mut addrs| addrs.any(|a| a.ip().is_loopback()))
        .unwrap_or(false);
    assert!(
        resolves,
        "{name}.localhost does not resolve: run `infra/dev/hosts.sh add {name}` (make test does)"
    );
    name
}

/// Output of a finished command.
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the tool at `.tools/<relative>` with `args` to completion, without telemetry.
async fn run_tool(relative: &str, args: &[&str]) -> Output {
    let output = Command::new(tool(relative))
        .args(args)
        .env("PACT_DO_NOT_TRACK", "true")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|err| panic!("run {relative}: {err}"));
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `pact-broker <args>` (the npm package's consolidated Rust CLI) to completion.
pub async fn pact_broker(args: &[&str]) -> Output {
    run_tool("npm/node_modules/.bin/pact-broker", args).await
}

/// Runs the legacy Ruby `pact-broker` (pact_broker-client 1.78.0, bundled in
/// `pact-python-cli==2.6.4.0`): a second, independent client implementation.
pub async fn legacy_pact_broker(args: &[&str]) -> Output {
    run_tool("venv-legacy/bin/pact-broker", args).await
}

/// A moto server on a free loopback port, killed when dropped.
pub struct Moto {
    pub endpoint: String,
    _child: Child,
}

impl Moto {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(tool("venv/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{endpoint}/moto-api/")).await.is_ok() {
                return Self {
                    endpoint,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto_server did not start on {endpoint}");
    }
}

/// Runs `pact <args>` (the consolidated CLI: `pact verifier`, `pact broker`, …) to completion.
pub async fn pact(args: &[&str]) -> Output {
    run_tool("npm/node_modules/.bin/pact", args).await
}

/// A real SMTP server (aiosmtpd with its Mailbox handler) on a free loopback port, writing every
/// message it accepts into a maildir; killed when dropped.
pub struct SmtpSink {
    pub port: u16,
    /// The maildir (`new/` holds the messages).
    pub dir: tempfile::TempDir,
    _child: Child,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("maildir folders");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(tool("venv/bin/python"))
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd (run `make tools`)");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    port,
                    dir,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start on port {port}");
    }
}

/// Runs `schemathesis <args>` (from its own venv) to completion, in a scratch directory so that
/// nothing it writes lands in the checkout.
pub async fn schemathesis(args: &[&str]) -> Output {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let output = Command::new(tool("venv-schemathesis/bin/schemathesis"))
        .args(args)
        .current_dir(scratch.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|err| panic!("run schemathesis: {err}"));
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
