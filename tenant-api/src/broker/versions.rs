//! Pacticipant versions: `/pacticipants/{p}/versions[/{v}]`, the latest version (overall, by
//! tag, by branch), and the version collections of a branch, a tag and an environment.

use axum::routing::get;
use axum::Router;
use std::collections::HashMap;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Local;
use serde_json::{json, Map, Value};
use sqlx::{Connection, PgConnection};

use super::http::extract::{PathParams, RequestBody};
use super::http::hal::{self, HalBody};
use super::http::pagination::{Page, PageRequest, Pagination};
use super::pacticipants::deployed_environment_link;
use super::store::environments::{
    self as environment_store, DeployedVersionRecord, EnvironmentRecord, ReleasedVersionRecord,
};
use super::store::versions::{
    self as store, BranchMembership, PublishedPactRef, TagRecord, VersionFilter, VersionRecord,
};
use super::store::{branches, pacticipants};
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// A pacticipant's versions: all, by branch, tag or environment, one, and the latest.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pacticipants/{pacticipant}/versions", get(list_versions))
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/versions",
            get(list_branch_versions),
        )
        .route(
            "/pacticipants/{pacticipant}/environments/{uuid}/versions",
            get(list_environment_versions),
        )
        .route(
            "/pacticipants/{pacticipant}/versions/{version}",
            get(get_version)
                .put(put_version)
                .patch(patch_version)
                .delete(delete_version),
        )
        .route(
            "/pacticipants/{pacticipant}/latest-version/{tag}",
            get(get_latest_tagged_version),
        )
        .route(
            "/pacticipants/{pacticipant}/latest-version",
            get(get_latest_version),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version",
            get(get_latest_branch_version),
        )
        .route(
            "/pacticipants/{pacticipant}/tags/{tag}/versions",
            get(list_tag_versions),
        )
}

/// What a version's representation shows besides the version itself.
#[derive(Default)]
pub(crate) struct VersionDetails {
    branches: Vec<BranchMembership>,
    tags: Vec<TagRecord>,
    pacts: Vec<PublishedPactRef>,
    deployed: Vec<DeployedVersionRecord>,
    released: Vec<ReleasedVersionRecord>,
}

/// Loads the details of `versions`, in one query per kind.
pub(crate) async fn load_details(
    conn: &mut PgConnection,
    versions: &[VersionRecord],
) -> Result<HashMap<i64, VersionDetails>> {
    let ids: Vec<i64> = versions.iter().map(|v| v.version_id).collect();
    let mut details: HashMap<i64, VersionDetails> = ids
        .iter()
        .map(|id| (*id, VersionDetails::default()))
        .collect();
    for membership in store::branch_memberships(conn, &ids).await? {
        if let Some(d) = details.get_mut(&membership.version_id) {
            d.branches.push(membership);
        }
    }
    for tag in store::tags_of(conn, &ids).await? {
        if let Some(d) = details.get_mut(&tag.version_id) {
            d.tags.push(tag);
        }
    }
    for pact in store::published_pacts(conn, &ids).await? {
        if let Some(d) = details.get_mut(&pact.version_id) {
            d.pacts.push(pact);
        }
    }
    for deployed in environment_store::deployments_of_versions(conn, &ids).await? {
        if let Some(d) = details.get_mut(&deployed.version_id) {
            d.deployed.push(deployed);
        }
    }
    for released in environment_store::releases_of_versions(conn, &ids).await? {
        if let Some(d) = details.get_mut(&released.version_id) {
            d.released.push(released);
        }
    }
    Ok(details)
}

fn version_url(base: &str, pacticipant: &str, number: &str) -> String {
    hal::url(base, &["pacticipants", pacticipant, "versions", number])
}

