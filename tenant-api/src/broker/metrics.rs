//! `GET /metrics`: counts of the tenant's broker data, in the broker's shape
//! (`PactBroker::Metrics::Service`). Counts of webhook tables are 0 until those tables exist;
//! `matrix.count` is -1, as the broker hard-codes it.

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sqlx::{FromRow, PgConnection};

use super::http::hal::HalBody;
use super::matrix::render::format_date;
use super::store::reports::table_exists;
use crate::error::Result;
use crate::gate::TenantContext;
use crate::state::AppState;

/// The counts.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(get_metrics))
}

#[derive(FromRow)]
struct Counts {
    latest_interactions: i64,
    latest_messages: i64,
    pacticipants: i64,
    pacticipants_with_main_branch: i64,
    integrations: i64,
    pact_publications: i64,
    first_publication: Option<DateTime<Utc>>,
    last_publication: Option<DateTime<Utc>>,
    pact_versions: i64,
    verifications: i64,
    successful_verifications: i64,
    failed_verifications: i64,
    distinct_verifications: i64,
    first_verification: Option<DateTime<Utc>>,
    last_verification: Option<DateTime<Utc>>,
    versions: i64,
    versions_with_user_created_branch: i64,
    versions_with_branch: i64,
    tags: i64,
    distinct_tags: i64,
    distinct_tags_with_pacticipant: i64,
    environments: i64,
    deployed_versions: i64,
    user_created_deployed_versions: i64,
    currently_deployed_versions: i64,
    released_versions: i64,
    currently_supported_released_versions: i64,
}

// Every publication revision counts as a publication, as in the broker (its table keeps one row
// per revision; ours keeps earlier revisions in `pact_revision`).
const COUNTS: &str = "select
    coalesce((select sum(pv.interactions_count) from pact_version pv where pv.pact_version_id in (
        select distinct on (consumer_id, provider_id) pact_version_id from pact_publication
        order by consumer_id, provider_id, consumer_version_id desc)), 0)::bigint as latest_interactions,
    coalesce((select sum(pv.messages_count) from pact_version pv where pv.pact_version_id in (
        select distinct on (consumer_id, provider_id) pact_version_id from pact_publication
        order by consumer_id, provider_id, consumer_version_id desc)), 0)::bigint as latest_messages,
    (select count(*) from pacticipant) as pacticipants,
    (select count(*) from pacticipant where main_branch is not null) as pacticipants_with_main_branch,
    (select count(*) from (select distinct consumer_id, provider_id from pact_publication) i) as integrations,
    (select count(*) from pact_publication) + (select count(*) from pact_revision) as pact_publications,
    (select min(created_at) from pact_publication) as first_publication,
    (select max(updated_at) from pact_publication) as last_publication,
    (select count(*) from pact_version) as pact_versions,
    (select count(*) from verification) as verifications,
    (select count(*) from verification where success) as successful_verifications,
    (select count(*) from verification where not success) as failed_verifications,
    (select count(*) from (select distinct provider_version_id, pact_version_id, success from verification) d) as distinct_verifications,
    (select created_at from verification order by verification_id limit 1) as first_verification,
    (select created_at from verification order by verification_id desc limit 1) as last_verification,
    (select count(*) from version) as versions,
    (select count(*) from version v where exists (select 1 from branch_version bv where bv.version_id = v.version_id and not bv.auto_created)) as versions_with_user_created_branch,
    (select count(*) from version v where exists (select 1 from branch_version bv where bv.version_id = v.version_id)) as versions_with_branch,
    (select count(*) from tag) as tags,
    (select count(distinct name) from tag) as distinct_tags,
    (select count(*) from (select distinct name, pacticipant_id from tag) t) as distinct_tags_with_pacticipant,
    (select count(*) from environment) as environments,
    (select count(*) from deployed_version) as deployed_versions,
    (select count(*) from deployed_version where not auto_created) as user_created_deployed_versions,
    (select count(*) from deployed_version where undeployed_at is null) as currently_deployed_versions,
    (select count(*) from released_version) as released_versions,
    (select count(*) from released_version where support_ended_at is null) as currently_supported_released_versions";

/// `{number_of_x: count}` distributions.
async fn distribution(conn: &mut PgConnection, sql: &str) -> Result<Value> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(sql).fetch_all(conn).await?;
    Ok(Value::Object(
        rows.into_iter()
            .map(|(n, count)| (n.to_string(), json!(count)))
            .collect::<Map<_, _>>(),
    ))
}

async fn count_if_exists(conn: &mut PgConnection, table: &str) -> Result<i64> {
    if !table_exists(conn, table).await? {
        return Ok(0);
    }
    Ok(sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(conn)
        .await?)
}

/// `GET /metrics`.
pub async fn get_metrics(tenant: TenantContext) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let c: Counts = sqlx::query_as(COUNTS).fetch_one(&mut *conn).await?;
    let revisions = distribution(
        &mut conn,
        "select revisions, count(*) from (
             select pp.revision_number::bigint as revisions from pact_publication pp) r
         group by revisions order by 1",
    )
    .await?;
    let verifications = distribution(
        &mut conn,
        "select n, count(*) from (select count(*) as n from verification group by pact_version_id) d
         group by n order by 1",
    )
    .await?;
    let webhooks = count_if_exists(&mut conn, "webhook").await?;
    let triggered = count_if_exists(&mut conn, "triggered_webhook").await?;
    let executions = count_if_exists(&mut conn, "webhook_execution").await?;
    let date = |d: &Option<DateTime<Utc>>| d.as_ref().map(format_date);
    let body = json!({
        "interactions": {
            "latestInteractionsCount": c.latest_interactions,
            "latestMessagesCount": c.latest_messages,
            "latestInteractionsAndMessagesCount": c.latest_interactions + c.latest_messages,
        },
        "pacticipants": { "count": c.pacticipants, "withMainBranchSetCount": c.pacticipants_with_main_branch },
        "integrations": { "count": c.integrations },
        "pactPublications": {
            "count": c.pact_publications,
            "first": date(&c.first_publication),
            "last": date(&c.last_publication),
        },
        "pactVersions": { "count": c.pact_versions },
        "pactRevisionsPerConsumerVersion": { "distribution": revisions },
        "verificationResults": {
            "count": c.verifications,
            "successCount": c.successful_verifications,
            "failureCount": c.failed_verifications,
            "distinctCount": c.distinct_verifications,
            "first": date(&c.first_verification),
            "last": date(&c.last_verification),
        },
        "verificationResultsPerPactVersion": { "distribution": verifications },
        "pacticipantVersions": {
            "count": c.versions,
            "withUserCreatedBranchCount": c.versions_with_user_created_branch,
            "withBranchCount": c.versions_with_branch,
            "withBranchSetCount": c.versions_with_branch,
        },
        "webhooks": { "count": webhooks },
        "tags": {
            "count": c.tags,
            "distinctCount": c.distinct_tags,
            "distinctWithPacticipantCount": c.distinct_tags_with_pacticipant,
        },
        "triggeredWebhooks": { "count": triggered },
        "webhookExecutions": { "count": executions },
        "matrix": { "count": -1 },
        "environments": { "count": c.environments },
        "deployedVersions": {
            "count": c.deployed_versions,
            "userCreatedCount": c.user_created_deployed_versions,
            "currentlyDeployedCount": c.currently_deployed_versions,
        },
        "releasedVersions": {
            "count": c.released_versions,
            "currentlySupportedCount": c.currently_supported_released_versions,
        },
    });
    Ok(HalBody(body).into_response())
}
