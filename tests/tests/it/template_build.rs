//! The tenant template build and administrative sessions: the build succeeds every time from
//! nothing while the server is busy (it once lost a race with a connection sqlx's pool kept
//! after `close`, sqlx#3217), resumes after a crash between its steps, and provisioning leaves no
//! administrative session on a tenant database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use provisioning::database_server::{DatabaseServer, PostgresServer};
use provisioning::{Failpoint, ProvisionError, TemplateDatabase};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tests::env::server_url;
use tests::tenant_client::signup;
use tests::TestEnv;

/// A server building this test's own template (never the shared one other tests copy).
fn server(env: &TestEnv, failpoint: Option<Failpoint>) -> PostgresServer {
    let template = TemplateDatabase::for_current_schema_with_prefix(&format!(
        "{}template_",
        env.prefix.as_str()
    ));
    PostgresServer::new(&server_url().into(), None)
        .unwrap()
        .with_template(template)
        .with_failpoint(failpoint)
}

/// (is_template, allow_connections) of `name`, if it exists.
async fn database_state(admin: &PgPool, name: &str) -> Option<(bool, bool)> {
    sqlx::query_as("select datistemplate, datallowconn from pg_database where datname = $1")
        .bind(name)
        .fetch_optional(admin)
        .await
        .unwrap()
}

async fn drop_template(admin: &PgPool, name: &str) {
    for statement in [
        format!("alter database \"{name}\" with is_template false"),
        format!("drop database \"{name}\" with (force)"),
    ] {
        sqlx::raw_sql(&statement).execute(admin).await.unwrap();
    }
}

/// Keeps the server busy until dropped: connections opened and closed, queries running.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..workers)
            .map(|worker| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(pool) = PgPoolOptions::new()
                            .max_connections(3)
                            .connect(&server_url())
                            .await
                        else {
                            continue;
                        };
                        let queries = (0..3).map(|_| {
                            sqlx::query("select count(*) from pg_class a, pg_class b where a.oid > b.oid + $1")
                                .bind(worker as i32)
                                .execute(&pool)
                        });
                        let _ = futures::future::join_all(queries).await;
                        // Dropped without awaiting close, as busy applications do.
                        drop(pool);
                    }
                })
            })
            .collect();
        Self { stop, tasks }
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_builds_thirty_times_in_a_row_from_nothing_while_the_server_is_busy() {
    let env = TestEnv::new().await;
    let admin = env.server_admin().await;
    let server = server(&env, None);
    let name = server.template().name().to_owned();
    let load = Load::start(4);
    let started = Instant::now();
    let mut failures = Vec::new();
    for build in 0..30 {
        if database_state(&admin, &name).await.is_some() {
            drop_template(&admin, &name).await;
        }
        if let Err(err) = server.ensure_template().await {
            failures.push(format!("build {build}: {err}"));
            continue;
        }
        assert_eq!(
            database_state(&admin, &name).await,
            Some((true, false)),
            "build {build} leaves a template nobody connects to"
        );
        assert_eq!(
            database_state(&admin, &server.template().build_name()).await,
            None
        );
        assert_eq!(server.sessions_on(&name).await.unwrap(), 0, "build {build}");
    }
    load.stop().await;
    eprintln!("30 template builds in {:?}", started.elapsed());
    assert!(failures.is_empty(), "{failures:#?}");
    drop_template(&admin, &name).await;
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_build_stopped_between_its_steps_completes_on_the_next_start() {
    let env = TestEnv::new().await;
    let admin = env.server_admin().await;
    for (point, left_behind) in [
        // Built under the temporary name, not yet renamed.
        (Failpoint::TemplateBuilt, "build"),
        // Renamed into place, not yet marked a template.
        (Failpoint::TemplateRenamed, "unmarked"),
    ] {
        let crashed = server(&env, Some(point));
        let name = crashed.template().name().to_owned();
        let build_name = crashed.template().build_name();
        assert!(matches!(
            crashed.ensure_template().await,
            Err(ProvisionError::InjectedCrash(_))
        ));
        crashed.close().await;
        match left_behind {
            "build" => {
                assert_eq!(database_state(&admin, &name).await, None);
                assert!(database_state(&admin, &build_name).await.is_some());
            }
            _ => {
                assert_eq!(database_state(&admin, &name).await, Some((false, true)));
                assert_eq!(database_state(&admin, &build_name).await, None);
            }
        }

        // The next start: the build completes and tenants can be created from it.
        let restarted = server(&env, None);
        restarted.ensure_template().await.unwrap();
        assert_eq!(
            database_state(&admin, &name).await,
            Some((true, false)),
            "{point:?}"
        );
        assert_eq!(database_state(&admin, &build_name).await, None, "{point:?}");
        let copy = format!("{}copy", env.prefix.as_str());
        sqlx::raw_sql(&format!("create database \"{copy}\" template \"{name}\""))
            .execute(&admin)
            .await
            .unwrap();
        let tables: i64 = sqlx::query_scalar(
            "select count(*) from information_schema.tables where table_name = 'pacticipant'",
        )
        .fetch_one(
            &PgPoolOptions::new()
                .max_connections(1)
                .connect(&env.database_url(&copy))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(tables, 1, "{point:?}: the copy has the tenant schema");
        sqlx::raw_sql(&format!("drop database \"{copy}\" with (force)"))
            .execute(&admin)
            .await
            .unwrap();
        drop_template(&admin, &name).await;
        restarted.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_provisioning_no_administrative_session_remains_on_a_tenant_database() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let server = PostgresServer::new(&server_url().into(), None).unwrap();
    for subdomain in ["sessions-a", "sessions-b", "sessions-c"] {
        let tenant = signup(&cp, subdomain).await;
        let database: String =
            sqlx::query_scalar("select db_name from tenant where tenant_id = $1")
                .bind(tenant.tenant_id)
                .fetch_one(&env.control)
                .await
                .unwrap();
        // A closed session's backend exits within milliseconds of its Terminate message; a
        // session a pool kept would still be there after this.
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut sessions = server.sessions_on(&database).await.unwrap();
        while sessions > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            sessions = server.sessions_on(&database).await.unwrap();
        }
        assert_eq!(sessions, 0, "sessions left on {subdomain}'s database");
    }
    server.close().await;
}
