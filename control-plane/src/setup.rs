//! One-off set-up of the control database's access for the tenant API.

use anyhow::{bail, Context};
use provisioning::scram;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection, Executor, PgPool};

/// Creates (or updates the password of) the login role the tenant API connects with, and makes
/// it a member of `treaty_tenant_api`, which can read the two `router` views and nothing else.
pub async fn ensure_router_login(
    control: &PgPool,
    role: &str,
    password: &SecretString,
) -> anyhow::Result<()> {
    let valid = (1..=63).contains(&role.len())
        && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        bail!("router login role {role:?} must match [a-z_][a-z0-9_]{{0,62}}");
    }
    let verifier = scram::verifier(password.expose_secret());
    let mut conn = unlogged_session(control).await?;
    let result = set_login(&mut conn, role, &verifier).await;
    conn.close()
        .await
        .context("closing the router-login session")?;
    result
}

/// A session of its own whose statements no log records: sqlx's statement log is off for it,
/// and so is the server's `log_statement` where the role may change it (a superuser; others
/// leave the server's setting, which logs DDL only by default, as it is).
async fn unlogged_session(control: &PgPool) -> anyhow::Result<PgConnection> {
    let options = control
        .connect_options()
        .as_ref()
        .clone()
        .log_statements(log::LevelFilter::Off);
    let mut conn = options
        .connect()
        .await
        .context("connecting to the control database")?;
    if let Err(err) = conn.execute("set log_statement = 'none'").await {
        if err.as_database_error().and_then(|e| e.code()).as_deref() != Some("42501") {
            return Err(err).context("turning statement logging off");
        }
        tracing::debug!("not allowed to change log_statement; the server's setting applies");
    }
    Ok(conn)
}

async fn set_login(conn: &mut PgConnection, role: &str, verifier: &str) -> anyhow::Result<()> {
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_roles where rolname = $1)")
            .bind(role)
            .fetch_one(&mut *conn)
            .await?;
    let verb = if exists { "alter" } else { "create" };
    let statement = format!("{verb} role \"{role}\" with login password '{verifier}'");
    match conn.execute(statement.as_str()).await {
        // Two processes creating it at once: the other one won, so update instead.
        Err(err)
            if !exists
                && err.as_database_error().and_then(|e| e.code()).as_deref() == Some("42710") =>
        {
            conn.execute(
                format!("alter role \"{role}\" with login password '{verifier}'").as_str(),
            )
            .await?;
        }
        other => {
            other.context("creating the router login role")?;
        }
    }
    conn.execute(format!("grant treaty_tenant_api to \"{role}\"").as_str())
        .await
        .context("granting treaty_tenant_api")?;
    Ok(())
}
