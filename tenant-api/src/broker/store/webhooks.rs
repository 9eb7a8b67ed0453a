//! Webhook definitions (execution comes with the webhooks issue).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};

/// A stored webhook, secrets still sealed.
#[derive(Clone, Debug, FromRow)]
pub struct WebhookRow {
    pub uuid: String,
    pub description: Option<String>,
    pub consumer_name: Option<String>,
    pub consumer_label: Option<String>,
    pub provider_name: Option<String>,
    pub provider_label: Option<String>,
    pub enabled: bool,
    pub events: Vec<String>,
    pub method: String,
    pub url: String,
    pub headers: serde_json::Value,
    pub secret_header_names: Vec<String>,
    pub body: Option<serde_json::Value>,
    pub username: Option<String>,
    pub username_sealed: Option<Vec<u8>>,
    pub password_template: Option<String>,
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "select w.uuid, w.description, c.name as consumer_name, w.consumer_label,
        p.name as provider_name, w.provider_label, w.enabled, w.events, w.method, w.url, w.headers,
        w.secret_header_names, w.body, w.username, w.username_sealed, w.password_template,
        (w.password_sealed is not null) as has_password, w.created_at, w.updated_at
    from webhook w
    left join pacticipant c on c.pacticipant_id = w.consumer_id
    left join pacticipant p on p.pacticipant_id = w.provider_id";

/// Everything written for a webhook; ids already resolved, secrets already sealed.
pub struct WebhookWrite<'a> {
    pub uuid: &'a str,
    pub description: Option<&'a str>,
    pub consumer_id: Option<i64>,
    pub consumer_label: Option<&'a str>,
    pub provider_id: Option<i64>,
    pub provider_label: Option<&'a str>,
    pub enabled: bool,
    pub events: &'a [String],
    pub method: &'a str,
    pub url: &'a str,
    pub url_sealed: Option<Vec<u8>>,
    pub headers: serde_json::Value,
    pub secret_header_names: Vec<String>,
    pub secret_headers_sealed: Option<Vec<u8>>,
    pub body: Option<&'a serde_json::Value>,
    pub username: Option<&'a str>,
    pub username_sealed: Option<Vec<u8>>,
    pub password_template: Option<&'a str>,
    pub password_sealed: Option<Vec<u8>>,
}

pub async fn find(conn: &mut PgConnection, uuid: &str) -> sqlx::Result<Option<WebhookRow>> {
    sqlx::query_as(&format!("{SELECT} where w.uuid = $1"))
        .bind(uuid)
        .fetch_optional(conn)
        .await
}

/// Webhooks scoped exactly to these pacticipants (`None` = any), oldest first.
pub async fn list(
    conn: &mut PgConnection,
    consumer_id: Option<i64>,
    provider_id: Option<i64>,
) -> sqlx::Result<Vec<WebhookRow>> {
    sqlx::query_as(&format!(
        "{SELECT} where ($1::bigint is null or w.consumer_id = $1) and ($2::bigint is null or w.provider_id = $2)
         order by w.webhook_id"
    ))
    .bind(consumer_id)
    .bind(provider_id)
    .fetch_all(conn)
    .await
}

/// Creates or replaces the webhook with `write.uuid`; `true` when it was created.
pub async fn upsert(conn: &mut PgConnection, write: WebhookWrite<'_>) -> sqlx::Result<bool> {
    let created: bool = sqlx::query_scalar(
        "insert into webhook (uuid, description, consumer_id, consumer_label, provider_id, provider_label,
            enabled, events, method, url, headers, secret_header_names, secret_headers_sealed, body,
            username, password_template, password_sealed, url_sealed, username_sealed)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         on conflict (uuid) do update set description = excluded.description,
            consumer_id = excluded.consumer_id, consumer_label = excluded.consumer_label,
            provider_id = excluded.provider_id, provider_label = excluded.provider_label,
            enabled = excluded.enabled, events = excluded.events, method = excluded.method,
            url = excluded.url, headers = excluded.headers,
            secret_header_names = excluded.secret_header_names,
            secret_headers_sealed = excluded.secret_headers_sealed, body = excluded.body,
            username = excluded.username, password_template = excluded.password_template,
            password_sealed = excluded.password_sealed, url_sealed = excluded.url_sealed,
            username_sealed = excluded.username_sealed
         returning (xmax = 0)",
    )
    .bind(write.uuid)
    .bind(write.description)
    .bind(write.consumer_id)
    .bind(write.consumer_label)
    .bind(write.provider_id)
    .bind(write.provider_label)
    .bind(write.enabled)
    .bind(write.events)
    .bind(write.method)
    .bind(write.url)
    .bind(write.headers)
    .bind(write.secret_header_names)
    .bind(write.secret_headers_sealed)
    .bind(write.body)
    .bind(write.username)
    .bind(write.password_template)
    .bind(write.password_sealed)
    .bind(write.url_sealed)
    .bind(write.username_sealed)
    .fetch_one(conn)
    .await?;
    Ok(created)
}

pub async fn delete(conn: &mut PgConnection, uuid: &str) -> sqlx::Result<bool> {
    let deleted = sqlx::query("delete from webhook where uuid = $1")
        .bind(uuid)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}
