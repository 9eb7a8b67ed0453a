//! The queries behind pacts for verification: which publications each kind of consumer version
//! selector picks, whether content is pending for a provider branch or tags, and which pacts are
//! work in progress.
//!
//! Every query is set-based and starts from the provider (its integrations, its recent
//! publications) so that it touches only that provider's data through indexes, whatever the
//! size of the tenant: one query per selector, one for the pending state of all selected
//! content, one per WIP calculation (see `20261123020000_pacts_for_verification.sql`).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

/// A publication picked by a selector, with what the selector found it through.
#[derive(Clone, Debug, FromRow)]
pub struct SelectedRow {
    pub pact_publication_id: i64,
    pub consumer_id: i64,
    pub consumer_name: String,
    pub consumer_main_branch: Option<String>,
    pub provider_id: i64,
    pub provider_name: String,
    pub consumer_version_id: i64,
    pub consumer_version_number: String,
    pub pact_version_id: i64,
    pub sha: String,
    pub created_at: DateTime<Utc>,
    /// Deployed/released selectors: the environment the version is in.
    pub environment_name: Option<String>,
    pub environment_production: Option<bool>,
    /// Deployed selectors: the application instance.
    pub target: Option<String>,
    /// Branch selectors: the branch whose head the version is.
    pub branch_name: Option<String>,
    /// Tag selectors: the tag.
    pub tag_name: Option<String>,
}

