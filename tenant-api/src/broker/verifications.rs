//! Verification results: publishing one for pact content (through the permalink a verifier was
//! given, whose metadata says whether the pact was pending or work in progress), reading one,
//! the latest one for a pact, and the latest results for a consumer version.

use axum::extract::OriginalUri;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use sqlx::{Connection, PgConnection};

use super::http::extract::{JsonBody, PathParams};
use super::http::hal::{self, HalBody};
use super::metadata::{self, PactMetadata};
use super::pacts::document::format_time;
use super::pacts::links::{integration_url, pact_version_url};
use super::pacts::lookup::not_found;
use super::pacts::read::pact_for_permalink;
use super::store::pacts::{self as pact_store, Latest, PactRef};
use super::store::verifications::{self as store, NewVerification, Verification};
use super::store::{pacticipants, versions};
use crate::error::{Error, FieldErrors, Result};
use crate::events::{Event, EventName, VerificationRef};
use crate::gate::TenantContext;
use crate::state::AppState;

/// Verification results: published through a pact version (with or without its metadata), read
/// and deleted by number or as the latest for a pact version, consumer version, tag or the
/// latest pact, and the latest for a consumer version.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    const INTEGRATION: &str = "/pacts/provider/{provider}/consumer/{consumer}";
    let at = |rest: &str| format!("{INTEGRATION}{rest}");
    Router::new()
        .route(
            &at("/pact-version/{sha}/verification-results"),
            post(create_verification),
        )
        .route(
            &at("/pact-version/{sha}/metadata/{metadata}/verification-results"),
            post(create_verification_with_metadata),
        )
        .route(
            &at("/pact-version/{sha}/verification-results/latest"),
            get(get_latest_for_pact_version).delete(delete_latest_for_pact_version),
        )
        .route(
            &at("/pact-version/{sha}/verification-results/{number}"),
            get(get_verification).delete(delete_verification),
        )
        .route(
            &at("/pact-version/{sha}/metadata/{metadata}/verification-results/{number}"),
            get(get_verification_with_metadata).delete(delete_verification_with_metadata),
        )
        .route(
            &at("/version/{version}/verification-results/latest"),
            get(get_latest_for_consumer_version_pact)
                .delete(delete_latest_for_consumer_version_pact),
        )
        .route(
            &at("/latest/verification-results/latest"),
            get(get_latest_for_latest_pact).delete(delete_latest_for_latest_pact),
        )
        .route(
            &at("/latest/{tag}/verification-results/latest"),
            get(get_latest_for_latest_tagged_pact).delete(delete_latest_for_latest_tagged_pact),
        )
        .route(
            "/verification-results/consumer/{consumer}/version/{version}/latest",
            get(get_latest_for_consumer_version),
        )
}

/// The URL of a verification result.
fn verification_url(base: &str, v: &Verification) -> String {
    integration_url(
        base,
        &v.provider_name,
        &v.consumer_name,
        &[
            "pact-version",
            &v.sha,
            "verification-results",
            &v.number.to_string(),
        ],
    )
}

/// A verification result as the broker renders it (`VerificationDecorator`); `pact` is the
/// publication its links name.
pub fn verification_body(base: &str, v: &Verification, pact: &PactRef) -> Value {
    let mut verified_by = Map::new();
    for (key, value) in [
        ("implementation", &v.verified_by_implementation),
        ("version", &v.verified_by_version),
        (
            "client_implementation",
            &v.verified_by_client_implementation,
        ),
        (
            "client_test_framework",
            &v.verified_by_client_test_framework,
        ),
        ("client_version", &v.verified_by_client_version),
    ] {
        if let Some(value) = value {
            verified_by.insert(key.into(), json!(value));
        }
    }
    let mut body = json!({
        "providerName": v.provider_name,
        "providerApplicationVersion": v.provider_version_number,
        "success": v.success,
        "verificationDate": format_time(&v.execution_date),
        "verifiedBy": verified_by,
        "_links": {
            "self": {
                "title": "Verification result",
                "name": format!("Verification result {} for {}", v.number, pact.name()),
                "href": verification_url(base, v),
            },
            "pb:pact-version": {
                "title": "Pact",
                "name": pact.name(),
                "href": format!("{}/metadata/{}", pact_version_url(base, pact), metadata::encode(&metadata::for_consumer_version_number(&pact.consumer_version_number))),
            },
            "pb:triggered-webhooks": {
                "title": "Webhooks triggered by the publication of this verification result",
                "href": format!("{}/triggered-webhooks", verification_url(base, v)),
            },
        },
    });
    if let Some(url) = &v.build_url {
        body["buildUrl"] = json!(url);
    }
    if let Some(results) = &v.test_results {
        body["testResults"] = results.clone();
    }
    body
}

