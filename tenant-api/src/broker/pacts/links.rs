//! The URLs of pact resources and the `_links` of a pact, as the broker builds them
//! (`PactBrokerUrls`, `PactDecorator`).

use serde_json::{json, Value};

use crate::broker::http::hal;
use crate::broker::metadata::{self, Nested};
use crate::broker::store::pacts::PactRef;

/// `<base>/pacts/provider/{provider}/consumer/{consumer}` followed by `rest`.
pub fn integration_url(base: &str, provider: &str, consumer: &str, rest: &[&str]) -> String {
    let mut segments = vec!["pacts", "provider", provider, "consumer", consumer];
    segments.extend_from_slice(rest);
    hal::url(base, &segments)
}

/// The pact of a consumer version.
pub fn pact_url(base: &str, pact: &PactRef) -> String {
    integration_url(
        base,
        &pact.provider_name,
        &pact.consumer_name,
        &["version", &pact.consumer_version_number],
    )
}

/// The latest pact of the integration.
pub fn latest_pact_url(base: &str, pact: &PactRef) -> String {
    integration_url(base, &pact.provider_name, &pact.consumer_name, &["latest"])
}

/// The permalink of the content.
pub fn pact_version_url(base: &str, pact: &PactRef) -> String {
    integration_url(
        base,
        &pact.provider_name,
        &pact.consumer_name,
        &["pact-version", &pact.sha],
    )
}

/// The permalink with metadata (none when the metadata is empty).
pub fn pact_version_url_with_metadata(base: &str, pact: &PactRef, metadata: &Nested) -> String {
    match metadata {
        Nested::Hash(entries) if entries.is_empty() => pact_version_url(base, pact),
        metadata => format!(
            "{}/metadata/{}",
            pact_version_url(base, pact),
            metadata::encode(metadata)
        ),
    }
}

/// Where to POST verification results, keeping the metadata the pact was fetched with.
pub fn verification_publication_url(base: &str, pact: &PactRef, metadata: Option<&str>) -> String {
    let mut url = pact_version_url(base, pact);
    if let Some(segment) = metadata {
        url.push_str("/metadata/");
        url.push_str(segment);
    }
    url.push_str("/verification-results");
    url
}

/// A consumer or provider version's URL.
pub fn version_url(base: &str, pacticipant: &str, number: &str) -> String {
    hal::url(base, &["pacticipants", pacticipant, "versions", number])
}

/// `/matrix?q[][pacticipant]=C&q[][version]=V&latestby=cvpv`, encoded as Rack encodes it.
pub fn matrix_for_consumer_version_url(base: &str, consumer: &str, number: &str) -> String {
    let query = Nested::Hash(vec![
        (
            "q".into(),
            Nested::List(vec![Nested::Hash(vec![
                ("pacticipant".into(), Nested::str(consumer)),
                ("version".into(), Nested::str(number)),
            ])]),
        ),
        ("latestby".into(), Nested::str("cvpv")),
    ]);
    format!("{}/matrix?{}", base.trim_end_matches('/'), query.to_query())
}

/// The `curies` of pact resources (`context=pact`).
pub fn pact_curies(base: &str, context: &str) -> Value {
    json!([{ "name": "pb", "href": format!("{}/doc/{{rel}}?context={context}", base.trim_end_matches('/')), "templated": true }])
}

/// The `_links` of a pact document. `metadata` is the metadata segment the pact was requested
/// with (echoed into the verification publication link); `consumer_versions` are the consumer
/// versions that metadata named (newest first).
pub fn pact_links(
    base: &str,
    pact: &PactRef,
    metadata: Option<&str>,
    consumer_versions: Option<&[String]>,
) -> Value {
    let (consumer, provider, number) = (
        pact.consumer_name.as_str(),
        pact.provider_name.as_str(),
        pact.consumer_version_number.as_str(),
    );
    let this = pact_url(base, pact);
    let tags_url = format!("{}/tags", version_url(base, consumer, number));
    let mut links = json!({
        "self": { "title": "Pact", "name": pact.name(), "href": this },
        "pb:consumer": hal::named_link(hal::url(base, &["pacticipants", consumer]), "Consumer", consumer),
        "pb:consumer-version": hal::named_link(version_url(base, consumer, number), "Consumer version", number),
        "pb:provider": hal::named_link(hal::url(base, &["pacticipants", provider]), "Provider", provider),
        "pb:pact-version": hal::named_link(pact_version_url(base, pact), "Pact content version permalink", &pact.sha),
        "pb:latest-pact-version": { "title": "Latest version of this pact", "href": latest_pact_url(base, pact) },
        "pb:all-pact-versions": { "title": "All versions of this pact", "href": integration_url(base, provider, consumer, &["versions"]) },
        "pb:latest-untagged-pact-version": { "title": "Latest untagged version of this pact", "href": integration_url(base, provider, consumer, &["latest-untagged"]) },
        "pb:latest-tagged-pact-version": { "title": "Latest tagged version of this pact", "href": format!("{}/{{tag}}", latest_pact_url(base, pact)), "templated": true },
        "pb:previous-distinct": { "title": "Previous distinct version of this pact", "href": format!("{this}/previous-distinct") },
        "pb:diff-previous-distinct": { "title": "Diff with previous distinct version of this pact", "href": format!("{this}/diff/previous-distinct") },
        "pb:diff": { "title": "Diff with another specified version of this pact", "href": format!("{}/diff/pact-version/{{pactVersion}}", pact_version_url(base, pact)), "templated": true },
        "pb:pact-webhooks": {
            "title": format!("Webhooks for the pact between {consumer} and {provider}"),
            "href": hal::url(base, &["webhooks", "provider", provider, "consumer", consumer]),
        },
        // The broker declares this relation twice; its second declaration (the provider's
        // webhooks, under the consumer-webhooks path) is the one it renders.
        "pb:consumer-webhooks": {
            "title": format!("Webhooks for all pacts with provider {provider}"),
            "href": hal::url(base, &["webhooks", "consumer", provider]),
        },
        "pb:tag-prod-version": { "title": "PUT to this resource to tag this consumer version as 'production'", "href": format!("{tags_url}/prod") },
        "pb:tag-version": { "title": "PUT to this resource to tag this consumer version", "href": format!("{tags_url}/{{tag}}") },
        "pb:publish-verification-results": { "title": "Publish verification results", "href": verification_publication_url(base, pact, metadata) },
        "pb:latest-verification-results": { "href": format!("{}/verification-results/latest", pact_version_url(base, pact)) },
        "pb:triggered-webhooks": { "title": "Webhooks triggered by the publication of this pact", "href": format!("{this}/triggered-webhooks") },
        "pb:matrix-for-consumer-version": {
            "title": "View matrix rows for the consumer version to which this pact belongs",
            "href": matrix_for_consumer_version_url(base, consumer, number),
        },
        "curies": pact_curies(base, "pact"),
    });
    if let Some(versions) = consumer_versions {
        links["pb:consumer-versions"] = Value::Array(
            versions
                .iter()
                .map(|v| hal::named_link(version_url(base, consumer, v), "Consumer version", v))
                .collect(),
        );
    }
    links
}