/// A version as the broker's `VersionDecorator` writes it. `self_href` is the URL it was
/// requested at; `environments` (single-version resources only) adds the `pb:record-deployment`
/// and `pb:record-release` links, one per environment.
pub(crate) fn version_json(
    base: &str,
    version: &VersionRecord,
    details: &VersionDetails,
    self_href: &str,
    environments: Option<&[EnvironmentRecord]>,
) -> Value {
    let (pacticipant, number) = (version.pacticipant_name.as_str(), version.number.as_str());
    let url = version_url(base, pacticipant, number);
    let mut object = Map::new();
    object.insert("number".into(), json!(number));
    if let Some(build_url) = &version.build_url {
        object.insert("buildUrl".into(), json!(build_url));
    }
    hal::timestamps(&mut object, &version.created_at, Some(&version.updated_at));
    let embedded = embedded_branches_and_tags(base, &url, version, details);
    if !embedded.is_empty() {
        object.insert("_embedded".into(), Value::Object(embedded));
    }
    let mut links = version_links(base, &url, version, self_href, details);
    if let Some(environments) = environments {
        let record = |kind: &str, title: &str| record_links(&url, environments, kind, title);
        links.insert(
            "pb:record-deployment".into(),
            Value::Array(record("deployed-versions", "Record deployment to")),
        );
        links.insert(
            "pb:record-release".into(),
            Value::Array(record("released-versions", "Record release to")),
        );
    }
    links.insert("curies".into(), hal::curies_for(base, "version"));
    object.insert("_links".into(), Value::Object(links));
    Value::Object(object)
}

/// A version's `_embedded`: its branch versions (also as the older `branches`) and its tags,
/// each when there are any.
fn embedded_branches_and_tags(
    base: &str,
    url: &str,
    version: &VersionRecord,
    details: &VersionDetails,
) -> Map<String, Value> {
    let (pacticipant, number) = (version.pacticipant_name.as_str(), version.number.as_str());
    let mut embedded = Map::new();
    if !details.branches.is_empty() {
        let branch_versions: Vec<Value> = details
            .branches
            .iter()
            .map(|b| {
                json!({
                    "name": b.branch_name,
                    "latest": b.latest,
                    "_links": { "self": {
                        "title": "Branch version",
                        "name": b.branch_name,
                        "href": hal::url(base, &["pacticipants", pacticipant, "branches", &b.branch_name, "versions", number]),
                    } },
                })
            })
            .collect();
        embedded.insert("branches".into(), Value::Array(branch_versions.clone()));
        embedded.insert("branchVersions".into(), Value::Array(branch_versions));
    }
    if !details.tags.is_empty() {
        let tags: Vec<Value> = details
            .tags
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "_links": { "self": {
                        "title": "Tag",
                        "name": t.name,
                        "href": hal::url(url, &["tags", &t.name]),
                    } },
                })
            })
            .collect();
        embedded.insert("tags".into(), Value::Array(tags));
    }
    embedded
}

/// A version's links but the record links and curies: itself, its pacticipant, tags,
/// verification results, pacts, and where it is deployed or released.
fn version_links(
    base: &str,
    url: &str,
    version: &VersionRecord,
    self_href: &str,
    details: &VersionDetails,
) -> Map<String, Value> {
    let (pacticipant, number) = (version.pacticipant_name.as_str(), version.number.as_str());
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "title": "Version", "name": number, "href": self_href }),
    );
    links.insert(
        "pb:pacticipant".into(),
        json!({ "title": "Pacticipant", "name": pacticipant, "href": hal::url(base, &["pacticipants", pacticipant]) }),
    );
    links.insert(
        "pb:tag".into(),
        json!({
            "href": format!("{url}/tags/{{tag}}"),
            "title": "Get, create or delete a tag for this pacticipant version",
            "templated": true,
        }),
    );
    links.insert(
        "pb:latest-verification-results-where-pacticipant-is-consumer".into(),
        json!({
            "title": "Latest verification results for consumer version",
            "href": hal::url(base, &["verification-results", "consumer", pacticipant, "version", number, "latest"]),
        }),
    );
    let pacts: Vec<Value> = details
        .pacts
        .iter()
        .map(|p| {
            json!({
                "title": "Pact",
                "name": format!("Pact between {pacticipant} ({number}) and {}", p.provider_name),
                "href": hal::url(base, &["pacts", "provider", &p.provider_name, "consumer", pacticipant, "version", number]),
            })
        })
        .collect();
    links.insert("pb:pact-versions".into(), Value::Array(pacts));
    let deployed: Vec<Value> = details
        .deployed
        .iter()
        .map(|d| deployed_environment_link(base, d))
        .collect();
    links.insert("pb:deployed-environments".into(), Value::Array(deployed));
    let released: Vec<Value> = details
        .released
        .iter()
        .map(|r| {
            let display = r.environment.display_name.clone().unwrap_or_default();
            json!({
                "title": format!("Version released to {display}"),
                "name": display,
                "href": hal::url(base, &["released-versions", &r.uuid.to_string()]),
                "currently_supported": r.support_ended_at.is_none(),
            })
        })
        .collect();
    links.insert("pb:released-environments".into(), Value::Array(released));
    links
}

