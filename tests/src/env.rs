//! One test's world: its own control database, its own tenant-database prefix and master key on
//! the shared test server, all dropped when the test ends.

use std::path::PathBuf;
use std::sync::Once;

use provisioning::database_server::DatabasePrefix;
use provisioning::keys::{KeyProvider, LocalKms};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tempfile::TempDir;
use url::Url;

/// The password of each test's router login role.
pub const ROUTER_PASSWORD: &str = "router-it-password";

/// Superuser URL of the test server.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Redis for the tests that use it.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
                .with_test_writer()
                .try_init();
        }
    });
}

/// `url` with another database, user or password.
pub fn with_parts(url: &str, database: Option<&str>, user: Option<(&str, &str)>) -> String {
    let mut url = Url::parse(url).expect("valid database URL");
    if let Some(database) = database {
        url.set_path(&format!("/{database}"));
    }
    if let Some((user, password)) = user {
        url.set_username(user).expect("URL takes a user");
        url.set_password(Some(password))
            .expect("URL takes a password");
    }
    url.to_string()
}

pub struct TestEnv {
    pub id: String,
    /// The control database as its owner (a superuser).
    pub control_url: String,
    pub control: PgPool,
    /// The control database as the tenant API's router role.
    pub router_url: String,
    /// That role (one per test: roles are server-wide and tests run in parallel).
    pub router_role: String,
    pub prefix: DatabasePrefix,
    key_dir: TempDir,
}

impl TestEnv {
    pub async fn new() -> Self {
        init_tracing();
        let id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let admin = admin_pool(&server_url()).await;
        let control_name = format!("treaty_it_{id}");
        sqlx::raw_sql(&format!("create database \"{control_name}\""))
            .execute(&admin)
            .await
            .expect("create control db");
        admin.close().await;

        let control_url = with_parts(&server_url(), Some(&control_name), None);
        let control = PgPoolOptions::new()
            .max_connections(5)
            .connect(&control_url)
            .await
            .expect("control pool");
        provisioning::migrations::migrate_control(&control)
            .await
            .expect("control migrations");
        let router_role = format!("itrouter_{id}");
        control_plane::setup::ensure_router_login(
            &control,
            &router_role,
            &ROUTER_PASSWORD.to_owned().into(),
        )
        .await
        .expect("router login");
        let router_url = with_parts(&control_url, None, Some((&router_role, ROUTER_PASSWORD)));
        let prefix = DatabasePrefix::parse(&format!("it_{id}_")).expect("prefix");
        let key_dir = tempfile::tempdir().expect("temp dir");
        Self {
            id,
            control_url,
            control,
            router_url,
            router_role,
            prefix,
            key_dir,
        }
    }

    /// Where this test's control planes write e-mail (development file transport).
    pub fn mail_dir(&self) -> PathBuf {
        self.key_dir.path().join("mail")
    }

    pub fn master_key_file(&self) -> PathBuf {
        self.key_dir.path().join("master.key")
    }

    /// The local key provider both services of this test use.
    pub fn key_provider(&self) -> std::sync::Arc<dyn KeyProvider> {
        std::sync::Arc::new(LocalKms::open_or_create(&self.master_key_file()).expect("master key"))
    }

    /// A superuser connection to the server (not to a tenant database).
    pub async fn server_admin(&self) -> PgPool {
        admin_pool(&server_url()).await
    }

    /// A superuser URL of the named database on the test server.
    pub fn database_url(&self, database: &str) -> String {
        with_parts(&server_url(), Some(database), None)
    }

    /// A superuser pool on the database of tenant `tenant_id`, for fixtures and assertions that
    /// HTTP cannot express (the services themselves never connect this way).
    pub async fn tenant_database(&self, tenant_id: uuid::Uuid) -> PgPool {
        let name: String = sqlx::query_scalar("select db_name from tenant where tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&self.control)
            .await
            .expect("tenant exists");
        PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.database_url(&name))
            .await
            .expect("tenant database")
    }

    /// Databases on the server whose names start with this test's tenant prefix.
    pub async fn tenant_databases(&self) -> Vec<String> {
        let admin = self.server_admin().await;
        let names = sqlx::query_scalar(
            "select datname from pg_database where starts_with(datname, $1) order by 1",
        )
        .bind(self.prefix.as_str())
        .fetch_all(&admin)
        .await
        .expect("list databases");
        admin.close().await;
        names
    }

    /// Roles on the server whose names start with this test's tenant prefix.
    pub async fn tenant_roles(&self) -> Vec<String> {
        let admin = self.server_admin().await;
        let names = sqlx::query_scalar(
            "select rolname::text from pg_roles where starts_with(rolname, $1) order by 1",
        )
        .bind(self.prefix.as_str())
        .fetch_all(&admin)
        .await
        .expect("list roles");
        admin.close().await;
        names
    }
}

async fn admin_pool(url: &str) -> PgPool {
    let options: PgConnectOptions = url.parse().expect("TEST_DATABASE_URL");
    PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap_or_else(|err| {
            panic!("cannot reach the test PostgreSQL server ({url}): {err}; `make test` starts one")
        })
}

impl Drop for TestEnv {
    /// Drops this test's databases and roles. Tests run on the multi-thread runtime, so the
    /// cleanup blocks only this worker while the others keep the services' connections alive
    /// and closing (on a blocked current-thread runtime, DROP DATABASE would wait for them).
    fn drop(&mut self) {
        let id = self.id.clone();
        let prefix = self.prefix.as_str().to_owned();
        let router_role = self.router_role.clone();
        let cleanup = async move {
            let admin = admin_pool(&server_url()).await;
            let databases: Vec<String> = sqlx::query_scalar(
                "select datname from pg_database where starts_with(datname, $1) or datname = $2",
            )
            .bind(&prefix)
            .bind(format!("treaty_it_{id}"))
            .fetch_all(&admin)
            .await
            .unwrap_or_default();
            for database in databases {
                let _ = sqlx::raw_sql(&format!(
                    "drop database if exists \"{database}\" with (force)"
                ))
                .execute(&admin)
                .await;
            }
            let roles: Vec<String> = sqlx::query_scalar(
                "select rolname::text from pg_roles where starts_with(rolname, $1)",
            )
            .bind(&prefix)
            .fetch_all(&admin)
            .await
            .unwrap_or_default();
            for role in roles.into_iter().chain([router_role]) {
                let _ = sqlx::raw_sql(&format!("drop role if exists \"{role}\""))
                    .execute(&admin)
                    .await;
            }
            admin.close().await;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| handle.block_on(cleanup));
            }
            _ => {
                let thread = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime")
                        .block_on(cleanup)
                });
                let _ = thread.join();
            }
        }
    }
}
