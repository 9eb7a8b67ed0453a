//! Branches of a pacticipant and the versions on them. A branch's head (its latest version) is
//! the highest `version_id` on it.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use super::pacticipants::like_pattern;

#[derive(Clone, Debug, FromRow)]
pub struct BranchRecord {
    pub branch_id: i64,
    pub pacticipant_id: i64,
    pub pacticipant_name: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const BRANCH_SELECT: &str =
    "select b.branch_id, b.pacticipant_id, p.name as pacticipant_name, b.name,
        b.created_at, b.updated_at
     from branch b join pacticipant p on p.pacticipant_id = b.pacticipant_id";

/// The pacticipant's branches, most recently updated first, filtered by a case-insensitive name
/// fragment, one page of them, with the number of matching branches.
pub async fn list(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    name_contains: Option<&str>,
    (limit, offset): (i64, i64),
) -> sqlx::Result<(Vec<BranchRecord>, i64)> {
    let pattern = name_contains.map(like_pattern);
    let rows = sqlx::query_as(&format!(
        "{BRANCH_SELECT} where b.pacticipant_id = $1 and ($2::text is null or b.name ilike $2)
         order by b.updated_at desc, b.branch_id desc limit $3 offset $4"
    ))
    .bind(pacticipant_id)
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar(
        "select count(*) from branch b where b.pacticipant_id = $1 and ($2::text is null or b.name ilike $2)",
    )
    .bind(pacticipant_id)
    .bind(&pattern)
    .fetch_one(conn)
    .await?;
    Ok((rows, total))
}

pub async fn find(
    conn: &mut PgConnection,
    pacticipant: &str,
    branch: &str,
) -> sqlx::Result<Option<BranchRecord>> {
    sqlx::query_as(&format!(
        "{BRANCH_SELECT} where p.name = $1 and b.name = $2"
    ))
    .bind(pacticipant)
    .bind(branch)
    .fetch_optional(conn)
    .await
}

/// Deletes the branch and its version memberships (the versions stay).
pub async fn delete(conn: &mut PgConnection, branch_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from branch where branch_id = $1")
        .bind(branch_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Deletes every branch of the pacticipant except those named in `keep`; how many went.
pub async fn delete_all_except(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    keep: &[String],
) -> sqlx::Result<u64> {
    let deleted = sqlx::query("delete from branch where pacticipant_id = $1 and name <> all($2)")
        .bind(pacticipant_id)
        .bind(keep)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected())
}

/// The names of the pacticipant's branches named in `names`, least recently updated first.
pub async fn existing_names(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    names: &[String],
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select name from branch where pacticipant_id = $1 and name = any($2)
         order by updated_at, branch_id",
    )
    .bind(pacticipant_id)
    .bind(names)
    .fetch_all(conn)
    .await
}

/// A version's membership of a branch.
#[derive(Clone, Debug, FromRow)]
pub struct BranchVersionRecord {
    pub branch_id: i64,
    pub branch_name: String,
    pub version_id: i64,
    pub version_number: String,
    pub pacticipant_name: String,
    pub created_at: DateTime<Utc>,
}

pub async fn find_branch_version(
    conn: &mut PgConnection,
    pacticipant: &str,
    branch: &str,
    number: &str,
) -> sqlx::Result<Option<BranchVersionRecord>> {
    sqlx::query_as(
        "select b.branch_id, b.name as branch_name, v.version_id, v.number as version_number,
             p.name as pacticipant_name, bv.created_at
         from branch_version bv
         join branch b on b.branch_id = bv.branch_id
         join version v on v.version_id = bv.version_id
         join pacticipant p on p.pacticipant_id = b.pacticipant_id
         where p.name = $1 and b.name = $2 and v.number = $3",
    )
    .bind(pacticipant)
    .bind(branch)
    .bind(number)
    .fetch_optional(conn)
    .await
}

/// Takes the version off the branch (the branch's head moves to its previous version).
pub async fn remove_version(
    conn: &mut PgConnection,
    branch_id: i64,
    version_id: i64,
) -> sqlx::Result<()> {
    sqlx::query("delete from branch_version where branch_id = $1 and version_id = $2")
        .bind(branch_id)
        .bind(version_id)
        .execute(conn)
        .await
        .map(drop)
}
