//! Pacticipants: the applications that take part in contracts, and their labels.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use crate::broker::names::generate_display_name;

/// A pacticipant always has a display name: the one given, or one derived from its name (the
/// broker's `before_save`).
fn display_name_for(name: &str, given: Option<&str>) -> String {
    match given {
        Some(display) if !display.trim().is_empty() => display.to_owned(),
        _ => generate_display_name(name),
    }
}

/// A pacticipant's identity, for code that only needs to refer to one.
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
        "insert into pacticipant (name, display_name) values ($1, $2)
         on conflict (name) do nothing returning {COLUMNS}"
    ))
    .bind(name)
    .bind(display_name_for(name, None))
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(pacticipant) => Ok(pacticipant),
        None => find(conn, name).await?.ok_or(sqlx::Error::RowNotFound),
    }
}

/// Every pacticipant named, created if missing — in name order, so concurrent publications
/// that create some of the same pacticipants take those row locks in one order and cannot
/// deadlock on them (the broker's issue #987).
pub async fn find_or_create_all(
    conn: &mut PgConnection,
    names: &[&str],
) -> sqlx::Result<Vec<Pacticipant>> {
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut found = Vec::with_capacity(sorted.len());
    for name in sorted {
        found.push(find_or_create(conn, name).await?);
    }
    Ok(found)
}

/// Everything the pacticipant resource shows about a pacticipant.
#[derive(Clone, Debug, FromRow)]
pub struct PacticipantRecord {
    pub pacticipant_id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const RECORD_COLUMNS: &str =
    "pacticipant_id, name, display_name, repository_url, repository_name, \
     repository_namespace, main_branch, created_at, updated_at";

/// The writable properties of a pacticipant (`None` = null).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacticipantFields {
    pub display_name: Option<String>,
    pub repository_url: Option<String>,
    pub repository_name: Option<String>,
    pub repository_namespace: Option<String>,
    pub main_branch: Option<String>,
}

