//! Environments (`/environments[/{uuid}]`) and what is deployed or released to them
//! (`/environments/{uuid}/deployed-versions/currently-deployed`,
//! `/environments/{uuid}/released-versions/currently-supported`).

pub(super) mod environment;

use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use sqlx::Connection;
use uuid::Uuid;

use self::environment::{environment_json, find_environment};
use super::deployments::{deployed_version_json, released_version_json, Embed};
use super::http::extract::{PathParams, QueryParams, RequestBody};
use super::http::hal::{self, HalBody};
use super::names::generate_display_name;
use super::store::environments::{self as store, EnvironmentFields, InstanceFilter};
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// Environments, and what is deployed or released in one.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/environments",
            get(list_environments).post(create_environment),
        )
        .route(
            "/environments/{uuid}",
            get(get_environment)
                .put(put_environment)
                .delete(delete_environment),
        )
        .route(
            "/environments/{uuid}/deployed-versions/currently-deployed",
            get(list_currently_deployed),
        )
        .route(
            "/environments/{uuid}/released-versions/currently-supported",
            get(list_currently_supported),
        )
}

/// Validates an environment body as the broker's `EnvironmentSchema` does (uniqueness of the
/// name is checked against the database by the caller).
fn parse_environment(body: &Map<String, Value>) -> Result<EnvironmentFields> {
    let mut errors = FieldErrors::new();
    let mut fail =
        |key: &str, message: String| errors.entry(key.to_owned()).or_default().push(message);
    let name = match body.get("name") {
        None => {
            fail("name", "is missing".into());
            None
        }
        Some(Value::String(name)) if !name.is_empty() => {
            if name.contains('\n') {
                fail("name", "cannot contain multiple lines".into());
            }
            if name.contains(' ') {
                fail("name", "cannot contain spaces".into());
            }
            Some(name.clone())
        }
        Some(Value::String(_)) | Some(Value::Null) => {
            fail("name", "must be filled".into());
            None
        }
        Some(_) => {
            fail("name", "must be a string".into());
            None
        }
    };
    let display_name = match body.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(display)) => {
            if display.contains('\n') {
                fail("displayName", "cannot contain multiple lines".into());
            }
            Some(display.clone())
        }
        Some(_) => {
            fail("displayName", "must be a string".into());
            None
        }
    };
    let production = match body.get("production") {
        None => {
            fail("production", "is missing".into());
            false
        }
        Some(Value::Bool(production)) => *production,
        Some(Value::Null) => {
            fail("production", "must be filled".into());
            false
        }
        Some(_) => {
            fail("production", "must be one of: true, false".into());
            false
        }
    };
    let contacts = match body.get("contacts") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut contacts = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let Some(contact) = item.as_object() else {
                    fail("contacts", format!("must be a hash (at index {index})"));
                    continue;
                };
                match contact.get("name") {
                    None => fail("contacts", format!("name is missing (at index {index})")),
                    Some(Value::String(n)) if n.is_empty() => fail(
                        "contacts",
                        format!("name must be filled (at index {index})"),
                    ),
                    Some(Value::String(n)) if n.contains('\n') => fail(
                        "contacts",
                        format!("name cannot contain multiple lines (at index {index})"),
                    ),
                    Some(Value::String(_)) => {}
                    Some(_) => fail(
                        "contacts",
                        format!("name must be a string (at index {index})"),
                    ),
                }
                match contact.get("details") {
                    None | Some(Value::Object(_)) => {}
                    Some(_) => fail(
                        "contacts",
                        format!("details must be a hash (at index {index})"),
                    ),
                }
                let mut entry = Map::new();
                for key in ["name", "details"] {
                    if let Some(value) = contact.get(key) {
                        entry.insert(key.into(), value.clone());
                    }
                }
                contacts.push(Value::Object(entry));
            }
            Some(Value::Array(contacts))
        }
        Some(_) => {
            fail("contacts", "must be an array".into());
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let name = name.unwrap_or_default();
    let display_name = match display_name {
        Some(display) if !display.trim().is_empty() => Some(display),
        _ => Some(generate_display_name(&name)),
    };
    Ok(EnvironmentFields {
        name,
        display_name,
        production,
        contacts,
    })
}

fn name_taken(name: &str) -> Error {
    Error::field(
        "name",
        format!("name '{name}' is already used by an existing environment."),
    )
}

/// `GET /environments[?name=]`: environments by display name.
pub async fn list_environments(
    tenant: TenantContext,
    query: QueryParams,
    uri: Uri,
) -> Result<HalBody> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let environments = match query.get("name") {
        Some(name) => store::find_by_name(&mut conn, name)
            .await?
            .into_iter()
            .collect(),
        None => store::list(&mut conn).await?,
    };
    let entries: Vec<Value> = environments
        .iter()
        .map(|e| environment_json(base, e))
        .collect();
    let links: Vec<Value> = environments
        .iter()
        .map(|e| {
            json!({
                "title": "Environment",
                "name": e.name,
                "href": hal::url(base, &["environments", &e.uuid.to_string()]),
            })
        })
        .collect();
    Ok(HalBody(json!({
        "_embedded": { "environments": entries },
        "_links": {
            "self": { "title": "Environments", "href": hal::resource_url(base, &uri) },
            "pb:environments": links,
        },
    })))
}

