//! The template database: the tenant schema, built once per server and copied for each tenant.
//!
//! `CREATE DATABASE … TEMPLATE … STRATEGY WAL_LOG` copies a small schema-only database in tens of
//! milliseconds, where running the migrations into a fresh database takes seconds. The template's
//! name carries a digest of `migrations/tenant/`, so a schema change produces a new template
//! (and `migrate` drops the stale ones) instead of copying an out-of-date schema. The template
//! refuses connections once built, which is also what lets PostgreSQL copy it while other
//! provisioning runs.
//!
//! The build survives a crash at any point: it happens in `<name>_build` (dropped and redone when
//! found), is renamed into place, and only then marked a template; a renamed but unmarked
//! template is marked by the next start. The build's own session is one connection whose close
//! is awaited, and the rename waits for (or terminates) any session still on the build database
//! (see [`crate::admin_session`]).

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Executor, PgPool};

use crate::admin_session;
#[cfg(feature = "failpoints")]
use crate::failpoint::Failpoint;
use crate::sql_names::{like_escape, quote_ident};
use crate::{migrations, ProvisionError};

const NAME_PREFIX: &str = "treaty_template_";

/// The template database for one version of the tenant schema.
#[derive(Clone, Debug)]
pub struct TemplateDatabase {
    /// Names of every version of this template start with it (stale ones are dropped by it).
    prefix: String,
    name: String,
    #[cfg(feature = "failpoints")]
    failpoint: Option<Failpoint>,
}

/// How far a template got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Absent,
    /// Renamed into place but not yet marked a template (a crash in between).
    Unmarked,
    Ready,
}

impl TemplateDatabase {
    /// The template for the migrations compiled into this binary.
    pub fn for_current_schema() -> Self {
        Self::for_current_schema_with_prefix(NAME_PREFIX)
    }

