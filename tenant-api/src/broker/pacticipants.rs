//! Pacticipants (`/pacticipants`, `/pacticipants/{pacticipant}`, `/pacticipants/label/{label}`):
//! the applications taking part in contracts, with their repository details, main branch,
//! latest version and labels.

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use sqlx::{Connection, PgConnection};

use super::http::extract::{PathParams, QueryParams, RequestBody};
use super::http::hal::{self, HalBody};
use super::http::pagination::{Page, Pagination};
use super::store::environments::{self, DeployedVersionRecord};
use super::store::pacticipants::{
    self as store, Label, PacticipantFields, PacticipantFilter, PacticipantRecord,
};
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// Pacticipants, and those with a label. `/pacticipants/label/{label}` is a static segment
/// before `{pacticipant}`, which axum prefers, as the broker's route order has it.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/pacticipants",
            get(list_pacticipants).post(create_pacticipant),
        )
        .route(
            "/pacticipants/label/{label}",
            get(list_pacticipants_for_label),
        )
        .route(
            "/pacticipants/{pacticipant}",
            get(get_pacticipant)
                .put(put_pacticipant)
                .patch(patch_pacticipant)
                .delete(delete_pacticipant),
        )
}

const JSON: &str = "application/json";
const MERGE_PATCH: &str = "application/merge-patch+json";

/// A pacticipant with what its representation embeds.
pub(crate) struct PacticipantView {
    pub record: PacticipantRecord,
    pub latest_version: Option<String>,
    pub labels: Vec<Label>,
    /// Current deployments (only the single-pacticipant resource shows them).
    pub deployed: Option<Vec<DeployedVersionRecord>>,
}

/// Loads latest versions and labels for `records`, in one query each.
pub(crate) async fn views(
    conn: &mut PgConnection,
    records: Vec<PacticipantRecord>,
) -> Result<Vec<PacticipantView>> {
    let ids: Vec<i64> = records.iter().map(|r| r.pacticipant_id).collect();
    let latest = store::latest_versions(conn, &ids).await?;
    let labels = store::labels_of(conn, &ids).await?;
    Ok(records
        .into_iter()
        .map(|record| PacticipantView {
            latest_version: latest
                .iter()
                .find(|l| l.pacticipant_id == record.pacticipant_id)
                .map(|l| l.number.clone()),
            labels: labels
                .iter()
                .filter(|l| l.pacticipant_id == record.pacticipant_id)
                .cloned()
                .collect(),
            deployed: None,
            record,
        })
        .collect())
}

async fn single_view(
    conn: &mut PgConnection,
    record: PacticipantRecord,
    with_deployments: bool,
) -> Result<PacticipantView> {
    let deployed = if with_deployments {
        Some(environments::current_deployments_of_pacticipant(conn, record.pacticipant_id).await?)
    } else {
        None
    };
    let mut view = views(conn, vec![record])
        .await?
        .pop()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("pacticipant view vanished")))?;
    view.deployed = deployed;
    Ok(view)
}

/// `{number, _links.self}` of a version (the broker's embedded version).
pub(crate) fn embedded_version(base: &str, pacticipant: &str, number: &str) -> Value {
    json!({
        "number": number,
        "_links": { "self": {
            "title": "Version",
            "name": number,
            "href": hal::url(base, &["pacticipants", pacticipant, "versions", number]),
        } },
    })
}

/// `{name, _links.self}` of a pacticipant (the broker's embedded pacticipant).
pub(crate) fn embedded_pacticipant(base: &str, name: &str) -> Value {
    json!({
        "name": name,
        "_links": { "self": { "href": hal::url(base, &["pacticipants", name]) } },
    })
}

/// The `pb:deployed-environments` link entry of a deployment.
pub(crate) fn deployed_environment_link(base: &str, deployed: &DeployedVersionRecord) -> Value {
    let display = deployed
        .environment
        .display_name
        .clone()
        .unwrap_or_default();
    let mut link = json!({
        "title": format!("Version deployed to {display}"),
        "name": display,
        "href": hal::url(base, &["deployed-versions", &deployed.uuid.to_string()]),
        "currently_deployed": deployed.undeployed_at.is_none(),
    });
    if let Some(instance) = &deployed.application_instance {
        link["application_instance"] = json!(instance);
    }
    link
}

