//! `POST /contracts/publish`: the modern publishing route the Pact CLIs use. One request records
//! a consumer version (with branch, tags and build URL) and all its pacts, atomically: if any
//! contract conflicts with what that version already published, nothing is recorded (409, with
//! the broker's error and diff notices). The response's notices are the broker's
//! (`Contracts::Service`, `locale/en.yml`); the CLIs print them.
//!
//! One deliberate difference: `onConflict: merge` merges changed content into the existing pact
//! (what the CLI's `--merge` promises) where the broker, with its default
//! `allow_dangerous_contract_modification=false`, refuses any change.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sqlx::{Connection, PgConnection};

use super::http::extract::JsonBody;
use super::http::hal::{self, HalBody};
use super::pact_document::PactDocument;
use super::pacts::diff::formatted_diff;
use super::pacts::links::pact_url;
use super::pacts::publish::{
    conflict_message, potential_duplicate_messages, publication_events, publish_document, Mode,
    Published,
};
use super::store::pacts::{self as pact_store, Publication, PublishedPact};
use super::store::{pacticipants, versions};
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;
use crate::plan_limits::IntegrationLimit;
use crate::state::AppState;

/// Publishing contracts.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/contracts/publish", post(publish_contracts))
}

/// A contract that passed validation.
struct ValidContract {
    provider: String,
    document: PactDocument,
    mode: Mode,
}

struct ValidRequest {
    pacticipant: String,
    number: String,
    branch: Option<String>,
    tags: Vec<String>,
    build_url: Option<String>,
    contracts: Vec<ValidContract>,
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// A string field, with dry-validation's messages. `required` fields must be present;
/// `filled` ones must not be null or empty.
fn string_field(
    map: &Map<String, Value>,
    key: &str,
    required: bool,
    filled: bool,
    messages: &mut Vec<(String, String)>,
) -> Option<String> {
    match map.get(key) {
        None => {
            if required {
                messages.push((key.to_owned(), "is missing".into()));
            }
            None
        }
        Some(Value::Null) => {
            if filled {
                messages.push((key.to_owned(), "must be filled".into()));
            }
            None
        }
        Some(Value::String(s)) if s.is_empty() && filled => {
            messages.push((key.to_owned(), "must be filled".into()));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            messages.push((key.to_owned(), "must be a string".into()));
            None
        }
    }
}

/// Ruby's class name of a parsed JSON value (for "expected to be a Hash" messages).
fn ruby_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "NilClass",
        Value::Bool(true) => "TrueClass",
        Value::Bool(false) => "FalseClass",
        Value::Number(n) if n.is_f64() => "Float",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Hash",
    }
}

/// A contract's fields as given, and dry-validation's messages about them (field, message).
struct ContractFields {
    consumer: Option<String>,
    provider: Option<String>,
    content: Option<String>,
    content_type: Option<String>,
    specification: Option<String>,
    on_conflict: Option<String>,
    messages: Vec<(String, String)>,
}

impl ContractFields {
    /// Reads the fields of one contract (`PublishContractsContractContract`'s field rules).
    fn read(map: &Map<String, Value>) -> Self {
        let mut messages = Vec::new();
        let consumer = string_field(map, "consumerName", true, true, &mut messages);
        let provider = string_field(map, "providerName", true, true, &mut messages);
        let content = string_field(map, "content", true, true, &mut messages);
        let one_of =
            |key: &str, allowed: &[&str], required: bool, messages: &mut Vec<(String, String)>| {
                let value = string_field(map, key, required, true, messages);
                match value {
                    Some(v) if !allowed.contains(&v.as_str()) => {
                        messages.push((
                            key.to_owned(),
                            format!("must be one of: {}", allowed.join(", ")),
                        ));
                        None
                    }
                    other => other,
                }
            };
        let content_type = one_of("contentType", &["application/json"], true, &mut messages);
        let specification = one_of("specification", &["pact"], true, &mut messages);
        let on_conflict = one_of("onConflict", &["overwrite", "merge"], false, &mut messages);
        for (key, value) in [("consumerName", &consumer), ("providerName", &provider)] {
            if value.as_deref().is_some_and(blank) {
                messages.push((key.to_owned(), "cannot be blank".into()));
            }
        }
        Self {
            consumer,
            provider,
            content,
            content_type,
            specification,
            on_conflict,
            messages,
        }
    }

