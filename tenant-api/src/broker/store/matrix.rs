//! The matrix in SQL: selectors resolved to version ids first, then only the pacts and
//! verifications of those versions are joined, newest first, limited in the database. Every
//! query walks an index from the ids it is given; none reads a whole table (see the plans in
//! `migrations/tenant/20261123030001_matrix_indexes.sql`).
//!
//! `pact_publication` holds one row per consumer version and provider (the latest revision):
//! the broker's `latest_pact_publication_ids_for_consumer_versions`. Its `updated_at` is when
//! that revision was published. Earlier revisions are in `pact_revision`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::broker::model::matrix_selectors::UnresolvedSelector;

#[derive(Clone, Debug, FromRow)]
pub struct PacticipantRef {
    pub pacticipant_id: i64,
    pub name: String,
}

/// Pacticipants by exact (case-sensitive) name.
pub async fn pacticipants_named(
    conn: &mut PgConnection,
    names: &[String],
) -> sqlx::Result<Vec<PacticipantRef>> {
    sqlx::query_as("select pacticipant_id, name from pacticipant where name = any($1)")
        .bind(names)
        .fetch_all(conn)
        .await
}

pub async fn environment_exists(conn: &mut PgConnection, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from environment where name = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
}

/// A version a selector stands for.
#[derive(Clone, Debug, FromRow)]
pub struct FoundVersion {
    pub pacticipant_id: i64,
    pub version_id: i64,
    pub number: String,
    /// The main branch's name, when the selector asked for the main branch.
    pub branch_name: Option<String>,
}

/// The versions of each of `pacticipant_ids` that `selector` describes (its name is ignored:
/// the ids say whose versions). Criteria combine as an intersection, as in the broker's
/// `Version.for_selector`; `latest` keeps the highest version per pacticipant unless a branch
/// head already picked one. Ordered by pacticipant, then version.
pub async fn versions_for_selector(
    conn: &mut PgConnection,
    pacticipant_ids: &[i64],
    selector: &UnresolvedSelector,
) -> sqlx::Result<Vec<FoundVersion>> {
    // Each criterion is a set of version ids of the pacticipant `pid.id`; the most selective
    // one is the source the others filter, so every lookup starts from an index.
    let main_branch = "(select p.main_branch from pacticipant p where p.pacticipant_id = pid.id)";
    // The branch head: the branch's highest version id, read backwards from the primary key.
    let head = |branch: &str| {
        format!(
            "(select bv.version_id from branch_version bv
              where bv.branch_id = (select b.branch_id from branch b where b.pacticipant_id = pid.id and b.name = {branch})
              order by bv.version_id desc limit 1)"
        )
    };
    let on_branch = |branch: &str| {
        format!(
            "(select bv.version_id from branch b join branch_version bv on bv.branch_id = b.branch_id
              where b.pacticipant_id = pid.id and b.name = {branch})"
        )
    };
    let mut sets: Vec<String> = Vec::new();
    if selector.version.is_some() {
        sets.push(
            "(select version_id from version where pacticipant_id = pid.id and number = $2)".into(),
        );
    }
    let mut latest_applied = false;
    if selector.main_branch {
        if selector.latest {
            latest_applied = true;
            sets.push(format!("(select {} as version_id)", head(main_branch)));
        } else {
            sets.push(on_branch(main_branch));
        }
    }
    if selector.branch.is_some() {
        if selector.latest {
            latest_applied = true;
            sets.push(format!("(select {} as version_id)", head("$4")));
        } else {
            sets.push(on_branch("$4"));
        }
    }
    if selector.environment.is_some() {
        sets.push(
            "(select d.version_id from deployed_version d
               where d.pacticipant_id = pid.id and d.undeployed_at is null
                 and d.environment_id = (select environment_id from environment where name = $5)
              union
              select r.version_id from released_version r
               where r.pacticipant_id = pid.id and r.support_ended_at is null
                 and r.environment_id = (select environment_id from environment where name = $5))"
                .into(),
        );
    }
    if selector.tag.is_some() {
        sets.push(
            "(select version_id from tag where pacticipant_id = pid.id and name = $3)".into(),
        );
    }
    if sets.is_empty() {
        sets.push("(select version_id from version where pacticipant_id = pid.id)".into());
    }
    // Sets are listed most selective first; the first is the source.
    let source = sets.remove(0);
    let filters: String = sets
        .iter()
        .map(|set| format!(" and c.version_id in {set}"))
        .collect();
    let (order, limit) = if selector.latest && !latest_applied {
        ("c.version_id desc", "limit 1")
    } else {
        ("c.version_id", "")
    };
    let branch_name = if selector.main_branch {
        main_branch
    } else {
        "null::text"
    };
    let sql = format!(
        "select pid.id as pacticipant_id, v.version_id, v.number, {branch_name} as branch_name
         from unnest($1::bigint[]) as pid(id)
         cross join lateral (
             select c.version_id from {source} c
             where c.version_id is not null{filters}
             order by {order} {limit}
         ) c
         join version v on v.version_id = c.version_id
         order by pid.id, v.version_id"
    );
    sqlx::query_as(&sql)
        .bind(pacticipant_ids)
        .bind(&selector.version)
        .bind(&selector.tag)
        .bind(&selector.branch)
        .bind(&selector.environment)
        .fetch_all(conn)
        .await
}

