//! Pacticipant versions, and the branches and tags they are on.

use sqlx::{FromRow, PgConnection};

#[derive(Clone, Debug, FromRow)]
pub struct Version {
    pub version_id: i64,
    pub number: String,
}

const COLUMNS: &str = "version_id, number";

pub async fn find(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    number: &str,
) -> sqlx::Result<Option<Version>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from version where pacticipant_id = $1 and number = $2"
    ))
    .bind(pacticipant_id)
    .bind(number)
    .fetch_optional(conn)
    .await
}

/// The version, created if missing; `true` when this call created it.
pub async fn find_or_create(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    number: &str,
) -> sqlx::Result<(Version, bool)> {
    let inserted: Option<Version> = sqlx::query_as(&format!(
        "insert into version (pacticipant_id, number) values ($1, $2)
         on conflict on constraint version_pacticipant_number_key do nothing
         returning {COLUMNS}"
    ))
    .bind(pacticipant_id)
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(version) => Ok((version, true)),
        None => Ok((
            find(conn, pacticipant_id, number)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?,
            false,
        )),
    }
}

pub async fn set_build_url(
    conn: &mut PgConnection,
    version_id: i64,
    build_url: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update version set build_url = $2 where version_id = $1 and build_url is distinct from $2",
    )
    .bind(version_id)
    .bind(build_url)
    .execute(conn)
    .await
    .map(drop)
}

/// Puts the version on `branch` (creating the branch); `true` if it was not on it yet.
pub async fn add_to_branch(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    version_id: i64,
    branch: &str,
    auto_created: bool,
) -> sqlx::Result<bool> {
    let branch_id: i64 = sqlx::query_scalar(
        "with created as (
            insert into branch (pacticipant_id, name) values ($1, $2)
            on conflict on constraint branch_pacticipant_name_key do nothing
            returning branch_id)
         select branch_id from created
         union all
         select branch_id from branch where pacticipant_id = $1 and name = $2
         limit 1",
    )
    .bind(pacticipant_id)
    .bind(branch)
    .fetch_one(&mut *conn)
    .await?;
    let added = sqlx::query(
        "insert into branch_version (branch_id, version_id, pacticipant_id, auto_created)
         values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind(branch_id)
    .bind(version_id)
    .bind(pacticipant_id)
    .bind(auto_created)
    .execute(conn)
    .await?;
    Ok(added.rows_affected() == 1)
}

/// Tags the version; `true` if the tag is new.
pub async fn add_tag(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    version_id: i64,
    tag: &str,
) -> sqlx::Result<bool> {
    let added = sqlx::query(
        "insert into tag (version_id, name, pacticipant_id) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(version_id)
    .bind(tag)
    .bind(pacticipant_id)
    .execute(conn)
    .await?;
    Ok(added.rows_affected() == 1)
}
