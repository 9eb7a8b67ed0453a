//! Pact content (one row per distinct content) and publications (which consumer version has
//! which content with which provider).
//!
//! "Latest" means highest consumer `version_id` (the broker's consumer version order). A
//! publication's `updated_at` is when its current content was published: it only changes when a
//! re-publication replaces the content (the old content is kept in `pact_revision`), so it is
//! what the broker calls the publication's `created_at`.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use crate::broker::pact_document::CanonicalPact;

/// Plans the rest of the caller's transaction with generic plans: its prepared statements run
/// again and again on each pooled connection and are planned once that way. (JIT and parallel
/// workers are off for every tenant connection; see `pools.rs`.)
pub async fn plan_for_oltp(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("select set_config('plan_cache_mode', 'force_generic_plan', true)")
        .execute(conn)
        .await
        .map(drop)
}

/// The content row for `pact`, created if this consumer/provider pair never had it.
pub async fn find_or_create_content(
    conn: &mut PgConnection,
    consumer_id: i64,
    provider_id: i64,
    pact: &CanonicalPact,
) -> sqlx::Result<i64> {
    // Two statements: a single one's snapshot would miss the same content committed by a
    // concurrent publication while this insert waited for it (READ COMMITTED).
    let created: Option<i64> = sqlx::query_scalar(
        "insert into pact_version (consumer_id, provider_id, sha, content, interactions_count, messages_count)
         values ($1, $2, $3, $4, $5, $6)
         on conflict on constraint pact_version_sha_key do nothing
         returning pact_version_id",
    )
    .bind(consumer_id)
    .bind(provider_id)
    .bind(&pact.sha)
    .bind(&pact.json)
    .bind(pact.interactions)
    .bind(pact.messages)
    .fetch_optional(&mut *conn)
    .await?;
    match created {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar(
                "select pact_version_id from pact_version where consumer_id = $1 and provider_id = $2 and sha = $3",
            )
            .bind(consumer_id)
            .bind(provider_id)
            .bind(&pact.sha)
            .fetch_one(conn)
            .await
        }
    }
}

/// What publishing content for a consumer version did.
#[derive(Debug, PartialEq, Eq)]
pub enum Publication {
    /// The consumer version had no pact with this provider.
    Created { publication_id: i64 },
    /// It had exactly this content already.
    Unchanged { publication_id: i64 },
    /// Its content was replaced (the old content is kept as a revision).
    Replaced { publication_id: i64 },
    /// It has other content and replacing was not allowed; nothing changed.
    Conflict { existing_content: String },
}

impl Publication {
    /// The publication, unless refused.
    pub fn publication_id(&self) -> Option<i64> {
        match self {
            Self::Created { publication_id }
            | Self::Unchanged { publication_id }
            | Self::Replaced { publication_id } => Some(*publication_id),
            Self::Conflict { .. } => None,
        }
    }
}