/// The publication a verification's links name: the latest with its content.
async fn latest_publication_of(conn: &mut PgConnection, v: &Verification) -> Result<PactRef> {
    pact_store::by_sha(conn, &v.provider_name, &v.consumer_name, &v.sha, None)
        .await?
        .map(|p| p.pact)
        .ok_or_else(|| Error::NotFound(format!("No pact with content {} found", v.sha)))
}

/// The validated body of a verification publication (`VerificationContract`).
struct VerificationBody {
    success: bool,
    provider_version: String,
    build_url: Option<String>,
    test_results: Option<Value>,
    verified_by: Value,
}

fn validate(body: &Value) -> Result<VerificationBody> {
    let Value::Object(map) = body else {
        return Err(Error::BadRequest(
            "Expected JSON Object in request body".into(),
        ));
    };
    let mut errors = FieldErrors::new();
    let mut add = |k: &str, m: &str| errors.entry(k.to_owned()).or_default().push(m.to_owned());
    let success = match map.get("success") {
        None => {
            add("success", "is missing");
            false
        }
        Some(Value::Bool(b)) => *b,
        Some(Value::Null) => {
            add("success", "must be filled");
            false
        }
        Some(_) => {
            add("success", "must be boolean");
            false
        }
    };
    let provider_version = match map.get("providerApplicationVersion") {
        None => {
            add("providerApplicationVersion", "is missing");
            String::new()
        }
        Some(Value::Null) => {
            add("providerApplicationVersion", "must be filled");
            String::new()
        }
        Some(Value::String(s)) if s.is_empty() => {
            add("providerApplicationVersion", "must be filled");
            String::new()
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            add("providerApplicationVersion", "cannot be blank");
            String::new()
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            add("providerApplicationVersion", "must be a string");
            String::new()
        }
    };
    let build_url = match map.get("buildUrl") {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) => {
            // Ruby's URI() accepts relative references; only what cannot be a URI at all fails.
            if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
                add("buildUrl", "is not a valid URL eg. http://example.org");
            }
            Some(url.clone())
        }
        Some(_) => {
            add("buildUrl", "must be a string");
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    Ok(VerificationBody {
        success,
        provider_version,
        build_url,
        test_results: map.get("testResults").filter(|v| !v.is_null()).cloned(),
        verified_by: map.get("verifiedBy").cloned().unwrap_or(Value::Null),
    })
}

fn metadata_selectors_json(metadata: &PactMetadata) -> Option<Value> {
    if metadata.selectors.is_empty() {
        return None;
    }
    Some(Value::Array(
        metadata
            .selectors
            .iter()
            .map(|s| {
                let mut m = Map::new();
                if let Some(b) = &s.branch {
                    m.insert("branch".into(), json!(b));
                }
                if let Some(t) = &s.tag {
                    m.insert("tag".into(), json!(t));
                }
                if let Some(l) = s.latest {
                    m.insert("latest".into(), json!(l));
                }
                if let Some(e) = &s.environment {
                    m.insert("environment".into(), json!(e));
                }
                if let Some(cv) = s.consumer_version_id {
                    m.insert("consumerVersionId".into(), json!(cv));
                }
                Value::Object(m)
            })
            .collect(),
    ))
}