/// A consumer/provider pair in a matrix query; `required` when a specified pacticipant is its
/// consumer (a consumer needs its providers, not the other way round).
#[derive(Clone, Debug, FromRow, PartialEq, Eq)]
pub struct Integration {
    pub consumer_id: i64,
    pub consumer_name: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub required: bool,
}

/// Integrations the selected versions take part in: those in which the given consumer versions
/// (or, for `consumer_ids`, any version of those consumers) have a pact — the providers they
/// need, `required` — and those in which `provider_ids` are the provider (their consumers
/// *may* be in the target environment: not required). A pair found both ways is required.
pub async fn integrations_involving(
    conn: &mut PgConnection,
    consumer_version_ids: &[i64],
    consumer_ids: &[i64],
    provider_ids: &[i64],
) -> sqlx::Result<Vec<Integration>> {
    sqlx::query_as(
        "select x.consumer_id, c.name as consumer_name, x.provider_id, p.name as provider_name, bool_or(x.required) as required
         from (
             select pp.consumer_id, pp.provider_id, true as required from pact_publication pp
              where pp.consumer_version_id = any($1)
             union all
             select i.consumer_id, i.provider_id, true from integration i
              where i.consumer_id = any($2)
                and exists (select 1 from pact_publication pp
                             where pp.provider_id = i.provider_id and pp.consumer_id = i.consumer_id)
             union all
             select i.consumer_id, i.provider_id, false from integration i where i.provider_id = any($3)
         ) x
         join pacticipant c on c.pacticipant_id = x.consumer_id
         join pacticipant p on p.pacticipant_id = x.provider_id
         group by x.consumer_id, c.name, x.provider_id, p.name",
    )
    .bind(consumer_version_ids)
    .bind(consumer_ids)
    .bind(provider_ids)
    .fetch_all(conn)
    .await
}

/// Integrations only between the selected versions: pacts of the selected consumer versions
/// (or any version of `consumer_ids`) with one of `provider_ids`. `required` is set by the
/// caller.
pub async fn integrations_between(
    conn: &mut PgConnection,
    consumer_version_ids: &[i64],
    consumer_ids: &[i64],
    provider_ids: &[i64],
) -> sqlx::Result<Vec<Integration>> {
    sqlx::query_as(
        "select x.consumer_id, c.name as consumer_name, x.provider_id, p.name as provider_name, false as required
         from (
             select pp.consumer_id, pp.provider_id from pact_publication pp
              where pp.consumer_version_id = any($1) and pp.provider_id = any($3)
             union
             select i.consumer_id, i.provider_id from integration i
              where i.consumer_id = any($2) and i.provider_id = any($3)
                and exists (select 1 from pact_publication pp
                             where pp.provider_id = i.provider_id and pp.consumer_id = i.consumer_id)
         ) x
         join pacticipant c on c.pacticipant_id = x.consumer_id
         join pacticipant p on p.pacticipant_id = x.provider_id",
    )
    .bind(consumer_version_ids)
    .bind(consumer_ids)
    .bind(provider_ids)
    .fetch_all(conn)
    .await
}

/// One line of the matrix: a consumer version's pact and, when there is one, a provider
/// version's verification of it.
#[derive(Clone, Debug, FromRow)]
pub struct MatrixRow {
    pub consumer_id: i64,
    pub consumer_name: String,
    pub consumer_version_id: i64,
    pub consumer_version_number: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub provider_version_id: Option<i64>,
    pub provider_version_number: Option<String>,
    pub verification_id: Option<i64>,
    pub verification_number: Option<i32>,
    pub success: Option<bool>,
    pub pact_publication_id: i64,
    pub pact_revision_number: i32,
    pub pact_version_sha: String,
    pub pact_created_at: DateTime<Utc>,
    pub verification_executed_at: Option<DateTime<Utc>>,
    pub verification_created_at: Option<DateTime<Utc>>,
}