/// Records that `consumer_version_id` publishes `pact_version_id` for `provider_id`.
pub async fn publish(
    conn: &mut PgConnection,
    consumer_id: i64,
    provider_id: i64,
    consumer_version_id: i64,
    pact_version_id: i64,
    may_replace: bool,
) -> sqlx::Result<Publication> {
    let existing: Option<(i64, i64, i32, DateTime<Utc>)> = sqlx::query_as(
        "select pact_publication_id, pact_version_id, revision_number, updated_at from pact_publication
         where consumer_version_id = $1 and provider_id = $2
         for update",
    )
    .bind(consumer_version_id)
    .bind(provider_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((publication_id, current, revision, since)) = existing else {
        let inserted: Option<i64> = sqlx::query_scalar(
            "insert into pact_publication (consumer_id, provider_id, consumer_version_id, pact_version_id)
             values ($1, $2, $3, $4)
             on conflict on constraint pact_publication_version_provider_key do nothing
             returning pact_publication_id",
        )
        .bind(consumer_id)
        .bind(provider_id)
        .bind(consumer_version_id)
        .bind(pact_version_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(publication_id) = inserted else {
            // A concurrent publish of the same consumer version won the race: decide against it.
            return Box::pin(publish(
                conn,
                consumer_id,
                provider_id,
                consumer_version_id,
                pact_version_id,
                may_replace,
            ))
            .await;
        };
        record_integration(conn, consumer_id, provider_id).await?;
        return Ok(Publication::Created { publication_id });
    };
    if current == pact_version_id {
        return Ok(Publication::Unchanged { publication_id });
    }
    if !may_replace {
        let existing_content: String =
            sqlx::query_scalar("select content from pact_version where pact_version_id = $1")
                .bind(current)
                .fetch_one(&mut *conn)
                .await?;
        return Ok(Publication::Conflict { existing_content });
    }
    sqlx::query(
        "insert into pact_revision (pact_publication_id, revision_number, pact_version_id, created_at)
         values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind(publication_id)
    .bind(revision)
    .bind(current)
    .bind(since)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update pact_publication set pact_version_id = $2, revision_number = revision_number + 1
         where pact_publication_id = $1",
    )
    .bind(publication_id)
    .bind(pact_version_id)
    .execute(&mut *conn)
    .await?;
    record_integration(conn, consumer_id, provider_id).await?;
    Ok(Publication::Replaced { publication_id })
}

async fn record_integration(
    conn: &mut PgConnection,
    consumer_id: i64,
    provider_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into integration (consumer_id, provider_id) values ($1, $2)
         on conflict (consumer_id, provider_id) do update set contract_data_updated_at = now()",
    )
    .bind(consumer_id)
    .bind(provider_id)
    .execute(conn)
    .await
    .map(drop)
}

/// A published pact without its content: what lists and links need.
#[derive(Clone, Debug, FromRow)]
pub struct PactRef {
    pub pact_publication_id: i64,
    pub consumer_id: i64,
    pub consumer_name: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub consumer_version_id: i64,
    pub consumer_version_number: String,
    pub pact_version_id: i64,
    pub sha: String,
    /// When the current content was published.
    pub created_at: DateTime<Utc>,
}

impl PactRef {
    /// "Pact between C (1.0.0) and P".
    pub fn name(&self) -> String {
        format!(
            "Pact between {} ({}) and {}",
            self.consumer_name, self.consumer_version_number, self.provider_name
        )
    }
}

/// A published pact with its content, as responses need it.
#[derive(Clone, Debug, FromRow)]
pub struct PublishedPact {
    #[sqlx(flatten)]
    pub pact: PactRef,
    pub content: String,
}

impl std::ops::Deref for PublishedPact {
    type Target = PactRef;

    fn deref(&self) -> &PactRef {
        &self.pact
    }
}

const REF_COLUMNS: &str = "pp.pact_publication_id, pp.consumer_id, c.name as consumer_name,
    pp.provider_id, p.name as provider_name, pp.consumer_version_id, v.number as consumer_version_number,
    pp.pact_version_id, pv.sha, pp.revision_number, pp.updated_at as created_at";

const FROM: &str = "from pact_publication pp
    join pacticipant c on c.pacticipant_id = pp.consumer_id
    join pacticipant p on p.pacticipant_id = pp.provider_id
    join version v on v.version_id = pp.consumer_version_id
    join pact_version pv on pv.pact_version_id = pp.pact_version_id";

fn with_content(rest: &str) -> String {
    format!("select {REF_COLUMNS}, pv.content {FROM} {rest}")
}

fn refs(rest: &str) -> String {
    format!("select {REF_COLUMNS} {FROM} {rest}")
}

/// Names resolved to ids before the publications are touched (scalar subqueries run first),
/// so that lookups go through the unique keys whatever the planner thinks of the names.
const PROVIDER_ID: &str = "(select pacticipant_id from pacticipant where name = $1)";
const CONSUMER_ID: &str = "(select pacticipant_id from pacticipant where name = $2)";

/// The pact `consumer` version `number` has with `provider`.
pub async fn for_consumer_version(
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
    number: &str,
) -> sqlx::Result<Option<PublishedPact>> {
    sqlx::query_as(&with_content(&format!(
        "where pp.provider_id = {PROVIDER_ID}
           and pp.consumer_version_id = (select version_id from version
                                         where pacticipant_id = {CONSUMER_ID} and number = $3)"
    )))
    .bind(provider)
    .bind(consumer)
    .bind(number)
    .fetch_optional(conn)
    .await
}

/// The publication with this id.
pub async fn by_id(
    conn: &mut PgConnection,
    publication_id: i64,
) -> sqlx::Result<Option<PublishedPact>> {
    sqlx::query_as(&with_content("where pp.pact_publication_id = $1"))
        .bind(publication_id)
        .fetch_optional(conn)
        .await
}

/// Which of an integration's pacts is "the latest".
#[derive(Clone, Debug)]
pub enum Latest<'a> {
    /// Of all consumer versions.
    Any,
    /// Of the consumer versions with this tag.
    Tagged(&'a str),
    /// Of the consumer versions without tags.
    Untagged,
    /// Of the consumer versions on this branch (not necessarily its head).
    OnBranch(&'a str),
}

/// The latest pact between `consumer` and `provider` (by consumer version order).
pub async fn latest(
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
    which: Latest<'_>,
) -> sqlx::Result<Option<PublishedPact>> {
    // Tags and branches are walked from their own (small) side, newest version first.
    let query = match which {
        Latest::Any => with_content(&format!(
            "where pp.provider_id = {PROVIDER_ID} and pp.consumer_id = {CONSUMER_ID}
             order by pp.consumer_version_id desc limit 1"
        )),
        Latest::Untagged => with_content(&format!(
            "where pp.provider_id = {PROVIDER_ID} and pp.consumer_id = {CONSUMER_ID}
               and not exists (select 1 from tag t where t.version_id = pp.consumer_version_id)
             order by pp.consumer_version_id desc limit 1"
        )),
        Latest::Tagged(_) => format!(
            "select {REF_COLUMNS}, pv.content from tag t
             join pact_publication pp on pp.consumer_version_id = t.version_id and pp.provider_id = {PROVIDER_ID}
             join pacticipant c on c.pacticipant_id = pp.consumer_id
             join pacticipant p on p.pacticipant_id = pp.provider_id
             join version v on v.version_id = pp.consumer_version_id
             join pact_version pv on pv.pact_version_id = pp.pact_version_id
             where t.pacticipant_id = {CONSUMER_ID} and t.name = $3
             order by t.version_id desc limit 1"
        ),
        Latest::OnBranch(_) => format!(
            "select {REF_COLUMNS}, pv.content from branch b
             join branch_version bv on bv.branch_id = b.branch_id
             join pact_publication pp on pp.consumer_version_id = bv.version_id and pp.provider_id = {PROVIDER_ID}
             join pacticipant c on c.pacticipant_id = pp.consumer_id
             join pacticipant p on p.pacticipant_id = pp.provider_id
             join version v on v.version_id = pp.consumer_version_id
             join pact_version pv on pv.pact_version_id = pp.pact_version_id
             where b.pacticipant_id = {CONSUMER_ID} and b.name = $3
             order by bv.version_id desc limit 1"
        ),
    };
    let mut query = sqlx::query_as(&query).bind(provider).bind(consumer);
    if let Latest::Tagged(name) | Latest::OnBranch(name) = which {
        query = query.bind(name);
    }
    query.fetch_optional(conn).await
}

/// The broker's `find_pact` by content: the publication of consumer version `number` if it has
/// this content, else the latest publication of this content.
pub async fn by_sha(
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
    sha: &str,
    number: Option<&str>,
) -> sqlx::Result<Option<PublishedPact>> {
    if let Some(number) = number {
        if let Some(pact) = for_consumer_version(conn, provider, consumer, number).await? {
            if pact.sha == sha {
                return Ok(Some(pact));
            }
        }
    }
    sqlx::query_as(&with_content(&format!(
        "where pp.pact_version_id = (select pact_version_id from pact_version
                                     where consumer_id = {CONSUMER_ID} and provider_id = {PROVIDER_ID} and sha = $3)
         order by pp.consumer_version_id desc limit 1"
    )))
    .bind(provider)
    .bind(consumer)
    .bind(sha)
    .fetch_optional(conn)
    .await
}

/// The consumer versions (oldest first) among `numbers` that exist.
pub async fn versions_by_number(
    conn: &mut PgConnection,
    consumer: &str,
    numbers: &[String],
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "select version_id, number from version
         where pacticipant_id = (select pacticipant_id from pacticipant where name = $1) and number = any($2)
         order by version_id",
    )
    .bind(consumer)
    .bind(numbers)
    .fetch_all(conn)
    .await
}

