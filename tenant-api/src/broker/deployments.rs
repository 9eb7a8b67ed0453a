//! Deployed and released versions: recording them (POST to a version's `pb:record-deployment` /
//! `pb:record-release` link), reading them, and ending them by merge patch
//! (`{"currentlyDeployed": false}`, `{"currentlySupported": false}`).

use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::environments::environment::{environment_json, find_environment};
use super::http::extract::{PathParams, RequestBody};
use super::http::hal::{self, HalBody};
use super::pacticipants::{embedded_pacticipant, embedded_version};
use super::store::environments::{
    self as store, DeployedVersionRecord, EnvironmentRecord, ReleasedVersionRecord,
};
use super::store::versions::{self as versions, VersionRecord};
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// Deployed and released versions: recording them for a version, reading and ending them.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/pacticipants/{pacticipant}/versions/{version}/deployed-versions/environment/{uuid}",
            get(list_deployed_versions).post(record_deployment),
        )
        .route(
            "/pacticipants/{pacticipant}/versions/{version}/released-versions/environment/{uuid}",
            get(list_released_versions).post(record_release),
        )
        .route(
            "/released-versions/{uuid}",
            get(get_released_version).patch(patch_released_version),
        )
        .route(
            "/deployed-versions/{uuid}",
            get(get_deployed_version).patch(patch_deployed_version),
        )
}

/// What a deployed/released version representation embeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Embed {
    /// The full resource: pacticipant, version and environment.
    All,
    /// In an environment's listing: pacticipant and version.
    PacticipantAndVersion,
    /// In a version's listing: nothing.
    Nothing,
}

fn embedded(
    base: &str,
    pacticipant: &str,
    number: &str,
    environment: &EnvironmentRecord,
    embed: Embed,
) -> Option<Value> {
    match embed {
        Embed::Nothing => None,
        Embed::PacticipantAndVersion => Some(json!({
            "pacticipant": embedded_pacticipant(base, pacticipant),
            "version": embedded_version(base, pacticipant, number),
        })),
        Embed::All => Some(json!({
            "pacticipant": embedded_pacticipant(base, pacticipant),
            "version": embedded_version(base, pacticipant, number),
            "environment": environment_json(base, environment),
        })),
    }
}

/// A deployed version as the broker writes it (`target` is the deprecated name of
/// `applicationInstance`, kept for old clients).
pub(crate) fn deployed_version_json(
    base: &str,
    deployed: &DeployedVersionRecord,
    embed: Embed,
) -> Value {
    let mut object = Map::new();
    object.insert("uuid".into(), json!(deployed.uuid.to_string()));
    object.insert(
        "currentlyDeployed".into(),
        json!(deployed.undeployed_at.is_none()),
    );
    if let Some(instance) = &deployed.application_instance {
        object.insert("target".into(), json!(instance));
        object.insert("applicationInstance".into(), json!(instance));
    }
    if let Some(at) = &deployed.undeployed_at {
        object.insert("undeployedAt".into(), json!(hal::date(at)));
    }
    if let Some(embedded) = embedded(
        base,
        &deployed.pacticipant_name,
        &deployed.version_number,
        &deployed.environment,
        embed,
    ) {
        object.insert("_embedded".into(), embedded);
    }
    hal::timestamps(
        &mut object,
        &deployed.created_at,
        Some(&deployed.updated_at),
    );
    object.insert(
        "_links".into(),
        json!({ "self": { "href": hal::url(base, &["deployed-versions", &deployed.uuid.to_string()]) } }),
    );
    Value::Object(object)
}

/// A released version as the broker writes it.
pub(crate) fn released_version_json(
    base: &str,
    released: &ReleasedVersionRecord,
    embed: Embed,
) -> Value {
    let mut object = Map::new();
    object.insert("uuid".into(), json!(released.uuid.to_string()));
    object.insert(
        "currentlySupported".into(),
        json!(released.support_ended_at.is_none()),
    );
    hal::timestamps(
        &mut object,
        &released.created_at,
        Some(&released.updated_at),
    );
    if let Some(at) = &released.support_ended_at {
        object.insert("supportEndedAt".into(), json!(hal::date(at)));
    }
    if let Some(embedded) = embedded(
        base,
        &released.pacticipant_name,
        &released.version_number,
        &released.environment,
        embed,
    ) {
        object.insert("_embedded".into(), embedded);
    }
    object.insert(
        "_links".into(),
        json!({ "self": { "href": hal::url(base, &["released-versions", &released.uuid.to_string()]) } }),
    );
    Value::Object(object)
}

