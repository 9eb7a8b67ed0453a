//! Webhook definitions: create, read, replace, delete, list — globally, per pacticipant and per
//! integration — with the broker's shapes, validation and masking. Credentials (the password,
//! the username, sensitive headers, a URL's password and sensitive query values — see
//! `secrets`) are sealed under the tenant's data key and shown masked; only read-write tokens
//! see the username. Executing webhooks is the subject
//! of the webhooks issue.

pub mod definition;
pub mod secrets;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use sqlx::PgConnection;

use super::http::extract::{JsonBody, PathParams};
use super::http::hal::{self, HalBody};
use super::store::pacticipants;
use super::store::webhooks::{self as store, WebhookRow, WebhookWrite};
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;
use crate::state::AppState;
use definition::{is_template, valid_uuid, Definition, Scope};
use provisioning::api_token::TokenScope;
use provisioning::sealing::{Purpose, Sealer};
use secrets::{is_secret_header, mask_url, MASK};

/// Webhook definitions, all or by scope (execution comes with the webhooks issue).
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route(
            "/webhooks/provider/{provider}/consumer/{consumer}",
            get(list_integration_webhooks).post(create_integration_webhook),
        )
        .route(
            "/pacts/provider/{provider}/consumer/{consumer}/webhooks",
            get(list_integration_webhooks).post(create_integration_webhook),
        )
        .route(
            "/webhooks/provider/{provider}",
            get(list_provider_webhooks).post(create_provider_webhook),
        )
        .route(
            "/webhooks/consumer/{consumer}",
            get(list_consumer_webhooks).post(create_consumer_webhook),
        )
        .route(
            "/webhooks/{uuid}",
            get(get_webhook).put(put_webhook).delete(delete_webhook),
        )
}

/// Pacticipants named in the path of a scoped webhook route.
#[derive(Default)]
struct PathScope {
    consumer: Option<String>,
    provider: Option<String>,
}

fn display_description(row: &WebhookRow) -> String {
    match row
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(description) => description.to_owned(),
        None => {
            let host = url::Url::parse(&row.url.replace("${", "x").replace('}', "x"))
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            format!("{} {host}", row.method)
        }
    }
}

fn party(
    name: &Option<String>,
    label: &Option<String>,
    both: bool,
    plural: &str,
) -> Option<String> {
    match (name, label) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(label)) if both => Some(format!("{plural} labeled '{label}'")),
        (None, Some(label)) => Some(format!("labeled '{label}'")),
        _ => None,
    }
}

