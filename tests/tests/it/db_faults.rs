//! Database trouble seen from a client: a statement that runs too long is cut off and answered
//! 503 (problem JSON, `Retry-After`), data PostgreSQL refuses is a 400, and under pressure from
//! many tenants the pool manager never closes a pool with a request in flight. (Whole-server
//! faults — PostgreSQL stopped or killed, Redis killed — are `infra/dev/faults.sh`.)

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};

/// A superuser connection to the tenant's database that holds `pacticipant` locked exclusively
/// until it is dropped (or committed): every read of the table waits behind it.
async fn lock_pacticipants(env: &TestEnv, tenant_id: uuid::Uuid) -> sqlx::PgConnection {
    let name: String = sqlx::query_scalar("select db_name from tenant where tenant_id = $1")
        .bind(tenant_id)
        .fetch_one(&env.control)
        .await
        .unwrap();
    let mut conn = sqlx::PgConnection::connect(&env.database_url(&name))
        .await
        .unwrap();
    sqlx::raw_sql("begin; lock table pacticipant in access exclusive mode")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_statement_is_cut_off_by_the_statement_timeout_and_answered_503() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env
        .start_tenant_api_with(&["--tenant-db-statement-timeout-ms", "300"])
        .await;
    let tenant = signup(&cp, "slowquery").await;
    let client = TenantClient::new(&api, &tenant.subdomain);

    let lock = lock_pacticipants(&env, tenant.tenant_id).await;
    let started = Instant::now();
    let response = client
        .authed(Method::GET, "/pacticipants", &tenant.read_only)
        .header("Accept", "application/hal+json")
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("answered before the client's own timeout");
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "statement_timeout", "{body}");
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    drop(lock);

    // The connection is fine afterwards.
    let response = client
        .authed(Method::GET, "/pacticipants", &tenant.read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_postgresql_refuses_is_a_400_never_a_500() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let tenant = signup(&cp, "nuldata").await;
    let client = TenantClient::new(&api, &tenant.subdomain);
    for path in ["/pacticipants/a%00b", "/pacticipants/a%00b/versions/1"] {
        let response = client
            .authed(Method::GET, path, &tenant.read_write)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
    }
}

/// The SQLSTATE classes map as documented, on errors a real server raises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_database_errors_are_classified_for_http() {
    let env = TestEnv::new().await;
    let checks = [
        ("select 1/0", StatusCode::BAD_REQUEST),
        ("select 'abc'::int", StatusCode::BAD_REQUEST),
        (
            "set statement_timeout = 50; select pg_sleep(1)",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            "select * from no_such_table",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ];
    for (sql, expected) in checks {
        let mut conn = sqlx::PgConnection::connect(&env.control_url).await.unwrap();
        let err = sqlx::raw_sql(sql).execute(&mut conn).await.unwrap_err();
        let (status, _) = tenant_api::error::Error::from(err).code();
        assert_eq!(status, expected, "{sql}");
    }
    // A server that closes the connection (as a shutdown does): 503, and a retry is offered.
    let mut victim = sqlx::PgConnection::connect(&env.control_url).await.unwrap();
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut victim)
        .await
        .unwrap();
    sqlx::query("select pg_terminate_backend($1)")
        .bind(pid)
        .execute(&env.control)
        .await
        .unwrap();
    let err = sqlx::query("select 1")
        .execute(&mut victim)
        .await
        .unwrap_err();
    let err = tenant_api::error::Error::from(err);
    assert!(
        matches!(
            err,
            tenant_api::error::Error::DatabaseUnavailable {
                connection_lost: true
            }
        ),
        "{err:?}"
    );
}

const OTHERS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_with_a_request_in_flight_is_never_closed_under_pressure_from_40_tenants() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env
        .start_tenant_api_with(&[
            "--connection-budget",
            "4",
            "--tenant-pool-max-connections",
            "2",
            "--tenant-pool-acquire-timeout-ms",
            "500",
        ])
        .await;
    let bystander = signup(&cp, "bystander").await;
    let mut others = Vec::new();
    for batch in (0..OTHERS).collect::<Vec<_>>().chunks(8) {
        let signups = batch.iter().map(|i| {
            let (cp, name) = (&cp, format!("cycled-{i}"));
            async move { signup(cp, &name).await }
        });
        others.extend(futures::future::join_all(signups).await);
    }

    // The bystander's request waits on a lock in its database: its connection is checked out.
    let lock = lock_pacticipants(&env, bystander.tenant_id).await;
    let client = TenantClient::new(&api, &bystander.subdomain);
    let in_flight = tokio::spawn({
        let (client, token) = (client.clone(), bystander.read_only.clone());
        async move {
            client
                .authed(Method::GET, "/pacticipants", &token)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let admin = env.server_admin().await;
    let bystander_db: String =
        sqlx::query_scalar("select db_name from tenant where tenant_id = $1")
            .bind(bystander.tenant_id)
            .fetch_one(&env.control)
            .await
            .unwrap();
    let backend = || {
        sqlx::query_scalar::<_, i32>(
            "select pid from pg_stat_activity
             where application_name = 'treaty-tenant-api' and datname = $1 order by pid limit 1",
        )
        .bind(&bystander_db)
        .fetch_optional(&admin)
    };
    let mut pid = None;
    for _ in 0..100 {
        pid = backend().await.unwrap();
        if pid.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = pid.expect("the bystander's request reached its database");

    // Forty other tenants, three rounds each, all wanting room in the budget.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let requests = others.iter().map(|tenant| {
            let client = TenantClient::new(&api, &tenant.subdomain);
            let token = tenant.read_only.clone();
            async move {
                client
                    .authed(Method::GET, "/pacts/provider/P/consumer/C/latest", &token)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        });
        statuses.extend(futures::future::join_all(requests).await);
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::NOT_FOUND || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::NOT_FOUND),
        "the others never got room: {statuses:?}"
    );

    drop(lock);
    assert_eq!(in_flight.await.unwrap(), StatusCode::OK);
    // The bystander's connection went back to its pool, still open: the pool was never closed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let still: Vec<i32> = sqlx::query_scalar(
        "select pid from pg_stat_activity where application_name = 'treaty-tenant-api' and datname = $1",
    )
    .bind(&bystander_db)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(
        still.contains(&pid),
        "the bystander's pool was closed under pressure (its connection {pid} is gone: {still:?})"
    );
    let stats = api.pools.stats();
    assert!(stats.reserved_connections <= 4, "{stats:?}");
}
