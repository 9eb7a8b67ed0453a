//! The matrix and can-i-deploy: which consumer versions are compatible with which provider
//! versions, and whether a version can be deployed (or merged) — with the broker's decision
//! and reason texts, which the `pact-broker can-i-deploy` CLIs print.
//!
//! Routes: `GET /matrix` (Rack-style `q[]` selectors, `latestby`, `success[]`, `limit`,
//! `ignore[]`, one destination), `GET /can-i-deploy` (`pacticipant`, `version`, `to` or
//! `environment`), `GET /matrix/provider/{p}/consumer/{c}`, and the path forms
//! `…/latest-version/{tag}/can-i-deploy/to/{to}` and
//! `…/branches/{b}/latest-version/can-i-deploy/to-environment/{e}`. Responses are HAL+JSON, or
//! a text table for `Accept: text/plain`.
//!
//! How: [`selectors`] parses and validates; [`find`] resolves the selectors to version ids and
//! reads only those rows ([`crate::broker::store::matrix`]); [`summary`] decides; [`render`]
//! writes the response.

pub mod find;
pub mod render;
pub mod selectors;
pub mod summary;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sqlx::PgConnection;

use self::render::{matrix_json, matrix_text, VersionDetails};
use self::selectors::{parse_can_i_deploy_query, parse_matrix_query, LatestBy, Options};
use self::summary::{DeploymentStatusSummary, QueryResults};
use super::http::extract::{PathParams, RawQuery};
use super::http::hal::HalBody;
use super::model::matrix_selectors::UnresolvedSelector;
use super::query::{parse_nested_query, Param, Params};
use super::store::matrix as store;
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// The matrix, can-i-deploy and its pacticipant-scoped forms (their badges are in
/// `badges.rs`).
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/matrix", get(get_matrix))
        .route("/can-i-deploy", get(get_can_i_deploy))
        .route(
            "/matrix/provider/{provider}/consumer/{consumer}",
            get(get_matrix_for_consumer_and_provider),
        )
        .route(
            "/pacticipants/{pacticipant}/latest-version/{tag}/can-i-deploy/to/{to}",
            get(get_can_i_deploy_tag_to_tag),
        )
        .route(
            "/pacticipants/{pacticipant}/branches/{branch}/latest-version/can-i-deploy/to-environment/{environment}",
            get(get_can_i_deploy_branch_to_environment),
        )
}

/// `text/plain` when the client asks for it rather than JSON; HAL+JSON otherwise.
pub fn wants_text(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    accept.contains("text/plain") && !accept.contains("json")
}

/// A plain-text response.
pub fn text_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn parse(query: Option<String>) -> Result<Params> {
    parse_nested_query(query.as_deref().unwrap_or_default())
        .map_err(|err| Error::InvalidQuery(vec![err.to_string()]))
}

async fn respond(
    conn: &mut PgConnection,
    tenant: &TenantContext,
    headers: &HeaderMap,
    results: QueryResults,
) -> Result<Response> {
    if wants_text(headers) {
        return Ok(text_response(matrix_text(&results)));
    }
    let details = VersionDetails::load(conn, &results).await?;
    Ok(HalBody(matrix_json(&tenant.base_url, &results, &details)).into_response())
}

/// `GET /matrix`: the compatibility matrix for the selected versions, with the can-i-deploy
/// summary. Invalid selectors (e.g. an unknown pacticipant) are a 400 with an `errors` array.
pub async fn get_matrix(
    tenant: TenantContext,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let params = parse(query)?;
    let (selectors, options) = parse_matrix_query(&params);
    let mut conn = tenant.db().await?;
    let errors = find::validate(&mut conn, &selectors, &options).await?;
    if !errors.is_empty() {
        return Err(Error::InvalidQuery(errors));
    }
    let results = find::find(&mut conn, &selectors, options).await?;
    respond(&mut conn, &tenant, &headers, results).await
}

/// The query schema of `GET /can-i-deploy` (`CanIDeployQuerySchema`): errors by field.
async fn can_i_deploy_errors(conn: &mut PgConnection, params: &Params) -> Result<FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut add = |field: &str, message: String| {
        errors.entry(field.to_owned()).or_default().push(message);
    };
    // `filled(:string)`: present, a string, not blank.
    let mut field = |name: &str, required: bool| -> Option<String> {
        match params.get(name) {
            None if required => {
                add(name, "is missing".into());
                None
            }
            None => None,
            Some(Param::Value(Some(value))) if !value.is_empty() => Some(value.clone()),
            Some(Param::Value(_)) => {
                add(name, "can't be blank".into());
                None
            }
            Some(_) => {
                add(name, "must be a string".into());
                None
            }
        }
    };
    let pacticipant = field("pacticipant", true);
    field("version", true);
    let to_valid = params.get("to").is_none() || field("to", false).is_some();
    let environment = field("environment", false);
    let environment_valid = params.get("environment").is_none() || environment.is_some();
    if let Some(name) = pacticipant {
        if store::pacticipant_id(conn, &name).await?.is_none() {
            add(
                "pacticipant",
                "does not match an existing pacticipant".into(),
            );
        }
    }
    if let Some(name) = &environment {
        if !store::environment_exists(conn, name).await? {
            add("environment", format!("with name '{name}' does not exist"));
        }
    }
    if to_valid && environment_valid {
        match (
            params.contains_key("to"),
            params.contains_key("environment"),
        ) {
            (true, true) => add(
                "",
                "Cannot specify both a 'to' tag and an environment.".into(),
            ),
            (false, false) => add(
                "",
                "Must specify either an environment or a 'to' tag.".into(),
            ),
            _ => {}
        }
    }
    Ok(errors)
}

