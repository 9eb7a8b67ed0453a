//! Schema rollout: `control-plane migrate` brings every tenant database to the latest tenant
//! schema, records progress per tenant (so an interrupted rollout resumes), and drops stale
//! templates.

use provisioning::database_server::PostgresServer;
use provisioning::migrations::latest_tenant_version;
use provisioning::rollout;
use tests::env::server_url;
use tests::tenant_client::signup;
use tests::TestEnv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_schema_is_rolled_out_to_every_tenant_and_the_rollout_resumes() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let a = signup(&cp, "schema-a").await;
    let _b = signup(&cp, "schema-b").await;
    let versions: Vec<Option<i64>> = sqlx::query_scalar("select schema_version from tenant")
        .fetch_all(&env.control)
        .await
        .unwrap();
    assert_eq!(
        versions,
        vec![Some(latest_tenant_version()); 2],
        "provisioning records the schema version"
    );

    // One tenant is behind (as after an interrupted rollout); a stale template lingers.
    sqlx::query("update tenant set schema_version = null where tenant_id = $1")
        .bind(a.tenant_id)
        .execute(&env.control)
        .await
        .unwrap();
    let admin = env.server_admin().await;
    let stale = format!("treaty_template_{}", &env.id);
    sqlx::raw_sql(&format!("create database \"{stale}\""))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::raw_sql(&format!("alter database \"{stale}\" with is_template true"))
        .execute(&admin)
        .await
        .unwrap();

    let server = PostgresServer::new(&server_url().into(), None).unwrap();
    let report = rollout::roll_out_tenant_schema(&env.control, &server, 2)
        .await
        .unwrap();
    assert_eq!(
        report.migrated.len(),
        1,
        "only the tenant that was behind: {report:?}"
    );
    assert!(report.failed.is_empty(), "{report:?}");
    assert!(report.dropped_templates.contains(&stale), "{report:?}");
    let behind: i64 =
        sqlx::query_scalar("select count(*) from tenant where schema_version is distinct from $1")
            .bind(latest_tenant_version())
            .fetch_one(&env.control)
            .await
            .unwrap();
    assert_eq!(behind, 0);

    let again = rollout::roll_out_tenant_schema(&env.control, &server, 2)
        .await
        .unwrap();
    assert!(
        again.migrated.is_empty(),
        "a finished rollout has nothing left to do: {again:?}"
    );
    let template_exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(server.template().name())
            .fetch_one(&admin)
            .await
            .unwrap();
    assert!(template_exists, "the current template stays");
}
