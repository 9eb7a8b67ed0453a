//! The connection budget: however many tenants are hit at once, the tenant API never holds more
//! PostgreSQL connections than its budget — watched from the server's side in pg_stat_activity.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};

const BUDGET: i64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tenants_hit_at_once_never_exceed_the_connection_budget() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env
        .start_tenant_api_with(&[
            "--connection-budget",
            &BUDGET.to_string(),
            "--tenant-pool-max-connections",
            "2",
            "--tenant-pool-acquire-timeout-ms",
            "20000",
        ])
        .await;
    let mut tenants = Vec::new();
    for i in 0..10 {
        tenants.push(signup(&cp, &format!("busy-{i}")).await);
    }

    // Watch the server: connections of the tenant API to this test's tenant databases.
    let admin = env.server_admin().await;
    let peak = Arc::new(AtomicI64::new(0));
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (peak, watching, prefix) = (
            peak.clone(),
            watching.clone(),
            env.prefix.as_str().to_owned(),
        );
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                let now: i64 = sqlx::query_scalar(
                    "select count(*) from pg_stat_activity
                     where application_name = 'treaty-tenant-api' and starts_with(datname, $1)",
                )
                .bind(&prefix)
                .fetch_one(&admin)
                .await
                .unwrap();
                peak.fetch_max(now, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    for round in 0..3 {
        let requests = tenants.iter().flat_map(|tenant| {
            let client = TenantClient::new(&api, &tenant.subdomain);
            (0..6).map(move |_| {
                let (client, token) = (client.clone(), tenant.read_write.clone());
                async move {
                    // A query on the tenant's database (no such pact: 404).
                    client
                        .authed(Method::GET, "/pacts/provider/P/consumer/C/latest", &token)
                        .send()
                        .await
                        .unwrap()
                        .status()
                }
            })
        });
        let statuses = futures::future::join_all(requests).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::NOT_FOUND),
            "round {round}: {statuses:?}"
        );
        let stats = api.pools.stats();
        assert!(i64::from(stats.reserved_connections) <= BUDGET, "{stats:?}");
    }
    watching.store(false, Ordering::Relaxed);
    watcher.await.unwrap();
    let peak = peak.load(Ordering::Relaxed);
    assert!(
        peak <= BUDGET,
        "the tenant API held {peak} connections with a budget of {BUDGET}"
    );
    assert!(
        peak >= 2,
        "the watcher saw {peak} connections: it is not watching the right thing"
    );
}
