//! Tenant databases and roles on a PostgreSQL server: create, check, set credentials, drop.
//!
//! Every operation is idempotent in the *check, then create* sense, so the lifecycle can re-run a
//! step after a crash at any point: a role or database that already exists is adopted, never
//! duplicated, and grants are re-applied every time. Identifiers are built only from the
//! configured prefix and the tenant id (see [`TenantDatabase`]) and are always quoted.
//!
//! [`DatabaseServer`] is the seam for placement: [`PostgresServer`] manages databases on a server
//! we are given (local, or shared RDS); a dedicated-instance implementation (RDS, Enterprise plan)
//! creates the instance first and then does the same inside it.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgPool};

use crate::admin_session;
use crate::sql_names::{like_escape, quote_ident};
use crate::template::TemplateDatabase;
use crate::{migrations, scram, ProvisionError, TenantId};

/// Where tenant databases live as seen by the tenant API: stored with each tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// The names of one tenant's database and login role (the same string; both are per tenant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantDatabase {
    pub name: String,
    pub role: String,
}

impl TenantDatabase {
    /// `<prefix><32 hex digits of the tenant id>`; a valid, collision-free PostgreSQL identifier.
    pub fn for_tenant(prefix: &DatabasePrefix, tenant: TenantId) -> Self {
        let name = format!("{}{}", prefix.0, tenant.simple());
        Self {
            role: name.clone(),
            name,
        }
    }
}

/// A validated prefix for tenant database and role names (`[a-z][a-z0-9_]{0,29}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabasePrefix(String);

impl DatabasePrefix {
    pub fn parse(prefix: &str) -> Result<Self, String> {
        let ok = (1..=30).contains(&prefix.len())
            && prefix.starts_with(|c: char| c.is_ascii_lowercase())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(prefix.to_owned()))
        } else {
            Err(format!(
                "tenant database prefix {prefix:?} must match [a-z][a-z0-9_]{{0,29}}"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a tenant's database and role exist on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Presence {
    pub database: bool,
    pub role: bool,
}

/// Creates, prepares and removes tenant databases on one placement target.
#[async_trait]
pub trait DatabaseServer: Send + Sync + 'static {
    /// Host and port the tenant API uses to reach databases placed here.
    fn endpoint(&self) -> Endpoint;

    /// Makes sure the template database for the current tenant schema exists.
    async fn ensure_template(&self) -> Result<(), ProvisionError>;

    /// Role (without login) and database from the template, owned by the role, `CONNECT` only
    /// for that role.
    async fn ensure_database(&self, db: &TenantDatabase) -> Result<(), ProvisionError>;

    /// Applies pending tenant migrations and (re)grants the role what the tenant API needs.
    /// Returns the schema version now in place.
    async fn apply_schema(&self, db: &TenantDatabase) -> Result<i64, ProvisionError>;

    /// Lets the role log in with `password` (sent as a SCRAM verifier, never in clear).
    async fn set_login_password(
        &self,
        db: &TenantDatabase,
        password: &SecretString,
    ) -> Result<(), ProvisionError>;

    /// Connects as the tenant role, proving the credentials work end to end.
    async fn check_login(
        &self,
        db: &TenantDatabase,
        password: &SecretString,
    ) -> Result<(), ProvisionError>;

    async fn presence(&self, db: &TenantDatabase) -> Result<Presence, ProvisionError>;

    /// Drops the database (terminating its sessions) and then the role. Absent ones are fine.
    async fn drop_database(&self, db: &TenantDatabase) -> Result<(), ProvisionError>;
}

/// How long provisioning waits for an administrative connection before the step fails (and is
/// retried with back-off).
const ADMIN_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Tenant databases on a PostgreSQL server reached with an administrative role (`CREATEDB`,
/// `CREATEROLE`; a superuser in development).
pub struct PostgresServer {
    admin: PgPool,
    admin_options: PgConnectOptions,
    endpoint: Endpoint,
    template: TemplateDatabase,
}

impl PostgresServer {
    /// `admin_url` reaches the server as the administrative role; `endpoint` is how the tenant
    /// API will reach it (often the same host and port).
    pub fn new(
        admin_url: &SecretString,
        endpoint: Option<Endpoint>,
    ) -> Result<Self, ProvisionError> {
        let admin_options: PgConnectOptions = admin_url.expose_secret().parse()?;
        let admin_options = admin_options
            .application_name("treaty-provisioning")
            .log_statements(log::LevelFilter::Off);
        let endpoint = endpoint.unwrap_or_else(|| Endpoint {
            host: admin_options.get_host().to_owned(),
            port: admin_options.get_port(),
        });
        let admin = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(ADMIN_ACQUIRE_TIMEOUT)
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(admin_options.clone());
        let template = TemplateDatabase::for_current_schema();
        Ok(Self {
            admin,
            admin_options,
            endpoint,
            template,
        })
    }

    /// Gives up on an unreachable server after `timeout` instead of the default 10 s.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.admin = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(timeout)
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(self.admin_options.clone());
        self
    }

    /// The template this server creates tenant databases from.
    pub fn template(&self) -> &TemplateDatabase {
        &self.template
    }

    /// Creates tenant databases from `template` instead (tests build their own).
    pub fn with_template(mut self, template: TemplateDatabase) -> Self {
        self.template = template;
        self
    }

    /// Stops template builds at a template failpoint, as a crash would (test builds only).
    #[cfg(feature = "failpoints")]
    pub fn with_failpoint(mut self, failpoint: Option<crate::failpoint::Failpoint>) -> Self {
        self.template = self.template.with_failpoint(failpoint);
        self
    }

    /// The administrative sessions on `database` other than the caller's (none should remain
    /// once provisioning is done with a tenant database).
    pub async fn sessions_on(&self, database: &str) -> Result<i64, ProvisionError> {
        Ok(sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
        )
        .bind(database)
        .fetch_one(&self.admin)
        .await?)
    }

    pub async fn close(&self) {
        self.admin.close().await;
    }

    /// Drops every template database except the current one (after a schema change).
    pub async fn drop_stale_templates(&self) -> Result<Vec<String>, ProvisionError> {
        self.template.drop_stale(&self.admin).await
    }

    /// Names of databases that start with `prefix` (for tests and operators hunting orphans).
    pub async fn databases_with_prefix(
        &self,
        prefix: &DatabasePrefix,
    ) -> Result<Vec<String>, ProvisionError> {
        let pattern = format!("{}%", like_escape(prefix.as_str()));
        Ok(
            sqlx::query_scalar("select datname from pg_database where datname like $1 order by 1")
                .bind(pattern)
                .fetch_all(&self.admin)
                .await?,
        )
    }

    /// Names of roles that start with `prefix`.
    pub async fn roles_with_prefix(
        &self,
        prefix: &DatabasePrefix,
    ) -> Result<Vec<String>, ProvisionError> {
        let pattern = format!("{}%", like_escape(prefix.as_str()));
        Ok(sqlx::query_scalar(
            "select rolname::text from pg_roles where rolname like $1 order by 1",
        )
        .bind(pattern)
        .fetch_all(&self.admin)
        .await?)
    }
}