/// Which rows to read.
pub struct RowQuery<'a> {
    /// Pacticipants selected by name only (every version).
    pub name_only_ids: &'a [i64],
    /// Selected version ids (of selectors with any criterion).
    pub version_ids: &'a [i64],
    /// Every selected pacticipant.
    pub all_ids: &'a [i64],
    /// The pacticipants of the specified (not inferred) selectors.
    pub specified_ids: &'a [i64],
    /// `false`: every pact revision and every verification; `true`: the latest revision per
    /// consumer version and the latest verification per pact and provider version.
    pub latest_only: bool,
    pub limit: i64,
}

/// The publications a row can come from: current revisions only, or every revision.
fn publications(latest_only: bool) -> &'static str {
    if latest_only {
        "(select pact_publication_id, consumer_id, provider_id, consumer_version_id, pact_version_id,
                 revision_number, updated_at as published_at
          from pact_publication)"
    } else {
        "(select pact_publication_id, consumer_id, provider_id, consumer_version_id, pact_version_id,
                 revision_number, updated_at as published_at
          from pact_publication
          union all
          select r.pact_publication_id, pp.consumer_id, pp.provider_id, pp.consumer_version_id, r.pact_version_id,
                 r.revision_number, r.created_at
          from pact_revision r join pact_publication pp on pp.pact_publication_id = r.pact_publication_id)"
    }
}

/// Verifications of `p.pact_version_id` matching `filter`: the latest per provider version, or
/// all of them.
fn verifications(latest_only: bool, filter: &str) -> String {
    let distinct = if latest_only {
        "distinct on (v.provider_version_id)"
    } else {
        ""
    };
    format!(
        "select {distinct} v.verification_id, v.provider_version_id, v.number, v.success,
                v.execution_date, v.created_at
         from verification v
         where v.pact_version_id = p.pact_version_id and ({filter})
         order by v.provider_version_id, v.verification_id desc"
    )
}

/// The sort key of a row: newest action first (a verification after its pact, or the pact),
/// as the broker orders before its limit.
const LAST_ACTION: &str =
    "(case when verification_created_at is not null and verification_created_at > published_at
       then verification_created_at else published_at end) desc,
  pact_publication_id desc, revision_number desc, verification_id desc";

/// A publication `p` with the matching verifications `v` as one row each.
const ROW_COLUMNS: &str =
    "p.*, v.verification_id, v.provider_version_id, v.number as verification_number,
    v.success, v.execution_date, v.created_at as verification_created_at";

/// Names, numbers and the pact's SHA for the (at most `limit`) rows of `r`, in order.
fn finish_rows(rows: &str) -> String {
    format!(
        "with r as ({rows})
         select r.consumer_id, c.name as consumer_name, r.consumer_version_id,
                cv.number as consumer_version_number, r.provider_id, pr.name as provider_name,
                r.provider_version_id, pvv.number as provider_version_number, r.verification_id,
                r.verification_number, r.success, r.pact_publication_id,
                r.revision_number as pact_revision_number, pv.sha as pact_version_sha,
                r.published_at as pact_created_at, r.execution_date as verification_executed_at,
                r.verification_created_at
         from r
         join pacticipant c on c.pacticipant_id = r.consumer_id
         join pacticipant pr on pr.pacticipant_id = r.provider_id
         join version cv on cv.version_id = r.consumer_version_id
         join pact_version pv on pv.pact_version_id = r.pact_version_id
         left join version pvv on pvv.version_id = r.provider_version_id
         order by {LAST_ACTION}"
    )
}

