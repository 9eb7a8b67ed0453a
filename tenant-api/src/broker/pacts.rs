//! Pacts by consumer version: `PUT` publishes one (the broker's original publishing route), `GET`
//! fetches it, `GET …/latest` fetches the latest consumer version's pact.

use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use super::body::JsonBytes;
use super::hal::{self, HalText};
use super::pact_document::{with_metadata, PactDocument};
use super::store::pacts::{self as pact_store, Publication, PublishedPact};
use super::store::{pacticipants, versions};
use crate::error::{Error, Result};
use crate::gate::TenantContext;

const X_PACT_CONSUMER_VERSION: HeaderName = HeaderName::from_static("x-pact-consumer-version");

/// How to treat a consumer version that already has different content with this provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Refuse (409): a consumer version's contract must not change under can-i-deploy's feet.
    Refuse,
    /// Merge the new interactions into the existing pact.
    Merge,
}

/// What [`publish_document`] did.
pub struct Published {
    pub publication: Publication,
}

/// Publishes `document` as `consumer` version `number`'s pact with `provider`, creating the
/// pacticipants and version as needed. Runs on the caller's transaction.
pub async fn publish_document(
    conn: &mut PgConnection,
    consumer: &pacticipants::Pacticipant,
    version: &versions::Version,
    provider_name: &str,
    document: &PactDocument,
    on_conflict: OnConflict,
) -> Result<Published> {
    let provider = pacticipants::find_or_create(conn, provider_name).await?;
    let mut document = document.clone();
    if on_conflict == OnConflict::Merge {
        if let Some(existing) =
            pact_store::for_consumer_version(conn, provider_name, &consumer.name, &version.number)
                .await?
        {
            let mut merged = PactDocument::parse(existing.content.as_bytes())
                .map_err(|err| Error::Internal(anyhow::anyhow!("stored pact: {err}")))?;
            merged.merge(&document);
            document = merged;
        }
    }
    let canonical = document.canonical();
    let content_id = pact_store::find_or_create_content(
        conn,
        consumer.pacticipant_id,
        provider.pacticipant_id,
        &canonical,
    )
    .await?;
    let publication = pact_store::publish(
        conn,
        consumer.pacticipant_id,
        provider.pacticipant_id,
        version.version_id,
        content_id,
        on_conflict == OnConflict::Merge,
    )
    .await?;
    Ok(Published { publication })
}

/// The broker's refusal text for changing a published pact.
pub fn conflict_message(consumer: &str, number: &str, provider: &str) -> String {
    format!(
        "Cannot change the content of the pact for {consumer} version {number} and provider {provider}, \
         as race conditions will cause unreliable results for can-i-deploy. Each pact must be published \
         with a unique consumer version number. Some Pact libraries generate random data when a concrete \
         value for a type matcher is not specified, and this can cause the contract to mutate - ensure you \
         have given example values for all type matchers. For more information see \
         https://docs.pact.io/go/versioning"
    )
}

/// The links of a pact resource.
pub fn pact_links(base: &str, consumer: &str, provider: &str, number: &str, sha: &str) -> Value {
    let pair = |rest: &[&str]| {
        let mut segments = vec!["pacts", "provider", provider, "consumer", consumer];
        segments.extend_from_slice(rest);
        hal::url(base, &segments)
    };
    let name = format!("Pact between {consumer} ({number}) and {provider}");
    json!({
        "self": { "title": "Pact", "name": name, "href": pair(&["version", number]) },
        "pb:consumer": hal::named_link(hal::url(base, &["pacticipants", consumer]), "Consumer", consumer),
        "pb:consumer-version": hal::named_link(hal::url(base, &["pacticipants", consumer, "versions", number]), "Consumer version", number),
        "pb:provider": hal::named_link(hal::url(base, &["pacticipants", provider]), "Provider", provider),
        "pb:pact-version": hal::named_link(pair(&["pact-version", sha]), "Pact content version permalink", sha),
        "pb:latest-pact-version": { "title": "Latest version of this pact", "href": pair(&["latest"]) },
        "pb:all-pact-versions": { "title": "All versions of this pact", "href": pair(&["versions"]) },
        "pb:latest-untagged-pact-version": { "title": "Latest untagged version of this pact", "href": pair(&["latest-untagged"]) },
        "pb:publish-verification-results": {
            "title": "Publish verification results",
            "href": pair(&["pact-version", sha, "verification-results"])
        },
        "pb:diff-previous-distinct": { "title": "Diff with previous distinct version of this pact", "href": pair(&["version", number, "diff", "previous-distinct"]) },
        "curies": hal::curies(base),
    })
}