fn scope_description(row: &WebhookRow) -> String {
    let has_consumer = row.consumer_name.is_some() || row.consumer_label.is_some();
    let has_provider = row.provider_name.is_some() || row.provider_label.is_some();
    let consumer = party(
        &row.consumer_name,
        &row.consumer_label,
        has_provider,
        "consumers",
    );
    let provider = party(
        &row.provider_name,
        &row.provider_label,
        has_consumer,
        "providers",
    );
    match (consumer, provider) {
        (Some(c), Some(p)) => format!("A webhook for the pact between {c} and {p}"),
        (None, Some(p)) => format!("A webhook for all pacts with provider {p}"),
        (Some(c), None) => format!("A webhook for all pacts with consumer {c}"),
        (None, None) => "A webhook for all pacts".to_owned(),
    }
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The webhook resource; `username` as this reader may see it.
fn render(base: &str, row: &WebhookRow, username: Option<String>) -> Value {
    let title = display_description(row);
    let mut request = Map::new();
    request.insert("method".into(), json!(row.method));
    request.insert("url".into(), json!(row.url));
    let mut headers = row.headers.as_object().cloned().unwrap_or_default();
    for name in &row.secret_header_names {
        headers.insert(name.clone(), json!(MASK));
    }
    // Rows stored before the broader rule keep such headers in the clear; never show them.
    for (name, value) in headers.iter_mut() {
        if value.as_str().is_some_and(|v| is_secret_header(name, v)) {
            *value = json!(MASK);
        }
    }
    if !headers.is_empty() {
        request.insert("headers".into(), Value::Object(headers));
    }
    if let Some(body) = &row.body {
        request.insert("body".into(), body.clone());
    }
    if let Some(username) = username {
        request.insert("username".into(), json!(username));
    }
    match (&row.password_template, row.has_password) {
        (Some(template), _) => {
            request.insert("password".into(), json!(template));
        }
        (None, true) => {
            request.insert("password".into(), json!(MASK));
        }
        (None, false) => {}
    }
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "title": title, "href": hal::url(base, &["webhooks", &row.uuid]) }),
    );
    links.insert(
        "pb:execute".into(),
        json!({
            "title": "Test the execution of the webhook with the latest matching pact or verification by sending a POST request to this URL",
            "href": hal::url(base, &["webhooks", &row.uuid, "execute"]),
        }),
    );
    if let Some(name) = &row.consumer_name {
        links.insert(
            "pb:consumer".into(),
            hal::named_link(hal::url(base, &["pacticipants", name]), "Consumer", name),
        );
    } else if let Some(label) = &row.consumer_label {
        let href = hal::url(base, &["pacticipants", "label", label]);
        links.insert(
            "pb:consumers".into(),
            hal::named_link(href, "Consumers by label", label),
        );
    }
    if let Some(name) = &row.provider_name {
        links.insert(
            "pb:provider".into(),
            hal::named_link(hal::url(base, &["pacticipants", name]), "Provider", name),
        );
    } else if let Some(label) = &row.provider_label {
        let href = hal::url(base, &["pacticipants", "label", label]);
        links.insert(
            "pb:providers".into(),
            hal::named_link(href, "Providers by label", label),
        );
    }
    if let (Some(consumer), Some(provider)) = (&row.consumer_name, &row.provider_name) {
        links.insert(
            "pb:pact-webhooks".into(),
            json!({
                "title": format!("All webhooks for consumer {consumer} and provider {provider}"),
                "href": hal::url(base, &["webhooks", "provider", provider, "consumer", consumer]),
            }),
        );
    }
    links.insert(
        "pb:webhooks".into(),
        json!({ "title": "All webhooks", "href": hal::url(base, &["webhooks"]) }),
    );
    let mut document = Map::new();
    document.insert("uuid".into(), json!(row.uuid));
    document.insert("description".into(), json!(title));
    for (key, name, label) in [
        ("consumer", &row.consumer_name, &row.consumer_label),
        ("provider", &row.provider_name, &row.provider_label),
    ] {
        match (name, label) {
            (Some(name), _) => document.insert(key.into(), json!({ "name": name })),
            (None, Some(label)) => document.insert(key.into(), json!({ "label": label })),
            (None, None) => None,
        };
    }
    document.insert("enabled".into(), json!(row.enabled));
    document.insert("request".into(), Value::Object(request));
    document.insert(
        "events".into(),
        json!(row
            .events
            .iter()
            .map(|name| json!({ "name": name }))
            .collect::<Vec<_>>()),
    );
    document.insert("createdAt".into(), json!(timestamp(row.created_at)));
    if row.updated_at != row.created_at {
        document.insert("updatedAt".into(), json!(timestamp(row.updated_at)));
    }
    document.insert("_links".into(), Value::Object(links));
    Value::Object(document)
}

/// A list of webhooks, as the broker's `WebhooksDecorator` shapes it.
fn render_list(base: &str, self_href: String, title: &str, rows: &[WebhookRow]) -> Value {
    let entries: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({ "title": scope_description(row), "name": display_description(row), "href": hal::url(base, &["webhooks", &row.uuid]) })
        })
        .collect();
    json!({
        "_links": {
            "self": { "title": title, "href": self_href },
            "pb:create": { "title": "POST to create a webhook", "href": self_href },
            "pb:webhooks": entries,
            "curies": [{ "name": "pb", "href": format!("{}/doc/webhooks-{{rel}}", base.trim_end_matches('/')), "templated": true }],
        }
    })
}

