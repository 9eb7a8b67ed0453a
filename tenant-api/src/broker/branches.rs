//! Branches (`/pacticipants/{p}/branches[/{b}]`) and branch versions
//! (`/pacticipants/{p}/branches/{b}/versions/{v}`).

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use sqlx::Connection;

use super::http::extract::{PathParams, QueryParams, RequestBody};
use super::http::hal::{self, HalBody};
use super::http::pagination::{Page, PageRequest, Pagination};
use super::store::branches::{self as store, BranchRecord, BranchVersionRecord};
use super::store::{pacticipants, versions};
use crate::error::{Error, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// A pacticipant's branches and their versions.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/pacticipants/{pacticipant}/branches",
            get(list_branches).delete(delete_branches),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}",
            get(get_branch).delete(delete_branch),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}",
            get(get_branch_version)
                .put(put_branch_version)
                .delete(delete_branch_version),
        )
}

fn branch_url(base: &str, pacticipant: &str, branch: &str) -> String {
    hal::url(base, &["pacticipants", pacticipant, "branches", branch])
}

fn branch_json(base: &str, branch: &BranchRecord) -> Value {
    let url = branch_url(base, &branch.pacticipant_name, &branch.name);
    let mut object = Map::new();
    object.insert("name".into(), json!(branch.name));
    hal::timestamps(&mut object, &branch.created_at, Some(&branch.updated_at));
    object.insert(
        "_links".into(),
        json!({
            "self": { "title": "Branch", "href": url },
            "pb:latest-version": { "title": "Latest version for branch", "href": format!("{url}/latest-version") },
        }),
    );
    Value::Object(object)
}

fn branch_version_json(base: &str, branch_version: &BranchVersionRecord) -> Value {
    let branch = branch_url(
        base,
        &branch_version.pacticipant_name,
        &branch_version.branch_name,
    );
    let mut object = Map::new();
    hal::timestamps(&mut object, &branch_version.created_at, None);
    object.insert(
        "_links".into(),
        json!({
            "self": { "title": "Branch version", "href": hal::url(&branch, &["versions", &branch_version.version_number]) },
            "pb:branch": { "title": "Branch", "name": branch_version.branch_name, "href": branch },
            "pb:version": {
                "title": "Version",
                "name": branch_version.version_number,
                "href": hal::url(base, &["pacticipants", &branch_version.pacticipant_name, "versions", &branch_version.version_number]),
            },
        }),
    );
    Value::Object(object)
}

fn pacticipant_not_found(name: &str) -> Error {
    Error::NotFound(format!("No pacticipant with name '{name}' found"))
}

fn branch_not_found(pacticipant: &str, branch: &str) -> Error {
    Error::NotFound(format!(
        "No branch '{branch}' found for pacticipant '{pacticipant}'"
    ))
}

/// `GET /pacticipants/{pacticipant}/branches`: most recently updated first, `?q=` filters by
/// name; always paginated (page 1 of 100 by default).
pub async fn list_branches(
    tenant: TenantContext,
    PathParams(pacticipant): PathParams<String>,
    Pagination(page): Pagination,
    query: QueryParams,
    uri: Uri,
) -> Result<HalBody> {
    let page = PageRequest::or_default(page);
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let row = pacticipants::find(&mut conn, &pacticipant)
        .await?
        .ok_or_else(|| pacticipant_not_found(&pacticipant))?;
    let filter = query.get("q").filter(|q| !q.is_empty());
    let (branches, total) = store::list(
        &mut conn,
        row.pacticipant_id,
        filter,
        (page.limit(), page.offset()),
    )
    .await?;
    let entries: Vec<Value> = branches.iter().map(|b| branch_json(base, b)).collect();
    let links: Vec<Value> = branches
        .iter()
        .map(|b| json!({ "name": b.name, "href": branch_url(base, &b.pacticipant_name, &b.name) }))
        .collect();
    let mut document = json!({
        "_embedded": { "branches": entries },
        "_links": {
            "self": { "title": format!("{} branches", row.name), "href": hal::request_url(base, &uri) },
            "pb:branches": links,
        },
    });
    Page::new(page, total).decorate(&mut document, &hal::resource_url(base, &uri));
    Ok(HalBody(document))
}