    /// Whether `key` has a message.
    fn failed(&self, key: &str) -> bool {
        self.messages.iter().any(|(k, _)| k == key)
    }
}

/// The contract's content as text: Base64 of UTF-8 (`None`, with the broker's message, when it
/// is neither).
fn content_text(content: Option<&str>, messages: &mut Vec<String>) -> Option<String> {
    let Some(bytes) = content.and_then(|c| B64.decode(c).ok()) else {
        messages.push("is not valid Base64".into());
        return None;
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => Some(text.to_owned()),
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            let chars: Vec<char> = String::from_utf8_lossy(valid).chars().collect();
            let index = chars.len();
            let fragment: String = chars[index.saturating_sub(100)..].iter().collect();
            messages.push(format!(
                "contract content has a non UTF-8 character at char {} and cannot be parsed as JSON. Fragment preceding invalid character is: '{fragment}'",
                index + 1
            ));
            None
        }
    }
}

/// The contract's content as a pact: Base64, UTF-8, JSON, an object (`None`, with the broker's
/// messages, otherwise). Nothing is parsed when the content type was refused.
fn content_document(fields: &ContractFields, messages: &mut Vec<String>) -> Option<PactDocument> {
    let text = content_text(fields.content.as_deref(), messages);
    let mut readable = text.is_some();
    let parsed: Option<Value> = text
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .filter(|v: &Value| !v.is_null());
    if fields.failed("contentType") {
        return None;
    }
    if let Some(content_type) = &fields.content_type {
        if parsed.is_none() {
            messages.push(format!("content could not be parsed as {content_type}"));
            readable = false;
        }
    }
    if !readable {
        return None;
    }
    match &parsed {
        Some(Value::Object(_)) => {
            let bytes = text.as_deref().unwrap_or_default().as_bytes();
            PactDocument::parse(bytes).ok()
        }
        Some(other) => {
            messages.push(format!(
                "parsed content was expected to be a Hash but was a {}",
                ruby_class(other)
            ));
            None
        }
        None => None,
    }
}

/// The names in the content must be the names in the contract's fields (each checked only when
/// its field passed).
fn name_mismatches(fields: &ContractFields, document: &PactDocument, messages: &mut Vec<String>) {
    if let Some(consumer) = &fields.consumer {
        if !fields.failed("consumerName") && !fields.failed("specification") {
            if let Some(in_content) = document.consumer_name().filter(|n| n != consumer) {
                messages.push(format!("consumer name in contract content ('{in_content}') must match consumerName in contract params ('{consumer}')"));
            }
        }
    }
    if let Some(provider) = &fields.provider {
        if !fields.failed("providerName") {
            if let Some(in_content) = document.provider_name().filter(|n| n != provider) {
                messages.push(format!("provider name in contract content ('{in_content}') must match providerName in contract params ('{provider}')"));
            }
        }
    }
}

/// Validates one contract (`PublishContractsContractContract`): full messages.
fn validate_contract(map: &Map<String, Value>) -> Result<ValidContract, Vec<String>> {
    let fields = ContractFields::read(map);
    let mut messages: Vec<String> = fields
        .messages
        .iter()
        .map(|(k, m)| format!("{k} {m}"))
        .collect();
    let document = content_document(&fields, &mut messages);
    if let Some(document) = &document {
        name_mismatches(&fields, document, &mut messages);
    }
    let mode = if fields.on_conflict.as_deref() == Some("merge") {
        Mode::Merge
    } else {
        Mode::Refuse
    };
    match (
        messages.is_empty(),
        document,
        fields.provider,
        fields.specification,
    ) {
        (true, Some(document), Some(provider), Some(_)) => Ok(ValidContract {
            provider,
            document,
            mode,
        }),
        _ => Err(messages),
    }
}

