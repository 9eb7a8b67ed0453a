//! Publishing a pact for a consumer version: `PUT` (create, or re-publish the same content),
//! `PATCH` (merge interactions into the existing pact), `DELETE`; and the parts of publishing
//! that `POST /contracts/publish` shares: writing the content, the broker's refusal texts, the
//! potential-duplicate-name check and the events a publication raises.

use axum::response::{IntoResponse, Response};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::document::pact_document_body;
use super::links;
use super::lookup::not_found;
use crate::broker::http::extract::{JsonBytes, PathParams};
use crate::broker::http::hal::{self, HalBody, HalText};
use crate::broker::pact_document::PactDocument;
use crate::broker::store::pacts::{self as pact_store, Publication, PublishedPact};
use crate::broker::store::{pacticipants, versions};
use crate::error::{Error, FieldErrors, Result};
use crate::events::{Event, EventName};
use crate::gate::TenantContext;
use crate::plan_limits::IntegrationLimit;

/// How to treat a consumer version that already has different content with this provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Refuse (409): a consumer version's contract must not change under can-i-deploy's feet.
    Refuse,
    /// Merge the new interactions into the existing pact.
    Merge,
}

/// What [`publish_document`] did.
pub struct Published {
    pub publication: Publication,
    /// The consumer version's pact before (when it had one).
    pub previous: Option<PublishedPact>,
    /// Its pact now (unless refused).
    pub pact: Option<PublishedPact>,
}

/// Publishes `document` as `consumer` version `version`'s pact with `provider_name`, creating the
/// provider as needed — unless that would create an integration beyond the plan's `limit`. Runs
/// on the caller's transaction; refusing changes nothing.
pub async fn publish_document(
    conn: &mut PgConnection,
    consumer: &pacticipants::Pacticipant,
    version: &versions::Version,
    provider_name: &str,
    document: &PactDocument,
    mode: Mode,
    limit: &IntegrationLimit,
) -> Result<Published> {
    let provider = pacticipants::find_or_create(conn, provider_name).await?;
    limit
        .admit(
            conn,
            (consumer.pacticipant_id, &consumer.name),
            (provider.pacticipant_id, &provider.name),
        )
        .await?;
    let previous =
        pact_store::for_consumer_version(conn, provider_name, &consumer.name, &version.number)
            .await?;
    let mut document = document.clone();
    if mode == Mode::Merge {
        if let Some(existing) = &previous {
            let mut merged = PactDocument::parse(existing.content.as_bytes())
                .map_err(|err| Error::Internal(anyhow::anyhow!("stored pact: {err}")))?;
            merged.merge(&document);
            document = merged;
        }
    }
    let canonical = document.canonical();
    let content_id = pact_store::find_or_create_content(
        conn,
        consumer.pacticipant_id,
        provider.pacticipant_id,
        &canonical,
    )
    .await?;
    let publication = pact_store::publish(
        conn,
        consumer.pacticipant_id,
        provider.pacticipant_id,
        version.version_id,
        content_id,
        mode == Mode::Merge,
    )
    .await?;
    let pact = match publication.publication_id() {
        Some(id) => pact_store::by_id(conn, id).await?,
        None => None,
    };
    Ok(Published {
        publication,
        previous,
        pact,
    })
}

/// The broker's refusal text for changing a published pact.
pub fn conflict_message(consumer: &str, number: &str, provider: &str) -> String {
    format!(
        "Cannot change the content of the pact for {consumer} version {number} and provider {provider}, \
         as race conditions will cause unreliable results for can-i-deploy. Each pact must be published \
         with a unique consumer version number. Some Pact libraries generate random data when a concrete \
         value for a type matcher is not specified, and this can cause the contract to mutate - ensure you \
         have given example values for all type matchers. For more information see \
         https://docs.pact.io/go/versioning"
    )
}