/// `pb:record-deployment` / `pb:record-release`: one link per environment.
fn record_links(
    url: &str,
    environments: &[EnvironmentRecord],
    kind: &str,
    title: &str,
) -> Vec<Value> {
    environments
        .iter()
        .map(|e| {
            let display = e.display_name.clone().unwrap_or_default();
            json!({
                "title": format!("{title} {display}"),
                "name": e.name,
                "href": format!("{url}/{kind}/environment/{}", e.uuid),
            })
        })
        .collect()
}

/// A single version resource: the version with its details and the record links.
async fn single_version_json(
    conn: &mut PgConnection,
    base: &str,
    version: &VersionRecord,
    self_href: &str,
) -> Result<Value> {
    let mut details = load_details(conn, std::slice::from_ref(version)).await?;
    let environments = environment_store::list(conn).await?;
    let details = details.remove(&version.version_id).unwrap_or_default();
    Ok(version_json(
        base,
        version,
        &details,
        self_href,
        Some(&environments),
    ))
}

/// Options of a version collection document.
struct Collection<'a> {
    pacticipant: &'a str,
    title: Option<String>,
    page: Option<PageRequest>,
    total: i64,
}

async fn collection_json(
    conn: &mut PgConnection,
    tenant: &TenantContext,
    uri: &Uri,
    versions: &[VersionRecord],
    collection: Collection<'_>,
) -> Result<Value> {
    let base = tenant.base_url.as_ref();
    let details = load_details(conn, versions).await?;
    let empty = VersionDetails::default();
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| {
            let url = version_url(base, &v.pacticipant_name, &v.number);
            version_json(
                base,
                v,
                details.get(&v.version_id).unwrap_or(&empty),
                &url,
                None,
            )
        })
        .collect();
    let pacticipant = collection.pacticipant;
    let pacticipant_url = hal::url(base, &["pacticipants", pacticipant]);
    let pb_versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "href": version_url(base, &v.pacticipant_name, &v.number),
                "title": format!(
                    "Version {} - {}",
                    v.number,
                    v.updated_at.with_timezone(&Local).format("%d/%m/%Y")
                ),
            })
        })
        .collect();
    let old_versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "href": version_url(base, &v.pacticipant_name, &v.number),
                "title": "Deprecated - please use pb:versions",
            })
        })
        .collect();
    let mut document = json!({
        "_embedded": { "versions": entries },
        "_links": {
            "self": {
                "href": hal::request_url(base, uri),
                "title": collection.title.unwrap_or_else(|| format!("All application versions of {pacticipant}")),
            },
            "pb:pacticipant": { "href": pacticipant_url, "title": pacticipant },
            "pb:versions": pb_versions,
            "pacticipant": { "href": pacticipant_url, "title": "Deprecated - please use pb:pacticipant" },
            "versions": old_versions,
        },
    });
    if let Some(page) = Page::answer(collection.page, collection.total, versions.len()) {
        page.decorate(&mut document, &hal::resource_url(base, uri));
    }
    Ok(document)
}

fn pacticipant_not_found(name: &str) -> Error {
    Error::NotFound(format!("No pacticipant with name '{name}' found"))
}

