//! Version tags: `/pacticipants/{p}/versions/{v}/tags/{t}`.
//!
//! Tagging has the broker's side effects: it creates the pacticipant and version when missing;
//! a version's first tag becomes its branch when the version is new and on no branch; a tag named
//! `develop`, `main` or `master` becomes the main branch of a pacticipant without one; and a tag
//! named like an environment records a deployment of the version there
//! (`create_deployed_versions_for_tags`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use sqlx::Connection;

use super::http::extract::{PathParams, RequestBody};
use super::http::hal::{self, HalBody};
use super::store::versions::{self as store, TagRecord};
use super::store::{environments, pacticipants};
use crate::error::{Error, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// A version's tags.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}",
        get(get_tag).put(put_tag).delete(delete_tag),
    )
}

fn tag_json(base: &str, tag: &TagRecord) -> Value {
    let version = hal::url(
        base,
        &[
            "pacticipants",
            &tag.pacticipant_name,
            "versions",
            &tag.version_number,
        ],
    );
    let mut object = Map::new();
    object.insert("name".into(), json!(tag.name));
    hal::timestamps(&mut object, &tag.created_at, None);
    object.insert(
        "_links".into(),
        json!({
            "self": { "title": "Tag", "name": tag.name, "href": hal::url(&version, &["tags", &tag.name]) },
            "version": { "title": "Version", "name": tag.version_number, "href": version },
            "pacticipant": {
                "title": "Pacticipant",
                "name": tag.pacticipant_name,
                "href": hal::url(base, &["pacticipants", &tag.pacticipant_name]),
            },
        }),
    );
    Value::Object(object)
}

fn not_found(pacticipant: &str, number: &str, tag: &str) -> Error {
    Error::NotFound(format!(
        "No tag '{tag}' found for version '{number}' of pacticipant '{pacticipant}'"
    ))
}

/// `GET /pacticipants/{pacticipant}/versions/{version}/tags/{tag}`.
pub async fn get_tag(
    tenant: TenantContext,
    PathParams((pacticipant, number, tag)): PathParams<(String, String, String)>,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let found = store::find_tag(&mut conn, &pacticipant, &number, &tag)
        .await?
        .ok_or_else(|| not_found(&pacticipant, &number, &tag))?;
    Ok(HalBody(tag_json(&tenant.base_url, &found)))
}

/// `PUT /pacticipants/{pacticipant}/versions/{version}/tags/{tag}` (body ignored): 201 with
/// `Location` for a new tag, 200 for an existing one.
pub async fn put_tag(
    tenant: TenantContext,
    PathParams((pacticipant, number, tag)): PathParams<(String, String, String)>,
    body: RequestBody,
) -> Result<Response> {
    body.require(&["application/json"])?;
    body.json_object()?;
    if tag.trim().is_empty() || number.trim().is_empty() {
        return Err(Error::BadRequest(
            "the tag name and version number cannot be blank".into(),
        ));
    }
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let row = pacticipants::find_or_create(&mut tx, &pacticipant).await?;
    let (version, _) = store::find_or_create(&mut tx, row.pacticipant_id, &number).await?;
    let created = store::add_tag(&mut tx, row.pacticipant_id, version.version_id, &tag).await?;
    if let Some(environment) = environments::find_by_name(&mut tx, &tag).await? {
        environments::record_deployment(
            &mut tx,
            row.pacticipant_id,
            version.version_id,
            environment.environment_id,
            None,
            true,
        )
        .await?;
    }
    let found = store::find_tag(&mut tx, &pacticipant, &number, &tag)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("tag vanished")))?;
    tx.commit().await?;
    let document = HalBody(tag_json(&tenant.base_url, &found));
    Ok(if created {
        let location = hal::url(
            &tenant.base_url,
            &[
                "pacticipants",
                &pacticipant,
                "versions",
                &number,
                "tags",
                &tag,
            ],
        );
        hal::created(location, document)
    } else {
        document.into_response()
    })
}

/// `DELETE /pacticipants/{pacticipant}/versions/{version}/tags/{tag}`.
pub async fn delete_tag(
    tenant: TenantContext,
    PathParams((pacticipant, number, tag)): PathParams<(String, String, String)>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    let found = store::find_tag(&mut conn, &pacticipant, &number, &tag)
        .await?
        .ok_or_else(|| not_found(&pacticipant, &number, &tag))?;
    store::remove_tag(&mut conn, found.version_id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}