/// A pacticipant as the broker's `PacticipantDecorator` writes it.
pub(crate) fn pacticipant_json(base: &str, view: &PacticipantView) -> Value {
    let record = &view.record;
    let name = record.name.as_str();
    let mut object = Map::new();
    object.insert("name".into(), json!(name));
    for (key, value) in [
        ("displayName", &record.display_name),
        ("repositoryUrl", &record.repository_url),
        ("repositoryName", &record.repository_name),
        ("repositoryNamespace", &record.repository_namespace),
        ("mainBranch", &record.main_branch),
    ] {
        if let Some(value) = value {
            object.insert(key.into(), json!(value));
        }
    }
    hal::timestamps(&mut object, &record.created_at, Some(&record.updated_at));

    let mut embedded = Map::new();
    if let Some(number) = &view.latest_version {
        embedded.insert("latestVersion".into(), embedded_version(base, name, number));
    }
    if !view.labels.is_empty() {
        let labels: Vec<Value> = view
            .labels
            .iter()
            .map(|label| {
                json!({
                    "name": label.name,
                    "_links": { "self": {
                        "title": "Label",
                        "name": label.name,
                        "href": hal::url(base, &["pacticipants", name, "labels", &label.name]),
                    } },
                })
            })
            .collect();
        embedded.insert("labels".into(), Value::Array(labels));
    }
    if let Some(number) = &view.latest_version {
        // Deprecated duplicate that old clients (and the client pact) still read.
        let mut dasherized = embedded_version(base, name, number);
        dasherized["title"] = json!("DEPRECATED - please use latestVersion");
        dasherized["name"] = json!("DEPRECATED - please use latestVersion");
        embedded.insert("latest-version".into(), dasherized);
    }
    if !embedded.is_empty() {
        object.insert("_embedded".into(), Value::Object(embedded));
    }

    let url = hal::url(base, &["pacticipants", name]);
    let mut links = Map::new();
    links.insert("self".into(), json!({ "href": url }));
    links.insert(
        "pb:versions".into(),
        json!({ "href": format!("{url}/versions") }),
    );
    links.insert(
        "pb:branches".into(),
        json!({ "href": format!("{url}/branches") }),
    );
    if let Some(deployed) = &view.deployed {
        let entries: Vec<Value> = deployed
            .iter()
            .map(|d| deployed_environment_link(base, d))
            .collect();
        links.insert("pb:deployed-environments".into(), Value::Array(entries));
    }
    let templated = |title: String, suffix: &str| json!({ "title": title, "href": format!("{url}{suffix}"), "templated": true });
    links.insert(
        "pb:version".into(),
        templated(
            "Get, create or delete a pacticipant version".into(),
            "/versions/{version}",
        ),
    );
    links.insert(
        "pb:version-tag".into(),
        templated(
            format!("Get, create or delete a tag for a version of {name}"),
            "/versions/{version}/tags/{tag}",
        ),
    );
    links.insert(
        "pb:branch-version".into(),
        templated(
            format!("Get or add/create a version for a branch of {name}"),
            "/branches/{branch}/versions/{version}",
        ),
    );
    links.insert(
        "pb:label".into(),
        templated(
            format!("Get, create or delete a label for {name}"),
            "/labels/{label}",
        ),
    );
    links.insert(
        "versions".into(),
        json!({ "title": "Deprecated - use pb:versions", "href": format!("{url}/versions") }),
    );
    links.insert(
        "pb:can-i-deploy-badge".into(),
        templated(
            format!("Can I Deploy {name} badge"),
            "/latest-version/{tag}/can-i-deploy/to/{environmentTag}/badge",
        ),
    );
    links.insert(
        "pb:can-i-deploy-branch-to-environment-badge".into(),
        templated(
            format!("Can I Deploy {name} from branch to environment badge"),
            "/branches/{branch}/latest-version/can-i-deploy/to-environment/{environment}/badge",
        ),
    );
    links.insert("curies".into(), hal::curies_for(base, "pacticipant"));
    object.insert("_links".into(), Value::Object(links));
    Value::Object(object)
}