async fn pacticipant_id(conn: &mut PgConnection, name: &str) -> Result<Option<i64>> {
    Ok(pacticipants::find(conn, name)
        .await?
        .map(|p| p.pacticipant_id))
}

/// Resolves the path's pacticipants; a missing one is a 404, as in the broker.
async fn resolve_path_scope(
    conn: &mut PgConnection,
    scope: &PathScope,
) -> Result<(Option<i64>, Option<i64>)> {
    let mut ids = (None, None);
    for (name, slot) in [(&scope.consumer, &mut ids.0), (&scope.provider, &mut ids.1)] {
        if let Some(name) = name {
            *slot = Some(pacticipant_id(conn, name).await?.ok_or_else(|| {
                Error::NotFound(format!("No pacticipant with name '{name}' found"))
            })?);
        }
    }
    Ok(ids)
}

fn sealed_secrets(sealer: &Sealer, uuid: &str, definition: &Definition) -> SealedParts {
    let seal = |part: &str, plain: &[u8]| {
        sealer.seal(Purpose::WebhookCredential, &format!("{uuid}:{part}"), plain)
    };
    let mut visible = Map::new();
    let mut secret = Map::new();
    for (name, value) in &definition.request.headers {
        if is_secret_header(name, value) {
            secret.insert(name.clone(), json!(value));
        } else {
            visible.insert(name.clone(), json!(value));
        }
    }
    let secret_header_names: Vec<String> = secret.keys().cloned().collect();
    let secret_headers_sealed = (!secret.is_empty()).then(|| {
        let plain = serde_json::to_vec(&Value::Object(secret)).unwrap_or_default();
        seal("headers", &plain)
    });
    let (password_template, password_sealed) = match &definition.request.password {
        Some(password) if is_template(password) => (Some(password.clone()), None),
        Some(password) => (None, Some(seal("password", password.as_bytes()))),
        None => (None, None),
    };
    let (username, username_sealed) = match &definition.request.username {
        Some(username) if is_template(username) => (Some(username.clone()), None),
        Some(username) => (None, Some(seal("username", username.as_bytes()))),
        None => (None, None),
    };
    let (url, url_sealed) = match mask_url(&definition.request.url) {
        Some(masked) => (masked, Some(seal("url", definition.request.url.as_bytes()))),
        None => (definition.request.url.clone(), None),
    };
    SealedParts {
        url,
        url_sealed,
        visible_headers: Value::Object(visible),
        secret_header_names,
        secret_headers_sealed,
        username,
        username_sealed,
        password_template,
        password_sealed,
    }
}

struct SealedParts {
    /// The URL as shown: masked when it carries credentials, the original then sealed.
    url: String,
    url_sealed: Option<Vec<u8>>,
    visible_headers: Value,
    secret_header_names: Vec<String>,
    secret_headers_sealed: Option<Vec<u8>>,
    /// A templated username, kept readable; any other is sealed.
    username: Option<String>,
    username_sealed: Option<Vec<u8>>,
    password_template: Option<String>,
    password_sealed: Option<Vec<u8>>,
}

/// The username as `tenant`'s token may see it: read-only tokens see it masked (unless it is
/// a template), read-write tokens see it opened.
async fn shown_username(tenant: &TenantContext, row: &WebhookRow) -> Result<Option<String>> {
    if let Some(template) = &row.username {
        return Ok(Some(
            if is_template(template) || tenant.scope == TokenScope::ReadWrite {
                template.clone()
            } else {
                MASK.to_owned()
            },
        ));
    }
    let Some(sealed) = &row.username_sealed else {
        return Ok(None);
    };
    if tenant.scope != TokenScope::ReadWrite {
        return Ok(Some(MASK.to_owned()));
    }
    let sealer = tenant.sealer().await?;
    let plain = sealer
        .open(
            Purpose::WebhookCredential,
            &format!("{}:username", row.uuid),
            sealed,
        )
        .map_err(|err| Error::Internal(anyhow::anyhow!("opening a webhook username: {err}")))?;
    Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
}