/// Rows for two or more selectors: pacts whose consumer version is selected, with a provider
/// that is selected, left-joined to the verifications by selected provider versions — so an
/// unverified pact still yields a row (without a verification). Only rows involving a
/// specified pacticipant are kept. The newest `limit` publications per source are read (per
/// consumer/provider pair for name-only selectors, from the index on `updated_at`), and the
/// limit is applied before names are joined.
pub async fn rows_between_selectors(
    conn: &mut PgConnection,
    query: &RowQuery<'_>,
) -> sqlx::Result<Vec<MatrixRow>> {
    let pubs = publications(query.latest_only);
    // Either condition alone lets the index on (pact_version_id, provider_version_id) do the
    // filtering; only a mix of name-only and versioned selectors needs the `or`.
    let filter = match (query.name_only_ids.is_empty(), query.version_ids.is_empty()) {
        (true, _) => "v.provider_version_id = any($2)",
        (false, true) => "v.provider_id = any($1)",
        (false, false) => "v.provider_version_id = any($2) or v.provider_id = any($1)",
    };
    let verifications = verifications(query.latest_only, filter);
    let rows = format!(
        "with p as (
             (select a.* from unnest($1::bigint[]) as cid(id) cross join unnest($3::bigint[]) as pid(id)
              cross join lateral (select * from {pubs} a where a.consumer_id = cid.id and a.provider_id = pid.id
                                  order by a.published_at desc limit $5) a
              order by a.published_at desc limit $5)
             union
             (select * from {pubs} a where a.consumer_version_id = any($2) and a.provider_id = any($3)
              order by a.published_at desc limit $5)
         ),
         rows as (
             select {ROW_COLUMNS} from p left join lateral ({verifications}) v on true
             where p.consumer_id = any($4) or p.provider_id = any($4)
         )
         select * from rows order by {LAST_ACTION} limit $5"
    );
    sqlx::query_as(&finish_rows(&rows))
        .bind(query.name_only_ids)
        .bind(query.version_ids)
        .bind(query.all_ids)
        .bind(query.specified_ids)
        .bind(query.limit)
        .fetch_all(conn)
        .await
}

/// Rows for a single selector, as consumer or provider: its pacts with every verification of
/// them, and the pacts its provider versions verified.
pub async fn rows_for_one_selector(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    version_id: Option<i64>,
    latest_only: bool,
    limit: i64,
) -> sqlx::Result<Vec<MatrixRow>> {
    let pubs = publications(latest_only);
    let all_verifications = verifications(latest_only, "true");
    // Separate texts per case, so each plan can use the index for its column.
    let (as_consumer, as_provider, verified_by) = match version_id {
        Some(_) => (
            format!("select * from {pubs} a where a.consumer_version_id = $2"),
            format!(
                "select * from {pubs} a where a.provider_id = $1
                   and a.pact_version_id in (select v.pact_version_id from verification v where v.provider_version_id = $2)"
            ),
            "v.provider_version_id = $2",
        ),
        None => (
            // Newest per integration first, from the index on (consumer, provider, updated_at).
            format!(
                "select a.* from integration i cross join lateral (
                     select * from {pubs} a where a.consumer_id = i.consumer_id and a.provider_id = i.provider_id
                     order by a.published_at desc limit $3) a
                 where i.consumer_id = $1"
            ),
            format!(
                "select a.* from integration i cross join lateral (
                     select * from {pubs} a where a.consumer_id = i.consumer_id and a.provider_id = i.provider_id
                       and exists (select 1 from verification v where v.pact_version_id = a.pact_version_id)
                     order by a.published_at desc limit $3) a
                 where i.provider_id = $1"
            ),
            "v.provider_id = $1",
        ),
    };
    let matching_verifications = verifications(latest_only, verified_by);
    let rows = format!(
        "with as_consumer as ({as_consumer} order by published_at desc limit $3),
              as_provider as ({as_provider} order by published_at desc limit $3),
              rows as (
                  select {ROW_COLUMNS} from as_consumer p left join lateral ({all_verifications}) v on true
                  union
                  select {ROW_COLUMNS} from as_provider p join lateral ({matching_verifications}) v on true
              )
         select * from rows order by {LAST_ACTION} limit $3"
    );
    sqlx::query_as(&finish_rows(&rows))
        .bind(pacticipant_id)
        .bind(version_id)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// A branch a version is on.
#[derive(Clone, Debug, Deserialize)]
pub struct VersionBranch {
    pub branch_name: String,
    pub pacticipant_name: String,
    pub version_number: String,
    /// The version is the branch's head.
    pub latest: bool,
}

/// A tag of a version.
#[derive(Clone, Debug, Deserialize)]
pub struct VersionTag {
    pub name: String,
    /// No later version of the pacticipant has this tag.
    pub latest: bool,
}

