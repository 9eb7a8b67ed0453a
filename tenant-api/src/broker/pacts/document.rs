//! A pact document as the broker serves it: the stored JSON with `_links` and `createdAt`
//! spliced in, and the broker's timestamp format. Shared by every route that answers with a
//! pact (reading, publishing) or a pact's dates (collections, verification results).

use chrono::{DateTime, SecondsFormat, Utc};

use super::links;
use crate::broker::pact_document::with_metadata;
use crate::broker::store::pacts::PublishedPact;

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