/// The numbers of these versions.
pub async fn version_numbers(
    conn: &mut PgConnection,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("select version_id, number from version where version_id = any($1)")
        .bind(ids)
        .fetch_all(conn)
        .await
}

/// Which of an integration's pacts a collection lists.
#[derive(Clone, Copy, Debug)]
pub enum IntegrationPacts<'a> {
    /// Every consumer version's (newest first).
    All,
    /// Those of consumer versions with this tag (newest first).
    Tagged(&'a str),
    /// Those of consumer versions on this branch, or on the consumer's main branch when `None`
    /// (oldest first); with `latest`, only the branch head's.
    Branch { name: Option<&'a str>, latest: bool },
}

/// Branch membership, or the branch head only, for the consumer version of `pp`; `$3` is the
/// branch name, or the consumer's main branch when null.
fn branch_filter(latest: bool) -> &'static str {
    if latest {
        "and pp.consumer_version_id = (
            select max(bv.version_id) from branch b join branch_version bv on bv.branch_id = b.branch_id
            where b.pacticipant_id = pp.consumer_id and b.name = coalesce($3, c.main_branch))"
    } else {
        "and exists (select 1 from branch_version bv join branch b on b.branch_id = bv.branch_id
            where bv.version_id = pp.consumer_version_id and b.name = coalesce($3, c.main_branch))"
    }
}