/// Validates a request (`PublishContractsSchema`), with the broker's field names and messages.
fn validate(value: &Value) -> Result<ValidRequest> {
    let Value::Object(map) = value else {
        return Err(Error::BadRequest(format!(
            "Expected JSON Object in request body but found {}",
            ruby_class(value)
        )));
    };
    let mut errors = FieldErrors::new();
    let mut top = Vec::new();
    let pacticipant = string_field(map, "pacticipantName", true, true, &mut top);
    let number = string_field(map, "pacticipantVersionNumber", true, true, &mut top);
    let branch = string_field(map, "branch", false, false, &mut top);
    let build_url = string_field(map, "buildUrl", false, false, &mut top);
    for (key, message) in top {
        errors.entry(key).or_default().push(message);
    }
    let mut add =
        |key: &str, message: String| errors.entry(key.to_owned()).or_default().push(message);
    if pacticipant.as_deref().is_some_and(blank) {
        add("pacticipantName", "cannot be blank".into());
    }
    if let Some(n) = &number {
        if blank(n) {
            add("pacticipantVersionNumber", "cannot be blank".into());
        }
        if n.contains('\n') {
            add(
                "pacticipantVersionNumber",
                "cannot contain multiple lines".into(),
            );
        }
    }
    if let Some(b) = &branch {
        if blank(b) {
            add("branch", "cannot be blank".into());
        }
        if b.contains('\n') {
            add("branch", "cannot contain multiple lines".into());
        }
    }
    if build_url.as_deref().is_some_and(|u| u.contains('\n')) {
        add("buildUrl", "cannot contain multiple lines".into());
    }
    let mut tags = Vec::new();
    match map.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, tag) in items.iter().enumerate() {
                match tag {
                    Value::Null => add("tags", format!("must be filled (at index {index})")),
                    Value::String(s) if s.is_empty() => {
                        add("tags", format!("must be filled (at index {index})"))
                    }
                    Value::String(s) if blank(s) => {
                        add("tags", format!("cannot be blank (at index {index})"))
                    }
                    Value::String(s) => tags.push(s.clone()),
                    other => tags.push(other.to_string()),
                }
            }
        }
        Some(_) => add("tags", "must be an array".into()),
    }
    let mut contracts = Vec::new();
    match map.get("contracts") {
        None => add("contracts", "is missing".into()),
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let Value::Object(contract) = item else {
                    add("contracts", format!("must be a hash (at index {index})"));
                    continue;
                };
                match validate_contract(contract) {
                    Ok(valid) => contracts.push(valid),
                    Err(messages) => {
                        for message in messages {
                            add("contracts", format!("{message} (at index {index})"));
                        }
                    }
                }
                if let (Some(name), Some(Value::String(consumer))) =
                    (&pacticipant, contract.get("consumerName"))
                {
                    if consumer != name {
                        add(
                            "contracts",
                            format!("consumerName ('{consumer}') must match pacticipantName ('{name}') (at index {index})"),
                        );
                    }
                }
            }
        }
        Some(_) => add("contracts", "must be an array".into()),
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    Ok(ValidRequest {
        pacticipant: pacticipant.unwrap_or_default(),
        number: number.unwrap_or_default(),
        branch,
        tags,
        build_url: build_url.filter(|u| !blank(u)),
        contracts,
    })
}

fn notice(kind: &str, text: impl Into<String>) -> Value {
    json!({ "type": kind, "text": text.into() })
}

/// `POST /contracts/publish`: validate; refuse conflicts before anything is written; record the
/// version with its branch and tags; write the contracts; answer with the broker's notices, and
/// hand the events on once the transaction has committed.
pub async fn publish_contracts(
    tenant: TenantContext,
    JsonBody(value): JsonBody<Value>,
) -> Result<Response> {
    let request = validate(&value)?;
    let base = tenant.base_url.clone();
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    pact_store::plan_for_oltp(&mut tx).await?;

    let names = pacticipant_names(&request);
    refuse_conflicts(&mut tx, &request, &names, &base).await?;
    let (consumer, version, created) = record_version(&mut tx, &request, &names).await?;
    let mut notices = version_notices(&request, created);
    let written = write_contracts(&mut tx, &tenant, &request, &consumer, &version).await?;
    let mut contract_links = Vec::new();
    let mut all_events = Vec::new();
    for (contract, published) in request.contracts.iter().zip(written) {
        let Some(pact) = &published.pact else {
            // Checked above; a concurrent publication changed the content since.
            return Err(Error::Conflict {
                message: conflict_message(
                    &request.pacticipant,
                    &request.number,
                    &contract.provider,
                ),
                body: None,
            });
        };
        let url = pact_url(&base, pact);
        let written_notices =
            contract_notices(&mut tx, &request, contract, &published, pact, &url).await?;
        notices.extend(written_notices);
        let previous_sha = published.previous.as_ref().map(|p| p.sha.as_str());
        all_events.extend(
            publication_events(
                &mut tx,
                &tenant,
                pact,
                previous_sha,
                request.build_url.as_deref(),
                request.branch.as_deref(),
            )
            .await?,
        );
        contract_links.push(json!({ "title": "Pact", "name": pact.name(), "href": url }));
    }
    tx.commit().await?;
    tenant.publish_events(&all_events);
    let body = response_body(&base, &request, notices, contract_links);
    Ok((StatusCode::OK, HalBody(body)).into_response())
}

