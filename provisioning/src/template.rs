//! The template database: the tenant schema, built once per server and copied for each tenant.
//!
//! `CREATE DATABASE … TEMPLATE … STRATEGY WAL_LOG` copies a small schema-only database in tens of
//! milliseconds, where running the migrations into a fresh database takes seconds. The template's
//! name carries a digest of `migrations/tenant/`, so a schema change produces a new template
//! (and `migrate` drops the stale ones) instead of copying an out-of-date schema. The template
//! refuses connections once built, which is also what lets PostgreSQL copy it while other
//! provisioning runs.

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::database_server::quote_ident;
use crate::{migrations, ProvisionError};

const NAME_PREFIX: &str = "treaty_template_";

/// The template database for one version of the tenant schema.
#[derive(Clone, Debug)]
pub struct TemplateDatabase {
    name: String,
}

impl TemplateDatabase {
    /// The template for the migrations compiled into this binary.
    pub fn for_current_schema() -> Self {
        let mut digest = Sha256::new();
        for migration in migrations::TENANT.iter() {
            digest.update(migration.version.to_be_bytes());
            digest.update(&migration.checksum);
        }
        let hex = hex::encode(digest.finalize());
        Self {
            name: format!("{NAME_PREFIX}{}", &hex[..16]),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
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
        if self.exists(admin).await? {
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

    async fn exists(&self, admin: &PgPool) -> Result<bool, ProvisionError> {
        Ok(
            sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
                .bind(&self.name)
                .fetch_one(admin)
                .await?,
        )
    }

    async fn build_locked(
        &self,
        admin: &PgPool,
        admin_options: &PgConnectOptions,
    ) -> Result<(), ProvisionError> {
        if self.exists(admin).await? {
            return Ok(());
        }
        let building = format!("{}_build", self.name);
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
        // A one-connection pool, not a bare connection: see `PostgresServer::connect_admin_to`.
        let conn = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(admin_options.clone().database(&building))
            .await?;
        migrations::TENANT.run(&conn).await?;
        // See `PostgresServer::apply_schema`: the administrator, not the tenant, owns `public`.
        sqlx::raw_sql("alter schema public owner to current_user")
            .execute(&conn)
            .await?;
        conn.close().await;
        let final_name = quote_ident(&self.name);
        for statement in [
            format!(
                "alter database {} rename to {final_name}",
                quote_ident(&building)
            ),
            format!("alter database {final_name} with is_template true allow_connections false"),
            format!("revoke all on database {final_name} from public"),
        ] {
            sqlx::raw_sql(&statement).execute(admin).await?;
        }
        Ok(())
    }

    /// Drops templates of other schema versions; returns their names.
    pub(crate) async fn drop_stale(&self, admin: &PgPool) -> Result<Vec<String>, ProvisionError> {
        let stale: Vec<String> = sqlx::query_scalar(
            "select datname from pg_database where datname like 'treaty\\_template\\_%' and datname <> $1",
        )
        .bind(&self.name)
        .fetch_all(admin)
        .await?;
        for name in &stale {
            let quoted = quote_ident(name);
            sqlx::raw_sql(&format!("alter database {quoted} with is_template false"))
                .execute(admin)
                .await?;
            sqlx::raw_sql(&format!("drop database if exists {quoted} with (force)"))
                .execute(admin)
                .await?;
        }
        Ok(stale)
    }
}