/// The pacts of one integration.
pub async fn for_integration(
    conn: &mut PgConnection,
    provider_id: i64,
    consumer_id: i64,
    which: IntegrationPacts<'_>,
) -> sqlx::Result<Vec<PactRef>> {
    // `$3` (the tag or branch) is always bound; `All` ignores it.
    let (filter, order, name) = match which {
        IntegrationPacts::All => ("and $3::text is null", "desc", None),
        IntegrationPacts::Tagged(tag) => (
            "and exists (select 1 from tag t where t.version_id = pp.consumer_version_id and t.name = $3)",
            "desc",
            Some(tag),
        ),
        IntegrationPacts::Branch { name, latest } => (branch_filter(latest), "asc", name),
    };
    let query = refs(&format!(
        "where pp.provider_id = $1 and pp.consumer_id = $2 {filter}
         order by pp.consumer_version_id {order}"
    ));
    sqlx::query_as(&query)
        .bind(provider_id)
        .bind(consumer_id)
        .bind(name)
        .fetch_all(conn)
        .await
}

/// Deletes the publications of one integration that `which` lists; returns how many.
pub async fn delete_for_integration(
    conn: &mut PgConnection,
    provider_id: i64,
    consumer_id: i64,
    which: IntegrationPacts<'_>,
) -> sqlx::Result<u64> {
    let ids: Vec<i64> = for_integration(conn, provider_id, consumer_id, which)
        .await?
        .iter()
        .map(|p| p.pact_publication_id)
        .collect();
    delete_publications(conn, &ids).await
}

/// Deletes publications (their revisions go with them; content and verifications stay).
pub async fn delete_publications(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("delete from pact_publication where pact_publication_id = any($1)")
            .bind(ids)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Which of a provider's pacts a provider collection lists.
#[derive(Clone, Copy, Debug)]
pub enum ProviderPacts<'a> {
    /// All, optionally only those of consumer versions with a tag.
    All { tag: Option<&'a str> },
    /// Per consumer, the latest; with a tag, the latest of the consumer versions with it.
    Latest { tag: Option<&'a str> },
    /// Those of consumer versions on a branch (each consumer's main branch when `None`); with
    /// `latest`, only each branch head's.
    Branch { name: Option<&'a str>, latest: bool },
}

/// A provider's pacts, sorted as the broker sorts them (consumer name, then version order).
pub async fn for_provider(
    conn: &mut PgConnection,
    provider_id: i64,
    which: ProviderPacts<'_>,
) -> sqlx::Result<Vec<PactRef>> {
    let (filter, name) = match which {
        // `$2` (the tag or branch) is always bound; filters without one ignore it.
        ProviderPacts::All { tag: None } => ("and $2::text is null", None),
        ProviderPacts::All { tag: Some(tag) } => (
            "and exists (select 1 from tag t where t.version_id = pp.consumer_version_id and t.name = $2)",
            Some(tag),
        ),
        ProviderPacts::Latest { tag: None } => (
            "and $2::text is null and pp.consumer_version_id = (select max(l.consumer_version_id) from pact_publication l
                where l.provider_id = pp.provider_id and l.consumer_id = pp.consumer_id)",
            None,
        ),
        ProviderPacts::Latest { tag: Some(tag) } => (
            "and pp.consumer_version_id = (select max(l.consumer_version_id) from pact_publication l
                join tag t on t.version_id = l.consumer_version_id and t.name = $2
                where l.provider_id = pp.provider_id and l.consumer_id = pp.consumer_id)",
            Some(tag),
        ),
        ProviderPacts::Branch { name, latest: true } => (
            "and pp.consumer_version_id = (
                select max(bv.version_id) from branch b join branch_version bv on bv.branch_id = b.branch_id
                where b.pacticipant_id = pp.consumer_id and b.name = coalesce($2, c.main_branch))",
            name,
        ),
        ProviderPacts::Branch {
            name,
            latest: false,
        } => (
            "and exists (select 1 from branch_version bv join branch b on b.branch_id = bv.branch_id
                where bv.version_id = pp.consumer_version_id and b.name = coalesce($2, c.main_branch))",
            name,
        ),
    };
    let query = refs(&format!(
        "where pp.provider_id = $1 {filter}
         order by lower(c.name), lower(p.name), pp.consumer_version_id"
    ));
    sqlx::query_as(&query)
        .bind(provider_id)
        .bind(name)
        .fetch_all(conn)
        .await
}

