//! Collections of pacts: all versions of an integration's pact (optionally by tag or branch,
//! with `DELETE`), a provider's pacts (all, latest, by tag, by branch) and the latest pact of
//! every integration (`/pacts/latest`, which `list-latest-pact-versions` reads).

use axum::extract::OriginalUri;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::document::format_time;
use super::links::{self, pact_url, version_url};
use super::lookup::require_pacticipant;
use super::publish::post_deletion_response;
use crate::broker::http::extract::PathParams;
use crate::broker::http::hal::{self, HalBody};
use crate::broker::store::pacts::{self as pact_store, IntegrationPacts, PactRef, ProviderPacts};
use crate::error::Result;
use crate::gate::TenantContext;

/// The request's URL without its query (the broker's `resource_url`).
fn resource_url(base: &str, uri: &OriginalUri) -> String {
    format!(
        "{}{}",
        base.trim_end_matches('/'),
        uri.path().trim_end_matches('/')
    )
}

/// "Version 1.0.0 - 02/01/2024", as the broker names pacts in version lists.
fn version_and_date(pact: &PactRef) -> String {
    format!(
        "Version {} - {}",
        pact.consumer_version_number,
        pact.created_at.format("%d/%m/%Y")
    )
}

/// A pact in an integration's list (`PactVersionDecorator`).
fn embedded_pact(base: &str, pact: &PactRef) -> Value {
    json!({
        "createdAt": format_time(&pact.created_at),
        "_embedded": {
            "consumerVersion": {
                "number": pact.consumer_version_number,
                "_links": { "self": {
                    "title": "Version",
                    "name": pact.consumer_version_number,
                    "href": version_url(base, &pact.consumer_name, &pact.consumer_version_number),
                } },
            },
        },
        "_links": { "self": { "href": pact_url(base, pact), "title": pact.name() } },
    })
}

/// Which integration collection a request is for.
#[derive(Clone, Copy)]
enum Listing<'a> {
    All,
    Tagged(&'a str),
    Branch { name: Option<&'a str>, latest: bool },
}

impl<'a> Listing<'a> {
    fn query(self) -> IntegrationPacts<'a> {
        match self {
            Self::All => IntegrationPacts::All,
            Self::Tagged(tag) => IntegrationPacts::Tagged(tag),
            Self::Branch { name, latest } => IntegrationPacts::Branch { name, latest },
        }
    }
}

async fn list_integration(
    tenant: &TenantContext,
    uri: &OriginalUri,
    provider: &str,
    consumer: &str,
    listing: Listing<'_>,
) -> Result<Response> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let (consumer_id, _) = require_pacticipant(&mut conn, consumer, "consumer").await?;
    let (provider_id, _) = require_pacticipant(&mut conn, provider, "provider").await?;
    let pacts =
        pact_store::for_integration(&mut conn, provider_id, consumer_id, listing.query()).await?;
    let embedded: Vec<Value> = pacts.iter().map(|p| embedded_pact(base, p)).collect();
    let consumer_link = hal::named_link(
        hal::url(base, &["pacticipants", consumer]),
        "Consumer",
        consumer,
    );
    let provider_link = hal::named_link(
        hal::url(base, &["pacticipants", provider]),
        "Provider",
        provider,
    );
    let body = match listing {
        Listing::Tagged(tag) => json!({
            "_embedded": { "pacts": embedded },
            "_links": {
                "self": { "href": resource_url(base, uri), "title": format!("All versions of the pact between {consumer} and {provider} with tag {tag}") },
                "pb:consumer": consumer_link,
                "pb:provider": provider_link,
                "pb:pact-versions": pacts.iter().map(|p| json!({ "href": pact_url(base, p), "title": "Pact version", "name": version_and_date(p) })).collect::<Vec<_>>(),
            },
        }),
        _ => json!({
            "_embedded": { "pacts": embedded },
            "_links": {
                "self": { "href": resource_url(base, uri), "title": format!("All versions of the pact between {consumer} and {provider}") },
                "consumer": consumer_link,
                "provider": provider_link,
                "pact-versions": pacts.iter().map(|p| json!({ "href": pact_url(base, p), "title": "Pact", "name": version_and_date(p) })).collect::<Vec<_>>(),
            },
        }),
    };
    Ok(HalBody(body).into_response())
}

