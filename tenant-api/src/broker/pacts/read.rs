//! Reading one pact: by consumer version, by content (the permalink, optionally with
//! metadata), the latest (overall, by tag, untagged, on a branch), and the previous distinct one.

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use sqlx::PgConnection;

use super::document::pact_document_body;
use super::lookup::not_found;
use crate::broker::http::extract::PathParams;
use crate::broker::http::hal::HalText;
use crate::broker::metadata::{self, PactMetadata};
use crate::broker::store::pacts::{self as pact_store, Latest, PublishedPact};
use crate::error::{Error, Result};
use crate::gate::TenantContext;

const X_PACT_CONSUMER_VERSION: HeaderName = HeaderName::from_static("x-pact-consumer-version");

/// `GET /pacts/provider/{provider}/consumer/{consumer}/version/{version}` (and the deprecated
/// `/versions/{version}` and `/pact/…` spellings).
pub async fn get_pact_for_version(
    tenant: TenantContext,
    PathParams((provider, consumer, number)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = pact_store::for_consumer_version(&mut conn, &provider, &consumer, &number)
        .await?
        .ok_or_else(|| not_found(&consumer, &number, &provider))?;
    Ok(HalText(pact_document_body(&tenant.base_url, &pact, None, None)).into_response())
}

/// The consumer versions a pact URL's metadata names, oldest first: the `cvn`/`cv` version, or
/// those of its selectors.
pub async fn consumer_versions_from_metadata(
    conn: &mut PgConnection,
    consumer: &str,
    metadata: &PactMetadata,
) -> Result<(Option<String>, Option<Vec<String>>)> {
    let mut number = metadata.consumer_version_number.clone();
    if number.is_none() {
        if let Some(id) = metadata.consumer_version_id {
            number = pact_store::version_numbers(conn, &[id])
                .await?
                .into_iter()
                .next()
                .map(|(_, n)| n);
        }
    }
    let selector_ids: Vec<i64> = metadata
        .selectors
        .iter()
        .filter_map(|s| s.consumer_version_id)
        .collect();
    let numbers: Option<Vec<String>> = if !selector_ids.is_empty() {
        let mut found = pact_store::version_numbers(conn, &selector_ids).await?;
        found.sort();
        found.dedup();
        Some(found.into_iter().map(|(_, n)| n).collect())
    } else {
        number.clone().map(|n| vec![n])
    };
    let versions = match &numbers {
        Some(numbers) => Some(
            pact_store::versions_by_number(conn, consumer, numbers)
                .await?
                .into_iter()
                .map(|(_, n)| n)
                .collect::<Vec<_>>(),
        ),
        None => None,
    };
    let number = number.or_else(|| versions.as_ref().and_then(|v| v.last().cloned()));
    Ok((number, versions))
}

/// The pact a permalink (with optional metadata) names.
pub async fn pact_for_permalink(
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
    sha: &str,
    metadata: &PactMetadata,
) -> Result<(PublishedPact, Option<Vec<String>>)> {
    let (number, versions) = consumer_versions_from_metadata(conn, consumer, metadata).await?;
    let pact = pact_store::by_sha(conn, provider, consumer, sha, number.as_deref())
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "No pact with content {sha} found between {consumer} and {provider}"
            ))
        })?;
    Ok((pact, versions))
}

