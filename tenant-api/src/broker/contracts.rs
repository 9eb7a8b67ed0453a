//! `POST /contracts/publish`: the modern publishing route the Pact CLIs use. One request records
//! a consumer version (with branch, tags and build URL) and all its pacts, atomically: if any
//! contract conflicts with what that version already published, nothing is recorded (409).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Connection;

use super::body::JsonBody;
use super::hal::{self, HalBody};
use super::pact_document::PactDocument;
use super::pacts::{conflict_message, publish_document, OnConflict};
use super::store::pacts::Publication;
use super::store::{pacticipants, versions};
use crate::error::{Error, FieldErrors, Result};
use crate::gate::TenantContext;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishContractsRequest {
    pacticipant_name: Option<String>,
    pacticipant_version_number: Option<String>,
    branch: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    build_url: Option<String>,
    contracts: Option<Vec<ContractInput>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractInput {
    consumer_name: Option<String>,
    provider_name: Option<String>,
    specification: Option<String>,
    content_type: Option<String>,
    content: Option<String>,
    on_conflict: Option<String>,
}

/// A contract that passed validation.
struct ValidContract {
    provider: String,
    document: PactDocument,
    on_conflict: OnConflict,
}

struct ValidRequest {
    pacticipant: String,
    number: String,
    branch: Option<String>,
    tags: Vec<String>,
    build_url: Option<String>,
    contracts: Vec<ValidContract>,
}

fn blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|v| v.trim().is_empty())
}