/// The latest pact of every integration, sorted by consumer and provider name.
pub async fn latest_of_every_integration(conn: &mut PgConnection) -> sqlx::Result<Vec<PactRef>> {
    sqlx::query_as(&format!(
        "select l.* from integration i
         cross join lateral (
            select {REF_COLUMNS} {FROM}
            where pp.provider_id = i.provider_id and pp.consumer_id = i.consumer_id
            order by pp.consumer_version_id desc limit 1) l
         order by lower(l.consumer_name), lower(l.provider_name), l.consumer_version_id"
    ))
    .fetch_all(conn)
    .await
}

/// The latest publication before `pact`'s consumer version with other content (the broker's
/// previous distinct version).
pub async fn previous_distinct(
    conn: &mut PgConnection,
    pact: &PactRef,
) -> sqlx::Result<Option<PublishedPact>> {
    sqlx::query_as(&with_content(
        "where pp.provider_id = $1 and pp.consumer_id = $2 and pp.consumer_version_id < $3
           and pp.pact_version_id <> $4
         order by pp.consumer_version_id desc limit 1",
    ))
    .bind(pact.provider_id)
    .bind(pact.consumer_id)
    .bind(pact.consumer_version_id)
    .bind(pact.pact_version_id)
    .fetch_optional(conn)
    .await
}

/// The first publication after `pact`'s consumer version.
pub async fn next_after(conn: &mut PgConnection, pact: &PactRef) -> sqlx::Result<Option<PactRef>> {
    sqlx::query_as(&refs(
        "where pp.provider_id = $1 and pp.consumer_id = $2 and pp.consumer_version_id > $3
         order by pp.consumer_version_id asc limit 1",
    ))
    .bind(pact.provider_id)
    .bind(pact.consumer_id)
    .bind(pact.consumer_version_id)
    .fetch_optional(conn)
    .await
}

/// The names of the tags and branches of a consumer version.
pub async fn version_tags_and_branches(
    conn: &mut PgConnection,
    version_id: i64,
) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    let tags: Vec<String> =
        sqlx::query_scalar("select name from tag where version_id = $1 order by created_at, name")
            .bind(version_id)
            .fetch_all(&mut *conn)
            .await?;
    let branches: Vec<String> = sqlx::query_scalar(
        "select b.name from branch_version bv join branch b on b.branch_id = bv.branch_id
         where bv.version_id = $1 order by bv.created_at, b.name",
    )
    .bind(version_id)
    .fetch_all(conn)
    .await?;
    Ok((tags, branches))
}

/// For each tag of the pact's consumer version (or, when it has none, for "untagged"), the
/// content of the previous consumer version with that tag (or untagged) — `None` when there is
/// none. The broker raises `contract_content_changed` when any differs.
pub async fn previous_shas_by_tag(
    conn: &mut PgConnection,
    pact: &PactRef,
    tags: &[String],
) -> sqlx::Result<Vec<(Option<String>, Option<String>)>> {
    let mut result = Vec::new();
    if tags.is_empty() {
        let sha: Option<String> = sqlx::query_scalar(
            "select pv.sha from pact_publication pp join pact_version pv on pv.pact_version_id = pp.pact_version_id
             where pp.provider_id = $1 and pp.consumer_id = $2 and pp.consumer_version_id < $3
               and not exists (select 1 from tag t where t.version_id = pp.consumer_version_id)
             order by pp.consumer_version_id desc limit 1",
        )
        .bind(pact.provider_id)
        .bind(pact.consumer_id)
        .bind(pact.consumer_version_id)
        .fetch_optional(&mut *conn)
        .await?;
        result.push((None, sha));
        return Ok(result);
    }
    for tag in tags {
        let sha: Option<String> = sqlx::query_scalar(
            "select pv.sha from tag t
             join pact_publication pp on pp.consumer_version_id = t.version_id and pp.provider_id = $1
             join pact_version pv on pv.pact_version_id = pp.pact_version_id
             where t.pacticipant_id = $2 and t.name = $4 and t.version_id < $3
             order by t.version_id desc limit 1",
        )
        .bind(pact.provider_id)
        .bind(pact.consumer_id)
        .bind(pact.consumer_version_id)
        .bind(tag)
        .fetch_optional(&mut *conn)
        .await?;
        result.push((Some(tag.clone()), sha));
    }
    Ok(result)
}

