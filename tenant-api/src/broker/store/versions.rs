//! Pacticipant versions, and the branches and tags they are on.
//!
//! Version order is `version_id` order (creation order); "latest" means the highest id. A branch's
//! head is the highest `version_id` on it.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use super::pacticipants;

/// A version's identity, for code that only needs to refer to one.
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
///
/// As in the broker, a branch named like a main-branch candidate becomes the pacticipant's main
/// branch when it has none, and a branch that gains a version counts as updated (at most once a
/// minute, which is what orders branch listings).
pub async fn add_to_branch(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    version_id: i64,
    branch: &str,
    auto_created: bool,
) -> sqlx::Result<bool> {
    // Insert, then read in a second statement: under READ COMMITTED one statement's snapshot
    // would miss a branch a concurrent publication committed while this insert waited for it.
    let created: Option<i64> = sqlx::query_scalar(
        "insert into branch (pacticipant_id, name) values ($1, $2)
         on conflict on constraint branch_pacticipant_name_key do nothing
         returning branch_id",
    )
    .bind(pacticipant_id)
    .bind(branch)
    .fetch_optional(&mut *conn)
    .await?;
    let branch_id: i64 = match created {
        Some(id) => id,
        None => {
            sqlx::query_scalar(
                "select branch_id from branch where pacticipant_id = $1 and name = $2",
            )
            .bind(pacticipant_id)
            .bind(branch)
            .fetch_one(&mut *conn)
            .await?
        }
    };
    let added = sqlx::query(
        "insert into branch_version (branch_id, version_id, pacticipant_id, auto_created)
         values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind(branch_id)
    .bind(version_id)
    .bind(pacticipant_id)
    .bind(auto_created)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update branch set updated_at = now()
         where branch_id = $1 and updated_at < now() - interval '60 seconds'",
    )
    .bind(branch_id)
    .execute(&mut *conn)
    .await?;
    pacticipants::maybe_set_main_branch(conn, pacticipant_id, branch).await?;
    Ok(added.rows_affected() == 1)
}

/// How long after its creation a version's first tag may still become its branch
/// (`use_first_tag_as_branch_time_limit`).
pub const FIRST_TAG_AS_BRANCH_SECONDS: i32 = 10;