async fn delete_integration_pacts(
    tenant: &TenantContext,
    provider: &str,
    consumer: &str,
    listing: Listing<'_>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let (consumer_id, _) = require_pacticipant(&mut conn, consumer, "consumer").await?;
    let (provider_id, _) = require_pacticipant(&mut conn, provider, "provider").await?;
    pact_store::delete_for_integration(&mut conn, provider_id, consumer_id, listing.query())
        .await?;
    match listing {
        // The broker answers the deletion of all versions with no body.
        Listing::All => Ok(StatusCode::NO_CONTENT.into_response()),
        _ => post_deletion_response(&tenant.base_url, &mut conn, provider, consumer).await,
    }
}

/// `GET /pacts/provider/{provider}/consumer/{consumer}/versions`: every consumer version's pact,
/// newest first.
pub async fn get_pact_versions(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    list_integration(&tenant, &uri, &provider, &consumer, Listing::All).await
}

/// `DELETE …/versions`: deletes every pact of the integration (204).
pub async fn delete_pact_versions(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    delete_integration_pacts(&tenant, &provider, &consumer, Listing::All).await
}

/// `GET …/tag/{tag}`: the pacts of consumer versions with the tag, newest first.
pub async fn get_tagged_pact_versions(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, consumer, tag)): PathParams<(String, String, String)>,
) -> Result<Response> {
    list_integration(&tenant, &uri, &provider, &consumer, Listing::Tagged(&tag)).await
}

/// `DELETE …/tag/{tag}`.
pub async fn delete_tagged_pact_versions(
    tenant: TenantContext,
    PathParams((provider, consumer, tag)): PathParams<(String, String, String)>,
) -> Result<Response> {
    delete_integration_pacts(&tenant, &provider, &consumer, Listing::Tagged(&tag)).await
}

/// `GET …/branch/{branch}`: the pacts of consumer versions on the branch, oldest first.
pub async fn get_branch_pact_versions(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, consumer, branch)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let listing = Listing::Branch {
        name: Some(&branch),
        latest: false,
    };
    list_integration(&tenant, &uri, &provider, &consumer, listing).await
}

/// `DELETE …/branch/{branch}`.
pub async fn delete_branch_pact_versions(
    tenant: TenantContext,
    PathParams((provider, consumer, branch)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let listing = Listing::Branch {
        name: Some(&branch),
        latest: false,
    };
    delete_integration_pacts(&tenant, &provider, &consumer, listing).await
}

/// `GET …/branch/{branch}/latest/versions`: the pact of the branch head.
pub async fn get_latest_branch_pact_versions(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, consumer, branch)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let listing = Listing::Branch {
        name: Some(&branch),
        latest: true,
    };
    list_integration(&tenant, &uri, &provider, &consumer, listing).await
}