/// The provider versions that have not verified `pact_version_id` and should: the head of the
/// provider's main branch, and the versions currently deployed or released (the broker's
/// `contract_requiring_verification_published`). One row per version, descriptions joined.
pub async fn required_verifications(
    conn: &mut PgConnection,
    provider_id: i64,
    pact_version_id: i64,
) -> sqlx::Result<Vec<(String, Vec<String>)>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "with candidates as (
            select h.version_id, 0 as kind, 'latest from main branch' as description, '' as env
            from pacticipant p
            join branch b on b.pacticipant_id = p.pacticipant_id and b.name = p.main_branch
            cross join lateral (select max(bv.version_id) as version_id from branch_version bv
                                where bv.branch_id = b.branch_id) h
            where p.pacticipant_id = $1 and h.version_id is not null
            union all
            select d.version_id, 1, 'deployed in ' || e.name, e.name
            from deployed_version d join environment e on e.environment_id = d.environment_id
            where d.pacticipant_id = $1 and d.undeployed_at is null
            union all
            select r.version_id, 2, 'released in ' || e.name, e.name
            from released_version r join environment e on e.environment_id = r.environment_id
            where r.pacticipant_id = $1 and r.support_ended_at is null
         )
         select c.version_id, v.number, c.description from candidates c
         join version v on v.version_id = c.version_id
         where not exists (select 1 from verification x
                           where x.pact_version_id = $2 and x.provider_version_id = c.version_id)
         order by c.kind, c.env, c.version_id",
    )
    .bind(provider_id)
    .bind(pact_version_id)
    .fetch_all(conn)
    .await?;
    let mut grouped: Vec<(i64, String, Vec<String>)> = Vec::new();
    for (id, number, description) in rows {
        match grouped.iter_mut().find(|(v, _, _)| *v == id) {
            Some((_, _, descriptions)) => {
                if !descriptions.contains(&description) {
                    descriptions.push(description)
                }
            }
            None => grouped.push((id, number, vec![description])),
        }
    }
    Ok(grouped
        .into_iter()
        .map(|(_, number, descriptions)| (number, descriptions))
        .collect())
}

/// Whether the integration has any verification results.
pub async fn any_verifications(
    conn: &mut PgConnection,
    consumer_id: i64,
    provider_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from verification v
            join pact_version pv on pv.pact_version_id = v.pact_version_id
            where pv.consumer_id = $1 and pv.provider_id = $2)",
    )
    .bind(consumer_id)
    .bind(provider_id)
    .fetch_one(conn)
    .await
}

/// Every pacticipant name (for the potential-duplicate check).
pub async fn pacticipant_names(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select name from pacticipant order by name")
        .fetch_all(conn)
        .await
}

/// A pacticipant's id and main branch, by name.
pub async fn pacticipant(
    conn: &mut PgConnection,
    name: &str,
) -> sqlx::Result<Option<(i64, Option<String>)>> {
    sqlx::query_as("select pacticipant_id, main_branch from pacticipant where name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await
}

/// The broker's `auto_detect_main_branch`: a pacticipant without a main branch gets `candidate`
/// as its main branch when that is `develop`, `main` or `master`.
pub async fn detect_main_branch(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    candidate: &str,
) -> sqlx::Result<()> {
    if !matches!(candidate, "develop" | "main" | "master") {
        return Ok(());
    }
    sqlx::query(
        "update pacticipant set main_branch = $2 where pacticipant_id = $1 and main_branch is null",
    )
    .bind(pacticipant_id)
    .bind(candidate)
    .execute(conn)
    .await
    .map(drop)
}

/// Whether the broker's `use_first_tag_as_branch` applies to tagging this version now: it has
/// no tags and no branch yet, and was created within the last 10 seconds.
pub async fn first_tag_would_be_branch(
    conn: &mut PgConnection,
    version_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select v.created_at >= now() - interval '10 seconds'
            and not exists (select 1 from tag t where t.version_id = v.version_id)
            and not exists (select 1 from branch_version bv where bv.version_id = v.version_id)
         from version v where v.version_id = $1",
    )
    .bind(version_id)
    .fetch_optional(conn)
    .await
    .map(|applies| applies.unwrap_or(false))
}

