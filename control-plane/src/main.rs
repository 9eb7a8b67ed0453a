//! The `control-plane` binary: see [`control_plane::cli`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    provisioning::settings::load_dotenv().map_err(anyhow::Error::msg)?;
    control_plane::cli::main().await
}