/// `DELETE /pacticipants/{pacticipant}/branches[?exclude[]=…]`: deletes every branch except the
/// main branch and those excluded (their versions stay); 202 with a notice naming what is left.
pub async fn delete_branches(
    tenant: TenantContext,
    PathParams(pacticipant): PathParams<String>,
    query: QueryParams,
) -> Result<Response> {
    let mut keep: Vec<String> = query.all("exclude[]");
    keep.extend(query.all("exclude"));
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let row = pacticipants::find_record(&mut tx, &pacticipant)
        .await?
        .ok_or_else(|| pacticipant_not_found(&pacticipant))?;
    if let Some(main) = &row.main_branch {
        keep.push(main.clone());
    }
    let count = store::delete_all_except(&mut tx, row.pacticipant_id, &keep).await?;
    let remaining = store::existing_names(&mut tx, row.pacticipant_id, &keep).await?;
    tx.commit().await?;
    let text = format!(
        "Scheduled deletion of {count} branches for pacticipant {}. Remaining branches are: {}",
        row.name,
        remaining.join(", ")
    );
    Ok((
        StatusCode::ACCEPTED,
        HalBody(json!({ "notices": [{ "type": "success", "text": text }] })),
    )
        .into_response())
}

/// `GET /pacticipants/{pacticipant}/branches/{branch}`.
pub async fn get_branch(
    tenant: TenantContext,
    PathParams((pacticipant, branch)): PathParams<(String, String)>,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let found = store::find(&mut conn, &pacticipant, &branch)
        .await?
        .ok_or_else(|| branch_not_found(&pacticipant, &branch))?;
    Ok(HalBody(branch_json(&tenant.base_url, &found)))
}

/// `DELETE /pacticipants/{pacticipant}/branches/{branch}`: removes the branch (not its versions
/// or their pacts) → 204.
pub async fn delete_branch(
    tenant: TenantContext,
    PathParams((pacticipant, branch)): PathParams<(String, String)>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    let found = store::find(&mut conn, &pacticipant, &branch)
        .await?
        .ok_or_else(|| branch_not_found(&pacticipant, &branch))?;
    store::delete(&mut conn, found.branch_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /pacticipants/{pacticipant}/branches/{branch}/versions/{version}`.
pub async fn get_branch_version(
    tenant: TenantContext,
    PathParams((pacticipant, branch, number)): PathParams<(String, String, String)>,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let found = store::find_branch_version(&mut conn, &pacticipant, &branch, &number)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "Version '{number}' of '{pacticipant}' is not on branch '{branch}'"
            ))
        })?;
    Ok(HalBody(branch_version_json(&tenant.base_url, &found)))
}

/// `PUT /pacticipants/{pacticipant}/branches/{branch}/versions/{version}` (body ignored): puts
/// the version on the branch, creating pacticipant, version and branch as needed; 201 with
/// `Location` when it was not on it, 200 when it was.
pub async fn put_branch_version(
    tenant: TenantContext,
    PathParams((pacticipant, branch, number)): PathParams<(String, String, String)>,
    body: RequestBody,
) -> Result<Response> {
    body.require(&["application/json"])?;
    body.json_object()?;
    if branch.trim().is_empty() || number.trim().is_empty() {
        return Err(Error::BadRequest(
            "the branch name and version number cannot be blank".into(),
        ));
    }
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let row = pacticipants::find_or_create(&mut tx, &pacticipant).await?;
    let (version, _) = versions::find_or_create(&mut tx, row.pacticipant_id, &number).await?;
    let added = versions::add_to_branch(
        &mut tx,
        row.pacticipant_id,
        version.version_id,
        &branch,
        false,
    )
    .await?;
    let found = store::find_branch_version(&mut tx, &pacticipant, &branch, &number)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("branch version vanished")))?;
    tx.commit().await?;
    let document = HalBody(branch_version_json(&tenant.base_url, &found));
    Ok(if added {
        hal::created(
            hal::url(
                &branch_url(&tenant.base_url, &pacticipant, &branch),
                &["versions", &number],
            ),
            document,
        )
    } else {
        document.into_response()
    })
}

/// `DELETE /pacticipants/{pacticipant}/branches/{branch}/versions/{version}`: takes the version
/// off the branch.
pub async fn delete_branch_version(
    tenant: TenantContext,
    PathParams((pacticipant, branch, number)): PathParams<(String, String, String)>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    let found = store::find_branch_version(&mut conn, &pacticipant, &branch, &number)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "Version '{number}' of '{pacticipant}' is not on branch '{branch}'"
            ))
        })?;
    store::remove_version(&mut conn, found.branch_id, found.version_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