/// The content of these publications (by publication id).
pub async fn contents(
    conn: &mut PgConnection,
    publication_ids: &[i64],
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "select pp.pact_publication_id, pv.content from pact_publication pp
         join pact_version pv on pv.pact_version_id = pp.pact_version_id
         where pp.pact_publication_id = any($1)",
    )
    .bind(publication_ids)
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use sqlx::postgres::PgConnectOptions;
    use sqlx::Connection;

    use super::*;
    use crate::broker::pact_document::PactDocument;
    use crate::broker::store::{pacticipants, versions};

    /// A tenant database of its own on the test server (`TEST_DATABASE_URL`, which `make test`
    /// starts, as the end-to-end tests use), with the tenant schema; dropped with it.
    struct Scratch {
        server: PgConnectOptions,
        name: String,
        conn: PgConnection,
    }

    impl Scratch {
        async fn new() -> Self {
            let url = std::env::var("TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let server: PgConnectOptions = url.parse().expect("TEST_DATABASE_URL");
            let name = format!("treaty_unit_{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::connect_with(&server)
                .await
                .expect("the test PostgreSQL server (`make test` starts one)");
            sqlx::raw_sql(&format!("create database \"{name}\""))
                .execute(&mut admin)
                .await
                .expect("create the database");
            admin.close().await.expect("close");
            let mut conn = PgConnection::connect_with(&server.clone().database(&name))
                .await
                .expect("connect to the database");
            provisioning::migrations::TENANT
                .run(&mut conn)
                .await
                .expect("tenant schema");
            Self { server, name, conn }
        }

        /// A consumer version (pacticipant and version created as needed): (pacticipant id,
        /// version id).
        async fn version(&mut self, pacticipant: &str, number: &str) -> (i64, i64) {
            let p = pacticipants::find_or_create(&mut self.conn, pacticipant)
                .await
                .expect("pacticipant");
            let (v, _) = versions::find_or_create(&mut self.conn, p.pacticipant_id, number)
                .await
                .expect("version");
            (p.pacticipant_id, v.version_id)
        }

        async fn pacticipant_id(&mut self, name: &str) -> i64 {
            pacticipants::find_or_create(&mut self.conn, name)
                .await
                .expect("pacticipant")
                .pacticipant_id
        }

        /// Publishes a pact with one interaction, `description`, for the consumer version.
        async fn publish(
            &mut self,
            (consumer, version): (i64, i64),
            provider: i64,
            description: &str,
            may_replace: bool,
        ) -> (Publication, CanonicalPact) {
            let pact = pact(description);
            let content = find_or_create_content(&mut self.conn, consumer, provider, &pact)
                .await
                .expect("content");
            let publication = publish(
                &mut self.conn,
                consumer,
                provider,
                version,
                content,
                may_replace,
            )
            .await
            .expect("publish");
            (publication, pact)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let (server, name) = (self.server.clone(), self.name.clone());
            // Its own thread and runtime: this runs inside the test's runtime.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    let mut admin = PgConnection::connect_with(&server).await?;
                    sqlx::raw_sql(&format!("drop database if exists \"{name}\" with (force)"))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop the scratch database {}", self.name);
            }
        }
    }

    fn pact(description: &str) -> CanonicalPact {
        let json = format!(
            r#"{{"consumer":{{"name":"Web"}},"provider":{{"name":"Orders"}},"interactions":[{{"description":"{description}","request":{{"method":"GET","path":"/"}},"response":{{"status":200}}}}]}}"#
        );
        PactDocument::parse(json.as_bytes())
            .expect("a pact")
            .canonical()
    }

    #[tokio::test]
    async fn a_consumer_version_publishes_new_same_refused_and_replacing_content() {
        let mut db = Scratch::new().await;
        let web = db.version("Web", "1").await;
        let orders = db.pacticipant_id("Orders").await;

        let (created, a) = db.publish(web, orders, "a", false).await;
        let Publication::Created { publication_id } = created else {
            panic!("{created:?}");
        };
        let again = find_or_create_content(&mut db.conn, web.0, orders, &a)
            .await
            .expect("content");
        let (same, _) = db.publish(web, orders, "a", false).await;
        assert_eq!(same, Publication::Unchanged { publication_id });
        let stored = by_id(&mut db.conn, publication_id)
            .await
            .expect("read")
            .expect("published");
        assert_eq!(stored.pact_version_id, again);
        assert_eq!(
            (stored.sha.as_str(), stored.content.as_str()),
            (a.sha.as_str(), a.json.as_str())
        );

        let (refused, _) = db.publish(web, orders, "b", false).await;
        assert_eq!(
            refused,
            Publication::Conflict {
                existing_content: a.json.clone()
            }
        );
        let (replaced, b) = db.publish(web, orders, "b", true).await;
        assert_eq!(replaced, Publication::Replaced { publication_id });
        let stored = for_consumer_version(&mut db.conn, "Orders", "Web", "1")
            .await
            .expect("read")
            .expect("published");
        assert_eq!(stored.sha, b.sha);
        let kept: Vec<String> = sqlx::query_scalar(
            "select pv.sha from pact_revision r join pact_version pv using (pact_version_id)",
        )
        .fetch_all(&mut db.conn)
        .await
        .expect("revisions");
        assert_eq!(kept, vec![a.sha]);
        let integrations: i64 = sqlx::query_scalar("select count(*) from integration")
            .fetch_one(&mut db.conn)
            .await
            .expect("integrations");
        assert_eq!(integrations, 1);
        assert!(!any_verifications(&mut db.conn, web.0, orders)
            .await
            .expect("read"));
    }

    async fn latest_sha(conn: &mut PgConnection, which: Latest<'_>) -> Option<String> {
        latest(conn, "Orders", "Web", which)
            .await
            .expect("read")
            .map(|p| p.sha.clone())
    }

    #[tokio::test]
    async fn the_latest_pact_is_the_highest_consumer_version_of_all_a_tag_untagged_or_a_branch() {
        let mut db = Scratch::new().await;
        let orders = db.pacticipant_id("Orders").await;
        let v1 = db.version("Web", "1").await;
        let v2 = db.version("Web", "2").await;
        let v3 = db.version("Web", "3").await;
        versions::add_tag(&mut db.conn, v1.0, v1.1, "prod")
            .await
            .expect("tag");
        versions::add_to_branch(&mut db.conn, v2.0, v2.1, "feature", false)
            .await
            .expect("branch");
        let (_, a) = db.publish(v1, orders, "a", false).await;
        let (_, b) = db.publish(v2, orders, "b", false).await;
        let (_, c) = db.publish(v3, orders, "c", false).await;

        let conn = &mut db.conn;
        assert_eq!(latest_sha(conn, Latest::Any).await, Some(c.sha.clone()));
        assert_eq!(
            latest_sha(conn, Latest::Tagged("prod")).await,
            Some(a.sha.clone())
        );
        assert_eq!(
            latest_sha(conn, Latest::Untagged).await,
            Some(c.sha.clone())
        );
        assert_eq!(
            latest_sha(conn, Latest::OnBranch("feature")).await,
            Some(b.sha.clone())
        );
        assert_eq!(latest_sha(conn, Latest::Tagged("none")).await, None);

        // v1's first tag also named its branch (the broker's `use_first_tag_as_branch`).
        let (tags, branches) = version_tags_and_branches(&mut db.conn, v1.1)
            .await
            .expect("read");
        assert_eq!(
            (tags, branches),
            (vec!["prod".to_owned()], vec!["prod".to_owned()])
        );
        let third = for_consumer_version(&mut db.conn, "Orders", "Web", "3")
            .await
            .expect("read")
            .expect("published");
        let previous = previous_shas_by_tag(&mut db.conn, &third, &[])
            .await
            .expect("read");
        assert_eq!(previous, vec![(None, Some(b.sha.clone()))]);
        let previous = previous_shas_by_tag(&mut db.conn, &third, &["prod".to_owned()])
            .await
            .expect("read");
        assert_eq!(previous, vec![(Some("prod".to_owned()), Some(a.sha))]);
    }

    #[tokio::test]
    async fn main_branches_are_detected_once_and_only_a_new_untagged_version_takes_its_first_tag_as_branch(
    ) {
        let mut db = Scratch::new().await;
        let (web, version) = db.version("Web", "1").await;
        detect_main_branch(&mut db.conn, web, "feature/x")
            .await
            .expect("detect");
        assert_eq!(
            pacticipant(&mut db.conn, "Web").await.expect("read"),
            Some((web, None))
        );
        detect_main_branch(&mut db.conn, web, "main")
            .await
            .expect("detect");
        detect_main_branch(&mut db.conn, web, "develop")
            .await
            .expect("detect");
        assert_eq!(
            pacticipant(&mut db.conn, "Web").await.expect("read"),
            Some((web, Some("main".to_owned())))
        );
        assert_eq!(pacticipant(&mut db.conn, "Nope").await.expect("read"), None);

        assert!(first_tag_would_be_branch(&mut db.conn, version)
            .await
            .expect("read"));
        versions::add_tag(&mut db.conn, web, version, "dev")
            .await
            .expect("tag");
        assert!(!first_tag_would_be_branch(&mut db.conn, version)
            .await
            .expect("read"));
        assert!(!first_tag_would_be_branch(&mut db.conn, -1)
            .await
            .expect("read"));
        db.version("Api", "1").await;
        assert_eq!(
            pacticipant_names(&mut db.conn).await.expect("read"),
            vec!["Api".to_owned(), "Web".to_owned()]
        );
    }
}
