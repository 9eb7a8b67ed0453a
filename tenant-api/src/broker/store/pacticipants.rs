//! Pacticipants: the applications that take part in contracts.

use sqlx::{FromRow, PgConnection};

#[derive(Clone, Debug, FromRow)]
pub struct Pacticipant {
    pub pacticipant_id: i64,
    pub name: String,
}

const COLUMNS: &str = "pacticipant_id, name";

pub async fn find(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<Pacticipant>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from pacticipant where name = $1"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// The pacticipant called `name`, created if missing (safe under concurrent publishes).
pub async fn find_or_create(conn: &mut PgConnection, name: &str) -> sqlx::Result<Pacticipant> {
    let inserted: Option<Pacticipant> = sqlx::query_as(&format!(
        "insert into pacticipant (name) values ($1) on conflict (name) do nothing returning {COLUMNS}"
    ))
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(pacticipant) => Ok(pacticipant),
        None => find(conn, name).await?.ok_or(sqlx::Error::RowNotFound),
    }
}