impl PublishContractsRequest {
    fn validate(self) -> Result<ValidRequest> {
        let mut errors = FieldErrors::new();
        let mut add = |field: &str, message: String| {
            errors.entry(field.to_owned()).or_default().push(message)
        };
        if blank(&self.pacticipant_name) {
            add("pacticipantName", "is missing".into());
        }
        if blank(&self.pacticipant_version_number) {
            add("pacticipantVersionNumber", "is missing".into());
        } else if self
            .pacticipant_version_number
            .as_deref()
            .is_some_and(|n| n.contains(['\n', '\r']))
        {
            add(
                "pacticipantVersionNumber",
                "cannot contain a new line character".into(),
            );
        }
        if self.branch.as_deref().is_some_and(|b| b.trim().is_empty()) {
            add("branch", "cannot be blank".into());
        }
        if self.tags.iter().any(|t| t.trim().is_empty()) {
            add("tags", "cannot contain a blank tag".into());
        }
        let pacticipant = self.pacticipant_name.clone().unwrap_or_default();
        let mut contracts = Vec::new();
        match self.contracts {
            None => add("contracts", "is missing".into()),
            Some(list) if list.is_empty() => {
                add("contracts", "must contain at least one contract".into())
            }
            Some(list) => {
                for (index, contract) in list.into_iter().enumerate() {
                    match contract.validate(&pacticipant) {
                        Ok(valid) => contracts.push(valid),
                        Err(messages) => {
                            for message in messages {
                                add("contracts", format!("{message} (at index {index})"));
                            }
                        }
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(ValidRequest {
            pacticipant,
            number: self.pacticipant_version_number.unwrap_or_default(),
            branch: self.branch,
            tags: self.tags,
            build_url: self.build_url.filter(|u| !u.trim().is_empty()),
            contracts,
        })
    }
}

impl ContractInput {
    fn validate(self, pacticipant: &str) -> Result<ValidContract, Vec<String>> {
        let mut messages = Vec::new();
        let consumer = self.consumer_name.unwrap_or_default();
        let provider = self.provider_name.unwrap_or_default();
        if consumer.trim().is_empty() {
            messages.push("consumerName is missing".to_owned());
        } else if consumer != pacticipant {
            messages.push(format!(
                "consumerName ({consumer}) must match pacticipantName ({pacticipant})"
            ));
        }
        if provider.trim().is_empty() {
            messages.push("providerName is missing".to_owned());
        }
        match self.specification.as_deref() {
            Some("pact") => {}
            Some(other) => messages.push(format!("specification must be pact, not {other}")),
            None => messages.push("specification is missing".to_owned()),
        }
        match self.content_type.as_deref() {
            Some("application/json") => {}
            Some(other) => {
                messages.push(format!("contentType must be application/json, not {other}"))
            }
            None => messages.push("contentType is missing".to_owned()),
        }
        let on_conflict = match self.on_conflict.as_deref() {
            None | Some("overwrite") => OnConflict::Refuse,
            Some("merge") => OnConflict::Merge,
            Some(other) => {
                messages.push(format!(
                    "onConflict must be overwrite or merge, not {other}"
                ));
                OnConflict::Refuse
            }
        };
        let document = match self.content.as_deref().map(|c| B64.decode(c.trim())) {
            None => {
                messages.push("content is missing".to_owned());
                None
            }
            Some(Err(_)) => {
                messages.push("content is not valid Base64".to_owned());
                None
            }
            Some(Ok(bytes)) => match PactDocument::parse(&bytes) {
                Ok(document) => Some(document),
                Err(err) => {
                    messages.push(format!("content: {err}"));
                    None
                }
            },
        };
        if let Some(document) = &document {
            if document
                .consumer_name()
                .is_some_and(|name| name != consumer)
            {
                messages.push(format!(
                    "consumer name in the pact does not match consumerName ({consumer})"
                ));
            }
            if document
                .provider_name()
                .is_some_and(|name| name != provider)
            {
                messages.push(format!(
                    "provider name in the pact does not match providerName ({provider})"
                ));
            }
        }
        match document {
            Some(document) if messages.is_empty() => Ok(ValidContract {
                provider,
                document,
                on_conflict,
            }),
            _ => Err(messages),
        }
    }
}

fn notice(kind: &str, text: String) -> Value {
    json!({ "type": kind, "text": text })
}

/// `POST /contracts/publish`.
pub async fn publish_contracts(
    tenant: TenantContext,
    JsonBody(request): JsonBody<PublishContractsRequest>,
) -> Result<Response> {
    let request = request.validate()?;
    let base = tenant.base_url.clone();
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;

    let consumer = pacticipants::find_or_create(&mut tx, &request.pacticipant).await?;
    let (version, created) =
        versions::find_or_create(&mut tx, consumer.pacticipant_id, &request.number).await?;
    if let Some(url) = &request.build_url {
        versions::set_build_url(&mut tx, version.version_id, url).await?;
    }
    if let Some(branch) = &request.branch {
        versions::add_to_branch(
            &mut tx,
            consumer.pacticipant_id,
            version.version_id,
            branch,
            false,
        )
        .await?;
    }
    for tag in &request.tags {
        versions::add_tag(&mut tx, consumer.pacticipant_id, version.version_id, tag).await?;
    }

    let mut notices = vec![notice("debug", version_notice(&request, created))];
    let mut conflicts = Vec::new();
    let mut contract_links = Vec::new();
    for contract in &request.contracts {
        let published = publish_document(
            &mut tx,
            &consumer,
            &version,
            &contract.provider,
            &contract.document,
            contract.on_conflict,
        )
        .await?;
        let (consumer_name, number, provider) =
            (&request.pacticipant, &request.number, &contract.provider);
        match published.publication {
            Publication::Created => notices.push(notice(
                "success",
                format!("Pact successfully published for {consumer_name} version {number} and provider {provider}."),
            )),
            Publication::Unchanged => notices.push(notice(
                "success",
                format!("Pact successfully republished for {consumer_name} version {number} and provider {provider} with no content changes."),
            )),
            Publication::Replaced => notices.push(notice(
                "success",
                format!("Pact content merged with existing content for {consumer_name} version {number} and provider {provider}."),
            )),
            Publication::Conflict { .. } => conflicts.push(conflict_message(consumer_name, number, provider)),
        }
        let href = hal::url(
            &base,
            &[
                "pacts",
                "provider",
                provider,
                "consumer",
                consumer_name,
                "version",
                number,
            ],
        );
        contract_links.push(json!({
            "title": "Pact",
            "name": format!("Pact between {consumer_name} ({number}) and {provider}"),
            "href": href,
        }));
    }

    if !conflicts.is_empty() {
        // Dropping the transaction rolls everything back: a conflicting publish records nothing.
        drop(tx);
        let notices: Vec<Value> = conflicts
            .iter()
            .map(|text| notice("error", text.clone()))
            .collect();
        let body = json!({ "errors": { "contracts": conflicts }, "notices": notices });
        return Err(Error::Conflict {
            message: conflicts.join("\n"),
            body: Some(body),
        });
    }
    tx.commit().await?;

    let pacticipant_url = hal::url(&base, &["pacticipants", &request.pacticipant]);
    let version_url = hal::url(
        &base,
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
                "href": hal::url(&base, &["pacticipants", &request.pacticipant, "versions", &request.number, "tags", tag]),
            })
        })
        .collect();
    let logs: Vec<Value> = notices
        .iter()
        .map(|n| json!({ "level": n["type"], "message": n["text"], "deprecationWarning": "Replaced by notices" }))
        .collect();
    let body = json!({
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
    });
    Ok((StatusCode::OK, HalBody(body)).into_response())
}

fn version_notice(request: &ValidRequest, created: bool) -> String {
    let verb = if created { "Created" } else { "Updated" };
    let mut text = format!("{verb} {} version {}", request.pacticipant, request.number);
    if let Some(branch) = &request.branch {
        text.push_str(&format!(" with branch {branch}"));
    }
    if !request.tags.is_empty() {
        let joiner = if request.branch.is_some() {
            " and"
        } else {
            " with"
        };
        text.push_str(&format!("{joiner} tags {}", request.tags.join(", ")));
    }
    text
}
