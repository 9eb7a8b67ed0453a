//! The consolidated Pact CLI's `pact` command (the verifier lives there: `pact verifier …`).

use std::process::Stdio;

use tokio::process::Command;

use crate::tools::{workspace, Output};

/// Runs `pact <args>` (the npm package's CLI) to completion, without telemetry.
pub async fn pact(args: &[&str]) -> Output {
    let path = workspace().join(".tools/npm/node_modules/.bin/pact");
    assert!(
        path.exists(),
        "{} is missing: run `make tools`",
        path.display()
    );
    let output = Command::new(path)
        .args(args)
        .env("PACT_DO_NOT_TRACK", "true")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run pact");
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
