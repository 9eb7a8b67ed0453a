//! The `control-plane` binary: see [`control_plane::cli`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    control_plane::cli::main().await
}