/// The consumer and every provider of the request, each once, the consumer first.
fn pacticipant_names(request: &ValidRequest) -> Vec<&str> {
    let mut names: Vec<&str> = vec![&request.pacticipant];
    for contract in &request.contracts {
        if !names.contains(&contract.provider.as_str()) {
            names.push(&contract.provider);
        }
    }
    names
}

/// Refuses the request (409, with the broker's error and diff notices) when a contract would
/// change what the consumer version already published, or a new pacticipant name looks like an
/// existing one. Runs before anything is written: a refused publication records nothing.
async fn refuse_conflicts(
    tx: &mut PgConnection,
    request: &ValidRequest,
    names: &[&str],
    base: &str,
) -> Result<()> {
    let mut conflict_notices = Vec::new();
    for contract in &request.contracts {
        if contract.mode == Mode::Merge {
            continue;
        }
        let existing = pact_store::for_consumer_version(
            tx,
            &contract.provider,
            &request.pacticipant,
            &request.number,
        )
        .await?;
        if let Some(existing) = existing.filter(|e| e.sha != contract.document.sha()) {
            conflict_notices.push(notice(
                "error",
                conflict_message(&request.pacticipant, &request.number, &contract.provider),
            ));
            let new_content = contract.document.canonical().json;
            conflict_notices.push(notice(
                "info",
                formatted_diff(&new_content, &existing.content),
            ));
        }
    }
    for message in potential_duplicate_messages(tx, names, base).await? {
        conflict_notices.push(notice("error", message));
    }
    if conflict_notices.is_empty() {
        return Ok(());
    }
    let errors: Vec<Value> = conflict_notices
        .iter()
        .filter(|n| n["type"] == "error")
        .map(|n| n["text"].clone())
        .collect();
    Err(Error::ContractsRefused(
        json!({ "notices": conflict_notices, "errors": { "contracts": errors } }),
    ))
}

/// Creates every pacticipant of the request (in name order, so concurrent publications lock
/// them in one order) and the consumer version, with its build URL, branch and tags; `true`
/// when the version is new.
async fn record_version(
    tx: &mut PgConnection,
    request: &ValidRequest,
    names: &[&str],
) -> Result<(pacticipants::Pacticipant, versions::Version, bool)> {
    let consumer = pacticipants::find_or_create_all(tx, names)
        .await?
        .into_iter()
        .find(|p| p.name == request.pacticipant)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("consumer not created")))?;
    let (version, created) =
        versions::find_or_create(tx, consumer.pacticipant_id, &request.number).await?;
    if let Some(url) = &request.build_url {
        versions::set_build_url(tx, version.version_id, url).await?;
    }
    if let Some(branch) = &request.branch {
        versions::add_to_branch(
            tx,
            consumer.pacticipant_id,
            version.version_id,
            branch,
            false,
        )
        .await?;
        pact_store::detect_main_branch(tx, consumer.pacticipant_id, branch).await?;
    }
    for tag in &request.tags {
        // The broker's tag side effects: the first tag of a new version without a branch
        // becomes its branch, and a tag called develop/main/master the main branch.
        if pact_store::first_tag_would_be_branch(tx, version.version_id).await? {
            versions::add_to_branch(tx, consumer.pacticipant_id, version.version_id, tag, true)
                .await?;
        }
        pact_store::detect_main_branch(tx, consumer.pacticipant_id, tag).await?;
        versions::add_tag(tx, consumer.pacticipant_id, version.version_id, tag).await?;
    }
    Ok((consumer, version, created))
}

/// The notices about the version: created or updated, and the prompt for a missing branch.
fn version_notices(request: &ValidRequest, created: bool) -> Vec<Value> {
    let mut notices = vec![notice("debug", version_notice(request, created))];
    if request.branch.is_none() {
        notices.push(notice(
            "prompt",
            "  Next steps:\n    Configure the version branch to be the value of your repository branch.",
        ));
    }
    notices
}

