//! Labels: `/labels` (every label name) and `/pacticipants/{pacticipant}/labels/{label}`.

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use sqlx::Connection;

use super::http::extract::{PathParams, RequestBody};
use super::http::hal::{self, HalBody};
use super::http::pagination::{Page, Pagination};
use super::store::pacticipants::{self as store, Label};
use crate::error::{Error, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// A pacticipant's labels, and all labels.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/pacticipants/{pacticipant}/labels/{label}",
            get(get_label).put(put_label).delete(delete_label),
        )
        .route("/labels", get(list_labels))
}

fn label_json(base: &str, label: &Label) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("name".into(), json!(label.name));
    hal::timestamps(&mut object, &label.created_at, None);
    object.insert(
        "_links".into(),
        json!({
            "self": {
                "title": "Label",
                "name": label.name,
                "href": hal::url(base, &["pacticipants", &label.pacticipant_name, "labels", &label.name]),
            },
            "pacticipant": {
                "title": "Pacticipant",
                "name": label.pacticipant_name,
                "href": hal::url(base, &["pacticipants", &label.pacticipant_name]),
            },
        }),
    );
    Value::Object(object)
}

/// `GET /labels`: the distinct label names in use (paginated on request).
pub async fn list_labels(
    tenant: TenantContext,
    Pagination(page): Pagination,
    uri: Uri,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let (names, total) =
        store::label_names(&mut conn, page.map(|p| (p.limit(), p.offset()))).await?;
    let resource_url = hal::resource_url(&tenant.base_url, &uri);
    let labels: Vec<Value> = names.iter().map(|name| json!({ "name": name })).collect();
    let mut document = json!({
        "_embedded": { "labels": labels },
        "_links": { "self": { "title": "Labels", "href": resource_url } },
    });
    if let Some(page) = Page::answer(page, total, labels.len()) {
        page.decorate(&mut document, &resource_url);
    }
    Ok(HalBody(document))
}

fn not_found(pacticipant: &str, label: &str) -> Error {
    Error::NotFound(format!(
        "No label '{label}' found for pacticipant '{pacticipant}'"
    ))
}

/// `GET /pacticipants/{pacticipant}/labels/{label}`.
pub async fn get_label(
    tenant: TenantContext,
    PathParams((pacticipant, label)): PathParams<(String, String)>,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let found = store::find_label(&mut conn, &pacticipant, &label)
        .await?
        .ok_or_else(|| not_found(&pacticipant, &label))?;
    Ok(HalBody(label_json(&tenant.base_url, &found)))
}

/// `PUT /pacticipants/{pacticipant}/labels/{label}`: labels the pacticipant (created if missing);
/// 201 when the label is new, 200 when it was there.
pub async fn put_label(
    tenant: TenantContext,
    PathParams((pacticipant, label)): PathParams<(String, String)>,
    body: RequestBody,
) -> Result<Response> {
    body.require(&["application/json"])?;
    body.json_object()?;
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let row = store::find_or_create(&mut tx, &pacticipant).await?;
    let created = store::add_label(&mut tx, row.pacticipant_id, &label).await?;
    let found = store::find_label(&mut tx, &pacticipant, &label)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("label vanished")))?;
    tx.commit().await?;
    let body = HalBody(label_json(&tenant.base_url, &found));
    Ok(if created {
        hal::created(
            hal::url(
                &tenant.base_url,
                &["pacticipants", &pacticipant, "labels", &label],
            ),
            body,
        )
    } else {
        body.into_response()
    })
}

/// `DELETE /pacticipants/{pacticipant}/labels/{label}`.
pub async fn delete_label(
    tenant: TenantContext,
    PathParams((pacticipant, label)): PathParams<(String, String)>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    let found = store::find_label(&mut conn, &pacticipant, &label)
        .await?
        .ok_or_else(|| not_found(&pacticipant, &label))?;
    store::remove_label(&mut conn, found.pacticipant_id, &label).await?;
    Ok(StatusCode::NO_CONTENT)
}
