//! Tenant isolation, tested by trying to break it: tokens across hosts, spoofed hosts, database
//! roles across databases, the router role beyond its views, and secrets at rest.

use provisioning::credentials::{self, StoredKey};
use provisioning::registry::{self, TenantRecord};
use provisioning::TenantId;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tests::env::server_url;
use tests::tenant_client::signup;
use tests::{TenantClient, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_one_tenant_is_refused_on_another_tenants_host() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let api = env.start_tenant_api().await;
    let a = signup(&cp, "tenant-a").await;
    let b = signup(&cp, "tenant-b").await;
    let on_a = TenantClient::new(&api, "tenant-a");
    let on_b = TenantClient::new(&api, "tenant-b");
    let pact = json!({"consumer": {"name": "C"}, "provider": {"name": "P"}, "interactions": []});
    assert_eq!(
        on_a.authed(
            Method::PUT,
            "/pacts/provider/P/consumer/C/version/1",
            &a.read_write
        )
        .json(&pact)
        .send()
        .await
        .unwrap()
        .status(),
        StatusCode::CREATED
    );

    for token in [&a.read_write, &a.read_only] {
        for (method, path) in [
            (Method::GET, "/"),
            (Method::GET, "/pacts/provider/P/consumer/C/latest"),
        ] {
            let response = on_b
                .authed(method.clone(), path, token)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} on B with A's token"
            );
        }
    }
    let write = on_b
        .authed(
            Method::PUT,
            "/pacts/provider/P/consumer/C/version/2",
            &a.read_write,
        )
        .json(&pact)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::UNAUTHORIZED);

    // Spoofing the host through X-Forwarded-Host does not move a request to another tenant
    // unless the operator trusts a proxy.
    let spoofed = on_a
        .authed(
            Method::GET,
            "/pacts/provider/P/consumer/C/latest",
            &b.read_write,
        )
        .header("x-forwarded-host", "tenant-b.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(
        spoofed.status(),
        StatusCode::UNAUTHORIZED,
        "B's token on A's host stays refused"
    );
    let own_data = on_b
        .authed(
            Method::GET,
            "/pacts/provider/P/consumer/C/latest",
            &b.read_write,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        own_data.status(),
        StatusCode::NOT_FOUND,
        "B must not see A's pact"
    );
}

async fn tenant_password(env: &TestEnv, tenant: &TenantRecord) -> String {
    let keys = env.key_provider();
    let stored = StoredKey {
        tenant: tenant.tenant_id,
        key_provider: tenant.key_provider.as_deref().unwrap(),
        wrapped_data_key: tenant.wrapped_data_key.as_deref().unwrap(),
        data_key_version: tenant.data_key_version,
    };
    let sealer = credentials::sealer_for(keys.as_ref(), &stored)
        .await
        .unwrap();
    credentials::open_database_password(
        &sealer,
        &tenant.db_role,
        tenant.db_password_sealed.as_deref().unwrap(),
    )
    .unwrap()
    .expose_secret()
    .to_owned()
}

fn as_role(role: &str, password: &str, database: &str) -> PgConnectOptions {
    let server: PgConnectOptions = server_url().parse().unwrap();
    server
        .username(role)
        .password(password)
        .database(database)
        .log_statements(log::LevelFilter::Off)
}