/// Tags the version; `true` if the tag is new.
///
/// A new tag has the broker's side effects: the first tag of a version that is on no branch and
/// was created at most [`FIRST_TAG_AS_BRANCH_SECONDS`] ago also becomes its branch
/// (`use_first_tag_as_branch`), and a tag named like a main-branch candidate becomes the
/// pacticipant's main branch when it has none (`auto_detect_main_branch`).
pub async fn add_tag(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    version_id: i64,
    tag: &str,
) -> sqlx::Result<bool> {
    let first_tag_is_branch: Option<bool> = sqlx::query_scalar(
        "select not exists (select 1 from tag where version_id = $1)
             and not exists (select 1 from branch_version where version_id = $1)
             and created_at >= now() - make_interval(secs => $2)
         from version where version_id = $1",
    )
    .bind(version_id)
    .bind(f64::from(FIRST_TAG_AS_BRANCH_SECONDS))
    .fetch_optional(&mut *conn)
    .await?;
    let added = sqlx::query(
        "insert into tag (version_id, name, pacticipant_id) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(version_id)
    .bind(tag)
    .bind(pacticipant_id)
    .execute(&mut *conn)
    .await?;
    if added.rows_affected() == 0 {
        return Ok(false);
    }
    if first_tag_is_branch == Some(true) {
        add_to_branch(conn, pacticipant_id, version_id, tag, true).await?;
    }
    pacticipants::maybe_set_main_branch(conn, pacticipant_id, tag).await?;
    Ok(true)
}

/// Everything the version resource shows about the version itself.
#[derive(Clone, Debug, FromRow)]
pub struct VersionRecord {
    pub version_id: i64,
    pub pacticipant_id: i64,
    pub pacticipant_name: String,
    pub number: String,
    pub build_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const RECORD_SELECT: &str =
    "select v.version_id, v.pacticipant_id, p.name as pacticipant_name, v.number,
        v.build_url, v.created_at, v.updated_at
     from version v join pacticipant p on p.pacticipant_id = v.pacticipant_id";

pub async fn find_record(
    conn: &mut PgConnection,
    pacticipant: &str,
    number: &str,
) -> sqlx::Result<Option<VersionRecord>> {
    sqlx::query_as(&format!(
        "{RECORD_SELECT} where p.name = $1 and v.number = $2"
    ))
    .bind(pacticipant)
    .bind(number)
    .fetch_optional(conn)
    .await
}

/// The pacticipant's newest version.
pub async fn latest(
    conn: &mut PgConnection,
    pacticipant: &str,
) -> sqlx::Result<Option<VersionRecord>> {
    sqlx::query_as(&format!(
        "{RECORD_SELECT} where p.name = $1 order by v.version_id desc limit 1"
    ))
    .bind(pacticipant)
    .fetch_optional(conn)
    .await
}

/// The pacticipant's newest version carrying `tag`.
pub async fn latest_with_tag(
    conn: &mut PgConnection,
    pacticipant: &str,
    tag: &str,
) -> sqlx::Result<Option<VersionRecord>> {
    sqlx::query_as(&format!(
        "{RECORD_SELECT} where p.name = $1
             and v.version_id = (select max(t.version_id) from tag t
                                 where t.pacticipant_id = p.pacticipant_id and t.name = $2)"
    ))
    .bind(pacticipant)
    .bind(tag)
    .fetch_optional(conn)
    .await
}

/// The head of the pacticipant's branch `branch`.
pub async fn latest_on_branch(
    conn: &mut PgConnection,
    pacticipant: &str,
    branch: &str,
) -> sqlx::Result<Option<VersionRecord>> {
    sqlx::query_as(&format!(
        "{RECORD_SELECT} where p.name = $1
             and v.version_id = (select max(bv.version_id) from branch_version bv
                                 join branch b on b.branch_id = bv.branch_id
                                 where b.pacticipant_id = p.pacticipant_id and b.name = $2)"
    ))
    .bind(pacticipant)
    .bind(branch)
    .fetch_optional(conn)
    .await
}

/// Which versions of a pacticipant a listing shows.
#[derive(Clone, Debug, Default)]
pub enum VersionFilter {
    #[default]
    All,
    OnBranch(String),
    WithTag(String),
    /// Deployed or released (ever) to the environment.
    InEnvironment(i64),
}

/// A pacticipant's versions, newest first, one page of them when `page` is `(limit, offset)`,
/// with the number of matching versions.
pub async fn list(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    filter: &VersionFilter,
    page: Option<(i64, i64)>,
) -> sqlx::Result<(Vec<VersionRecord>, i64)> {
    let (branch, tag, environment_id) = match filter {
        VersionFilter::All => (None, None, None),
        VersionFilter::OnBranch(branch) => (Some(branch.as_str()), None, None),
        VersionFilter::WithTag(tag) => (None, Some(tag.as_str()), None),
        VersionFilter::InEnvironment(id) => (None, None, Some(*id)),
    };
    let condition = "v.pacticipant_id = $1
        and ($2::text is null or exists (
            select 1 from branch_version bv join branch b on b.branch_id = bv.branch_id
            where bv.version_id = v.version_id and b.name = $2))
        and ($3::text is null or exists (
            select 1 from tag t where t.version_id = v.version_id and t.name = $3))
        and ($4::bigint is null
            or exists (select 1 from deployed_version d where d.version_id = v.version_id and d.environment_id = $4)
            or exists (select 1 from released_version r where r.version_id = v.version_id and r.environment_id = $4))";
    let (limit, offset) = super::window(page);
    let mut rows: Vec<VersionRecord> = sqlx::query_as(&format!(
        "{RECORD_SELECT} where {condition} order by v.version_id desc limit $5 offset $6"
    ))
    .bind(pacticipant_id)
    .bind(branch)
    .bind(tag)
    .bind(environment_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = if super::must_count(page, &mut rows) {
        sqlx::query_scalar(&format!("select count(*) from version v where {condition}"))
            .bind(pacticipant_id)
            .bind(branch)
            .bind(tag)
            .bind(environment_id)
            .fetch_one(conn)
            .await?
    } else {
        rows.len() as i64
    };
    Ok((rows, total))
}

/// Creates the version or, when it exists, sets its build URL to `build_url` (PUT semantics:
/// an absent build URL clears it); `true` when created.
pub async fn create_or_overwrite(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    number: &str,
    build_url: Option<&str>,
) -> sqlx::Result<(Version, bool)> {
    let (version, created) = find_or_create(conn, pacticipant_id, number).await?;
    sqlx::query(
        "update version set build_url = $2 where version_id = $1 and build_url is distinct from $2",
    )
    .bind(version.version_id)
    .bind(build_url)
    .execute(conn)
    .await?;
    Ok((version, created))
}

/// Replaces all the version's tags by `tags`.
pub async fn replace_tags(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    version_id: i64,
    tags: &[String],
) -> sqlx::Result<()> {
    sqlx::query("delete from tag where version_id = $1")
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        sqlx::query(
            "insert into tag (version_id, name, pacticipant_id) values ($1, $2, $3) on conflict do nothing",
        )
        .bind(version_id)
        .bind(tag)
        .bind(pacticipant_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes the version with its tags, branch memberships, pacts it published, verifications it
/// made and its deployments (all by cascade).
pub async fn delete(conn: &mut PgConnection, version_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from version where version_id = $1")
        .bind(version_id)
        .execute(conn)
        .await
        .map(drop)
}

/// A version's membership of a branch.
#[derive(Clone, Debug, FromRow)]
pub struct BranchMembership {
    pub version_id: i64,
    pub branch_name: String,
    /// The version is the branch's head.
    pub latest: bool,
}

/// The branches of each of `version_ids`, in the order the versions joined them.
pub async fn branch_memberships(
    conn: &mut PgConnection,
    version_ids: &[i64],
) -> sqlx::Result<Vec<BranchMembership>> {
    sqlx::query_as(
        "select bv.version_id, b.name as branch_name,
             bv.version_id = (select max(h.version_id) from branch_version h where h.branch_id = bv.branch_id) as latest
         from branch_version bv join branch b on b.branch_id = bv.branch_id
         where bv.version_id = any($1)
         order by bv.created_at, bv.branch_id",
    )
    .bind(version_ids)
    .fetch_all(conn)
    .await
}

/// A tag on a version.
#[derive(Clone, Debug, FromRow)]
pub struct TagRecord {
    pub version_id: i64,
    pub name: String,
    pub version_number: String,
    pub pacticipant_name: String,
    pub created_at: DateTime<Utc>,
}

const TAG_SELECT: &str = "select t.version_id, t.name, v.number as version_number, p.name as pacticipant_name, t.created_at
     from tag t join version v on v.version_id = t.version_id
     join pacticipant p on p.pacticipant_id = v.pacticipant_id";

/// The tags of each of `version_ids`, in the order they were added.
pub async fn tags_of(conn: &mut PgConnection, version_ids: &[i64]) -> sqlx::Result<Vec<TagRecord>> {
    sqlx::query_as(&format!(
        "{TAG_SELECT} where t.version_id = any($1) order by t.created_at, t.name"
    ))
    .bind(version_ids)
    .fetch_all(conn)
    .await
}

pub async fn find_tag(
    conn: &mut PgConnection,
    pacticipant: &str,
    number: &str,
    tag: &str,
) -> sqlx::Result<Option<TagRecord>> {
    sqlx::query_as(&format!(
        "{TAG_SELECT} where p.name = $1 and v.number = $2 and t.name = $3"
    ))
    .bind(pacticipant)
    .bind(number)
    .bind(tag)
    .fetch_optional(conn)
    .await
}

/// Removes a tag from a version; `true` when there was one.
pub async fn remove_tag(conn: &mut PgConnection, version_id: i64, tag: &str) -> sqlx::Result<bool> {
    let removed = sqlx::query("delete from tag where version_id = $1 and name = $2")
        .bind(version_id)
        .bind(tag)
        .execute(conn)
        .await?;
    Ok(removed.rows_affected() > 0)
}

/// A pact a version published (as consumer).
#[derive(Clone, Debug, FromRow)]
pub struct PublishedPactRef {
    pub version_id: i64,
    pub provider_name: String,
}

/// The providers each of `version_ids` published a pact for, by provider name
/// (case-insensitive).
pub async fn published_pacts(
    conn: &mut PgConnection,
    version_ids: &[i64],
) -> sqlx::Result<Vec<PublishedPactRef>> {
    sqlx::query_as(
        "select pp.consumer_version_id as version_id, p.name as provider_name
         from pact_publication pp join pacticipant p on p.pacticipant_id = pp.provider_id
         where pp.consumer_version_id = any($1)
         order by lower(p.name), p.name",
    )
    .bind(version_ids)
    .fetch_all(conn)
    .await
}