/// Writes every contract, in provider order (each write locks its integration row until commit,
/// so two requests listing the same providers in opposite orders would deadlock); the results
/// come back in the request's order.
async fn write_contracts(
    tx: &mut PgConnection,
    tenant: &TenantContext,
    request: &ValidRequest,
    consumer: &pacticipants::Pacticipant,
    version: &versions::Version,
) -> Result<Vec<Published>> {
    let limit = IntegrationLimit::of(tenant);
    let mut order: Vec<usize> = (0..request.contracts.len()).collect();
    order.sort_by(|&a, &b| {
        request.contracts[a]
            .provider
            .cmp(&request.contracts[b].provider)
    });
    let mut written: Vec<(usize, Published)> = Vec::with_capacity(order.len());
    for index in order {
        let contract = &request.contracts[index];
        let published = publish_document(
            tx,
            consumer,
            version,
            &contract.provider,
            &contract.document,
            contract.mode,
            &limit,
        )
        .await?;
        written.push((index, published));
    }
    written.sort_by_key(|(index, _)| *index);
    Ok(written
        .into_iter()
        .map(|(_, published)| published)
        .collect())
}

/// The notices about one written contract: how it was published, where to see it, next steps.
async fn contract_notices(
    tx: &mut PgConnection,
    request: &ValidRequest,
    contract: &ValidContract,
    published: &Published,
    pact: &PublishedPact,
    url: &str,
) -> Result<Vec<Value>> {
    let (consumer_name, number, provider) =
        (&request.pacticipant, &request.number, &contract.provider);
    let text = |key: &str| {
        match key {
            "published" => format!("Pact successfully published for {consumer_name} version {number} and provider {provider}."),
            "same" => format!("Pact successfully republished for {consumer_name} version {number} and provider {provider} with no content changes."),
            "modified" => format!("Pact with changed content published over existing content for {consumer_name} version {number} and provider {provider}. This is not recommended in normal circumstances and may indicate that you have not configured your Pact pipeline correctly. For more information see https://docs.pact.io/go/versioning"),
            _ => format!("Pact content merged with existing content for {consumer_name} version {number} and provider {provider}."),
        }
    };
    let mut notices = vec![
        match (&published.previous, contract.mode, &published.publication) {
            (None, _, _) => notice("success", text("published")),
            (Some(_), Mode::Merge, _) => notice("success", text("merged")),
            (Some(_), Mode::Refuse, Publication::Unchanged { .. }) => {
                notice("success", text("same"))
            }
            (Some(_), Mode::Refuse, _) => notice("warning", text("modified")),
        },
        notice("debug", format!("  View the published pact at {url}")),
    ];
    let mut next_steps = Vec::new();
    if !pact_store::any_verifications(tx, pact.consumer_id, pact.provider_id).await? {
        next_steps.push(notice("prompt", format!("    * Add Pact verification tests to the {provider} build. See https://docs.pact.io/go/provider_verification")));
    }
    // No webhooks can be configured yet, so the broker's webhook prompt always applies.
    next_steps.push(notice("prompt", format!("    * Configure separate {provider} pact verification build and webhook to trigger it when the pact content changes. See https://docs.pact.io/go/webhooks")));
    notices.push(notice("prompt", "  Next steps:"));
    notices.extend(next_steps);
    Ok(notices)
}

/// The response: the notices (also as the deprecated `logs`), the pacticipant and version, and
/// links to them, to the version's tags and to each published pact.
fn response_body(
    base: &str,
    request: &ValidRequest,
    notices: Vec<Value>,
    contract_links: Vec<Value>,
) -> Value {
    let pacticipant_url = hal::url(base, &["pacticipants", &request.pacticipant]);
    let version_url = hal::url(
        base,
        &[
            "pacticipants",
            &request.pacticipant,
            "versions",
            &request.number,
        ],
    );
    let tag_links: Vec<Value> = request
        .tags
        .iter()
        .map(|tag| {
            json!({
                "title": "Tag",
                "name": tag,
                "href": hal::url(base, &["pacticipants", &request.pacticipant, "versions", &request.number, "tags", tag]),
            })
        })
        .collect();
    let logs: Vec<Value> = notices
        .iter()
        .map(|n| json!({ "level": n["type"], "message": n["text"], "deprecationWarning": "Replaced by notices" }))
        .collect();
    json!({
        "notices": notices,
        "logs": logs,
        "_embedded": {
            "pacticipant": { "name": request.pacticipant, "_links": { "self": { "href": pacticipant_url } } },
            "version": {
                "number": request.number,
                "_links": { "self": { "title": "Version", "name": request.number, "href": version_url } },
            },
        },
        "_links": {
            "pb:pacticipant": { "title": "Pacticipant", "name": request.pacticipant, "href": pacticipant_url },
            "pb:pacticipant-version": { "title": "Pacticipant version", "name": request.number, "href": version_url },
            "pb:pacticipant-version-tags": tag_links,
            "pb:contracts": contract_links,
        },
    })
}

