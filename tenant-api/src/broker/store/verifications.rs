//! Verification results: recorded against pact content (a `pact_version`), by a provider
//! version. Numbers come from one sequence (`verification_number_seq`), as the broker's do.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};

/// What a verifier publishes.
pub struct NewVerification<'a> {
    pub pact_version_id: i64,
    pub consumer_id: i64,
    pub provider_id: i64,
    pub provider_version_id: i64,
    pub success: bool,
    pub build_url: Option<&'a str>,
    pub test_results: Option<&'a Value>,
    pub pact_pending: Option<bool>,
    pub wip: bool,
    pub verified_by_implementation: Option<&'a str>,
    pub verified_by_version: Option<&'a str>,
    pub verified_by_client_implementation: Option<&'a str>,
    pub verified_by_client_version: Option<&'a str>,
    pub verified_by_client_test_framework: Option<&'a str>,
    /// The selectors (from the pact URL's metadata) that chose the pact verified.
    pub consumer_version_selectors: Option<&'a Value>,
}

/// A recorded verification, with the names its resource needs.
#[derive(Clone, Debug, FromRow)]
pub struct Verification {
    pub verification_id: i64,
    pub number: i32,
    pub success: bool,
    pub execution_date: DateTime<Utc>,
    pub build_url: Option<String>,
    pub test_results: Option<Value>,
    pub verified_by_implementation: Option<String>,
    pub verified_by_version: Option<String>,
    pub verified_by_client_implementation: Option<String>,
    pub verified_by_client_version: Option<String>,
    pub verified_by_client_test_framework: Option<String>,
    pub sha: String,
    pub consumer_name: String,
    pub provider_name: String,
    pub provider_version_number: String,
}

const COLUMNS: &str = "x.verification_id, x.number, x.success, x.execution_date, x.build_url,
    x.test_results, x.pact_pending, x.wip, x.verified_by_implementation, x.verified_by_version,
    x.verified_by_client_implementation, x.verified_by_client_version,
    x.verified_by_client_test_framework, x.pact_version_id, pv.sha, x.consumer_id,
    c.name as consumer_name, x.provider_id, p.name as provider_name, x.provider_version_id,
    pver.number as provider_version_number";

const FROM: &str = "from verification x
    join pact_version pv on pv.pact_version_id = x.pact_version_id
    join pacticipant c on c.pacticipant_id = x.consumer_id
    join pacticipant p on p.pacticipant_id = x.provider_id
    join version pver on pver.version_id = x.provider_version_id";

/// Records a verification; returns it as stored.
pub async fn create(
    conn: &mut PgConnection,
    new: &NewVerification<'_>,
) -> sqlx::Result<Verification> {
    let id: i64 = sqlx::query_scalar(
        "insert into verification (pact_version_id, consumer_id, provider_id, provider_version_id,
            success, build_url, test_results, pact_pending, wip, verified_by_implementation,
            verified_by_version, verified_by_client_implementation, verified_by_client_version,
            verified_by_client_test_framework, consumer_version_selectors)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         returning verification_id",
    )
    .bind(new.pact_version_id)
    .bind(new.consumer_id)
    .bind(new.provider_id)
    .bind(new.provider_version_id)
    .bind(new.success)
    .bind(new.build_url)
    .bind(new.test_results)
    .bind(new.pact_pending)
    .bind(new.wip)
    .bind(new.verified_by_implementation)
    .bind(new.verified_by_version)
    .bind(new.verified_by_client_implementation)
    .bind(new.verified_by_client_version)
    .bind(new.verified_by_client_test_framework)
    .bind(new.consumer_version_selectors)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query_as(&format!(
        "select {COLUMNS} {FROM} where x.verification_id = $1"
    ))
    .bind(id)
    .fetch_one(conn)
    .await
}

/// The verification with this number of the content between `consumer` and `provider`.
pub async fn find(
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
    sha: &str,
    number: i32,
) -> sqlx::Result<Option<Verification>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} {FROM}
         where x.number = $4 and x.pact_version_id = (
            select pact_version_id from pact_version
            where provider_id = (select pacticipant_id from pacticipant where name = $1)
              and consumer_id = (select pacticipant_id from pacticipant where name = $2)
              and sha = $3)"
    ))
    .bind(provider)
    .bind(consumer)
    .bind(sha)
    .bind(number)
    .fetch_optional(conn)
    .await
}

/// The latest verification of some content.
pub async fn latest_for_pact_version(
    conn: &mut PgConnection,
    pact_version_id: i64,
) -> sqlx::Result<Option<Verification>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} {FROM} where x.pact_version_id = $1
         order by x.verification_id desc limit 1"
    ))
    .bind(pact_version_id)
    .fetch_optional(conn)
    .await
}

/// For each pact a consumer version published, the latest verification of its content, by
/// provider name.
pub async fn latest_for_consumer_version(
    conn: &mut PgConnection,
    consumer_version_id: i64,
) -> sqlx::Result<Vec<Verification>> {
    sqlx::query_as(&format!(
        "select l.* from pact_publication pp
         cross join lateral (select {COLUMNS} {FROM} where x.pact_version_id = pp.pact_version_id
                             order by x.verification_id desc limit 1) l
         where pp.consumer_version_id = $1
         order by lower(l.provider_name)"
    ))
    .bind(consumer_version_id)
    .fetch_all(conn)
    .await
}

/// The names of the providers a consumer version has pacts with.
pub async fn providers_of_consumer_version(
    conn: &mut PgConnection,
    consumer_version_id: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select p.name from pact_publication pp join pacticipant p on p.pacticipant_id = pp.provider_id
         where pp.consumer_version_id = $1 order by lower(p.name)",
    )
    .bind(consumer_version_id)
    .fetch_all(conn)
    .await
}

/// A consumer version's id, by pacticipant name and number.
pub async fn version_id(
    conn: &mut PgConnection,
    pacticipant: &str,
    number: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "select version_id from version
         where pacticipant_id = (select pacticipant_id from pacticipant where name = $1) and number = $2",
    )
    .bind(pacticipant)
    .bind(number)
    .fetch_optional(conn)
    .await
}

/// The branches and tags of a provider version (for the verification events).
pub async fn version_branches_and_tags(
    conn: &mut PgConnection,
    version_id: i64,
) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    crate::broker::store::pacts::version_tags_and_branches(conn, version_id)
        .await
        .map(|(tags, branches)| (branches, tags))
}

/// Deletes a verification.
pub async fn delete(conn: &mut PgConnection, verification_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from verification where verification_id = $1")
        .bind(verification_id)
        .execute(conn)
        .await
        .map(drop)
}