/// An environment a version is currently deployed to or supported in.
#[derive(Clone, Debug, Deserialize)]
pub struct VersionEnvironment {
    pub uuid: Uuid,
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a matrix row shows about a version.
#[derive(Clone, Debug, FromRow)]
pub struct VersionDetailRow {
    pub version_id: i64,
    /// In the order the version was added to them.
    pub branches: Json<Vec<VersionBranch>>,
    /// Oldest first.
    pub tags: Json<Vec<VersionTag>>,
    /// Current deployments and supported releases, oldest first (duplicates are the caller's
    /// to drop).
    pub environments: Json<Vec<VersionEnvironment>>,
}

/// Branches, tags and environments of `version_ids`, in one statement.
pub async fn version_details(
    conn: &mut PgConnection,
    version_ids: &[i64],
) -> sqlx::Result<Vec<VersionDetailRow>> {
    sqlx::query_as(
        "select ids.version_id,
            coalesce((select json_agg(json_build_object(
                        'branch_name', b.name, 'pacticipant_name', p.name, 'version_number', v.number,
                        'latest', not exists (select 1 from branch_version later
                                               where later.branch_id = bv.branch_id and later.version_id > bv.version_id))
                        order by bv.created_at, bv.branch_id)
                      from branch_version bv
                      join branch b on b.branch_id = bv.branch_id
                      join pacticipant p on p.pacticipant_id = b.pacticipant_id
                      join version v on v.version_id = bv.version_id
                      where bv.version_id = ids.version_id), '[]') as branches,
            coalesce((select json_agg(json_build_object(
                        'name', t.name,
                        'latest', not exists (select 1 from tag later
                                               where later.pacticipant_id = t.pacticipant_id and later.name = t.name
                                                 and later.version_id > t.version_id))
                        order by t.created_at, t.name)
                      from tag t where t.version_id = ids.version_id), '[]') as tags,
            coalesce((select json_agg(json_build_object(
                        'uuid', e.uuid, 'name', e.name, 'display_name', e.display_name, 'production', e.production,
                        'created_at', e.created_at, 'updated_at', e.updated_at)
                        order by x.created_at)
                      from (select environment_id, created_at from deployed_version
                             where version_id = ids.version_id and undeployed_at is null
                            union all
                            select environment_id, created_at from released_version
                             where version_id = ids.version_id and support_ended_at is null) x
                      join environment e on e.environment_id = x.environment_id), '[]') as environments
         from unnest($1::bigint[]) as ids(version_id)",
    )
    .bind(version_ids)
    .fetch_all(conn)
    .await
}

/// The id of pacticipant `name`.
pub async fn pacticipant_id(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select pacticipant_id from pacticipant where name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await
}

/// A version found by a path (latest with a tag, head of a branch, head of the main branch).
#[derive(Clone, Debug, FromRow)]
pub struct VersionRow {
    pub number: String,
}

/// The latest version of `pacticipant` with `tag`.
pub async fn latest_version_with_tag(
    conn: &mut PgConnection,
    pacticipant: &str,
    tag: &str,
) -> sqlx::Result<Option<VersionRow>> {
    sqlx::query_as(
        "select v.version_id, v.number from tag t
         join version v on v.version_id = t.version_id
         where t.pacticipant_id = (select pacticipant_id from pacticipant where name = $1) and t.name = $2
         order by t.version_id desc limit 1",
    )
    .bind(pacticipant)
    .bind(tag)
    .fetch_optional(conn)
    .await
}

/// Whether `pacticipant` has a branch called `branch`.
pub async fn branch_exists(
    conn: &mut PgConnection,
    pacticipant: &str,
    branch: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from branch b join pacticipant p on p.pacticipant_id = b.pacticipant_id
                         where p.name = $1 and b.name = $2)",
    )
    .bind(pacticipant)
    .bind(branch)
    .fetch_one(conn)
    .await
}

/// The head of `pacticipant`'s branch `branch` (`None` for its main branch).
pub async fn branch_head(
    conn: &mut PgConnection,
    pacticipant: &str,
    branch: Option<&str>,
) -> sqlx::Result<Option<VersionRow>> {
    sqlx::query_as(
        "select v.version_id, v.number from pacticipant p
         join branch b on b.pacticipant_id = p.pacticipant_id and b.name = coalesce($2, p.main_branch)
         join lateral (select max(bv.version_id) as version_id from branch_version bv where bv.branch_id = b.branch_id) h on true
         join version v on v.version_id = h.version_id
         where p.name = $1",
    )
    .bind(pacticipant)
    .bind(branch)
    .fetch_optional(conn)
    .await
}
