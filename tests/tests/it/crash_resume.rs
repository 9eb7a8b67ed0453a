//! Crash-resume: provisioning stopped after each step's side effect (before it is recorded) and
//! after each step is recorded, then resumed by a fresh worker, always completes the tenant with
//! exactly one database and one role and nothing orphaned.

use std::sync::Arc;
use std::time::Duration;

use provisioning::database_server::{DatabaseServer, Endpoint, PostgresServer, TenantDatabase};
use provisioning::registry::{self, NewTenant};
use provisioning::{
    Failpoint, Lifecycle, ProvisionError, Provisioner, Subdomain, TenantId, TenantStatus,
};
use reqwest::{Method, StatusCode};
use tests::env::server_url;
use tests::tenant_client::signup_only;
use tests::{TenantClient, TestEnv};
use uuid::Uuid;

fn server() -> Arc<PostgresServer> {
    Arc::new(PostgresServer::new(&server_url().into(), None).unwrap())
}

async fn request_tenant(env: &TestEnv, subdomain: &str) -> (TenantId, TenantDatabase) {
    let id = TenantId::new();
    let database = TenantDatabase::for_tenant(&env.prefix, id);
    let endpoint: Endpoint = server().endpoint();
    let subdomain = Subdomain::parse(subdomain).unwrap();
    let mut conn = env.control.acquire().await.unwrap();
    registry::insert_requested(
        &mut conn,
        &NewTenant {
            id,
            subdomain: &subdomain,
            organisation: "Crashy",
            database: &database,
            endpoint: &endpoint,
        },
    )
    .await
    .unwrap();
    (id, database)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_interrupted_at_any_step_completes_after_a_restart_with_nothing_orphaned() {
    let env = TestEnv::new().await;
    let points = [
        Failpoint::AfterEffect(Lifecycle::DatabaseCreated),
        Failpoint::AfterRecord(Lifecycle::DatabaseCreated),
        Failpoint::AfterEffect(Lifecycle::SchemaApplied),
        Failpoint::AfterRecord(Lifecycle::SchemaApplied),
        Failpoint::AfterEffect(Lifecycle::KeyCreated),
        Failpoint::AfterRecord(Lifecycle::KeyCreated),
        Failpoint::AfterEffect(Lifecycle::Active),
    ];
    let mut expected_databases = Vec::new();
    for (index, point) in points.into_iter().enumerate() {
        let (id, database) = request_tenant(&env, &format!("crash-{index}")).await;

        // First worker: dies at the failpoint, holding its lease, as a killed process would.
        let doomed = Provisioner::new(env.control.clone(), server(), env.key_provider())
            .with_failpoint(Some(point));
        let owner = Uuid::new_v4();
        let claimed = doomed.claim(id, owner).await.unwrap().expect("claimable");
        let crashed = doomed.drive(claimed, owner).await;
        assert!(
            matches!(crashed, Err(ProvisionError::InjectedCrash(_))),
            "{point:?}: {crashed:?}"
        );
        drop(doomed);

        // While the dead worker's lease lasts, nobody else touches the tenant…
        let restarted = Provisioner::new(env.control.clone(), server(), env.key_provider());
        assert!(
            restarted.claim(id, Uuid::new_v4()).await.unwrap().is_none(),
            "{point:?}: lease ignored"
        );
        // …and once it expires, a fresh worker finishes the job.
        sqlx::query(
            "update tenant set lease_expires_at = now() - interval '1 second' where tenant_id = $1",
        )
        .bind(id)
        .execute(&env.control)
        .await
        .unwrap();
        let owner = Uuid::new_v4();
        let claimed = restarted
            .claim(id, owner)
            .await
            .unwrap()
            .expect("claimable after the lease expired");
        assert_eq!(
            restarted.drive(claimed, owner).await.unwrap(),
            Lifecycle::Active,
            "{point:?}"
        );

        let tenant = registry::find(&env.control, id).await.unwrap().unwrap();
        assert_eq!(tenant.status(), TenantStatus::Active, "{point:?}");
        assert_eq!(tenant.attempts, 0);
        expected_databases.push(database.name.clone());
        expected_databases.sort();
        assert_eq!(
            env.tenant_databases().await,
            expected_databases,
            "{point:?}: orphaned or missing database"
        );
        assert_eq!(
            env.tenant_roles().await,
            expected_databases,
            "{point:?}: orphaned or missing role"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_is_retried_with_back_off_and_marked_failed_after_too_many() {
    let env = TestEnv::new().await;
    let (id, _) = request_tenant(&env, "flaky").await;
    // A server that cannot be reached: every step fails.
    let unreachable = Arc::new(
        PostgresServer::new(
            &"postgres://postgres:x@127.0.0.1:1/postgres"
                .to_owned()
                .into(),
            None,
        )
        .unwrap()
        .with_acquire_timeout(Duration::from_millis(200)),
    );
    let policy = provisioning::lifecycle::RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
    };
    let provisioner =
        Provisioner::new(env.control.clone(), unreachable, env.key_provider()).with_policy(policy);
    for attempt in 1..=3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let owner = Uuid::new_v4();
        let claimed = provisioner.claim_due(owner, 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        assert!(provisioner
            .drive(claimed.into_iter().next().unwrap(), owner)
            .await
            .is_err());
        let tenant = registry::find(&env.control, id).await.unwrap().unwrap();
        assert_eq!(tenant.attempts, attempt);
        assert!(tenant.last_error.is_some());
    }
    let tenant = registry::find(&env.control, id).await.unwrap().unwrap();
    assert_eq!(tenant.status(), TenantStatus::Failed);
    assert!(
        provisioner
            .claim_due(Uuid::new_v4(), 10)
            .await
            .unwrap()
            .is_empty(),
        "failed tenants wait for an operator"
    );

    // The operator's retry resumes where it stopped, on a server that works.
    let healthy = Provisioner::new(env.control.clone(), server(), env.key_provider());
    healthy.retry(id).await.unwrap();
    let owner = Uuid::new_v4();
    let claimed = healthy.claim_due(owner, 10).await.unwrap();
    assert_eq!(
        healthy
            .drive(claimed.into_iter().next().unwrap(), owner)
            .await
            .unwrap(),
        Lifecycle::Active
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_stopped_mid_provisioning_finishes_the_tenant_when_restarted() {
    let env = TestEnv::new().await;
    let doomed = env
        .start_control_plane_with(&["--failpoint", "after-effect:key_created"])
        .await;
    let tenant = signup_only(&doomed, "restarted").await;
    for _ in 0..200 {
        let lifecycle: String =
            sqlx::query_scalar("select lifecycle from tenant where tenant_id = $1")
                .bind(tenant.tenant_id)
                .fetch_one(&env.control)
                .await
                .unwrap();
        if lifecycle == "schema_applied" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(doomed); // aborted, not drained: a crash

    let restarted = env.start_control_plane().await;
    let status: serde_json::Value =
        reqwest::get(restarted.url(&format!("/api/signups/{}?wait=20", tenant.tenant_id)))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(status["status"], "active", "{status}");

    let api = env.start_tenant_api().await;
    let client = TenantClient::new(&api, "restarted");
    assert_eq!(
        client
            .authed(Method::GET, "/", &tenant.read_write)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(env.tenant_databases().await.len(), 1);
    assert_eq!(env.tenant_roles().await.len(), 1);
}