async fn publish_verification(
    tenant: TenantContext,
    provider: String,
    consumer: String,
    sha: String,
    segment: Option<String>,
    parsed: &Value,
) -> Result<Response> {
    let input = validate(parsed)?;
    let metadata = segment
        .as_deref()
        .map(PactMetadata::decode)
        .unwrap_or_default();
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    pact_store::plan_for_oltp(&mut tx).await?;
    let (pact, _) = pact_for_permalink(&mut tx, &provider, &consumer, &sha, &metadata).await?;
    let provider_row = pacticipants::find_or_create(&mut tx, &provider).await?;
    let (provider_version, _) = versions::find_or_create(
        &mut tx,
        provider_row.pacticipant_id,
        &input.provider_version,
    )
    .await?;
    let text = |v: &Value, path: &[&str]| -> Option<String> {
        let mut node = v;
        for key in path {
            node = node.get(*key)?;
        }
        node.as_str().map(str::to_owned)
    };
    let selectors = metadata_selectors_json(&metadata);
    let verified_by = &input.verified_by;
    let (implementation, version) = (
        text(verified_by, &["implementation"]),
        text(verified_by, &["version"]),
    );
    let (client_name, client_version, client_framework) = (
        text(verified_by, &["clientLanguage", "name"]),
        text(verified_by, &["clientLanguage", "version"]),
        text(verified_by, &["clientLanguage", "testFramework"]),
    );
    let verification = store::create(
        &mut tx,
        &NewVerification {
            pact_version_id: pact.pact_version_id,
            consumer_id: pact.consumer_id,
            provider_id: pact.provider_id,
            provider_version_id: provider_version.version_id,
            success: input.success,
            build_url: input.build_url.as_deref(),
            test_results: input.test_results.as_ref(),
            pact_pending: metadata.pending,
            wip: metadata.wip,
            verified_by_implementation: implementation.as_deref(),
            verified_by_version: version.as_deref(),
            verified_by_client_implementation: client_name.as_deref(),
            verified_by_client_version: client_version.as_deref(),
            verified_by_client_test_framework: client_framework.as_deref(),
            consumer_version_selectors: selectors.as_ref(),
        },
    )
    .await?;
    let (branches, tags) =
        store::version_branches_and_tags(&mut tx, provider_version.version_id).await?;
    let (consumer_tags, consumer_branches) =
        pact_store::version_tags_and_branches(&mut tx, pact.consumer_version_id).await?;
    let latest = latest_publication_of(&mut tx, &verification).await?;
    tx.commit().await?;

    let verification_ref = VerificationRef {
        verification_id: verification.verification_id,
        number: i64::from(verification.number),
        success: verification.success,
        provider_version_number: verification.provider_version_number.clone(),
        provider_version_branches: branches,
        provider_version_tags: tags,
        build_url: verification.build_url.clone(),
    };
    let event = |name: EventName| Event {
        name,
        comment: None,
        tenant_id: tenant.route.tenant_id,
        base_url: tenant.base_url.to_string(),
        consumer: pact.consumer_name.clone(),
        provider: pact.provider_name.clone(),
        pact_publication_id: pact.pact_publication_id,
        pact_version_sha: pact.sha.clone(),
        consumer_version_number: pact.consumer_version_number.clone(),
        consumer_version_tags: consumer_tags.clone(),
        consumer_version_branch: consumer_branches.first().cloned(),
        build_url: None,
        provider_version_number: Some(verification.provider_version_number.clone()),
        provider_version_descriptions: Vec::new(),
        verification: Some(verification_ref.clone()),
    };
    tenant.publish_events(&[
        event(EventName::ProviderVerificationPublished),
        event(if verification.success {
            EventName::ProviderVerificationSucceeded
        } else {
            EventName::ProviderVerificationFailed
        }),
    ]);

    let body = verification_body(&tenant.base_url, &verification, &latest);
    Ok(hal::created(
        verification_url(&tenant.base_url, &verification),
        HalBody(body),
    ))
}