fn version_not_found(pacticipant: &str, number: &str) -> Error {
    Error::NotFound(format!(
        "No version '{number}' of pacticipant '{pacticipant}' found"
    ))
}

/// `GET /pacticipants/{pacticipant}/versions`: newest first, paginated on request.
pub async fn list_versions(
    tenant: TenantContext,
    PathParams(pacticipant): PathParams<String>,
    Pagination(page): Pagination,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let row = pacticipants::find(&mut conn, &pacticipant)
        .await?
        .ok_or_else(|| pacticipant_not_found(&pacticipant))?;
    let (versions, total) = store::list(
        &mut conn,
        row.pacticipant_id,
        &VersionFilter::All,
        page.map(|p| (p.limit(), p.offset())),
    )
    .await?;
    let collection = Collection {
        pacticipant: &pacticipant,
        title: None,
        page,
        total,
    };
    Ok(HalBody(
        collection_json(&mut conn, &tenant, &uri, &versions, collection).await?,
    ))
}

/// `GET /pacticipants/{pacticipant}/branches/{branch}/versions`: the versions on a branch.
pub async fn list_branch_versions(
    tenant: TenantContext,
    PathParams((pacticipant, branch)): PathParams<(String, String)>,
    Pagination(page): Pagination,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let found = branches::find(&mut conn, &pacticipant, &branch)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "No branch '{branch}' found for pacticipant '{pacticipant}'"
            ))
        })?;
    let (versions, total) = store::list(
        &mut conn,
        found.pacticipant_id,
        &VersionFilter::OnBranch(branch.clone()),
        page.map(|p| (p.limit(), p.offset())),
    )
    .await?;
    let collection = Collection {
        pacticipant: &pacticipant,
        title: Some(format!(
            "Versions for branch {} of {}",
            found.name, found.pacticipant_name
        )),
        page,
        total,
    };
    Ok(HalBody(
        collection_json(&mut conn, &tenant, &uri, &versions, collection).await?,
    ))
}

/// `GET /pacticipants/{pacticipant}/tags/{tag}/versions`: the versions carrying a tag (404 when
/// none does).
pub async fn list_tag_versions(
    tenant: TenantContext,
    PathParams((pacticipant, tag)): PathParams<(String, String)>,
    Pagination(page): Pagination,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let not_found = || {
        Error::NotFound(format!(
            "No versions of pacticipant '{pacticipant}' have tag '{tag}'"
        ))
    };
    let row = pacticipants::find(&mut conn, &pacticipant)
        .await?
        .ok_or_else(not_found)?;
    let filter = VersionFilter::WithTag(tag.clone());
    let (versions, total) = store::list(
        &mut conn,
        row.pacticipant_id,
        &filter,
        page.map(|p| (p.limit(), p.offset())),
    )
    .await?;
    let any = if page.is_some() {
        total > 0
    } else {
        !versions.is_empty()
    };
    if !any {
        return Err(not_found());
    }
    let collection = Collection {
        pacticipant: &pacticipant,
        title: None,
        page,
        total,
    };
    Ok(HalBody(
        collection_json(&mut conn, &tenant, &uri, &versions, collection).await?,
    ))
}

/// `GET /pacticipants/{pacticipant}/environments/{uuid}/versions`: the versions of a
/// pacticipant deployed or released (ever) to an environment.
pub async fn list_environment_versions(
    tenant: TenantContext,
    PathParams((pacticipant, uuid)): PathParams<(String, String)>,
    Pagination(page): Pagination,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let environment = match uuid.parse() {
        Ok(uuid) => environment_store::find(&mut conn, uuid).await?,
        Err(_) => None,
    }
    .ok_or_else(|| Error::NotFound(format!("No environment with UUID {uuid} found")))?;
    let row = pacticipants::find(&mut conn, &pacticipant)
        .await?
        .ok_or_else(|| pacticipant_not_found(&pacticipant))?;
    let (versions, total) = store::list(
        &mut conn,
        row.pacticipant_id,
        &VersionFilter::InEnvironment(environment.environment_id),
        page.map(|p| (p.limit(), p.offset())),
    )
    .await?;
    let collection = Collection {
        pacticipant: &pacticipant,
        title: Some(format!(
            "Versions for {} in environment {}",
            row.name,
            environment.display_name.as_deref().unwrap_or_default()
        )),
        page,
        total,
    };
    Ok(HalBody(
        collection_json(&mut conn, &tenant, &uri, &versions, collection).await?,
    ))
}