/// `GET /can-i-deploy?pacticipant=&version=&(to=|environment=)[&ignore[]=]`: can this version
/// be deployed to the environment (or the latest versions with the `to` tag)?
pub async fn get_can_i_deploy(
    tenant: TenantContext,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let params = parse(query)?;
    let mut conn = tenant.db().await?;
    let errors = can_i_deploy_errors(&mut conn, &params).await?;
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let (selectors, options) = parse_can_i_deploy_query(&params);
    let results = find::find(&mut conn, &selectors, options).await?;
    respond(&mut conn, &tenant, &headers, results).await
}

/// `GET /matrix/provider/{provider}/consumer/{consumer}`: every row of one integration.
pub async fn get_matrix_for_consumer_and_provider(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let params = parse(query)?;
    let (_, options) = parse_matrix_query(&params);
    let mut conn = tenant.db().await?;
    for name in [&consumer, &provider] {
        if store::pacticipant_id(&mut conn, name).await?.is_none() {
            return Err(Error::NotFound(format!(
                "No pacticipant with name '{name}' found"
            )));
        }
    }
    let errors = find::validate_options(&mut conn, &options).await?;
    if !errors.is_empty() {
        return Err(Error::InvalidQuery(errors));
    }
    let selectors = [
        UnresolvedSelector::named(&consumer),
        UnresolvedSelector::named(&provider),
    ];
    let results = find::find(&mut conn, &selectors, options).await?;
    let details = VersionDetails::load(&mut conn, &results).await?;
    Ok(HalBody(matrix_json(&tenant.base_url, &results, &details)).into_response())
}

/// The can-i-deploy result for the head of `branch` to `environment`, or why there is none:
/// `Err(what)` names the missing thing (`pacticipant`, `branch`, `version`, `environment`).
pub async fn branch_to_environment(
    conn: &mut PgConnection,
    pacticipant: &str,
    branch: &str,
    environment: &str,
) -> Result<std::result::Result<QueryResults, &'static str>> {
    if store::pacticipant_id(conn, pacticipant).await?.is_none() {
        return Ok(Err("pacticipant"));
    }
    if store::branch_head(conn, pacticipant, Some(branch))
        .await?
        .is_none()
    {
        return Ok(Err(
            if store::branch_exists(conn, pacticipant, branch).await? {
                "version"
            } else {
                "branch"
            },
        ));
    }
    if !store::environment_exists(conn, environment).await? {
        return Ok(Err("environment"));
    }
    let selector = UnresolvedSelector {
        latest: true,
        branch: Some(branch.to_owned()),
        ..UnresolvedSelector::named(pacticipant)
    };
    // `cvpv`: every version of the other applications in the environment counts (#903).
    let options = Options {
        environment: Some(environment.to_owned()),
        ..Options::with_latestby(LatestBy::Cvpv)
    };
    Ok(Ok(find::find(conn, &[selector], options).await?))
}

/// `GET /pacticipants/{p}/branches/{b}/latest-version/can-i-deploy/to-environment/{e}`.
pub async fn get_can_i_deploy_branch_to_environment(
    tenant: TenantContext,
    headers: HeaderMap,
    PathParams((pacticipant, branch, environment)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    match branch_to_environment(&mut conn, &pacticipant, &branch, &environment).await? {
        Ok(results) => respond(&mut conn, &tenant, &headers, results).await,
        Err(missing) => Err(Error::NotFound(format!(
            "no {missing} found for {pacticipant} branch {branch} and environment {environment}"
        ))),
    }
}

/// The can-i-deploy result for the latest version with `tag` to the latest versions with
/// `to`; `None` when there is no such version.
pub async fn tag_to_tag(
    conn: &mut PgConnection,
    pacticipant: &str,
    tag: &str,
    to: &str,
) -> Result<Option<QueryResults>> {
    if store::latest_version_with_tag(conn, pacticipant, tag)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let selector = UnresolvedSelector {
        latest: true,
        tag: Some(tag.to_owned()),
        ..UnresolvedSelector::named(pacticipant)
    };
    let options = Options {
        latest: Some(true),
        tag: Some(to.to_owned()),
        ..Options::with_latestby(LatestBy::Cvp)
    };
    Ok(Some(find::find(conn, &[selector], options).await?))
}

/// `GET /pacticipants/{p}/latest-version/{tag}/can-i-deploy/to/{to}`.
pub async fn get_can_i_deploy_tag_to_tag(
    tenant: TenantContext,
    headers: HeaderMap,
    PathParams((pacticipant, tag, to)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    match tag_to_tag(&mut conn, &pacticipant, &tag, &to).await? {
        Some(results) => respond(&mut conn, &tenant, &headers, results).await,
        None => Err(Error::NotFound(format!(
            "no version of {pacticipant} with tag {tag} found"
        ))),
    }
}

/// can-i-merge (`Matrix::Service#can_i_merge`): whether the head of `pacticipant`'s main
/// branch is compatible with the heads of the other applications' main branches. `Err` names
/// what is missing (`pacticipant`, `main branch version`).
pub async fn can_i_merge(
    conn: &mut PgConnection,
    pacticipant: &str,
) -> Result<std::result::Result<Option<bool>, &'static str>> {
    if store::pacticipant_id(conn, pacticipant).await?.is_none() {
        return Ok(Err("pacticipant"));
    }
    let Some(version) = store::branch_head(conn, pacticipant, None).await? else {
        return Ok(Err("main branch version"));
    };
    let selector = UnresolvedSelector {
        version: Some(version.number),
        ..UnresolvedSelector::named(pacticipant)
    };
    let options = Options {
        main_branch: Some(true),
        latest: Some(true),
        ..Options::with_latestby(LatestBy::Cvp)
    };
    let results = find::find(conn, &[selector], options).await?;
    Ok(Ok(DeploymentStatusSummary::new(&results).deployable()))
}