/// SQLSTATEs meaning "it is already there", which check-then-create treats as success when two
/// attempts race.
fn already_exists(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| matches!(code.as_ref(), "42P04" | "42710" | "23505"))
}

#[async_trait]
impl DatabaseServer for PostgresServer {
    fn endpoint(&self) -> Endpoint {
        self.endpoint.clone()
    }

    async fn ensure_template(&self) -> Result<(), ProvisionError> {
        self.template.ensure(&self.admin, &self.admin_options).await
    }

    async fn ensure_database(&self, db: &TenantDatabase) -> Result<(), ProvisionError> {
        let role = quote_ident(&db.role);
        let name = quote_ident(&db.name);
        let presence = self.presence(db).await?;
        if !presence.role {
            match sqlx::raw_sql(&format!("create role {role} nologin"))
                .execute(&self.admin)
                .await
            {
                Err(err) if !already_exists(&err) => return Err(err.into()),
                _ => {}
            }
        }
        // A non-superuser administrator (RDS) may only create databases owned by roles it is a
        // member of; a superuser needs no membership, so it gets none.
        let is_superuser: bool =
            sqlx::query_scalar("select rolsuper from pg_roles where rolname = current_user")
                .fetch_one(&self.admin)
                .await?;
        if !is_superuser {
            sqlx::raw_sql(&format!("grant {role} to current_user"))
                .execute(&self.admin)
                .await?;
        }
        if !presence.database {
            self.ensure_template().await?;
            // Owned by the administrator: an owner could grant itself CREATE back.
            let create = format!(
                "create database {name} template {} strategy wal_log",
                quote_ident(self.template.name())
            );
            match sqlx::raw_sql(&create).execute(&self.admin).await {
                Err(err) if !already_exists(&err) => return Err(err.into()),
                _ => {}
            }
        }
        // Re-applied every time: a crash between CREATE DATABASE and these leaves them undone.
        sqlx::raw_sql(&format!("revoke all on database {name} from public"))
            .execute(&self.admin)
            .await?;
        sqlx::raw_sql(&format!(
            "grant connect, temporary on database {name} to {role}"
        ))
        .execute(&self.admin)
        .await?;
        Ok(())
    }

    async fn apply_schema(&self, db: &TenantDatabase) -> Result<i64, ProvisionError> {
        let name = quote_ident(&db.name);
        let role = quote_ident(&db.role);
        // The tenant role must not create anything that could shadow the broker's tables:
        // the administrator owns the database (an owner could grant itself CREATE back; older
        // tenants were created owned by their role), the role has no CREATE on it, and its
        // `search_path` is pinned with temporary objects last.
        for statement in [
            format!("alter database {name} owner to current_user"),
            format!("revoke create on database {name} from public, {role}"),
            format!("alter role {role} in database {name} set search_path = public, pg_temp"),
        ] {
            sqlx::raw_sql(&statement).execute(&self.admin).await?;
        }
        let options = self.admin_options.clone().database(&db.name);
        let db = db.clone();
        admin_session::detached(async move {
            let mut conn = admin_session::open(&options).await?;
            let applied = apply_schema_in(&mut conn, &db).await;
            admin_session::close(conn, &db.name).await;
            applied
        })
        .await
    }