/// The webhook resource as `tenant`'s token may see it.
async fn render_for(tenant: &TenantContext, row: &WebhookRow) -> Result<HalBody> {
    let username = shown_username(tenant, row).await?;
    Ok(HalBody(render(&tenant.base_url, row, username)))
}

/// Validates and stores a webhook; returns its row and whether it was created.
async fn save(
    state: &AppState,
    tenant: &TenantContext,
    uuid: &str,
    body: &Value,
    path: &PathScope,
) -> Result<(WebhookRow, bool)> {
    let definition = state
        .config
        .webhook_policy()
        .parse(body)
        .map_err(Error::Validation)?;
    let mut conn = tenant.db().await?;
    let (path_consumer, path_provider) = resolve_path_scope(&mut conn, path).await?;

    let mut errors = FieldErrors::new();
    let mut scope_ids: Vec<(Option<i64>, Option<String>)> = Vec::new();
    for (key, scope, from_path) in [
        ("consumer.name", &definition.consumer, path_consumer),
        ("provider.name", &definition.provider, path_provider),
    ] {
        let resolved = match (from_path, scope) {
            (Some(id), _) => (Some(id), None),
            (None, Some(Scope::Name(name))) => match pacticipant_id(&mut conn, name).await? {
                Some(id) => (Some(id), None),
                None => {
                    errors
                        .entry(key.to_owned())
                        .or_default()
                        .push("does not match an existing pacticipant".into());
                    (None, None)
                }
            },
            (None, Some(Scope::Label(label))) => (None, Some(label.clone())),
            (None, None) => (None, None),
        };
        scope_ids.push(resolved);
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let sealer = tenant.sealer().await?;
    let sealed = sealed_secrets(&sealer, uuid, &definition);
    let write = WebhookWrite {
        uuid,
        description: definition.description.as_deref(),
        consumer_id: scope_ids[0].0,
        consumer_label: scope_ids[0].1.as_deref(),
        provider_id: scope_ids[1].0,
        provider_label: scope_ids[1].1.as_deref(),
        enabled: definition.enabled,
        events: &definition.events,
        method: &definition.request.method,
        url: &sealed.url,
        url_sealed: sealed.url_sealed,
        headers: sealed.visible_headers,
        secret_header_names: sealed.secret_header_names,
        secret_headers_sealed: sealed.secret_headers_sealed,
        body: definition.request.body.as_ref(),
        username: sealed.username.as_deref(),
        username_sealed: sealed.username_sealed,
        password_template: sealed.password_template.as_deref(),
        password_sealed: sealed.password_sealed,
    };
    let created = store::upsert(&mut conn, write).await?;
    let row = store::find(&mut conn, uuid)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("webhook vanished")))?;
    Ok((row, created))
}

async fn create(
    state: &AppState,
    tenant: &TenantContext,
    body: &Value,
    path: PathScope,
) -> Result<Response> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let (row, _) = save(state, tenant, &uuid, body, &path).await?;
    let location = hal::url(&tenant.base_url, &["webhooks", &uuid]);
    Ok(hal::created(location, render_for(tenant, &row).await?))
}

async fn list(
    tenant: &TenantContext,
    path: PathScope,
    self_segments: &[&str],
    title: &str,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let (consumer, provider) = resolve_path_scope(&mut conn, &path).await?;
    let rows = store::list(&mut conn, consumer, provider).await?;
    Ok(HalBody(render_list(
        &tenant.base_url,
        hal::url(&tenant.base_url, self_segments),
        title,
        &rows,
    )))
}

/// `GET /webhooks`.
pub async fn list_webhooks(tenant: TenantContext) -> Result<HalBody> {
    list(&tenant, PathScope::default(), &["webhooks"], "Webhooks").await
}