/// `GET /pacticipants/{pacticipant}/versions/{version}`.
pub async fn get_version(
    tenant: TenantContext,
    PathParams((pacticipant, number)): PathParams<(String, String)>,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let version = store::find_record(&mut conn, &pacticipant, &number)
        .await?
        .ok_or_else(|| version_not_found(&pacticipant, &number))?;
    let self_href = hal::resource_url(&tenant.base_url, &uri);
    Ok(HalBody(
        single_version_json(&mut conn, &tenant.base_url, &version, &self_href).await?,
    ))
}

/// The properties a version body sets: `buildUrl` and the full list of `tags`.
#[derive(Debug, Default)]
struct VersionInput {
    build_url: Option<Option<String>>,
    tags: Option<Vec<String>>,
}

fn parse_version_input(body: Option<Map<String, Value>>) -> Result<VersionInput> {
    let Some(body) = body else {
        return Ok(VersionInput::default());
    };
    let mut errors = FieldErrors::new();
    let build_url = match body.get("buildUrl") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(url)) => Some(Some(url.clone())),
        Some(_) => {
            errors.insert("buildUrl".into(), vec!["must be a string".into()]);
            None
        }
    };
    // The broker reads tags from the top level or from `_embedded`.
    let tags_value = body
        .get("tags")
        .or_else(|| body.get("_embedded").and_then(|e| e.get("tags")));
    let tags = match tags_value {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut names = Vec::new();
            for (index, item) in items.iter().enumerate() {
                match item.get("name").and_then(Value::as_str) {
                    Some(name) if !name.trim().is_empty() => names.push(name.to_owned()),
                    _ => errors
                        .entry("tags".into())
                        .or_default()
                        .push(format!("name is missing (at index {index})")),
                }
            }
            Some(names)
        }
        Some(_) => {
            errors.insert("tags".into(), vec!["must be an array".into()]);
            None
        }
    };
    if errors.is_empty() {
        Ok(VersionInput { build_url, tags })
    } else {
        Err(Error::Validation(errors))
    }
}

async fn write_version(
    tenant: TenantContext,
    pacticipant: String,
    number: String,
    input: VersionInput,
    overwrite: bool,
    uri: Uri,
) -> Result<Response> {
    if number.trim().is_empty() {
        return Err(Error::field("number", "cannot be blank"));
    }
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let row = pacticipants::find_or_create(&mut tx, &pacticipant).await?;
    let (version, created) = if overwrite {
        let build_url = input.build_url.clone().flatten();
        store::create_or_overwrite(&mut tx, row.pacticipant_id, &number, build_url.as_deref())
            .await?
    } else {
        let (version, created) =
            store::find_or_create(&mut tx, row.pacticipant_id, &number).await?;
        if let Some(build_url) = &input.build_url {
            sqlx::query("update version set build_url = $2 where version_id = $1")
                .bind(version.version_id)
                .bind(build_url)
                .execute(&mut *tx)
                .await?;
        }
        (version, created)
    };
    if let Some(tags) = &input.tags {
        store::replace_tags(&mut tx, row.pacticipant_id, version.version_id, tags).await?;
    }
    let record = store::find_record(&mut tx, &pacticipant, &number)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("version vanished")))?;
    let self_href = hal::resource_url(&tenant.base_url, &uri);
    let body = single_version_json(&mut tx, &tenant.base_url, &record, &self_href).await?;
    tx.commit().await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, HalBody(body)).into_response())
}

