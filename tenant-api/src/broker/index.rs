//! `GET /`: the HAL entry point. Clients discover every other resource from these relations, and
//! several expand the templates by plain string substitution, so names, templates and the
//! `templated` flags are exactly the broker's (`pact-broker-api.md` §2).

use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::http::hal::{curies, HalBody};
use crate::error::Result;
use crate::gate::TenantContext;
use crate::state::AppState;

/// The entry point.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(get_index))
}

/// (relation, path template, title, templated)
const RELATIONS: &[(&str, &str, &str, bool)] = &[
    ("pb:publish-pact", "/pacts/provider/{provider}/consumer/{consumer}/version/{consumerApplicationVersion}", "Publish a pact", true),
    ("pb:publish-contracts", "/contracts/publish", "Publish contracts", false),
    ("pb:latest-pact-versions", "/pacts/latest", "Latest pact versions", false),
    ("pb:tagged-pact-versions", "/pacts/provider/{provider}/consumer/{consumer}/tag/{tag}", "All versions of a pact for a given consumer, provider and consumer version tag", false),
    ("pb:branch-pact-versions", "/pacts/provider/{provider}/consumer/{consumer}/branch/{branch}", "All versions of a pact for a given consumer, provider and consumer version branch", true),
    ("pb:latest-branch-pact-versions", "/pacts/provider/{provider}/consumer/{consumer}/branch/{branch}/latest/versions", "Latest versions of a pact for a given consumer, provider and consumer version branch", true),
    ("pb:main-branch-pact-versions", "/pacts/provider/{provider}/consumer/{consumer}/branch/versions", "All versions of a pact for a given consumer, provider and the consumer main branch", true),
    ("pb:latest-main-branch-pact-versions", "/pacts/provider/{provider}/consumer/{consumer}/branch/latest/versions", "Latest versions of a pact for a given consumer, provider and the consumer main branch", true),
    ("pb:provider-pacts-with-main-branch", "/pacts/provider/{provider}/branch", "All pact versions for the provider with the consumer main branch", true),
    ("pb:provider-pacts-with-branch", "/pacts/provider/{provider}/branch/{branch}", "All pact versions for the provider with the specified consumer branch", true),
    ("pb:latest-provider-pacts-with-main-branch", "/pacts/provider/{provider}/branch/latest", "Latest pact versions for the provider with the consumer main branch", true),
    ("pb:latest-provider-pacts-with-branch", "/pacts/provider/{provider}/branch/{branch}/latest", "Latest pact versions for the provider with the specified consumer branch", true),
    ("pb:pacticipants", "/pacticipants", "Pacticipants", false),
    ("pb:pacticipant", "/pacticipants/{pacticipant}", "Fetch pacticipant by name", true),
    ("pb:latest-provider-pacts", "/pacts/provider/{provider}/latest", "Latest pacts by provider", true),
    ("pb:latest-provider-pacts-with-tag", "/pacts/provider/{provider}/latest/{tag}", "Latest pacts for provider with the specified tag", true),
    ("pb:provider-pacts-with-tag", "/pacts/provider/{provider}/tag/{tag}", "All pact versions for the provider with the specified consumer version tag", true),
    ("pb:provider-pacts", "/pacts/provider/{provider}", "All pact versions for the specified provider", true),
    ("pb:latest-version", "/pacticipants/{pacticipant}/latest-version", "Latest pacticipant version", true),
    ("pb:latest-tagged-version", "/pacticipants/{pacticipant}/latest-version/{tag}", "Latest pacticipant version with the specified tag", true),
    ("pb:webhooks", "/webhooks", "Webhooks", false),
    ("pb:webhook", "/webhooks/{uuid}", "Webhook", true),
    ("pb:integrations", "/integrations", "Integrations", false),
    ("pb:pacticipant-version-tag", "/pacticipants/{pacticipant}/versions/{version}/tags/{tag}", "Get, create or delete a tag for a pacticipant version", true),
    ("pb:pacticipant-branch", "/pacticipants/{pacticipant}/branches/{branch}", "Get or delete a pacticipant branch", true),
    ("pb:pacticipant-branch-version", "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}", "Get or add/create a pacticipant version for a branch", true),
    ("pb:pacticipant-version", "/pacticipants/{pacticipant}/versions/{version}", "Get, create or delete a pacticipant version", true),
    ("pb:metrics", "/metrics", "Get Pact Broker metrics", false),
    ("pb:can-i-deploy-pacticipant-version-to-tag", "/can-i-deploy?pacticipant={pacticipant}&version={version}&to={tag}", "Determine if an application version can be safely deployed to an environment identified by the given tag", true),
    ("pb:can-i-deploy-pacticipant-version-to-environment", "/can-i-deploy?pacticipant={pacticipant}&version={version}&environment={environment}", "Determine if an application version can be safely deployed to an environment", true),
    ("pb:provider-pacts-for-verification", "/pacts/provider/{provider}/for-verification", "Pact versions to be verified for the specified provider", true),
    ("pb:environments", "/environments", "Environments", false),
    ("pb:environment", "/environments/{uuid}", "Environment", true),
];

/// The index document for a tenant whose links start with `base`.
pub fn index_document(base: &str) -> Value {
    let base = base.trim_end_matches('/');
    let mut links = Map::new();
    links.insert(
        "self".into(),
        json!({ "href": base, "title": "Index", "templated": false }),
    );
    for (rel, path, title, templated) in RELATIONS {
        links.insert(
            (*rel).into(),
            json!({ "href": format!("{base}{path}"), "title": title, "templated": templated }),
        );
    }
    // Deprecated alias some verifiers still look for.
    links.insert(
        "beta:provider-pacts-for-verification".into(),
        json!({ "name": "beta", "href": format!("{base}/pacts/provider/{{provider}}/for-verification"), "title": "DEPRECATED - please use pb:provider-pacts-for-verification", "templated": true }),
    );
    let mut curies = curies(base);
    if let Value::Array(entries) = &mut curies {
        entries.push(json!({ "name": "beta", "href": format!("{base}/doc/{{rel}}?context=index"), "templated": true }));
    }
    links.insert("curies".into(), curies);
    json!({ "_links": links })
}

/// `GET /`.
pub async fn get_index(tenant: TenantContext) -> Result<HalBody> {
    Ok(HalBody(index_document(&tenant.base_url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relation_is_absolute_and_keeps_its_template() {
        let doc = index_document("http://acme.localhost:9292/");
        let links = doc["_links"].as_object().unwrap();
        assert_eq!(links["self"]["href"], "http://acme.localhost:9292");
        assert_eq!(
            links["pb:publish-pact"]["href"],
            "http://acme.localhost:9292/pacts/provider/{provider}/consumer/{consumer}/version/{consumerApplicationVersion}"
        );
        assert_eq!(links["pb:tagged-pact-versions"]["templated"], false);
        assert_eq!(links["pb:publish-contracts"]["templated"], false);
        for (rel, link) in links.iter().filter(|(rel, _)| *rel != "curies") {
            assert!(
                link["href"]
                    .as_str()
                    .unwrap()
                    .starts_with("http://acme.localhost:9292"),
                "{rel}"
            );
        }
    }
}