fn sqlstate(err: &sqlx::Error) -> String {
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_else(|| format!("{err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_role_cannot_connect_to_another_tenants_database() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let a = signup(&cp, "role-a").await;
    let b = signup(&cp, "role-b").await;
    let a = registry::find(&env.control, TenantId(a.tenant_id))
        .await
        .unwrap()
        .unwrap();
    let b = registry::find(&env.control, TenantId(b.tenant_id))
        .await
        .unwrap()
        .unwrap();
    let a_password = tenant_password(&env, &a).await;

    let mut own = as_role(&a.db_role, &a_password, &a.db_name)
        .connect()
        .await
        .expect("A reaches its own database");
    sqlx::query("select count(*) from pacticipant")
        .execute(&mut own)
        .await
        .expect("A reads its data");
    // Its catalogs do not list the server's other databases.
    let listing = sqlx::query("select datname from pg_database")
        .fetch_all(&mut own)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&listing), "42501");
    // No DDL on the broker schema.
    let ddl = sqlx::query("drop table pacticipant cascade")
        .execute(&mut own)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&ddl), "42501");
    own.close().await.unwrap();

    let other = as_role(&a.db_role, &a_password, &b.db_name)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        sqlstate(&other),
        "42501",
        "A's role must not connect to B's database: {other}"
    );
    let wrong_password = as_role(&a.db_role, "not-the-password", &a.db_name)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        sqlstate(&wrong_password),
        "28P01",
        "the password is checked: {wrong_password}"
    );
    let router = as_role(&env.router_role, tests::env::ROUTER_PASSWORD, &b.db_name)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        sqlstate(&router),
        "42501",
        "the router role must not reach tenant databases"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_role_cannot_create_schemas_or_tables_that_would_shadow_the_broker_schema() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let tenant = signup(&cp, "shadow").await;
    let tenant = registry::find(&env.control, TenantId(tenant.tenant_id))
        .await
        .unwrap()
        .unwrap();
    let password = tenant_password(&env, &tenant).await;
    let mut own = as_role(&tenant.db_role, &password, &tenant.db_name)
        .connect()
        .await
        .expect("the tenant role reaches its database");
    for (statement, what) in [
        ("create schema shadow", "a schema"),
        ("create table public.shadow (id int)", "a table in public"),
        ("create view public.shadow as select 1", "a view in public"),
        (
            "create function public.shadow() returns int language sql as 'select 1'",
            "a function in public",
        ),
    ] {
        let err = sqlx::query(statement).execute(&mut own).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42501", "{what} must be refused: {err}");
    }
    // Not the owner: it cannot give itself CREATE back (PostgreSQL only warns that nothing was
    // granted).
    let regrant = format!(
        "grant create on database \"{}\" to \"{}\"",
        tenant.db_name, tenant.db_role
    );
    let _ = sqlx::query(&regrant).execute(&mut own).await;
    let err = sqlx::query("create schema shadow")
        .execute(&mut own)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42501", "after re-granting CREATE: {err}");
    // The search path is pinned with temporary objects last: a temporary table of a broker
    // table's name does not shadow it.
    let path: String = sqlx::query_scalar("show search_path")
        .fetch_one(&mut own)
        .await
        .unwrap();
    assert_eq!(path, "public, pg_temp");
    sqlx::query("create temporary table pacticipant (shadowed boolean)")
        .execute(&mut own)
        .await
        .unwrap();
    sqlx::query("select name from pacticipant")
        .fetch_all(&mut own)
        .await
        .expect("unqualified names still reach the broker's table");
    own.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_role_reads_the_routing_views_and_nothing_else() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let _tenant = signup(&cp, "routed").await;
    let mut router = sqlx::PgConnection::connect(&env.router_url).await.unwrap();

    let routes: i64 = sqlx::query_scalar("select count(*) from router.tenant_route")
        .fetch_one(&mut router)
        .await
        .unwrap();
    assert_eq!(routes, 1);
    sqlx::query("select token_hash from router.api_token_grant")
        .fetch_all(&mut router)
        .await
        .unwrap();
    for forbidden in [
        "select * from public.tenant",
        "select password_hash from public.app_user",
        "select * from public.api_token",
        "update router.tenant_route set plan = 'enterprise'",
        "delete from router.api_token_grant",
        "update public.api_token set revoked_at = null",
        "select * from public.user_session",
        "select * from public.email_link",
        "insert into public.tenant (tenant_id) values (gen_random_uuid())",
    ] {
        let err = sqlx::query(forbidden)
            .execute(&mut router)
            .await
            .unwrap_err();
        // 42501: permission denied; 0A000 / 55000: the view cannot be written through at all.
        assert!(
            ["42501", "0A000", "55000"].contains(&sqlstate(&err).as_str()),
            "{forbidden}: {err}"
        );
    }
    let unchanged: i64 =
        sqlx::query_scalar("select count(*) from router.tenant_route where plan = 'starter'")
            .fetch_one(&mut router)
            .await
            .unwrap();
    assert_eq!(unchanged, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_stored_only_sealed_or_hashed() {
    let env = TestEnv::new().await;
    let cp = env.start_control_plane().await;
    let signed_up = signup(&cp, "sealed").await;
    let tenant = registry::find(&env.control, TenantId(signed_up.tenant_id))
        .await
        .unwrap()
        .unwrap();
    let password = tenant_password(&env, &tenant).await;
    assert!(password.len() >= 32);

    let everything: String = sqlx::query_scalar(
        "select coalesce((select string_agg(t::text, ' ') from tenant t), '') || (select string_agg(u::text, ' ') from app_user u) || (select string_agg(k::text, ' ') from api_token k)",
    )
    .fetch_one(&env.control)
    .await
    .unwrap();
    for secret in [
        &password,
        &signed_up.read_write,
        &signed_up.read_only,
        &"correct horse battery staple".to_owned(),
    ] {
        assert!(
            !everything.contains(secret.as_str()),
            "a secret is stored in clear"
        );
    }
    // The wrapped key does not open for another tenant.
    let keys = env.key_provider();
    let wrapped = provisioning::keys::WrappedKey(tenant.wrapped_data_key.clone().unwrap());
    assert!(keys
        .unwrap_data_key(TenantId::new(), &wrapped)
        .await
        .is_err());
}

/// Collects everything a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn the_router_roles_password_verifier_never_reaches_a_statement_log() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            // Creates the router role once; setting its password again takes the other path.
            let env = TestEnv::new().await;
            sqlx::query("select 'this statement is logged'")
                .execute(&env.control)
                .await
                .unwrap();
            control_plane::setup::ensure_router_login(
                &env.control,
                &env.router_role,
                &"another-router-password".to_owned().into(),
            )
            .await
            .unwrap();
        })
    });
    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("this statement is logged"),
        "the capture sees sqlx's statement log"
    );
    assert!(
        !log.contains("SCRAM-SHA-256$"),
        "a router password verifier was logged"
    );
}