/// Which consumer versions a selector picks (each kind is one query).
#[derive(Clone, Copy, Debug)]
pub enum Candidates<'a> {
    /// The head of each consumer's main branch.
    MainBranchHeads,
    /// The head of the named branch of each consumer.
    BranchHeads(&'a str),
    /// The head of every branch of each consumer.
    AllBranchHeads,
    /// Each consumer's latest version with the tag.
    LatestTagged(&'a str),
    /// Each consumer's latest version tagged with the name of its main branch.
    LatestTaggedWithMainBranch,
    /// Every version with the tag.
    AllTagged(&'a str),
    /// Each consumer's latest version with a pact with the provider.
    OverallLatest,
    /// Versions currently deployed (to the environment, if named).
    Deployed(Option<&'a str>),
    /// Versions currently released and supported (in the environment, if named).
    Released(Option<&'a str>),
}

const NO_EXTRAS: &str =
    "null::text as environment_name, null::boolean as environment_production, null::text as target";

fn candidates_sql(kind: Candidates<'_>) -> String {
    let branch_heads = |condition: &str| {
        format!(
            "select h.version_id, {NO_EXTRAS}, b.name as branch_name, null::text as tag_name
             from consumers c
             join branch b on b.pacticipant_id = c.pacticipant_id and {condition}
             cross join lateral (select max(bv.version_id) as version_id from branch_version bv
                                 where bv.branch_id = b.branch_id) h
             where $3::text is null or $3 is not null"
        )
    };
    let latest_tagged = |tag: &str| {
        format!(
            "select h.version_id, {NO_EXTRAS}, null::text as branch_name, h.name as tag_name
             from consumers c
             cross join lateral (select t.version_id, t.name from tag t
                                 where t.pacticipant_id = c.pacticipant_id and t.name = {tag}
                                 order by t.version_id desc limit 1) h"
        )
    };
    match kind {
        Candidates::MainBranchHeads => branch_heads("b.name = c.main_branch"),
        Candidates::BranchHeads(_) => branch_heads("b.name = $3"),
        Candidates::AllBranchHeads => branch_heads("true"),
        Candidates::LatestTagged(_) => latest_tagged("$3"),
        Candidates::LatestTaggedWithMainBranch => {
            format!("{} where $3::text is null or $3 is not null", latest_tagged("c.main_branch"))
        }
        Candidates::AllTagged(_) => format!(
            "select t.version_id, {NO_EXTRAS}, null::text as branch_name, t.name as tag_name
             from consumers c join tag t on t.pacticipant_id = c.pacticipant_id and t.name = $3"
        ),
        Candidates::OverallLatest => format!(
            "select h.version_id, {NO_EXTRAS}, null::text as branch_name, null::text as tag_name
             from consumers c
             cross join lateral (select max(l.consumer_version_id) as version_id from pact_publication l
                                 where l.provider_id = $1 and l.consumer_id = c.pacticipant_id) h
             where $3::text is null or $3 is not null"
        ),
        Candidates::Deployed(_) => "select d.version_id, e.name as environment_name,
                e.production as environment_production, d.application_instance as target,
                null::text as branch_name, null::text as tag_name
             from consumers c
             join deployed_version d on d.pacticipant_id = c.pacticipant_id and d.undeployed_at is null
             join environment e on e.environment_id = d.environment_id and ($3::text is null or e.name = $3)"
            .to_owned(),
        Candidates::Released(_) => "select r.version_id, e.name as environment_name,
                e.production as environment_production, null::text as target,
                null::text as branch_name, null::text as tag_name
             from consumers c
             join released_version r on r.pacticipant_id = c.pacticipant_id and r.support_ended_at is null
             join environment e on e.environment_id = r.environment_id and ($3::text is null or e.name = $3)"
            .to_owned(),
    }
}

/// The provider's consumers (all, or those named) as a CTE over `$1` (provider) and `$2`.
const CONSUMERS: &str = "consumers as (
    select c.pacticipant_id, c.name, c.main_branch
    from integration i join pacticipant c on c.pacticipant_id = i.consumer_id
    where i.provider_id = $1 and ($2::text[] is null or c.name = any($2)))";

const SELECTED_COLUMNS: &str = "pp.pact_publication_id, pp.consumer_id, c.name as consumer_name,
    c.main_branch as consumer_main_branch, pp.provider_id, p.name as provider_name,
    pp.consumer_version_id, v.number as consumer_version_number, pp.pact_version_id, pv.sha,
    pp.revision_number, pp.updated_at as created_at";

const SELECTED_JOINS: &str = "join pacticipant c on c.pacticipant_id = pp.consumer_id
    join pacticipant p on p.pacticipant_id = pp.provider_id
    join version v on v.version_id = pp.consumer_version_id
    join pact_version pv on pv.pact_version_id = pp.pact_version_id";

/// The publications with the provider of the consumer versions `kind` picks, among the
/// consumers named (all when `None`).
pub async fn select(
    conn: &mut PgConnection,
    provider_id: i64,
    consumers: Option<&[String]>,
    kind: Candidates<'_>,
) -> sqlx::Result<Vec<SelectedRow>> {
    let name = match kind {
        Candidates::BranchHeads(n) | Candidates::LatestTagged(n) | Candidates::AllTagged(n) => {
            Some(n)
        }
        Candidates::Deployed(n) | Candidates::Released(n) => n,
        _ => None,
    };
    let query = format!(
        "with {CONSUMERS}, picked as ({})
         select {SELECTED_COLUMNS}, picked.environment_name, picked.environment_production,
                picked.target, picked.branch_name, picked.tag_name
         from picked
         join pact_publication pp on pp.consumer_version_id = picked.version_id and pp.provider_id = $1
         {SELECTED_JOINS}
         order by lower(c.name), pp.consumer_version_id",
        candidates_sql(kind)
    );
    sqlx::query_as(&query)
        .bind(provider_id)
        .bind(consumers)
        .bind(name)
        .fetch_all(conn)
        .await
}

/// A consumer of the provider, with what the default selectors need to know.
#[derive(Clone, Debug, FromRow)]
pub struct ConsumerForDefaults {
    pub name: String,
    pub main_branch: Option<String>,
    pub main_branch_has_versions: bool,
    pub main_branch_tag_exists: bool,
}

/// Every consumer of the provider, by name.
pub async fn consumers_for_defaults(
    conn: &mut PgConnection,
    provider_id: i64,
) -> sqlx::Result<Vec<ConsumerForDefaults>> {
    sqlx::query_as(&format!(
        "with {CONSUMERS}
         select c.name, c.main_branch,
            exists (select 1 from branch b join branch_version bv on bv.branch_id = b.branch_id
                    where b.pacticipant_id = c.pacticipant_id and b.name = c.main_branch) as main_branch_has_versions,
            (select t.version_id from tag t
             where t.pacticipant_id = c.pacticipant_id and t.name = c.main_branch
             order by t.version_id desc limit 1) is not null as main_branch_tag_exists
         from consumers c order by c.name"
    ))
    .bind(provider_id)
    .bind(None::<Vec<String>>)
    .fetch_all(conn)
    .await
}

/// What is known about the verification of some content by the provider.
#[derive(Clone, Debug, FromRow)]
pub struct VerificationState {
    pub pact_version_id: i64,
    /// Successfully verified by a version on the provider branch.
    pub verified_by_branch: bool,
    /// Successfully verified by a version on another branch before the provider branch existed.
    pub verified_by_other_branch_before: bool,
    /// Successfully verified by any provider version.
    pub verified: bool,
    /// The provider tags with a successful verification from a version carrying them.
    pub verified_tags: Vec<String>,
    /// The provider tags for which a version with another tag verified successfully before the
    /// tag was first used.
    pub verified_before_tag_existed: Vec<String>,
}

/// The verification state of each content, for the provider's branch and tags.
///
/// Each check walks the (few) successful verifications of one content and probes the provider
/// version's branches or tags; the probes are scalar subqueries so that the planner cannot turn
/// them into joins that start from the provider's (many) branch versions.
pub async fn verification_states(
    conn: &mut PgConnection,
    provider_id: i64,
    pact_version_ids: &[i64],
    branch: Option<&str>,
    tags: &[String],
) -> sqlx::Result<Vec<VerificationState>> {
    sqlx::query_as(
        "with provider_branch as materialized (
            select (select branch_id from branch where pacticipant_id = $2 and name = $3) as branch_id,
                   coalesce((select created_at from branch where pacticipant_id = $2 and name = $3),
                            'infinity') as created_at)
         select pv.pact_version_id,
            coalesce((select true from verification v
                      where v.pact_version_id = pv.pact_version_id and v.success
                        and coalesce((select true from branch_version bv
                                      where bv.branch_id = pb.branch_id and bv.version_id = v.provider_version_id), false)
                      limit 1), false) as verified_by_branch,
            coalesce((select true from verification v
                      where v.pact_version_id = pv.pact_version_id and v.success and v.created_at < pb.created_at
                        and coalesce((select true from branch_version bv join branch b on b.branch_id = bv.branch_id
                                      where bv.version_id = v.provider_version_id and b.pacticipant_id = $2
                                        and b.name <> $3 limit 1), false)
                      limit 1), false) as verified_by_other_branch_before,
            coalesce((select true from verification v
                      where v.pact_version_id = pv.pact_version_id and v.success limit 1), false) as verified,
            array(select tg from unnest($4::text[]) as tg
                  where coalesce((select true from verification v
                                  where v.pact_version_id = pv.pact_version_id and v.success
                                    and coalesce((select true from tag t where t.version_id = v.provider_version_id
                                                  and t.name = tg), false)
                                  limit 1), false)) as verified_tags,
            array(select tg from unnest($4::text[]) as tg
                  where coalesce((select true from verification v
                                  where v.pact_version_id = pv.pact_version_id and v.success
                                    and v.created_at < coalesce(
                                        (select min(ft.created_at) from tag ft where ft.pacticipant_id = $2 and ft.name = tg),
                                        'infinity')
                                    and coalesce((select true from tag t where t.version_id = v.provider_version_id
                                                  and t.name <> tg limit 1), false)
                                  limit 1), false)) as verified_before_tag_existed
         from unnest($1::bigint[]) as pv(pact_version_id) cross join provider_branch pb",
    )
    .bind(pact_version_ids)
    .bind(provider_id)
    .bind(branch)
    .bind(tags)
    .fetch_all(conn)
    .await
}

/// How far back verifications from a provider branch count against a WIP pact (the broker's
/// `verified_by_other_branch_before_this_branch_look_back`, 30 days).
const WIP_LOOK_BACK: &str = "interval '30 days'";

/// Which provider the WIP pacts are for: a branch, or tags.
#[derive(Clone, Copy, Debug)]
pub enum WipFor<'a> {
    Branch(&'a str),
    Tags(&'a [String]),
}

/// A WIP candidate, and (by tags) the provider tag it is work in progress for.
#[derive(Clone, Debug)]
pub struct WipRow {
    pub pact: SelectedRow,
    pub provider_tag: Option<String>,
}

#[derive(FromRow)]
struct WipCandidate {
    pact_publication_id: i64,
    branch_name: Option<String>,
    tag_name: Option<String>,
    provider_tag: Option<String>,
}

/// The publications with these ids, as selected rows (no environment, branch or tag).
async fn publications(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<SelectedRow>> {
    sqlx::query_as(&format!(
        "select {SELECTED_COLUMNS}, null::text as environment_name, null::boolean as environment_production,
                null::text as target, null::text as branch_name, null::text as tag_name
         from pact_publication pp {SELECTED_JOINS}
         where pp.pact_publication_id = any($1)"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await
}

/// The work-in-progress pacts: those of consumer branch heads and tag heads published after
/// `since`, less those a successful non-WIP verification by the provider branch (or tag), or by
/// another branch (tag) before this one existed, already covers.
///
/// Candidates are found from whichever side is smaller: the provider's publications since the
/// date (each checked for being a head), or the heads of its consumers' branches and tags (each
/// checked for a publication since the date); the choice is made in the query.
pub async fn wip(
    conn: &mut PgConnection,
    provider_id: i64,
    since: DateTime<Utc>,
    provider: WipFor<'_>,
) -> sqlx::Result<Vec<WipRow>> {
    let (branch, tags): (Option<&str>, &[String]) = match provider {
        WipFor::Branch(b) => (Some(b), &[]),
        WipFor::Tags(t) => (None, t),
    };
    let uncovered = match provider {
        WipFor::Branch(_) => format!(
            "select cand.*, null::text as provider_tag from cand, params
             where not coalesce((
                select true from verification v
                where v.pact_version_id = cand.pact_version_id and v.success and not v.wip
                  and v.execution_date >= now() - {WIP_LOOK_BACK}
                  and (coalesce((select true from branch_version bv
                                 where bv.branch_id = params.branch_id and bv.version_id = v.provider_version_id), false)
                       or (v.execution_date < params.first_created
                           and coalesce((select true from branch_version bv join branch b on b.branch_id = bv.branch_id
                                         where bv.version_id = v.provider_version_id and b.pacticipant_id = $1
                                           and b.name <> $3 limit 1), false)))
                limit 1), false)"
        ),
        WipFor::Tags(_) => "select cand.*, pt.tag as provider_tag from cand cross join unnest($4::text[]) as pt(tag)
             where not coalesce((
                select true from verification v
                where v.pact_version_id = cand.pact_version_id and v.success and not v.wip
                  and (coalesce((select true from tag t where t.version_id = v.provider_version_id and t.name = pt.tag), false)
                       or (v.execution_date < coalesce(
                              (select min(ft.created_at) from tag ft where ft.pacticipant_id = $1 and ft.name = pt.tag),
                              'infinity')
                           and coalesce((select true from tag t where t.version_id = v.provider_version_id
                                           and t.pacticipant_id = $1 and t.name <> pt.tag limit 1), false)))
                limit 1), false)"
            .to_owned(),
    };
    let query = format!(
        "with params as materialized (
            select pb.branch_id,
                   coalesce((select v.created_at from version v where v.version_id =
                               (select min(bv.version_id) from branch_version bv where bv.branch_id = pb.branch_id)),
                            'infinity') as first_created,
                   (select count(*) from (select 1 from pact_publication p
                                          where p.provider_id = $1 and p.updated_at > $2 limit 5000) r)
                   <= (select count(*) from integration i join branch b on b.pacticipant_id = i.consumer_id
                       where i.provider_id = $1) as from_recent
            from (select (select branch_id from branch where pacticipant_id = $1 and name = $3) as branch_id) pb),
         recent as materialized (
            select r.pact_publication_id, r.consumer_version_id, r.pact_version_id from pact_publication r
            where (select from_recent from params) and r.provider_id = $1 and r.updated_at > $2),
         heads as materialized (
            select r.pact_publication_id, r.pact_version_id, h.branch_id, null::text as tag_name
            from recent r cross join lateral (
                select bv.branch_id from branch_version bv
                where bv.version_id = r.consumer_version_id
                  and not exists (select 1 from branch_version n
                                  where n.branch_id = bv.branch_id and n.version_id > bv.version_id)) h
            union all
            select r.pact_publication_id, r.pact_version_id, null, h.tag_name
            from recent r cross join lateral (
                select t.name as tag_name from tag t
                where t.version_id = r.consumer_version_id
                  and not exists (select 1 from tag n where n.pacticipant_id = t.pacticipant_id and n.name = t.name
                                  and n.version_id > t.version_id)) h
            union all
            select pp.pact_publication_id, pp.pact_version_id, b.branch_id, null
            from integration i join branch b on b.pacticipant_id = i.consumer_id
            cross join lateral (select max(bv.version_id) as version_id from branch_version bv
                                where bv.branch_id = b.branch_id) h
            join pact_publication pp on pp.consumer_version_id = h.version_id and pp.provider_id = i.provider_id
            where not (select from_recent from params) and i.provider_id = $1 and pp.updated_at > $2
            union all
            select pp.pact_publication_id, pp.pact_version_id, null, tn.name
            from integration i
            cross join lateral (select distinct t.name from tag t where t.pacticipant_id = i.consumer_id) tn
            cross join lateral (select max(t.version_id) as version_id from tag t
                                where t.pacticipant_id = i.consumer_id and t.name = tn.name) h
            join pact_publication pp on pp.consumer_version_id = h.version_id and pp.provider_id = i.provider_id
            where not (select from_recent from params) and i.provider_id = $1 and pp.updated_at > $2),
         cand as materialized (
            select h.pact_publication_id, h.pact_version_id, h.branch_id, h.tag_name from heads h),
         uncovered as ({uncovered})
         select u.pact_publication_id, (select name from branch where branch_id = u.branch_id) as branch_name,
                u.tag_name, u.provider_tag
         from uncovered u"
    );
    // The candidates first, then their details by id: joined in one statement, a generic plan
    // (which cannot know how few candidates there are) would scan the publications.
    let candidates: Vec<WipCandidate> = sqlx::query_as(&query)
        .bind(provider_id)
        .bind(since)
        .bind(branch)
        .bind(tags)
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<i64> = candidates.iter().map(|c| c.pact_publication_id).collect();
    let details = publications(conn, &ids).await?;
    let mut rows: Vec<WipRow> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let mut pact = details
                .iter()
                .find(|d| d.pact_publication_id == candidate.pact_publication_id)?
                .clone();
            pact.branch_name = candidate.branch_name;
            pact.tag_name = candidate.tag_name;
            Some(WipRow {
                pact,
                provider_tag: candidate.provider_tag,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &WipRow| {
            (
                r.pact.consumer_name.clone(),
                r.pact.consumer_version_id,
                r.pact.tag_name.is_some(),
                r.pact.branch_name.clone(),
                r.pact.tag_name.clone(),
                r.provider_tag.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(rows)
}

/// The names among `names` of existing environments.
pub async fn existing_environments(
    conn: &mut PgConnection,
    names: &[String],
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select name from environment where name = any($1)")
        .bind(names)
        .fetch_all(conn)
        .await
}

/// An environment's name, by uuid.
pub async fn environment_name(
    conn: &mut PgConnection,
    uuid: uuid::Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select name from environment where uuid = $1")
        .bind(uuid)
        .fetch_optional(conn)
        .await
}