/// `GET …/pact-version/{sha}`: the content's permalink.
pub async fn get_pact_version(
    tenant: TenantContext,
    PathParams((provider, consumer, sha)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let (pact, _) = pact_for_permalink(
        &mut conn,
        &provider,
        &consumer,
        &sha,
        &PactMetadata::default(),
    )
    .await?;
    Ok(HalText(pact_document_body(&tenant.base_url, &pact, None, None)).into_response())
}

/// `GET …/pact-version/{sha}/metadata/{metadata}`: the permalink as handed out for
/// verification; the metadata is echoed into `pb:publish-verification-results`.
pub async fn get_pact_version_with_metadata(
    tenant: TenantContext,
    PathParams((provider, consumer, sha, segment)): PathParams<(String, String, String, String)>,
) -> Result<Response> {
    let metadata = PactMetadata::decode(&segment);
    let mut conn = tenant.db().await?;
    let (pact, versions) =
        pact_for_permalink(&mut conn, &provider, &consumer, &sha, &metadata).await?;
    let newest_first: Option<Vec<String>> = versions.map(|v| v.into_iter().rev().collect());
    Ok(HalText(pact_document_body(
        &tenant.base_url,
        &pact,
        Some(&segment),
        newest_first.as_deref(),
    ))
    .into_response())
}

async fn latest_response(
    tenant: &TenantContext,
    provider: &str,
    consumer: &str,
    which: Latest<'_>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = pact_store::latest(&mut conn, provider, consumer, which.clone())
        .await?
        .ok_or_else(|| {
            Error::NotFound(match &which {
                Latest::Any => format!("No pact found between {consumer} and {provider}"),
                Latest::Tagged(tag) => format!(
                    "No pact found between {consumer} and {provider} for a consumer version tagged {tag}"
                ),
                Latest::Untagged => {
                    format!("No untagged pact found between {consumer} and {provider}")
                }
                Latest::OnBranch(branch) => format!(
                    "No pact found between {consumer} and {provider} for a consumer version on branch {branch}"
                ),
            })
        })?;
    // The broker records which consumer version (and tag) the latest pact was when it was
    // fetched, so the verification result is attributed to it.
    let tag = match which {
        Latest::Tagged(tag) => Some(tag),
        Latest::Untagged => Some("untagged"),
        _ => None,
    };
    let segment = metadata::encode(&metadata::for_latest_pact(pact.consumer_version_id, tag));
    let mut response = HalText(pact_document_body(
        &tenant.base_url,
        &pact,
        Some(&segment),
        None,
    ))
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&pact.consumer_version_number) {
        response
            .headers_mut()
            .insert(X_PACT_CONSUMER_VERSION, value);
    }
    Ok(response)
}

/// `GET /pacts/provider/{provider}/consumer/{consumer}/latest` (and `/pact/…/latest`).
pub async fn get_latest_pact(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    latest_response(&tenant, &provider, &consumer, Latest::Any).await
}

/// `GET …/latest/{tag}`: the latest pact of a consumer version with the tag.
pub async fn get_latest_tagged_pact(
    tenant: TenantContext,
    PathParams((provider, consumer, tag)): PathParams<(String, String, String)>,
) -> Result<Response> {
    latest_response(&tenant, &provider, &consumer, Latest::Tagged(&tag)).await
}

/// `GET …/latest-untagged`.
pub async fn get_latest_untagged_pact(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    latest_response(&tenant, &provider, &consumer, Latest::Untagged).await
}

/// `GET …/branch/{branch}/latest`: the latest pact of a consumer version on the branch.
pub async fn get_latest_pact_for_branch(
    tenant: TenantContext,
    PathParams((provider, consumer, branch)): PathParams<(String, String, String)>,
) -> Result<Response> {
    latest_response(&tenant, &provider, &consumer, Latest::OnBranch(&branch)).await
}

/// `GET …/version/{version}/previous-distinct`: the latest earlier pact with other content.
pub async fn get_previous_distinct(
    tenant: TenantContext,
    PathParams((provider, consumer, number)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = pact_store::for_consumer_version(&mut conn, &provider, &consumer, &number)
        .await?
        .ok_or_else(|| not_found(&consumer, &number, &provider))?;
    let previous = pact_store::previous_distinct(&mut conn, &pact)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "No previous distinct version was found for {}",
                pact.name()
            ))
        })?;
    Ok(HalText(pact_document_body(&tenant.base_url, &previous, None, None)).into_response())
}