/// `POST /environments`: creates an environment with a new UUID (201, `Location`).
pub async fn create_environment(tenant: TenantContext, body: RequestBody) -> Result<Response> {
    body.require(&["application/json"])?;
    let object = body.json_object()?.unwrap_or_default();
    let fields = parse_environment(&object)?;
    let mut conn = tenant.db().await?;
    if store::find_by_name(&mut conn, &fields.name)
        .await?
        .is_some()
    {
        return Err(name_taken(&fields.name));
    }
    let environment = store::create(&mut conn, Uuid::new_v4(), &fields)
        .await?
        .ok_or_else(|| name_taken(&fields.name))?;
    let location = hal::url(
        &tenant.base_url,
        &["environments", &environment.uuid.to_string()],
    );
    Ok(hal::created(
        location,
        HalBody(environment_json(&tenant.base_url, &environment)),
    ))
}

/// `GET /environments/{uuid}`.
pub async fn get_environment(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let environment = find_environment(&mut conn, &uuid).await?;
    Ok(HalBody(environment_json(&tenant.base_url, &environment)))
}

/// `PUT /environments/{uuid}`: replaces every property (404 when it does not exist).
pub async fn put_environment(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
    body: RequestBody,
) -> Result<HalBody> {
    body.require(&["application/json"])?;
    let object = body.json_object()?;
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let environment = find_environment(&mut tx, &uuid).await?;
    let fields = parse_environment(&object.unwrap_or_default())?;
    if let Some(other) = store::find_by_name(&mut tx, &fields.name).await? {
        if other.environment_id != environment.environment_id {
            return Err(name_taken(&fields.name));
        }
    }
    let updated = store::replace(&mut tx, environment.environment_id, &fields)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.constraint() == Some("environment_name_key") => {
                name_taken(&fields.name)
            }
            _ => Error::from(err),
        })?;
    tx.commit().await?;
    Ok(HalBody(environment_json(&tenant.base_url, &updated)))
}

/// `DELETE /environments/{uuid}`: deletes it with its deployment and release records.
pub async fn delete_environment(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    let environment = find_environment(&mut conn, &uuid).await?;
    store::delete(&mut conn, environment.environment_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /environments/{uuid}/deployed-versions/currently-deployed[?pacticipant=&applicationInstance=]`:
/// newest deployment first. A blank `applicationInstance` (or legacy `target`) selects the
/// deployments without one.
pub async fn list_currently_deployed(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
    query: QueryParams,
    uri: Uri,
) -> Result<HalBody> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let environment = find_environment(&mut conn, &uuid).await?;
    let pacticipant = query.get("pacticipant").filter(|p| !p.is_empty());
    let instance = match query
        .get("applicationInstance")
        .or_else(|| query.get("target"))
    {
        None => InstanceFilter::Any,
        Some("") => InstanceFilter::None,
        Some(name) => InstanceFilter::Named(name.to_owned()),
    };
    let deployed = store::currently_deployed(
        &mut conn,
        environment.environment_id,
        pacticipant,
        &instance,
    )
    .await?;
    let entries: Vec<Value> = deployed
        .iter()
        .map(|d| deployed_version_json(base, d, Embed::PacticipantAndVersion))
        .collect();
    let display = environment.display_name.clone().unwrap_or_default();
    Ok(HalBody(json!({
        "_embedded": { "deployedVersions": entries },
        "_links": { "self": {
            "href": hal::request_url(base, &uri),
            "title": format!("Currently deployed versions for {display}"),
        } },
    })))
}

/// `GET /environments/{uuid}/released-versions/currently-supported[?pacticipant=&version=]`.
pub async fn list_currently_supported(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
    query: QueryParams,
    uri: Uri,
) -> Result<HalBody> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let environment = find_environment(&mut conn, &uuid).await?;
    let pacticipant = query.get("pacticipant").filter(|p| !p.is_empty());
    let version = query.get("version").filter(|v| !v.is_empty());
    let released =
        store::currently_supported(&mut conn, environment.environment_id, pacticipant, version)
            .await?;
    let entries: Vec<Value> = released
        .iter()
        .map(|r| released_version_json(base, r, Embed::PacticipantAndVersion))
        .collect();
    let display = environment.display_name.clone().unwrap_or_default();
    Ok(HalBody(json!({
        "_embedded": { "releasedVersions": entries },
        "_links": { "self": {
            "href": hal::request_url(base, &uri),
            "title": format!("Currently supported versions in {display}"),
        } },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_bodies_are_validated_like_the_broker_schema() {
        let errors = |body: Value| match parse_environment(body.as_object().unwrap()) {
            Err(Error::Validation(errors)) => errors,
            other => panic!("expected errors, got {other:?}"),
        };
        let e = errors(json!({}));
        assert_eq!(e["name"], vec!["is missing"]);
        assert_eq!(e["production"], vec!["is missing"]);
        assert_eq!(
            errors(json!({"name": "a b", "production": true}))["name"],
            vec!["cannot contain spaces"]
        );
        assert_eq!(
            errors(json!({"name": "a", "production": "yes"}))["production"],
            vec!["must be one of: true, false"]
        );
        assert_eq!(
            errors(json!({"name": "a", "production": true, "contacts": [{"details": {}}]}))
                ["contacts"],
            vec!["name is missing (at index 0)"]
        );
        let ok = parse_environment(
            json!({"name": "prod-eu", "production": true, "contacts": [{"name": "Ops", "details": {"emailAddress": "ops@x"}}]})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(ok.display_name.as_deref(), Some("Prod Eu"));
    }
}
