//! The `control-plane` command: `serve` (default), `migrate`, `router-login`.

use anyhow::Context;
use clap::Parser;
use provisioning::{migrations, rollout};

use crate::app::{self, Application};
use crate::config::{Cli, Command};
use crate::setup;

pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config;
    let _telemetry =
        provisioning::telemetry::init("control-plane", config.environment, &config.telemetry);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let application = Application::build(config).await?;
            application
                .run(provisioning::signals::shutdown_requested())
                .await
        }
        Command::Migrate { concurrency } => {
            let db = app::connect_control(&config).await?;
            migrations::migrate_control(&db)
                .await
                .context("migrating the control database")?;
            let server = app::tenant_server(&config)?;
            let report = rollout::roll_out_tenant_schema(&db, &server, concurrency).await?;
            tracing::info!(
                template = %report.template,
                migrated = report.migrated.len(),
                failed = report.failed.len(),
                dropped_templates = ?report.dropped_templates,
                "migrated {} tenant databases ({} failed)", report.migrated.len(), report.failed.len()
            );
            server.close().await;
            anyhow::ensure!(
                report.failed.is_empty(),
                "{} tenant databases failed to migrate; run again",
                report.failed.len()
            );
            Ok(())
        }
        Command::RouterLogin { role, password } => {
            let db = app::connect_control(&config).await?;
            setup::ensure_router_login(&db, &role, &password).await?;
            tracing::info!(role = %role, "router login role {role} is ready");
            Ok(())
        }
    }
}