    /// The same, under another name prefix (`[a-z_][a-z0-9_]*`, at most 40 bytes): tests build
    /// their own templates without touching the server's.
    pub fn for_current_schema_with_prefix(prefix: &str) -> Self {
        let mut digest = Sha256::new();
        for migration in migrations::TENANT.iter() {
            digest.update(migration.version.to_be_bytes());
            digest.update(&migration.checksum);
        }
        let hex = hex::encode(digest.finalize());
        Self {
            prefix: prefix.to_owned(),
            name: format!("{prefix}{}", &hex[..16]),
            #[cfg(feature = "failpoints")]
            failpoint: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database the template is built in before it is renamed into place.
    pub fn build_name(&self) -> String {
        format!("{}_build", self.name)
    }

    /// Stops a build at [`Failpoint::TemplateBuilt`] or [`Failpoint::TemplateRenamed`].
    #[cfg(feature = "failpoints")]
    pub fn with_failpoint(mut self, failpoint: Option<Failpoint>) -> Self {
        self.failpoint = failpoint;
        self
    }

    /// Builds the template unless it exists. Concurrent callers (several workers, several
    /// processes) serialise on an advisory lock; the build happens under a temporary name and is
    /// renamed into place, so a crash mid-build never leaves a half-built template behind its
    /// final name.
    pub(crate) async fn ensure(
        &self,
        admin: &PgPool,
        admin_options: &PgConnectOptions,
    ) -> Result<(), ProvisionError> {
        if self.state(admin).await? == State::Ready {
            return Ok(());
        }
        let mut lock_conn = admin.acquire().await?;
        sqlx::query("select pg_advisory_lock(hashtext($1))")
            .bind(&self.name)
            .execute(&mut *lock_conn)
            .await?;
        let result = self.build_locked(admin, admin_options).await;
        sqlx::query("select pg_advisory_unlock(hashtext($1))")
            .bind(&self.name)
            .execute(&mut *lock_conn)
            .await?;
        result
    }

    async fn state(&self, admin: &PgPool) -> Result<State, ProvisionError> {
        let found: Option<(bool, bool)> = sqlx::query_as(
            "select datistemplate, datallowconn from pg_database where datname = $1",
        )
        .bind(&self.name)
        .fetch_optional(admin)
        .await?;
        Ok(match found {
            None => State::Absent,
            Some((true, false)) => State::Ready,
            Some(_) => State::Unmarked,
        })
    }

    async fn build_locked(
        &self,
        admin: &PgPool,
        admin_options: &PgConnectOptions,
    ) -> Result<(), ProvisionError> {
        match self.state(admin).await? {
            State::Ready => return Ok(()),
            State::Unmarked => {
                tracing::info!(template = %self.name, "marking a template renamed before a crash");
                return self.mark(admin).await;
            }
            State::Absent => {}
        }
        let building = self.build_name();
        tracing::info!(template = %self.name, "building the tenant template database");
        sqlx::raw_sql(&format!(
            "drop database if exists {} with (force)",
            quote_ident(&building)
        ))
        .execute(admin)
        .await?;
        sqlx::raw_sql(&format!(
            "create database {} template template0",
            quote_ident(&building)
        ))
        .execute(admin)
        .await?;
        let options = admin_options.clone().database(&building);
        let database = building.clone();
        admin_session::detached(async move {
            let mut conn = admin_session::open(&options).await?;
            let built = migrate_build(&mut conn).await;
            admin_session::close(conn, &database).await;
            built
        })
        .await?;
        #[cfg(feature = "failpoints")]
        self.failpoint(Failpoint::TemplateBuilt)?;
        admin_session::clear_sessions(admin, &building).await?;
        sqlx::raw_sql(&format!(
            "alter database {} rename to {}",
            quote_ident(&building),
            quote_ident(&self.name)
        ))
        .execute(admin)
        .await?;
        #[cfg(feature = "failpoints")]
        self.failpoint(Failpoint::TemplateRenamed)?;
        self.mark(admin).await
    }

    /// Marks the renamed database a template nobody connects to.
    async fn mark(&self, admin: &PgPool) -> Result<(), ProvisionError> {
        let name = quote_ident(&self.name);
        for statement in [
            format!("alter database {name} with is_template true allow_connections false"),
            format!("revoke all on database {name} from public"),
        ] {
            sqlx::raw_sql(&statement).execute(admin).await?;
        }
        // Sessions opened before connections were disallowed would block copying it.
        admin_session::clear_sessions(admin, &self.name).await?;
        Ok(())
    }

    #[cfg(feature = "failpoints")]
    fn failpoint(&self, here: Failpoint) -> Result<(), ProvisionError> {
        match self.failpoint {
            Some(point) if point == here => Err(ProvisionError::InjectedCrash(format!("{here:?}"))),
            _ => Ok(()),
        }
    }

    /// Drops templates of other schema versions; returns their names.
    pub(crate) async fn drop_stale(&self, admin: &PgPool) -> Result<Vec<String>, ProvisionError> {
        let pattern = format!("{}%", like_escape(&self.prefix));
        let stale: Vec<String> = sqlx::query_scalar(
            "select datname from pg_database where datname like $1 and datname <> $2 and datname <> $3",
        )
        .bind(pattern)
        .bind(&self.name)
        .bind(self.build_name())
        .fetch_all(admin)
        .await?;
        for name in &stale {
            let quoted = quote_ident(name);
            sqlx::raw_sql(&format!("alter database {quoted} with is_template false"))
                .execute(admin)
                .await?;
            admin_session::clear_sessions(admin, name).await?;
            sqlx::raw_sql(&format!("drop database if exists {quoted} with (force)"))
                .execute(admin)
                .await?;
        }
        Ok(stale)
    }
}

/// The tenant schema into the build database. The administrator, not the tenant, owns `public`
/// (see `PostgresServer::apply_schema`).
async fn migrate_build(conn: &mut PgConnection) -> Result<(), ProvisionError> {
    migrations::TENANT.run_direct(&mut *conn).await?;
    conn.execute("alter schema public owner to current_user")
        .await?;
    Ok(())
}