async fn version_and_environment(
    conn: &mut PgConnection,
    pacticipant: &str,
    number: &str,
    uuid: &str,
) -> Result<(VersionRecord, EnvironmentRecord)> {
    let version = versions::find_record(conn, pacticipant, number)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "No version '{number}' of pacticipant '{pacticipant}' found"
            ))
        })?;
    let environment = find_environment(conn, uuid).await?;
    Ok((version, environment))
}

/// `GET /pacticipants/{p}/versions/{v}/deployed-versions/environment/{uuid}`: every deployment of
/// the version to the environment, newest first.
pub async fn list_deployed_versions(
    tenant: TenantContext,
    PathParams((pacticipant, number, uuid)): PathParams<(String, String, String)>,
    uri: Uri,
) -> Result<HalBody> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let (version, environment) =
        version_and_environment(&mut conn, &pacticipant, &number, &uuid).await?;
    let mut deployed =
        store::deployments_of_versions(&mut conn, std::slice::from_ref(&version.version_id))
            .await?;
    deployed.retain(|d| d.environment.environment_id == environment.environment_id);
    deployed.reverse();
    let entries: Vec<Value> = deployed
        .iter()
        .map(|d| deployed_version_json(base, d, Embed::Nothing))
        .collect();
    Ok(HalBody(json!({
        "_embedded": { "deployedVersions": entries },
        "_links": { "self": {
            "href": hal::request_url(base, &uri),
            "title": format!(
                "Deployed versions for {pacticipant} version {number} in environment {}",
                environment.display_name.as_deref().unwrap_or_default()
            ),
        } },
    })))
}

/// `POST /pacticipants/{p}/versions/{v}/deployed-versions/environment/{uuid}` with
/// `{applicationInstance?}` (or the legacy `target`): records the deployment (201, `Location`).
/// The same version already current there is answered as it is; otherwise the pacticipant's
/// current deployment there (same application instance) is marked undeployed first.
pub async fn record_deployment(
    tenant: TenantContext,
    PathParams((pacticipant, number, uuid)): PathParams<(String, String, String)>,
    body: RequestBody,
) -> Result<Response> {
    let object = if body.media_type().contains("json") {
        body.json_object()?
    } else {
        None
    };
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let (version, environment) =
        version_and_environment(&mut tx, &pacticipant, &number, &uuid).await?;
    body.require(&["application/json"])?;
    let object = object.unwrap_or_default();
    let instance = ["applicationInstance", "target"]
        .iter()
        .find_map(|key| object.get(*key).filter(|v| !v.is_null()))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .filter(|s| !s.is_empty());
    let deployed = store::record_deployment(
        &mut tx,
        version.pacticipant_id,
        version.version_id,
        environment.environment_id,
        instance.as_deref(),
        false,
    )
    .await?;
    tx.commit().await?;
    let location = hal::url(
        &tenant.base_url,
        &["deployed-versions", &deployed.uuid.to_string()],
    );
    Ok(hal::created(
        location,
        HalBody(deployed_version_json(
            &tenant.base_url,
            &deployed,
            Embed::All,
        )),
    ))
}

fn parse_uuid(uuid: &str, kind: &str) -> Result<Uuid> {
    uuid.parse()
        .map_err(|_| Error::NotFound(format!("No {kind} with UUID {uuid} found")))
}

/// `GET /deployed-versions/{uuid}`.
pub async fn get_deployed_version(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
) -> Result<HalBody> {
    let parsed = parse_uuid(&uuid, "deployed version")?;
    let mut conn = tenant.db().await?;
    let deployed = store::find_deployed(&mut conn, parsed)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No deployed version with UUID {uuid} found")))?;
    Ok(HalBody(deployed_version_json(
        &tenant.base_url,
        &deployed,
        Embed::All,
    )))
}

/// The boolean a merge patch sets `key` to: `None` when absent.
fn patched_flag(body: &RequestBody, key: &str) -> Result<Option<Value>> {
    Ok(body
        .json_object()?
        .and_then(|object| object.get(key).cloned()))
}

/// The broker's 422 for a merge patch that sets `field` (`currentlyDeployed`,
/// `currentlySupported`) back to true.
fn cannot_set_back_to_true(field: &str) -> Error {
    Error::Unprocessable(FieldErrors::from([(
        field.to_owned(),
        vec![format!(
            "The {field} property cannot be set back to true. Please record a new deployment."
        )],
    )]))
}

