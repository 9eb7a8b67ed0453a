//! Pact content (one row per distinct content) and publications (which consumer version has
//! which content with which provider).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

use crate::broker::pact_document::CanonicalPact;

/// The content row for `pact`, created if this consumer/provider pair never had it.
pub async fn find_or_create_content(
    conn: &mut PgConnection,
    consumer_id: i64,
    provider_id: i64,
    pact: &CanonicalPact,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "with created as (
            insert into pact_version (consumer_id, provider_id, sha, content, interactions_count, messages_count)
            values ($1, $2, $3, $4, $5, $6)
            on conflict on constraint pact_version_sha_key do nothing
            returning pact_version_id)
         select pact_version_id from created
         union all
         select pact_version_id from pact_version where consumer_id = $1 and provider_id = $2 and sha = $3
         limit 1",
    )
    .bind(consumer_id)
    .bind(provider_id)
    .bind(&pact.sha)
    .bind(&pact.json)
    .bind(pact.interactions)
    .bind(pact.messages)
    .fetch_one(conn)
    .await
}

/// What publishing content for a consumer version did.
#[derive(Debug, PartialEq, Eq)]
pub enum Publication {
    /// The consumer version had no pact with this provider.
    Created,
    /// It had exactly this content already.
    Unchanged,
    /// Its content was replaced (the old content is kept as a revision).
    Replaced,
    /// It has other content and replacing was not allowed; nothing changed.
    Conflict { existing_content: String },
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
        let inserted = sqlx::query(
            "insert into pact_publication (consumer_id, provider_id, consumer_version_id, pact_version_id)
             values ($1, $2, $3, $4)
             on conflict on constraint pact_publication_version_provider_key do nothing",
        )
        .bind(consumer_id)
        .bind(provider_id)
        .bind(consumer_version_id)
        .bind(pact_version_id)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 0 {
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
        }
        record_integration(conn, consumer_id, provider_id).await?;
        return Ok(Publication::Created);
    };
    if current == pact_version_id {
        return Ok(Publication::Unchanged);
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
    Ok(Publication::Replaced)
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

/// A published pact, as responses need it.
#[derive(Debug, FromRow)]
pub struct PublishedPact {
    pub sha: String,
    pub content: String,
    pub consumer_name: String,
    pub provider_name: String,
    pub consumer_version_number: String,
    pub created_at: DateTime<Utc>,
}

const PUBLISHED: &str =
    "select pv.sha, pv.content, c.name as consumer_name, p.name as provider_name,
        v.number as consumer_version_number, pp.updated_at as created_at
    from pact_publication pp
    join pact_version pv on pv.pact_version_id = pp.pact_version_id
    join pacticipant c on c.pacticipant_id = pp.consumer_id
    join pacticipant p on p.pacticipant_id = pp.provider_id
    join version v on v.version_id = pp.consumer_version_id";

/// The pact `consumer` version `number` has with `provider`.
pub async fn for_consumer_version(
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
    number: &str,
) -> sqlx::Result<Option<PublishedPact>> {
    sqlx::query_as(&format!(
        "{PUBLISHED} where p.name = $1 and c.name = $2 and v.number = $3"
    ))
    .bind(provider)
    .bind(consumer)
    .bind(number)
    .fetch_optional(conn)
    .await
}

/// The pact of the latest consumer version that has one with `provider`.
pub async fn latest(
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
) -> sqlx::Result<Option<PublishedPact>> {
    sqlx::query_as(&format!(
        "{PUBLISHED} where p.name = $1 and c.name = $2 order by pp.consumer_version_id desc limit 1"
    ))
    .bind(provider)
    .bind(consumer)
    .fetch_optional(conn)
    .await
}