/// The words of a pacticipant name, as the broker compares names (`FindPotentialDuplicate…`):
/// split at white space, `-`, `_` and case changes, lower-cased, a trailing `s` dropped, and the
/// words `api`, `provider` and `service` ignored.
fn name_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.replace("::", "/").chars().collect();
    let mut spaced = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = c.is_ascii_uppercase()
            && match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
        if boundary {
            spaced.push('_');
        }
        spaced.push(if c.is_ascii_whitespace() || c == '-' {
            '_'
        } else {
            c
        });
    }
    let mut words: Vec<&str> = spaced.split('_').collect();
    while words.last() == Some(&"") {
        words.pop();
    }
    words
        .into_iter()
        .map(|w| {
            let w = w.to_lowercase();
            w.strip_suffix('s').map(str::to_owned).unwrap_or(w)
        })
        .filter(|w| !matches!(w.as_str(), "api" | "provider" | "service"))
        .collect()
}

/// The broker's message for a new pacticipant name that looks like existing ones
/// (`check_for_potential_duplicate_pacticipant_names`, on by default), one per such name.
pub async fn potential_duplicate_messages(
    conn: &mut PgConnection,
    names: &[&str],
    base_url: &str,
) -> Result<Vec<String>> {
    let existing = pact_store::pacticipant_names(conn).await?;
    let mut messages = Vec::new();
    for name in names {
        if existing.iter().any(|e| e == name) {
            continue;
        }
        let words = name_words(name);
        let similar: Vec<&String> = existing.iter().filter(|e| name_words(e) == words).collect();
        if similar.is_empty() {
            continue;
        }
        let list: Vec<String> = similar.iter().map(|n| format!("* {n}")).collect();
        messages.push(format!(
            "This is the first time a pact has been published for \"{name}\".\n\
             The name \"{name}\" is very similar to the following existing pacticipants:\n\
             {}\n\
             If you meant to specify one of the above names, please correct the pact configuration, and re-publish the pact.\n\
             If the pact is intended to be for a new consumer or provider, please manually create \"{name}\" using the following command from the Pact Broker CLI, and then re-publish the pact:\n\
             \n\
             pact-broker create-or-update-pacticipant --name \"{name}\" --broker-base-url {base_url}\n\
             \n\
             For information on the Pact Broker CLI see https://docs.pact.io/go/pbc-cli\n\
             To disable this check, set `check_for_potential_duplicate_pacticipant_names` to false in the configuration.\n",
            list.join("\n")
        ));
    }
    Ok(messages)
}