/// `POST /webhooks`.
pub async fn create_webhook(
    State(state): State<AppState>,
    tenant: TenantContext,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    create(&state, &tenant, &body, PathScope::default()).await
}

/// `GET /webhooks/{uuid}`.
pub async fn get_webhook(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
) -> Result<HalBody> {
    let mut conn = tenant.db().await?;
    let row = store::find(&mut conn, &uuid)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No webhook with uuid {uuid} found")))?;
    render_for(&tenant, &row).await
}

/// `PUT /webhooks/{uuid}`: create (201) or replace (200) the webhook with a client-chosen uuid.
pub async fn put_webhook(
    State(state): State<AppState>,
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    if !valid_uuid(&uuid) {
        return Err(Error::field(
            "uuid",
            "The UUID can only contain the characters A-Z, a-z, 0-9, _ and -, and must be 16 or more characters.",
        ));
    }
    let (row, created) = save(&state, &tenant, &uuid, &body, &PathScope::default()).await?;
    let body = render_for(&tenant, &row).await?;
    Ok(if created {
        hal::created(hal::url(&tenant.base_url, &["webhooks", &uuid]), body)
    } else {
        (StatusCode::OK, body).into_response()
    })
}

/// `DELETE /webhooks/{uuid}`.
pub async fn delete_webhook(
    tenant: TenantContext,
    PathParams(uuid): PathParams<String>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    if store::delete(&mut conn, &uuid).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound(format!(
            "No webhook with uuid {uuid} found"
        )))
    }
}

/// `GET /webhooks/provider/{provider}/consumer/{consumer}` (and the legacy `/pacts/…/webhooks`).
pub async fn list_integration_webhooks(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<HalBody> {
    let title = format!("Webhooks for consumer {consumer} and provider {provider}");
    let path = PathScope {
        consumer: Some(consumer.clone()),
        provider: Some(provider.clone()),
    };
    list(
        &tenant,
        path,
        &["webhooks", "provider", &provider, "consumer", &consumer],
        &title,
    )
    .await
}

/// `POST /webhooks/provider/{provider}/consumer/{consumer}` (and the legacy `/pacts/…/webhooks`).
pub async fn create_integration_webhook(
    State(state): State<AppState>,
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    create(
        &state,
        &tenant,
        &body,
        PathScope {
            consumer: Some(consumer),
            provider: Some(provider),
        },
    )
    .await
}

/// `GET /webhooks/provider/{provider}`.
pub async fn list_provider_webhooks(
    tenant: TenantContext,
    PathParams(provider): PathParams<String>,
) -> Result<HalBody> {
    let title = format!("Webhooks for provider {provider}");
    list(
        &tenant,
        PathScope {
            provider: Some(provider.clone()),
            consumer: None,
        },
        &["webhooks", "provider", &provider],
        &title,
    )
    .await
}

/// `POST /webhooks/provider/{provider}`.
pub async fn create_provider_webhook(
    State(state): State<AppState>,
    tenant: TenantContext,
    PathParams(provider): PathParams<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    create(
        &state,
        &tenant,
        &body,
        PathScope {
            provider: Some(provider),
            consumer: None,
        },
    )
    .await
}

/// `GET /webhooks/consumer/{consumer}`.
pub async fn list_consumer_webhooks(
    tenant: TenantContext,
    PathParams(consumer): PathParams<String>,
) -> Result<HalBody> {
    let title = format!("Webhooks for consumer {consumer}");
    list(
        &tenant,
        PathScope {
            consumer: Some(consumer.clone()),
            provider: None,
        },
        &["webhooks", "consumer", &consumer],
        &title,
    )
    .await
}

/// `POST /webhooks/consumer/{consumer}`.
pub async fn create_consumer_webhook(
    State(state): State<AppState>,
    tenant: TenantContext,
    PathParams(consumer): PathParams<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    create(
        &state,
        &tenant,
        &body,
        PathScope {
            consumer: Some(consumer),
            provider: None,
        },
    )
    .await
}