/// The collection document of `GET /pacticipants` and `GET /pacticipants/label/{label}`.
fn collection_json(base: &str, views: &[PacticipantView], deprecated: bool) -> Value {
    let entries: Vec<Value> = views.iter().map(|v| pacticipant_json(base, v)).collect();
    let url = hal::url(base, &["pacticipants"]);
    let pb_links: Vec<Value> = views
        .iter()
        .map(|v| {
            json!({
                "href": hal::url(base, &["pacticipants", &v.record.name]),
                "title": "Pacticipant",
                "name": v.record.name,
            })
        })
        .collect();
    let old_links: Vec<Value> = views
        .iter()
        .map(|v| {
            json!({
                "href": hal::url(base, &["pacticipants", &v.record.name]),
                "title": v.record.name,
                "name": "DEPRECATED - please use pb:pacticipants",
            })
        })
        .collect();
    let mut document = json!({
        "_embedded": { "pacticipants": entries },
        "_links": {
            "self": { "href": url },
            "pb:pacticipants-with-label": {
                "title": "Find pacticipants by label",
                "href": format!("{url}/label/{{label}}"),
                "templated": true,
            },
            "pb:pacticipants": pb_links,
            "pacticipants": old_links,
        },
    });
    if deprecated {
        // The pre-HAL-embedding copy old clients read (the client pact asserts it).
        let top_level: Vec<Value> = entries_with_title(base, views);
        document["pacticipants"] = Value::Array(top_level);
    }
    document
}

fn entries_with_title(base: &str, views: &[PacticipantView]) -> Vec<Value> {
    views
        .iter()
        .map(|v| {
            let mut entry = pacticipant_json(base, v);
            entry["title"] = json!("DEPRECATED - Please use the embedded pacticipants collection");
            entry
        })
        .collect()
}

async fn list(
    tenant: &TenantContext,
    filter: PacticipantFilter,
    page: Option<super::http::pagination::PageRequest>,
    uri: &Uri,
    deprecated: bool,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let (records, total) =
        store::list(&mut conn, &filter, page.map(|p| (p.limit(), p.offset()))).await?;
    let returned = records.len();
    let views = views(&mut conn, records).await?;
    let mut document = collection_json(&tenant.base_url, &views, deprecated);
    if let Some(page) = Page::answer(page, total, returned) {
        page.decorate(&mut document, &hal::resource_url(&tenant.base_url, uri));
    }
    Ok(HalBody(document))
}

fn name_filter(query: &QueryParams) -> Option<String> {
    query.get("q").filter(|q| !q.is_empty()).map(str::to_owned)
}

/// `GET /pacticipants`: every pacticipant by name (`?q=` filters by name; paginated on request).
pub async fn list_pacticipants(
    tenant: TenantContext,
    Pagination(page): Pagination,
    query: QueryParams,
    uri: Uri,
) -> Result<HalBody> {
    let filter = PacticipantFilter {
        name_contains: name_filter(&query),
        label: None,
    };
    list(&tenant, filter, page, &uri, true).await
}

/// `GET /pacticipants/label/{label}`: the pacticipants carrying a label.
pub async fn list_pacticipants_for_label(
    tenant: TenantContext,
    PathParams(label): PathParams<String>,
    Pagination(page): Pagination,
    query: QueryParams,
    uri: Uri,
) -> Result<HalBody> {
    let filter = PacticipantFilter {
        name_contains: name_filter(&query),
        label: Some(label),
    };
    list(&tenant, filter, page, &uri, false).await
}

/// The writable properties a request body sets: `Some(value)` for each key present.
#[derive(Debug, Default, PartialEq, Eq)]
struct PacticipantInput {
    name: Option<Option<String>>,
    display_name: Option<Option<String>>,
    repository_url: Option<Option<String>>,
    repository_name: Option<Option<String>>,
    repository_namespace: Option<Option<String>>,
    main_branch: Option<Option<String>>,
}