/// `PATCH /deployed-versions/{uuid}` (merge patch): `{"currentlyDeployed": false}` records the
/// undeployment; `true` is refused (422): record a new deployment instead.
pub async fn patch_deployed_version(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
    body: RequestBody,
) -> Result<HalBody> {
    body.require(&["application/merge-patch+json"])?;
    let flag = patched_flag(&body, "currentlyDeployed")?;
    let parsed = parse_uuid(&uuid, "deployed version")?;
    let mut conn = tenant.db().await?;
    let deployed = store::find_deployed(&mut conn, parsed)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No deployed version with UUID {uuid} found")))?;
    let deployed = match flag {
        Some(Value::Bool(false)) => {
            store::record_undeployment(&mut conn, deployed.deployed_version_id).await?;
            store::find_deployed(&mut conn, parsed)
                .await?
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("deployed version vanished")))?
        }
        Some(Value::Bool(true)) => return Err(cannot_set_back_to_true("currentlyDeployed")),
        _ => deployed,
    };
    Ok(HalBody(deployed_version_json(
        &tenant.base_url,
        &deployed,
        Embed::All,
    )))
}

/// `GET /pacticipants/{p}/versions/{v}/released-versions/environment/{uuid}`: the release of the
/// version to the environment, if any.
pub async fn list_released_versions(
    tenant: TenantContext,
    PathParams((pacticipant, number, uuid)): PathParams<(String, String, String)>,
    uri: Uri,
) -> Result<HalBody> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let (version, environment) =
        version_and_environment(&mut conn, &pacticipant, &number, &uuid).await?;
    let released =
        store::find_release_of(&mut conn, version.version_id, environment.environment_id).await?;
    let display_name: Option<String> =
        sqlx::query_scalar("select display_name from pacticipant where pacticipant_id = $1")
            .bind(version.pacticipant_id)
            .fetch_one(&mut *conn)
            .await?;
    let entries: Vec<Value> = released
        .iter()
        .map(|r| released_version_json(base, r, Embed::Nothing))
        .collect();
    Ok(HalBody(json!({
        "_embedded": { "releasedVersions": entries },
        "_links": { "self": {
            "href": hal::request_url(base, &uri),
            "title": format!(
                "Released versions for {} version {number} in {}",
                display_name.unwrap_or_default(),
                environment.display_name.as_deref().unwrap_or_default()
            ),
        } },
    })))
}

/// `POST /pacticipants/{p}/versions/{v}/released-versions/environment/{uuid}`: records the
/// release (201) or, when the version was already released there, supports it again (200).
pub async fn record_release(
    tenant: TenantContext,
    PathParams((pacticipant, number, uuid)): PathParams<(String, String, String)>,
    body: RequestBody,
) -> Result<Response> {
    if body.media_type().contains("json") {
        body.json_object()?;
    }
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let (version, environment) =
        version_and_environment(&mut tx, &pacticipant, &number, &uuid).await?;
    body.require(&["application/json"])?;
    let (released, created) = store::record_release(
        &mut tx,
        version.pacticipant_id,
        version.version_id,
        environment.environment_id,
    )
    .await?;
    tx.commit().await?;
    let location = hal::url(
        &tenant.base_url,
        &["released-versions", &released.uuid.to_string()],
    );
    let document = HalBody(released_version_json(
        &tenant.base_url,
        &released,
        Embed::All,
    ));
    if created {
        Ok(hal::created(location, document))
    } else {
        let mut response = document.into_response();
        if let Ok(value) = location.parse() {
            response
                .headers_mut()
                .insert(axum::http::header::LOCATION, value);
        }
        Ok(response)
    }
}

/// `GET /released-versions/{uuid}`.
pub async fn get_released_version(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
) -> Result<HalBody> {
    let parsed = parse_uuid(&uuid, "released version")?;
    let mut conn = tenant.db().await?;
    let released = store::find_released(&mut conn, parsed)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No released version with UUID {uuid} found")))?;
    Ok(HalBody(released_version_json(
        &tenant.base_url,
        &released,
        Embed::All,
    )))
}

/// `PATCH /released-versions/{uuid}` (merge patch): `{"currentlySupported": false}` records the
/// end of support; `true` is refused (422).
pub async fn patch_released_version(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
    body: RequestBody,
) -> Result<HalBody> {
    body.require(&["application/merge-patch+json"])?;
    let flag = patched_flag(&body, "currentlySupported")?;
    let parsed = parse_uuid(&uuid, "released version")?;
    let mut conn = tenant.db().await?;
    let released = store::find_released(&mut conn, parsed)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No released version with UUID {uuid} found")))?;
    let released = match flag {
        Some(Value::Bool(false)) => {
            store::record_support_ended(&mut conn, released.released_version_id).await?;
            store::find_released(&mut conn, parsed)
                .await?
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("released version vanished")))?
        }
        Some(Value::Bool(true)) => return Err(cannot_set_back_to_true("currentlySupported")),
        _ => released,
    };
    Ok(HalBody(released_version_json(
        &tenant.base_url,
        &released,
        Embed::All,
    )))
}
