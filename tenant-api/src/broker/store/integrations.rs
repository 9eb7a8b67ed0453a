//! Integrations: consumer/provider pairs that share contract data.

use sqlx::{FromRow, PgConnection};

use super::pacticipants::like_pattern;

#[derive(Clone, Debug, FromRow)]
pub struct IntegrationRecord {
    pub consumer_name: String,
    pub provider_name: String,
}

/// Integrations, most recently changed first, where either name contains `name_contains`
/// (case-insensitive), one page of them when `page` is `(limit, offset)`, with the number of
/// matching integrations.
pub async fn list(
    conn: &mut PgConnection,
    name_contains: Option<&str>,
    page: Option<(i64, i64)>,
) -> sqlx::Result<(Vec<IntegrationRecord>, i64)> {
    let pattern = name_contains.map(like_pattern);
    let condition = "($1::text is null or c.name ilike $1 or p.name ilike $1)";
    let joins = "from integration i
         join pacticipant c on c.pacticipant_id = i.consumer_id
         join pacticipant p on p.pacticipant_id = i.provider_id";
    let (limit, offset) = super::window(page);
    let mut rows: Vec<IntegrationRecord> = sqlx::query_as(&format!(
        "select c.name as consumer_name, p.name as provider_name {joins} where {condition}
         order by i.contract_data_updated_at desc, c.name, p.name limit $2 offset $3"
    ))
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = if super::must_count(page, &mut rows) {
        sqlx::query_scalar(&format!("select count(*) {joins} where {condition}"))
            .bind(&pattern)
            .fetch_one(conn)
            .await?
    } else {
        rows.len() as i64
    };
    Ok((rows, total))
}

/// Deletes every pacticipant and, by cascade, all contract data: what the broker's
/// `DELETE /integrations` does (environments stay).
pub async fn delete_all(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("delete from pacticipant")
        .execute(conn)
        .await
        .map(drop)
}

/// Deletes the contract data between a consumer and a provider: their pacts and verifications,
/// the versions of either that are left with neither, the integration, and either pacticipant
/// that is left with nothing at all.
pub async fn delete_between(
    conn: &mut PgConnection,
    consumer_id: i64,
    provider_id: i64,
) -> sqlx::Result<()> {
    for sql in [
        "delete from pact_publication where consumer_id = $1 and provider_id = $2",
        "delete from verification where consumer_id = $1 and provider_id = $2",
        "delete from pact_version where consumer_id = $1 and provider_id = $2",
        // Versions of either pacticipant that neither published a pact nor verified one.
        "delete from version v where v.pacticipant_id in ($1, $2)
             and not exists (select 1 from pact_publication pp where pp.consumer_version_id = v.version_id)
             and not exists (select 1 from verification vr where vr.provider_version_id = v.version_id)",
        "delete from integration where consumer_id = $1 and provider_id = $2",
        "delete from pacticipant x where x.pacticipant_id in ($1, $2)
             and not exists (select 1 from version v where v.pacticipant_id = x.pacticipant_id)
             and not exists (select 1 from pact_publication pp
                             where pp.consumer_id = x.pacticipant_id or pp.provider_id = x.pacticipant_id)
             and not exists (select 1 from pact_version pv
                             where pv.consumer_id = x.pacticipant_id or pv.provider_id = x.pacticipant_id)",
    ] {
        sqlx::query(sql)
            .bind(consumer_id)
            .bind(provider_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