    async fn set_login_password(
        &self,
        db: &TenantDatabase,
        password: &SecretString,
    ) -> Result<(), ProvisionError> {
        let verifier = scram::verifier(password.expose_secret());
        // The verifier is base64 and '$'/':' only, so it is safe inside a literal.
        let statement = format!(
            "alter role {} with login password '{verifier}'",
            quote_ident(&db.role)
        );
        sqlx::raw_sql(&statement).execute(&self.admin).await?;
        Ok(())
    }

    async fn check_login(
        &self,
        db: &TenantDatabase,
        password: &SecretString,
    ) -> Result<(), ProvisionError> {
        let options = self
            .admin_options
            .clone()
            .host(&self.endpoint.host)
            .port(self.endpoint.port)
            .username(&db.role)
            .password(password.expose_secret())
            .database(&db.name);
        let database = db.name.clone();
        admin_session::detached(async move {
            let mut conn = admin_session::open(&options).await?;
            let checked = select_one(&mut conn).await;
            admin_session::close(conn, &database).await;
            checked?;
            Ok(())
        })
        .await
    }

    async fn presence(&self, db: &TenantDatabase) -> Result<Presence, ProvisionError> {
        let (database, role): (bool, bool) = sqlx::query_as(
            "select exists(select 1 from pg_database where datname = $1),
                    exists(select 1 from pg_roles where rolname = $2)",
        )
        .bind(&db.name)
        .bind(&db.role)
        .fetch_one(&self.admin)
        .await?;
        Ok(Presence { database, role })
    }

    async fn drop_database(&self, db: &TenantDatabase) -> Result<(), ProvisionError> {
        // `with (force)` would terminate them silently; name them first.
        admin_session::clear_sessions(&self.admin, &db.name).await?;
        sqlx::raw_sql(&format!(
            "drop database if exists {} with (force)",
            quote_ident(&db.name)
        ))
        .execute(&self.admin)
        .await?;
        sqlx::raw_sql(&format!("drop role if exists {}", quote_ident(&db.role)))
            .execute(&self.admin)
            .await?;
        Ok(())
    }
}

/// A round trip on `conn`.
async fn select_one(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    conn.execute("select 1").await?;
    Ok(())
}

/// The tenant migrations and grants, inside the tenant database. The tenant role may read and
/// write its broker data, nothing more: no DDL on the tables (owned by the administrator), no
/// access to the migration history, no CREATE on `public`, and no view of the server's other
/// databases and roles through the catalogs.
/// (`Executor::execute`, not `sqlx::raw_sql`: a `raw_sql` future on `&mut PgConnection` trips
/// rustc's higher-ranked `Send` inference inside `async_trait` methods.)
async fn apply_schema_in(
    conn: &mut PgConnection,
    db: &TenantDatabase,
) -> Result<i64, ProvisionError> {
    migrations::TENANT.run_direct(&mut *conn).await?;
    let role = quote_ident(&db.role);
    let statements = [
        // PostgreSQL 15 gives `public` to the database owner — once the tenant role — and a
        // schema owner may drop any table in it. The administrator keeps it instead.
        "alter schema public owner to current_user".to_owned(),
        format!("revoke create on schema public from public, {role}"),
        format!("grant usage on schema public to {role}"),
        format!("grant select, insert, update, delete, truncate on all tables in schema public to {role}"),
        format!("grant usage, select, update on all sequences in schema public to {role}"),
        format!("grant execute on all functions in schema public to {role}"),
        format!("revoke all on table public._sqlx_migrations from {role}"),
    ];
    for statement in statements {
        conn.execute(statement.as_str()).await?;
    }
    // Catalog objects belong to the bootstrap superuser; an administrator that is not one
    // (RDS) cannot revoke these, and CONNECT privileges already keep tenants apart.
    let hide_catalogs =
        "revoke select on pg_catalog.pg_database, pg_catalog.pg_roles, pg_catalog.pg_user from public";
    if let Err(err) = conn.execute(hide_catalogs).await {
        let denied = err
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|c| c == "42501");
        if !denied {
            return Err(err.into());
        }
        tracing::debug!(database = %db.name, "not a superuser: catalog visibility left as is");
    }
    let version: Option<i64> =
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(&mut *conn)
            .await?;
    Ok(version.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_come_from_the_prefix_and_the_tenant_id_only() {
        let prefix = DatabasePrefix::parse("tenant_").unwrap();
        let id = TenantId::new();
        let db = TenantDatabase::for_tenant(&prefix, id);
        assert_eq!(db.name, format!("tenant_{}", id.simple()));
        assert!(db.name.len() <= 63);
        for bad in ["", "Tenant", "1abc", "a-b", "a\"b", &"a".repeat(31)] {
            assert!(DatabasePrefix::parse(bad).is_err(), "{bad:?}");
        }
    }
}