/// The events a publication raised (the broker's `create_pact` / `create_pact_revision` and its
/// webhook event listener). `previous_sha` is the consumer version's content before, if any.
pub async fn publication_events(
    conn: &mut PgConnection,
    tenant: &TenantContext,
    pact: &PublishedPact,
    previous_sha: Option<&str>,
    build_url: Option<&str>,
    branch: Option<&str>,
) -> Result<Vec<Event>> {
    let (tags, branches) =
        pact_store::version_tags_and_branches(conn, pact.consumer_version_id).await?;
    let event = |name: EventName, comment: Option<String>| Event {
        name,
        comment,
        tenant_id: tenant.route.tenant_id,
        base_url: tenant.base_url.to_string(),
        consumer: pact.consumer_name.clone(),
        provider: pact.provider_name.clone(),
        pact_publication_id: pact.pact_publication_id,
        pact_version_sha: pact.sha.clone(),
        consumer_version_number: pact.consumer_version_number.clone(),
        consumer_version_tags: tags.clone(),
        consumer_version_branch: branch
            .map(str::to_owned)
            .or_else(|| branches.first().cloned()),
        build_url: build_url.map(str::to_owned),
        provider_version_number: None,
        provider_version_descriptions: Vec::new(),
        verification: None,
    };
    let mut events = Vec::new();
    match previous_sha {
        Some(previous) => {
            events.push(event(EventName::ContractPublished, None));
            if previous != pact.sha {
                events.push(event(
                    EventName::ContractContentChanged,
                    Some(format!(
                        "pact content modified since previous publication for {} version {}",
                        pact.consumer_name, pact.consumer_version_number
                    )),
                ));
            } else {
                events.push(event(
                    EventName::ContractContentUnchanged,
                    Some("pact content was unchanged".into()),
                ));
            }
        }
        None => {
            let previous = pact_store::previous_shas_by_tag(conn, pact, &tags).await?;
            let changed: Vec<String> = previous
                .iter()
                .filter(|(_, sha)| sha.as_deref() != Some(pact.sha.as_str()))
                .map(|(tag, sha)| match (tag, sha) {
                    (None, Some(_)) => "pact content has changed since previous untagged version".to_owned(),
                    (None, None) => "first time untagged pact published".to_owned(),
                    (Some(tag), Some(_)) => format!("pact content has changed since the last consumer version tagged with {tag}"),
                    (Some(tag), None) => format!("first time any pact published for this consumer with consumer version tagged {tag}"),
                })
                .collect();
            if changed.is_empty() {
                let comment = if tags.len() == 1 {
                    format!("pact content is the same as previous version with tag {} and no new tags were applied", tags[0])
                } else {
                    format!("pact content is the same as previous versions with tags {} and no new tags were applied", tags.join(", "))
                };
                events.push(event(EventName::ContractPublished, Some(comment)));
            } else {
                events.push(event(EventName::ContractPublished, None));
                events.push(event(
                    EventName::ContractContentChanged,
                    Some(changed.join(", ")),
                ));
            }
        }
    }
    for (number, descriptions) in
        pact_store::required_verifications(conn, pact.provider_id, pact.pact_version_id).await?
    {
        let mut required = event(EventName::ContractRequiringVerificationPublished, None);
        required.provider_version_number = Some(number);
        required.provider_version_descriptions = descriptions;
        events.push(required);
    }
    Ok(events)
}

