//! Pacts: publishing one by consumer version (`PUT`/`PATCH`/`DELETE`), reading them by version,
//! content, tag, branch or recency, the collections of an integration and of a provider, the
//! diffs between versions and the provider states they name.
//!
//! Every pact document is served the broker's way: the stored JSON with `_links` and
//! `createdAt` spliced in ([`pact_document_body`]).

pub mod collections;
pub mod diff;
pub mod links;
pub mod provider_states;
pub mod publish;
pub mod read;
pub mod routes;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::PgConnection;

use super::pact_document::with_metadata;
use super::store::pacts::{self as pact_store, PublishedPact};
use crate::error::{Error, Result};

pub use publish::{conflict_message, publish_document, Mode};

/// The broker's timestamp format (`2024-01-02T03:04:05+00:00`).
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A pact document as the broker serves it.
pub fn pact_document_body(
    base: &str,
    pact: &PublishedPact,
    metadata: Option<&str>,
    consumer_versions: Option<&[String]>,
) -> String {
    let links = links::pact_links(base, pact, metadata, consumer_versions);
    with_metadata(&pact.content, &links, &format_time(&pact.created_at))
}

/// The pacticipant called `name` (its id and main branch), or the broker's 404.
pub async fn require_pacticipant(
    conn: &mut PgConnection,
    name: &str,
    role: &str,
) -> Result<(i64, Option<String>)> {
    pact_store::pacticipant(conn, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No {role} with name '{name}' found")))
}