pub async fn find_record(
    conn: &mut PgConnection,
    name: &str,
) -> sqlx::Result<Option<PacticipantRecord>> {
    sqlx::query_as(&format!(
        "select {RECORD_COLUMNS} from pacticipant where name = $1"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// Which pacticipants a listing shows.
#[derive(Clone, Debug, Default)]
pub struct PacticipantFilter {
    /// Case-insensitive substring of the name (`?q=`).
    pub name_contains: Option<String>,
    /// Only pacticipants with this label.
    pub label: Option<String>,
}

/// `%` and `_` match themselves in a `like` pattern built from user input.
pub fn like_pattern(fragment: &str) -> String {
    let escaped = fragment
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Pacticipants in name order (case-insensitive), one page of them when `page` is
/// `(limit, offset)`, with the number of matching pacticipants.
pub async fn list(
    conn: &mut PgConnection,
    filter: &PacticipantFilter,
    page: Option<(i64, i64)>,
) -> sqlx::Result<(Vec<PacticipantRecord>, i64)> {
    let condition = "($1::text is null or name ilike $1)
         and ($2::text is null or exists (
             select 1 from label l where l.pacticipant_id = pacticipant.pacticipant_id and l.name = $2))";
    let pattern = filter.name_contains.as_deref().map(like_pattern);
    let (limit, offset) = super::window(page);
    let mut rows: Vec<PacticipantRecord> = sqlx::query_as(&format!(
        "select {RECORD_COLUMNS} from pacticipant where {condition}
         order by lower(name), name, pacticipant_id limit $3 offset $4"
    ))
    .bind(&pattern)
    .bind(&filter.label)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = if super::must_count(page, &mut rows) {
        sqlx::query_scalar(&format!(
            "select count(*) from pacticipant where {condition}"
        ))
        .bind(&pattern)
        .bind(&filter.label)
        .fetch_one(conn)
        .await?
    } else {
        rows.len() as i64
    };
    Ok((rows, total))
}

/// Creates the pacticipant; an existing one of that name is returned unchanged (as the broker's
/// insert-ignore does).
pub async fn create(
    conn: &mut PgConnection,
    name: &str,
    fields: &PacticipantFields,
) -> sqlx::Result<PacticipantRecord> {
    sqlx::query(
        "insert into pacticipant (name, display_name, repository_url, repository_name, repository_namespace, main_branch)
         values ($1, $2, $3, $4, $5, $6) on conflict (name) do nothing",
    )
    .bind(name)
    .bind(display_name_for(name, fields.display_name.as_deref()))
    .bind(&fields.repository_url)
    .bind(&fields.repository_name)
    .bind(&fields.repository_namespace)
    .bind(&fields.main_branch)
    .execute(&mut *conn)
    .await?;
    find_record(conn, name)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Overwrites every writable property (a blank display name is derived from the name).
pub async fn update(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    fields: &PacticipantFields,
) -> sqlx::Result<PacticipantRecord> {
    let name: String = sqlx::query_scalar("select name from pacticipant where pacticipant_id = $1")
        .bind(pacticipant_id)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query_as(&format!(
        "update pacticipant set display_name = $2, repository_url = $3, repository_name = $4,
             repository_namespace = $5, main_branch = $6
         where pacticipant_id = $1 returning {RECORD_COLUMNS}"
    ))
    .bind(pacticipant_id)
    .bind(display_name_for(&name, fields.display_name.as_deref()))
    .bind(&fields.repository_url)
    .bind(&fields.repository_name)
    .bind(&fields.repository_namespace)
    .bind(&fields.main_branch)
    .fetch_one(conn)
    .await
}

/// Deletes the pacticipant and, by cascade, everything recorded for it: versions, branches,
/// tags, labels, pacts and verifications in either role, integrations, deployments.
pub async fn delete(conn: &mut PgConnection, pacticipant_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from pacticipant where pacticipant_id = $1")
        .bind(pacticipant_id)
        .execute(conn)
        .await
        .map(drop)
}

/// The branch names that become a pacticipant's main branch when it has none
/// (`auto_detect_main_branch` with the broker's default candidates).
pub const MAIN_BRANCH_CANDIDATES: &[&str] = &["develop", "main", "master"];

/// Sets the main branch to `branch` if the pacticipant has none and `branch` is a candidate.
pub async fn maybe_set_main_branch(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    branch: &str,
) -> sqlx::Result<()> {
    if !MAIN_BRANCH_CANDIDATES.contains(&branch) {
        return Ok(());
    }
    sqlx::query(
        "update pacticipant set main_branch = $2 where pacticipant_id = $1 and main_branch is null",
    )
    .bind(pacticipant_id)
    .bind(branch)
    .execute(conn)
    .await
    .map(drop)
}

/// A pacticipant's newest version (by version order).
#[derive(Clone, Debug, FromRow)]
pub struct LatestVersion {
    pub pacticipant_id: i64,
    pub number: String,
}

/// The latest version of each of `pacticipant_ids` that has one.
pub async fn latest_versions(
    conn: &mut PgConnection,
    pacticipant_ids: &[i64],
) -> sqlx::Result<Vec<LatestVersion>> {
    sqlx::query_as(
        "select p.id as pacticipant_id, v.number
         from unnest($1::bigint[]) as p(id)
         cross join lateral (
             select number from version where pacticipant_id = p.id order by version_id desc limit 1
         ) v",
    )
    .bind(pacticipant_ids)
    .fetch_all(conn)
    .await
}

/// A label on a pacticipant.
#[derive(Clone, Debug, FromRow)]
pub struct Label {
    pub pacticipant_id: i64,
    pub pacticipant_name: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

const LABEL_SELECT: &str =
    "select l.pacticipant_id, p.name as pacticipant_name, l.name, l.created_at
     from label l join pacticipant p on p.pacticipant_id = l.pacticipant_id";

/// The labels of each of `pacticipant_ids`, by name.
pub async fn labels_of(
    conn: &mut PgConnection,
    pacticipant_ids: &[i64],
) -> sqlx::Result<Vec<Label>> {
    sqlx::query_as(&format!(
        "{LABEL_SELECT} where l.pacticipant_id = any($1) order by l.name"
    ))
    .bind(pacticipant_ids)
    .fetch_all(conn)
    .await
}

pub async fn find_label(
    conn: &mut PgConnection,
    pacticipant_name: &str,
    label: &str,
) -> sqlx::Result<Option<Label>> {
    sqlx::query_as(&format!("{LABEL_SELECT} where p.name = $1 and l.name = $2"))
        .bind(pacticipant_name)
        .bind(label)
        .fetch_optional(conn)
        .await
}

/// Labels the pacticipant; `true` when the label is new.
pub async fn add_label(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    label: &str,
) -> sqlx::Result<bool> {
    let added = sqlx::query(
        "insert into label (pacticipant_id, name) values ($1, $2) on conflict do nothing",
    )
    .bind(pacticipant_id)
    .bind(label)
    .execute(conn)
    .await?;
    Ok(added.rows_affected() == 1)
}

/// Removes a label; `true` when there was one.
pub async fn remove_label(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    label: &str,
) -> sqlx::Result<bool> {
    let removed = sqlx::query("delete from label where pacticipant_id = $1 and name = $2")
        .bind(pacticipant_id)
        .bind(label)
        .execute(conn)
        .await?;
    Ok(removed.rows_affected() > 0)
}

/// Distinct label names in name order, one page of them when `page` is `(limit, offset)`, with
/// the number of distinct names.
pub async fn label_names(
    conn: &mut PgConnection,
    page: Option<(i64, i64)>,
) -> sqlx::Result<(Vec<String>, i64)> {
    let (limit, offset) = super::window(page);
    let mut names: Vec<String> =
        sqlx::query_scalar("select distinct name from label order by name limit $1 offset $2")
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await?;
    let total = if super::must_count(page, &mut names) {
        sqlx::query_scalar("select count(distinct name) from label")
            .fetch_one(conn)
            .await?
    } else {
        names.len() as i64
    };
    Ok((names, total))
}