/// Checks the names in a pact against the names in its URL (`PutPactParamsContract`).
fn check_names(document: &PactDocument, provider: &str, consumer: &str) -> Result<()> {
    let mut errors = FieldErrors::new();
    for (role, in_path, in_pact) in [
        ("consumer", consumer, document.consumer_name()),
        ("provider", provider, document.provider_name()),
    ] {
        if in_path.trim().is_empty() {
            errors
                .entry(format!("{role}.name"))
                .or_default()
                .push("cannot be blank".into());
        }
        if let Some(in_pact) = in_pact.filter(|n| !n.trim().is_empty() && *n != in_path) {
            errors
                .entry(format!("{role}.name"))
                .or_default()
                .push(format!(
                    "name in pact '{in_pact}' does not match name in URL path '{in_path}'."
                ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

/// `PUT /pacts/provider/{provider}/consumer/{consumer}/version/{version}`: 201 when the consumer
/// version had no pact with this provider, 200 when it had this content; 409 for other content.
pub async fn put_pact(
    tenant: TenantContext,
    PathParams((provider, consumer, number)): PathParams<(String, String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Response> {
    write_pact(tenant, provider, consumer, number, &body, Mode::Refuse).await
}

/// `PATCH …/version/{version}`: merges the interactions into the existing pact (409 when one
/// with the same description and state has a different request), or creates it.
pub async fn patch_pact(
    tenant: TenantContext,
    PathParams((provider, consumer, number)): PathParams<(String, String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Response> {
    write_pact(tenant, provider, consumer, number, &body, Mode::Merge).await
}

async fn write_pact(
    tenant: TenantContext,
    provider: String,
    consumer: String,
    number: String,
    body: &[u8],
    mode: Mode,
) -> Result<Response> {
    let document = PactDocument::parse(body).map_err(Error::BadRequest)?;
    check_names(&document, &provider, &consumer)?;
    if number.trim().is_empty() {
        return Err(Error::field("consumer_version_number", "cannot be blank"));
    }
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    pact_store::plan_for_oltp(&mut tx).await?;
    let duplicates =
        potential_duplicate_messages(&mut tx, &[&consumer, &provider], &tenant.base_url).await?;
    if !duplicates.is_empty() {
        return Err(Error::PotentialDuplicateNames(duplicates.join("\n")));
    }
    let existing = pact_store::for_consumer_version(&mut tx, &provider, &consumer, &number).await?;
    if let (Mode::Merge, Some(existing)) = (mode, &existing) {
        let stored = PactDocument::parse(existing.content.as_bytes())
            .map_err(|err| Error::Internal(anyhow::anyhow!("stored pact: {err}")))?;
        if stored.merge_conflicts_with(&document) {
            return Err(Error::Conflict {
                message: format!(
                    "The interactions of the pact for {consumer} version {number} and provider {provider} \
                     cannot be merged: an interaction with the same description and provider state has a different request"
                ),
                body: None,
            });
        }
    }
    // Both pacticipants first, in name order, so concurrent publications lock them in one order.
    let consumer_row = pacticipants::find_or_create_all(&mut tx, &[&consumer, &provider])
        .await?
        .into_iter()
        .find(|p| p.name == consumer)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("consumer not created")))?;
    let (version, _) =
        versions::find_or_create(&mut tx, consumer_row.pacticipant_id, &number).await?;
    let limit = IntegrationLimit::of(&tenant);
    let published = publish_document(
        &mut tx,
        &consumer_row,
        &version,
        &provider,
        &document,
        mode,
        &limit,
    )
    .await?;
    let Some(pact) = published.pact else {
        return Err(Error::Conflict {
            message: conflict_message(&consumer, &number, &provider),
            body: None,
        });
    };
    let previous_sha = published.previous.as_ref().map(|p| p.sha.as_str());
    let events = publication_events(&mut tx, &tenant, &pact, previous_sha, None, None).await?;
    tx.commit().await?;
    tenant.publish_events(&events);

    let body = HalText(pact_document_body(&tenant.base_url, &pact, None, None));
    Ok(match published.publication {
        Publication::Created { .. } => hal::created(links::pact_url(&tenant.base_url, &pact), body),
        _ => body.into_response(),
    })
}

/// `DELETE …/version/{version}`: removes the consumer version's pact (every revision); 200 with
/// links to the index and the latest remaining pact.
pub async fn delete_pact(
    tenant: TenantContext,
    PathParams((provider, consumer, number)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = pact_store::for_consumer_version(&mut conn, &provider, &consumer, &number)
        .await?
        .ok_or_else(|| not_found(&consumer, &number, &provider))?;
    pact_store::delete_publications(&mut conn, &[pact.pact_publication_id]).await?;
    post_deletion_response(&tenant.base_url, &mut conn, &provider, &consumer).await
}

/// The broker's body after deleting pacts: the index, and the latest pact left.
pub async fn post_deletion_response(
    base: &str,
    conn: &mut PgConnection,
    provider: &str,
    consumer: &str,
) -> Result<Response> {
    let mut links = json!({ "index": { "href": base.trim_end_matches('/') } });
    if let Some(latest) =
        pact_store::latest(conn, provider, consumer, pact_store::Latest::Any).await?
    {
        links["pb:latest-pact-version"] =
            json!({ "href": links::latest_pact_url(base, &latest), "title": "Latest pact" });
    }
    Ok(HalBody(json!({ "_links": links })).into_response())
}

#[cfg(test)]
mod tests {
    use super::name_words;

    #[test]
    fn names_are_compared_word_by_word_like_the_broker() {
        assert_eq!(name_words("Pricing Service"), vec!["pricing"]);
        assert_eq!(name_words("pricing-service"), vec!["pricing"]);
        assert_eq!(name_words("PricingAPI"), vec!["pricing"]);
        assert_eq!(name_words("HTTPServer"), vec!["http", "server"]);
        assert_eq!(name_words("Foos"), name_words("foo"));
        assert_ne!(name_words("Foo Thing"), name_words("Foo"));
    }
}