/// `PUT /pacticipants/{pacticipant}/versions/{version}` (JSON): creates the version (201) or
/// overwrites its build URL and, when given, its tags (200). Creates the pacticipant as needed.
pub async fn put_version(
    tenant: TenantContext,
    PathParams((pacticipant, number)): PathParams<(String, String)>,
    uri: Uri,
    body: RequestBody,
) -> Result<Response> {
    body.require(&["application/json"])?;
    let input = parse_version_input(body.json_object()?)?;
    write_version(tenant, pacticipant, number, input, true, uri).await
}

/// `PATCH /pacticipants/{pacticipant}/versions/{version}` (merge patch): creates the version
/// (201) or updates the properties given (200).
pub async fn patch_version(
    tenant: TenantContext,
    PathParams((pacticipant, number)): PathParams<(String, String)>,
    uri: Uri,
    body: RequestBody,
) -> Result<Response> {
    body.require(&["application/merge-patch+json"])?;
    let input = parse_version_input(body.json_object()?)?;
    write_version(tenant, pacticipant, number, input, false, uri).await
}

/// `DELETE /pacticipants/{pacticipant}/versions/{version}`: deletes the version with its tags,
/// branch memberships, pacts, verifications and deployments.
pub async fn delete_version(
    tenant: TenantContext,
    PathParams((pacticipant, number)): PathParams<(String, String)>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    let version = store::find_record(&mut conn, &pacticipant, &number)
        .await?
        .ok_or_else(|| version_not_found(&pacticipant, &number))?;
    store::delete(&mut conn, version.version_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of the "latest version" resources: the version found, linked to itself at `uri`.
async fn latest_version_response(
    conn: &mut PgConnection,
    tenant: &TenantContext,
    uri: &Uri,
    version: &VersionRecord,
) -> Result<HalBody> {
    let self_href = hal::resource_url(&tenant.base_url, uri);
    Ok(HalBody(
        single_version_json(conn, &tenant.base_url, version, &self_href).await?,
    ))
}

/// `GET /pacticipants/{pacticipant}/latest-version`.
pub async fn get_latest_version(
    tenant: TenantContext,
    PathParams(pacticipant): PathParams<String>,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let version = store::latest(&mut conn, &pacticipant)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No versions of '{pacticipant}' found")))?;
    latest_version_response(&mut conn, &tenant, &uri, &version).await
}

/// `GET /pacticipants/{pacticipant}/latest-version/{tag}`.
pub async fn get_latest_tagged_version(
    tenant: TenantContext,
    PathParams((pacticipant, tag)): PathParams<(String, String)>,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let version = store::latest_with_tag(&mut conn, &pacticipant, &tag)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "No version of '{pacticipant}' with tag '{tag}' found"
            ))
        })?;
    latest_version_response(&mut conn, &tenant, &uri, &version).await
}

/// `GET /pacticipants/{pacticipant}/branches/{branch}/latest-version`: the branch's head.
pub async fn get_latest_branch_version(
    tenant: TenantContext,
    PathParams((pacticipant, branch)): PathParams<(String, String)>,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let version = store::latest_on_branch(&mut conn, &pacticipant, &branch)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "No version of '{pacticipant}' on branch '{branch}' found"
            ))
        })?;
    latest_version_response(&mut conn, &tenant, &uri, &version).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_bodies_carry_a_build_url_and_tags() {
        let input = parse_version_input(Some(
            json!({"buildUrl": "http://ci/1", "tags": [{"name": "prod"}, {"name": "eu"}]})
                .as_object()
                .unwrap()
                .clone(),
        ))
        .unwrap();
        assert_eq!(input.build_url, Some(Some("http://ci/1".into())));
        assert_eq!(input.tags, Some(vec!["prod".into(), "eu".into()]));

        let invalid = parse_version_input(Some(
            json!({"tags": [{"nom": "x"}]}).as_object().unwrap().clone(),
        ));
        assert!(matches!(invalid, Err(Error::Validation(e)) if e.contains_key("tags")));
        assert!(parse_version_input(None).unwrap().tags.is_none());
    }
}
