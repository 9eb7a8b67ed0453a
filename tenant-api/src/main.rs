//! The `tenant-api` binary: read `.env`, parse configuration, start telemetry, serve until SIGTERM/Ctrl-C.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    provisioning::settings::load_dotenv().map_err(anyhow::Error::msg)?;
    let config = tenant_api::config::Config::parse();
    let _telemetry =
        provisioning::telemetry::init("tenant-api", config.environment, &config.telemetry);
    let application = tenant_api::app::Application::build(config).await?;
    application
        .run(provisioning::signals::shutdown_requested())
        .await
}