/// `POST /pacts/provider/{provider}/consumer/{consumer}/pact-version/{sha}/verification-results`:
/// records a verification result (201, `Location` = the result), creating the provider version.
pub async fn create_verification(
    tenant: TenantContext,
    PathParams((provider, consumer, sha)): PathParams<(String, String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    publish_verification(tenant, provider, consumer, sha, None, &body).await
}

/// `POST …/pact-version/{sha}/metadata/{metadata}/verification-results`: the same, attributed
/// with the metadata the pact was handed out with (WIP, pending, selectors).
pub async fn create_verification_with_metadata(
    tenant: TenantContext,
    PathParams((provider, consumer, sha, segment)): PathParams<(String, String, String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    publish_verification(tenant, provider, consumer, sha, Some(segment), &body).await
}

async fn find_numbered(
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
    sha: &str,
    number: &str,
) -> Result<Verification> {
    if number == "all" {
        return Err(Error::NotFound(
            "To see all the verifications for a pact, use the Matrix page".into(),
        ));
    }
    let missing = || Error::NotFound(format!("No verification result {number} found"));
    let number: i32 = number
        .parse()
        .ok()
        .filter(|_| number.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(missing)?;
    store::find(conn, provider, consumer, sha, number)
        .await?
        .ok_or_else(missing)
}

async fn get_numbered(
    tenant: TenantContext,
    provider: String,
    consumer: String,
    sha: String,
    segment: Option<String>,
    number: String,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let verification = find_numbered(&mut conn, &provider, &consumer, &sha, &number).await?;
    let metadata = segment
        .as_deref()
        .map(PactMetadata::decode)
        .unwrap_or_default();
    let pact = match pact_for_permalink(&mut conn, &provider, &consumer, &sha, &metadata).await {
        Ok((pact, _)) => pact.pact,
        Err(_) => latest_publication_of(&mut conn, &verification).await?,
    };
    Ok(HalBody(verification_body(&tenant.base_url, &verification, &pact)).into_response())
}

/// `GET …/pact-version/{sha}/verification-results/{number}`.
pub async fn get_verification(
    tenant: TenantContext,
    PathParams((provider, consumer, sha, number)): PathParams<(String, String, String, String)>,
) -> Result<Response> {
    get_numbered(tenant, provider, consumer, sha, None, number).await
}

/// `GET …/pact-version/{sha}/metadata/{metadata}/verification-results/{number}`.
pub async fn get_verification_with_metadata(
    tenant: TenantContext,
    PathParams((provider, consumer, sha, segment, number)): PathParams<(
        String,
        String,
        String,
        String,
        String,
    )>,
) -> Result<Response> {
    get_numbered(tenant, provider, consumer, sha, Some(segment), number).await
}

/// `DELETE …/pact-version/{sha}/verification-results/{number}` (204).
pub async fn delete_verification(
    tenant: TenantContext,
    PathParams((provider, consumer, sha, number)): PathParams<(String, String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let verification = find_numbered(&mut conn, &provider, &consumer, &sha, &number).await?;
    store::delete(&mut conn, verification.verification_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE …/pact-version/{sha}/metadata/{metadata}/verification-results/{number}` (204).
pub async fn delete_verification_with_metadata(
    tenant: TenantContext,
    PathParams((provider, consumer, sha, _segment, number)): PathParams<(
        String,
        String,
        String,
        String,
        String,
    )>,
) -> Result<Response> {
    delete_verification(tenant, PathParams((provider, consumer, sha, number))).await
}

/// Which pact's latest verification a request is about.
enum PactOf {
    Sha(String),
    Version(String),
    Latest(Option<String>),
}

async fn latest_for(
    tenant: &TenantContext,
    provider: &str,
    consumer: &str,
    of: PactOf,
) -> Result<(Verification, PactRef)> {
    let mut conn = tenant.db().await?;
    let pact = match &of {
        PactOf::Sha(sha) => pact_store::by_sha(&mut conn, provider, consumer, sha, None)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "No pact with content {sha} found between {consumer} and {provider}"
                ))
            })?,
        PactOf::Version(number) => {
            pact_store::for_consumer_version(&mut conn, provider, consumer, number)
                .await?
                .ok_or_else(|| not_found(consumer, number, provider))?
        }
        PactOf::Latest(tag) => {
            let which = match tag {
                Some(tag) => Latest::Tagged(tag),
                None => Latest::Any,
            };
            pact_store::latest(&mut conn, provider, consumer, which)
                .await?
                .ok_or_else(|| {
                    Error::NotFound(format!("No pact found between {consumer} and {provider}"))
                })?
        }
    };
    let verification = store::latest_for_pact_version(&mut conn, pact.pact_version_id)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!("No verification results found for {}", pact.name()))
        })?;
    Ok((verification, pact.pact))
}

async fn get_latest(
    tenant: TenantContext,
    provider: String,
    consumer: String,
    of: PactOf,
) -> Result<Response> {
    let (verification, pact) = latest_for(&tenant, &provider, &consumer, of).await?;
    Ok(HalBody(verification_body(&tenant.base_url, &verification, &pact)).into_response())
}

async fn delete_latest(
    tenant: TenantContext,
    provider: String,
    consumer: String,
    of: PactOf,
) -> Result<Response> {
    let (verification, _) = latest_for(&tenant, &provider, &consumer, of).await?;
    let mut conn = tenant.db().await?;
    store::delete(&mut conn, verification.verification_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/pact-version/{sha}/verification-results/latest`.
pub async fn get_latest_for_pact_version(
    tenant: TenantContext,
    PathParams((provider, consumer, sha)): PathParams<(String, String, String)>,
) -> Result<Response> {
    get_latest(tenant, provider, consumer, PactOf::Sha(sha)).await
}

/// `DELETE …/pact-version/{sha}/verification-results/latest`.
pub async fn delete_latest_for_pact_version(
    tenant: TenantContext,
    PathParams((provider, consumer, sha)): PathParams<(String, String, String)>,
) -> Result<Response> {
    delete_latest(tenant, provider, consumer, PactOf::Sha(sha)).await
}

/// `GET …/version/{version}/verification-results/latest`.
pub async fn get_latest_for_consumer_version_pact(
    tenant: TenantContext,
    PathParams((provider, consumer, number)): PathParams<(String, String, String)>,
) -> Result<Response> {
    get_latest(tenant, provider, consumer, PactOf::Version(number)).await
}

/// `DELETE …/version/{version}/verification-results/latest`.
pub async fn delete_latest_for_consumer_version_pact(
    tenant: TenantContext,
    PathParams((provider, consumer, number)): PathParams<(String, String, String)>,
) -> Result<Response> {
    delete_latest(tenant, provider, consumer, PactOf::Version(number)).await
}

/// `GET …/latest/verification-results/latest`: of the latest pact.
pub async fn get_latest_for_latest_pact(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    get_latest(tenant, provider, consumer, PactOf::Latest(None)).await
}

/// `DELETE …/latest/verification-results/latest`.
pub async fn delete_latest_for_latest_pact(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    delete_latest(tenant, provider, consumer, PactOf::Latest(None)).await
}

/// `GET …/latest/{tag}/verification-results/latest`: of the latest pact with the tag.
pub async fn get_latest_for_latest_tagged_pact(
    tenant: TenantContext,
    PathParams((provider, consumer, tag)): PathParams<(String, String, String)>,
) -> Result<Response> {
    get_latest(tenant, provider, consumer, PactOf::Latest(Some(tag))).await
}

/// `DELETE …/latest/{tag}/verification-results/latest`.
pub async fn delete_latest_for_latest_tagged_pact(
    tenant: TenantContext,
    PathParams((provider, consumer, tag)): PathParams<(String, String, String)>,
) -> Result<Response> {
    delete_latest(tenant, provider, consumer, PactOf::Latest(Some(tag))).await
}

/// `GET /verification-results/consumer/{consumer}/version/{version}/latest`: the latest result
/// for each pact the consumer version published, and whether all of them succeeded.
pub async fn get_latest_for_consumer_version(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((consumer, number)): PathParams<(String, String)>,
) -> Result<Response> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let version_id = store::version_id(&mut conn, &consumer, &number)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No version {number} of {consumer} found")))?;
    let verifications = store::latest_for_consumer_version(&mut conn, version_id).await?;
    let providers = store::providers_of_consumer_version(&mut conn, version_id).await?;
    let successful: Vec<&str> = verifications
        .iter()
        .filter(|v| v.success)
        .map(|v| v.provider_name.as_str())
        .collect();
    let failed: Vec<&str> = verifications
        .iter()
        .filter(|v| !v.success)
        .map(|v| v.provider_name.as_str())
        .collect();
    let unknown: Vec<&str> = providers
        .iter()
        .map(String::as_str)
        .filter(|p| !verifications.iter().any(|v| v.provider_name == *p))
        .collect();
    let mut embedded = Vec::new();
    for verification in &verifications {
        let pact = latest_publication_of(&mut conn, verification).await?;
        embedded.push(verification_body(base, verification, &pact));
    }
    let body = json!({
        "success": successful.len() == providers.len(),
        "providerSummary": { "successful": successful, "failed": failed, "unknown": unknown },
        "_embedded": { "verificationResults": embedded },
        "_links": { "self": {
            "href": format!("{}{}", base.trim_end_matches('/'), uri.path()),
            "title": format!("Latest verification results for consumer {consumer} version {number}"),
        } },
    });
    Ok(HalBody(body).into_response())
}