/// Validates a pacticipant body as the broker's `PacticipantSchema` (and, with
/// `name_required`, `PacticipantCreateSchema`) does.
fn parse_input(body: &Map<String, Value>, name_required: bool) -> Result<PacticipantInput> {
    let mut errors = FieldErrors::new();
    let mut field = |key: &str, rules: &[Rule], required: bool| -> Option<Option<String>> {
        let mut fail = |message: &str| {
            errors
                .entry(key.to_owned())
                .or_default()
                .push(message.to_owned())
        };
        match body.get(key) {
            None => {
                if required {
                    fail("is missing");
                }
                None
            }
            Some(Value::Null) => {
                if rules.contains(&Rule::Filled) {
                    fail("must be filled");
                }
                Some(None)
            }
            Some(Value::String(value)) => {
                if rules.contains(&Rule::Filled) && value.is_empty() {
                    fail("must be filled");
                    return Some(Some(value.clone()));
                }
                if value.contains('\n') {
                    fail("cannot contain multiple lines");
                }
                if rules.contains(&Rule::NoSpaces) && value.contains(' ') {
                    fail("cannot contain spaces");
                }
                if rules.contains(&Rule::NotBlank) && value.trim().is_empty() {
                    fail("cannot be blank");
                }
                Some(Some(value.clone()))
            }
            Some(_) => {
                fail("must be a string");
                None
            }
        }
    };
    use Rule::*;
    let input = PacticipantInput {
        name: field("name", &[Filled, NotBlank], name_required),
        display_name: field("displayName", &[NotBlank], false),
        main_branch: field("mainBranch", &[NoSpaces, NotBlank], false),
        repository_url: field("repositoryUrl", &[], false),
        repository_name: field("repositoryName", &[], false),
        repository_namespace: field("repositoryNamespace", &[], false),
    };
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(Error::Validation(errors))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Filled,
    NotBlank,
    NoSpaces,
}

impl PacticipantInput {
    /// The body's values over `current` (PATCH), or over nothing (PUT, POST).
    fn apply(self, current: PacticipantFields) -> PacticipantFields {
        let pick = |given: Option<Option<String>>, current: Option<String>| match given {
            Some(value) => value,
            None => current,
        };
        PacticipantFields {
            display_name: pick(self.display_name, current.display_name),
            repository_url: pick(self.repository_url, current.repository_url),
            repository_name: pick(self.repository_name, current.repository_name),
            repository_namespace: pick(self.repository_namespace, current.repository_namespace),
            main_branch: pick(self.main_branch, current.main_branch),
        }
    }
}

fn fields_of(record: &PacticipantRecord) -> PacticipantFields {
    PacticipantFields {
        display_name: record.display_name.clone(),
        repository_url: record.repository_url.clone(),
        repository_name: record.repository_name.clone(),
        repository_namespace: record.repository_namespace.clone(),
        main_branch: record.main_branch.clone(),
    }
}

fn not_found(name: &str) -> Error {
    Error::NotFound(format!("No pacticipant with name '{name}' found"))
}

/// `POST /pacticipants`: creates a pacticipant (201). An existing name is answered with the
/// existing pacticipant, unchanged, as the broker does.
pub async fn create_pacticipant(tenant: TenantContext, body: RequestBody) -> Result<Response> {
    body.require(&[JSON])?;
    let object = body
        .json_object()?
        .ok_or_else(|| Error::BadRequest("a request body is required".into()))?;
    let input = parse_input(&object, true)?;
    let name = input.name.clone().flatten().unwrap_or_default();
    let fields = input.apply(PacticipantFields::default());
    let mut conn = tenant.db().await?;
    let record = store::create(&mut conn, &name, &fields).await?;
    let view = single_view(&mut conn, record, false).await?;
    let location = hal::url(&tenant.base_url, &["pacticipants", &name]);
    Ok(hal::created(
        location,
        HalBody(pacticipant_json(&tenant.base_url, &view)),
    ))
}