/// `DELETE …/branch/{branch}/latest/versions`.
pub async fn delete_latest_branch_pact_versions(
    tenant: TenantContext,
    PathParams((provider, consumer, branch)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let listing = Listing::Branch {
        name: Some(&branch),
        latest: true,
    };
    delete_integration_pacts(&tenant, &provider, &consumer, listing).await
}

/// `GET …/branch/versions`: the pacts of consumer versions on the consumer's main branch.
pub async fn get_main_branch_pact_versions(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    let listing = Listing::Branch {
        name: None,
        latest: false,
    };
    list_integration(&tenant, &uri, &provider, &consumer, listing).await
}

/// `DELETE …/branch/versions`: deletes the pacts of the main branch's versions (the broker
/// deletes every pact of the integration here; we delete what the `GET` lists).
pub async fn delete_main_branch_pact_versions(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    let listing = Listing::Branch {
        name: None,
        latest: false,
    };
    delete_integration_pacts(&tenant, &provider, &consumer, listing).await
}

/// `GET …/branch/latest/versions`: the pact of the main branch head.
pub async fn get_latest_main_branch_pact_versions(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    let listing = Listing::Branch {
        name: None,
        latest: true,
    };
    list_integration(&tenant, &uri, &provider, &consumer, listing).await
}

/// `DELETE …/branch/latest/versions`.
pub async fn delete_latest_main_branch_pact_versions(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<Response> {
    let listing = Listing::Branch {
        name: None,
        latest: true,
    };
    delete_integration_pacts(&tenant, &provider, &consumer, listing).await
}

/// A provider's pact list (`ProviderPactsDecorator`).
async fn list_provider(
    tenant: &TenantContext,
    uri: &OriginalUri,
    provider: &str,
    which: ProviderPacts<'_>,
    title: String,
) -> Result<Response> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let (provider_id, _) = require_pacticipant(&mut conn, provider, "provider").await?;
    let pacts = pact_store::for_provider(&mut conn, provider_id, which).await?;
    let provider_url = hal::url(base, &["pacticipants", provider]);
    let body = json!({
        "_links": {
            "self": { "href": resource_url(base, uri), "title": title },
            "pb:provider": { "href": provider_url, "name": provider },
            "pb:pacts": pacts.iter().map(|p| json!({ "href": pact_url(base, p), "title": p.name(), "name": p.consumer_name })).collect::<Vec<_>>(),
            "provider": { "href": provider_url, "title": provider, "name": "DEPRECATED - please use the pb:provider relation" },
            "pacts": pacts.iter().map(|p| json!({ "href": pact_url(base, p), "title": format!("DEPRECATED - please use the pb:pacts relation. {}", p.name()), "name": p.consumer_name })).collect::<Vec<_>>(),
        },
    });
    Ok(HalBody(body).into_response())
}

fn tag_suffix(tag: Option<&str>) -> String {
    tag.map(|t| format!(" with consumer version tag '{t}'"))
        .unwrap_or_default()
}

fn branch_suffix(branch: Option<&str>) -> String {
    branch
        .map(|b| format!(" with consumer version branch '{b}'"))
        .unwrap_or_default()
}

/// `GET /pacts/provider/{provider}`: every pact with the provider.
pub async fn get_provider_pacts(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams(provider): PathParams<String>,
) -> Result<Response> {
    let title = format!("All pact versions for the provider {provider}");
    list_provider(
        &tenant,
        &uri,
        &provider,
        ProviderPacts::All { tag: None },
        title,
    )
    .await
}

/// `GET /pacts/provider/{provider}/tag/{tag}`.
pub async fn get_tagged_provider_pacts(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, tag)): PathParams<(String, String)>,
) -> Result<Response> {
    let title = format!(
        "All pact versions for the provider {provider}{}",
        tag_suffix(Some(&tag))
    );
    let which = ProviderPacts::All { tag: Some(&tag) };
    list_provider(&tenant, &uri, &provider, which, title).await
}

/// `GET /pacts/provider/{provider}/latest`: each consumer's latest pact.
pub async fn get_latest_provider_pacts(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams(provider): PathParams<String>,
) -> Result<Response> {
    let title = format!("Latest pact versions for the provider {provider}");
    list_provider(
        &tenant,
        &uri,
        &provider,
        ProviderPacts::Latest { tag: None },
        title,
    )
    .await
}

/// `GET /pacts/provider/{provider}/latest/{tag}`: each consumer's latest pact with the tag.
pub async fn get_latest_tagged_provider_pacts(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, tag)): PathParams<(String, String)>,
) -> Result<Response> {
    let title = format!(
        "Latest pact versions for the provider {provider}{}",
        tag_suffix(Some(&tag))
    );
    let which = ProviderPacts::Latest { tag: Some(&tag) };
    list_provider(&tenant, &uri, &provider, which, title).await
}

