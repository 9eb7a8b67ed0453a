//! What the services refuse to start with: unverified TLS to PostgreSQL in production (unless
//! explicitly allowed) and a master key file others can read. Each refusal names the setting or
//! file and the fix.

use std::os::unix::fs::PermissionsExt;

use clap::Parser;
use tests::TestEnv;

async fn tenant_api_refusal(env: &TestEnv, extra: &[&str]) -> Option<String> {
    let config = tenant_api::config::Config::try_parse_from(env.tenant_api_args(extra)).unwrap();
    tenant_api::app::Application::build(config)
        .await
        .err()
        .map(|err| format!("{err:#}"))
}

async fn control_plane_refusal(env: &TestEnv, extra: &[&str]) -> Option<String> {
    let cli = control_plane::config::Cli::try_parse_from(env.control_plane_args(extra)).unwrap();
    control_plane::app::Application::build(cli.config)
        .await
        .err()
        .map(|err| format!("{err:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_database_connections_that_do_not_verify_the_server() {
    let env = TestEnv::new().await;
    let production = ["--environment", "production"];

    let refused = tenant_api_refusal(&env, &production)
        .await
        .expect("refused");
    assert!(
        refused.contains("TENANT_DB_SSLMODE uses sslmode=prefer"),
        "{refused}"
    );
    assert!(
        refused.contains("ALLOW_UNVERIFIED_DATABASE_TLS=true"),
        "{refused}"
    );
    let refused = tenant_api_refusal(
        &env,
        &[&production[..], &["--tenant-db-sslmode", "verify-full"]].concat(),
    )
    .await
    .expect("refused");
    assert!(
        refused.contains("ROUTER_DATABASE_URL uses sslmode=prefer"),
        "{refused}"
    );
    let allowed = tenant_api_refusal(
        &env,
        &[
            &production[..],
            &["--allow-unverified-database-tls", "true"],
        ]
        .concat(),
    )
    .await;
    assert_eq!(allowed, None, "the explicit override starts");

    let refused = control_plane_refusal(&env, &production)
        .await
        .expect("refused");
    assert!(
        refused.contains("DATABASE_URL uses sslmode=prefer"),
        "{refused}"
    );
    let admin_url = format!("{}?sslmode=require", tests::env::server_url());
    let refused = control_plane_refusal(
        &env,
        &[
            &production[..],
            &[
                "--database-url",
                &format!("{}?sslmode=verify-full", env.control_url),
            ],
            &["--tenant-db-admin-url", &admin_url],
        ]
        .concat(),
    )
    .await
    .expect("refused");
    assert!(
        refused.contains("TENANT_DB_ADMIN_URL uses sslmode=require"),
        "{refused}"
    );

    // Development keeps a laptop's plain local connection.
    assert_eq!(tenant_api_refusal(&env, &[]).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_key_file_readable_by_others_stops_both_services_with_the_chmod_to_run() {
    let env = TestEnv::new().await;
    let key = env.master_key_file();
    drop(env.key_provider());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let fix = format!("chmod 600 {}", key.display());
    let refused = control_plane_refusal(&env, &[]).await.expect("refused");
    assert!(refused.contains(&fix), "{refused}");
    let refused = tenant_api_refusal(&env, &[]).await.expect("refused");
    assert!(refused.contains(&fix), "{refused}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(control_plane_refusal(&env, &[]).await, None);
}