fn version_notice(request: &ValidRequest, created: bool) -> String {
    let action = if created { "Created" } else { "Updated" };
    let (p, v) = (&request.pacticipant, &request.number);
    let tags = request.tags.join(", ");
    match (&request.branch, request.tags.is_empty()) {
        (Some(branch), false) => {
            format!("{action} {p} version {v} with branch {branch} and tags {tags}")
        }
        (Some(branch), true) => format!("{action} {p} version {v} with branch {branch}"),
        (None, false) => format!("{action} {p} version {v} with tags {tags}"),
        (None, true) => format!("{action} {p} version {v}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(body: Value) -> FieldErrors {
        match validate(&body) {
            Err(Error::Validation(errors)) => errors,
            Err(other) => panic!("{other}"),
            Ok(_) => FieldErrors::new(),
        }
    }

    fn contract(content: &str) -> Value {
        json!({"consumerName": "C", "providerName": "P", "specification": "pact",
               "contentType": "application/json", "content": B64.encode(content)})
    }

    #[test]
    fn missing_fields_are_reported_as_the_broker_reports_them() {
        let errors = messages(json!({}));
        assert_eq!(errors["pacticipantName"], vec!["is missing"]);
        assert_eq!(errors["pacticipantVersionNumber"], vec!["is missing"]);
        assert_eq!(errors["contracts"], vec!["is missing"]);
        let errors = messages(
            json!({"pacticipantName": "", "pacticipantVersionNumber": "1\n2", "branch": " ", "tags": [""], "contracts": []}),
        );
        assert_eq!(errors["pacticipantName"], vec!["must be filled"]);
        assert_eq!(
            errors["pacticipantVersionNumber"],
            vec!["cannot contain multiple lines"]
        );
        assert_eq!(errors["branch"], vec!["cannot be blank"]);
        assert_eq!(errors["tags"], vec!["must be filled (at index 0)"]);
    }

    #[test]
    fn contract_problems_are_indexed() {
        let mut bad = contract(r#"{"consumer":{"name":"Other"},"provider":{"name":"P"}}"#);
        bad["specification"] = json!("oas");
        let errors = messages(
            json!({"pacticipantName": "C", "pacticipantVersionNumber": "1",
            "contracts": [bad, {"consumerName": "X", "providerName": "P", "specification": "pact", "contentType": "application/json", "content": "%%%"}, contract("[1]")]}),
        );
        let contracts = &errors["contracts"];
        assert!(
            contracts.contains(&"specification must be one of: pact (at index 0)".to_owned()),
            "{contracts:?}"
        );
        assert!(
            contracts.contains(&"is not valid Base64 (at index 1)".to_owned()),
            "{contracts:?}"
        );
        assert!(
            contracts.contains(
                &"consumerName ('X') must match pacticipantName ('C') (at index 1)".to_owned()
            ),
            "{contracts:?}"
        );
        assert!(
            contracts.contains(
                &"parsed content was expected to be a Hash but was a Array (at index 2)".to_owned()
            ),
            "{contracts:?}"
        );
        let mismatch = messages(
            json!({"pacticipantName": "C", "pacticipantVersionNumber": "1",
            "contracts": [contract(r#"{"consumer":{"name":"Other"}}"#)]}),
        );
        assert_eq!(mismatch["contracts"], vec!["consumer name in contract content ('Other') must match consumerName in contract params ('C') (at index 0)"]);
    }

    #[test]
    fn a_valid_request_passes() {
        let request = validate(&json!({"pacticipantName": "C", "pacticipantVersionNumber": "1", "tags": ["a"],
            "contracts": [contract(r#"{"consumer":{"name":"C"},"provider":{"name":"P"},"interactions":[]}"#)]}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.contracts.len(), 1);
        assert_eq!(request.tags, vec!["a"]);
    }
}