fn pact_response(base: &str, pact: &PublishedPact) -> String {
    let links = pact_links(
        base,
        &pact.consumer_name,
        &pact.provider_name,
        &pact.consumer_version_number,
        &pact.sha,
    );
    let created_at = pact
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    with_metadata(&pact.content, &links, &created_at)
}

/// `PUT /pacts/provider/{provider}/consumer/{consumer}/version/{version}`: 201 when the consumer
/// version had no pact with this provider, 200 when it had this one; 409 for different content.
pub async fn put_pact(
    tenant: TenantContext,
    Path((provider, consumer, number)): Path<(String, String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Response> {
    let document = PactDocument::parse(&body).map_err(Error::BadRequest)?;
    for (role, in_path, in_pact) in [
        ("consumer", &consumer, document.consumer_name()),
        ("provider", &provider, document.provider_name()),
    ] {
        if in_pact.is_some_and(|name| name != in_path) {
            return Err(Error::field(
                format!("{role}.name"),
                format!("does not match {role} name in path ({in_path})"),
            ));
        }
    }
    if number.trim().is_empty() {
        return Err(Error::field("consumerVersionNumber", "cannot be blank"));
    }
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let consumer_row = pacticipants::find_or_create(&mut tx, &consumer).await?;
    let (version, _) =
        versions::find_or_create(&mut tx, consumer_row.pacticipant_id, &number).await?;
    let published = publish_document(
        &mut tx,
        &consumer_row,
        &version,
        &provider,
        &document,
        OnConflict::Refuse,
    )
    .await?;
    let status = match published.publication {
        Publication::Created => StatusCode::CREATED,
        Publication::Unchanged | Publication::Replaced => StatusCode::OK,
        Publication::Conflict { .. } => {
            return Err(Error::Conflict {
                message: conflict_message(&consumer, &number, &provider),
                body: None,
            })
        }
    };
    let pact = pact_store::for_consumer_version(&mut tx, &provider, &consumer, &number)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("published pact vanished")))?;
    tx.commit().await?;
    let body = HalText(pact_response(&tenant.base_url, &pact));
    let location = hal::url(
        &tenant.base_url,
        &[
            "pacts", "provider", &provider, "consumer", &consumer, "version", &number,
        ],
    );
    Ok(match status {
        StatusCode::CREATED => hal::created(location, body),
        _ => body.into_response(),
    })
}

/// `GET /pacts/provider/{provider}/consumer/{consumer}/version/{version}`.
pub async fn get_pact_for_version(
    tenant: TenantContext,
    Path((provider, consumer, number)): Path<(String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = pact_store::for_consumer_version(&mut conn, &provider, &consumer, &number)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "No pact found between {consumer} version {number} and {provider}"
            ))
        })?;
    Ok(HalText(pact_response(&tenant.base_url, &pact)).into_response())
}

/// `GET /pacts/provider/{provider}/consumer/{consumer}/latest`.
pub async fn get_latest_pact(
    tenant: TenantContext,
    Path((provider, consumer)): Path<(String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = pact_store::latest(&mut conn, &provider, &consumer)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!("No pact found between {consumer} and {provider}"))
        })?;
    let mut response = HalText(pact_response(&tenant.base_url, &pact)).into_response();
    if let Ok(value) = HeaderValue::from_str(&pact.consumer_version_number) {
        response
            .headers_mut()
            .insert(X_PACT_CONSUMER_VERSION, value);
    }
    Ok(response)
}