/// `GET /pacts/provider/{provider}/branch`: pacts of each consumer's main branch versions.
pub async fn get_main_branch_provider_pacts(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams(provider): PathParams<String>,
) -> Result<Response> {
    let title = format!("All pact versions for the provider {provider}");
    let which = ProviderPacts::Branch {
        name: None,
        latest: false,
    };
    list_provider(&tenant, &uri, &provider, which, title).await
}

/// `GET /pacts/provider/{provider}/branch/{branch}`.
pub async fn get_branch_provider_pacts(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, branch)): PathParams<(String, String)>,
) -> Result<Response> {
    let title = format!(
        "All pact versions for the provider {provider}{}",
        branch_suffix(Some(&branch))
    );
    let which = ProviderPacts::Branch {
        name: Some(&branch),
        latest: false,
    };
    list_provider(&tenant, &uri, &provider, which, title).await
}

/// `GET /pacts/provider/{provider}/branch/latest`: the pact of each consumer's main branch head.
pub async fn get_latest_main_branch_provider_pacts(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams(provider): PathParams<String>,
) -> Result<Response> {
    let title = format!("Latest pact versions for the provider {provider}");
    let which = ProviderPacts::Branch {
        name: None,
        latest: true,
    };
    list_provider(&tenant, &uri, &provider, which, title).await
}

/// `GET /pacts/provider/{provider}/branch/{branch}/latest`: each consumer's branch head's pact.
pub async fn get_latest_branch_provider_pacts(
    tenant: TenantContext,
    uri: OriginalUri,
    PathParams((provider, branch)): PathParams<(String, String)>,
) -> Result<Response> {
    let title = format!(
        "Latest pact versions for the provider {provider}{}",
        branch_suffix(Some(&branch))
    );
    let which = ProviderPacts::Branch {
        name: Some(&branch),
        latest: true,
    };
    list_provider(&tenant, &uri, &provider, which, title).await
}

/// `GET /pacts/latest`: the latest pact of every integration (`PactCollectionDecorator`); each
/// entry's `self` is the two-element array `[latest URL, version URL]` old clients expect.
pub async fn get_latest_pacts(tenant: TenantContext) -> Result<Response> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let pacts = pact_store::latest_of_every_integration(&mut conn).await?;
    let entries: Vec<Value> = pacts
        .iter()
        .map(|p| {
            json!({
                "_links": { "self": [ { "href": links::latest_pact_url(base, p) }, { "href": pact_url(base, p) } ] },
                "_embedded": {
                    "consumer": {
                        "name": p.consumer_name,
                        "_links": { "self": { "href": hal::url(base, &["pacticipants", &p.consumer_name]) } },
                        "_embedded": { "version": {
                            "number": p.consumer_version_number,
                            "_links": { "self": { "title": "Version", "name": p.consumer_version_number, "href": version_url(base, &p.consumer_name, &p.consumer_version_number) } },
                        } },
                    },
                    "provider": {
                        "name": p.provider_name,
                        "_links": { "self": { "href": hal::url(base, &["pacticipants", &p.provider_name]) } },
                    },
                },
                "createdAt": format_time(&p.created_at),
            })
        })
        .collect();
    let latest_links = |deprecated: bool| -> Vec<Value> {
        pacts
            .iter()
            .map(|p| {
                let mut link = json!({
                    "href": links::latest_pact_url(base, p),
                    "title": format!("Latest pact between {} and {}", p.consumer_name, p.provider_name),
                });
                if deprecated {
                    link["name"] = json!("DEPRECATED - please use the pb:pacts relation");
                }
                link
            })
            .collect()
    };
    let body = json!({
        "_links": {
            "self": { "href": format!("{}/pacts/latest", base.trim_end_matches('/')) },
            "pb:pacts": latest_links(false),
            "pacts": latest_links(true),
            "curies": links::pact_curies(base, "pacts"),
        },
        "pacts": entries,
    });
    Ok(HalBody(body).into_response())
}