/// `GET /pacticipants/{pacticipant}`.
pub async fn get_pacticipant(
    tenant: TenantContext,
    PathParams(name): PathParams<String>,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let record = store::find_record(&mut conn, &name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    let view = single_view(&mut conn, record, true).await?;
    Ok(HalBody(pacticipant_json(&tenant.base_url, &view)))
}

/// `PUT /pacticipants/{pacticipant}`: replaces every property (404 when it does not exist).
pub async fn put_pacticipant(
    tenant: TenantContext,
    PathParams(name): PathParams<String>,
    body: RequestBody,
) -> Result<Response> {
    body.require(&[JSON])?;
    let input = match body.json_object()? {
        Some(object) => parse_input(&object, false)?,
        None => PacticipantInput::default(),
    };
    let mut conn = tenant.db().await?;
    let record = store::find_record(&mut conn, &name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    let fields = input.apply(PacticipantFields::default());
    let record = store::update(&mut conn, record.pacticipant_id, &fields).await?;
    let view = single_view(&mut conn, record, true).await?;
    Ok(HalBody(pacticipant_json(&tenant.base_url, &view)).into_response())
}

/// `PATCH /pacticipants/{pacticipant}` (JSON or merge patch): updates the properties given, or
/// creates the pacticipant (201) when it does not exist — old clients rely on that.
pub async fn patch_pacticipant(
    tenant: TenantContext,
    PathParams(name): PathParams<String>,
    body: RequestBody,
) -> Result<Response> {
    body.require(&[JSON, MERGE_PATCH])?;
    let input = match body.json_object()? {
        Some(object) => parse_input(&object, false)?,
        None => PacticipantInput::default(),
    };
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let existing = store::find_record(&mut tx, &name).await?;
    let (record, created) = match existing {
        Some(record) => {
            let fields = input.apply(fields_of(&record));
            (
                store::update(&mut tx, record.pacticipant_id, &fields).await?,
                false,
            )
        }
        None => {
            let fields = input.apply(PacticipantFields::default());
            (store::create(&mut tx, &name, &fields).await?, true)
        }
    };
    let view = single_view(&mut tx, record, true).await?;
    tx.commit().await?;
    let body = HalBody(pacticipant_json(&tenant.base_url, &view));
    Ok(if created {
        hal::created(hal::url(&tenant.base_url, &["pacticipants", &name]), body)
    } else {
        body.into_response()
    })
}

/// `DELETE /pacticipants/{pacticipant}`: deletes it with everything recorded for it.
pub async fn delete_pacticipant(
    tenant: TenantContext,
    PathParams(name): PathParams<String>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    let record = store::find(&mut conn, &name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    store::delete(&mut conn, record.pacticipant_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn pacticipant_bodies_are_validated_like_the_broker_schema() {
        let err = |body: Value, required: bool| match parse_input(&object(body), required) {
            Err(Error::Validation(errors)) => errors,
            other => panic!("expected validation errors, got {other:?}"),
        };
        assert_eq!(err(json!({}), true)["name"], vec!["is missing"]);
        assert_eq!(
            err(json!({"name": ""}), true)["name"],
            vec!["must be filled"]
        );
        assert_eq!(
            err(json!({"name": "  "}), true)["name"],
            vec!["cannot be blank"]
        );
        assert_eq!(
            err(json!({"name": "a\nb"}), false)["name"],
            vec!["cannot contain multiple lines"]
        );
        assert_eq!(
            err(json!({"mainBranch": "feat x"}), false)["mainBranch"],
            vec!["cannot contain spaces"]
        );
        assert_eq!(
            err(json!({"repositoryUrl": 1}), false)["repositoryUrl"],
            vec!["must be a string"]
        );
        assert!(parse_input(&object(json!({"displayName": null})), false).is_ok());
    }

    #[test]
    fn patches_change_only_the_properties_given() {
        let current = PacticipantFields {
            display_name: Some("Old".into()),
            repository_url: Some("http://old".into()),
            ..Default::default()
        };
        let input = parse_input(
            &object(json!({"repositoryUrl": "http://new", "displayName": null, "repository_url": "ignored"})),
            false,
        )
        .unwrap();
        let fields = input.apply(current);
        assert_eq!(fields.repository_url.as_deref(), Some("http://new"));
        assert_eq!(fields.display_name, None);
    }
}
