//! Integrations: `GET /integrations` (HAL or a Graphviz graph), `DELETE /integrations` (all
//! contract data) and `DELETE /integrations/provider/{p}/consumer/{c}` (one pair's).

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use serde_json::{json, Value};
use sqlx::Connection;

use super::http::extract::{PathParams, QueryParams};
use super::http::hal::{self, HalBody};
use super::http::negotiate::Negotiated;
use super::http::pagination::{Page, Pagination};
use super::store::integrations::{self as store, IntegrationRecord};
use super::store::pacticipants;
use crate::error::{Error, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// Integrations, and deleting one.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/integrations",
            get(list_integrations).delete(delete_integrations),
        )
        .route(
            "/integrations/provider/{provider}/consumer/{consumer}",
            delete(delete_integration),
        )
}

const GRAPHVIZ: &str = "text/vnd.graphviz";

fn integration_json(base: &str, integration: &IntegrationRecord) -> Value {
    let consumer = integration.consumer_name.as_str();
    let provider = integration.provider_name.as_str();
    json!({
        "consumer": { "name": consumer },
        "provider": { "name": provider },
        "_links": {
            "pb:dashboard": {
                "title": "BETA: Pacts to show on the dashboard",
                "href": hal::url(base, &["dashboard", "provider", provider, "consumer", consumer]),
            },
            "pb:matrix": {
                "title": format!("Matrix of pacts/verification results for {consumer} and {provider}"),
                "href": hal::url(base, &["matrix", "provider", provider, "consumer", consumer]),
            },
            "pb:group": { "href": hal::url(base, &["pacticipants", consumer]) },
            "pb:delete_integration": {
                "title": format!("Delete the integration between {consumer} and {provider}"),
                "href": hal::url(base, &["integrations", "provider", provider, "consumer", consumer]),
            },
        },
    })
}

/// The integrations as a Graphviz graph (names with spaces use underscores).
fn graphviz(integrations: &[IntegrationRecord]) -> String {
    let edges: Vec<String> = integrations
        .iter()
        .map(|i| {
            format!(
                "  {} -> {}",
                i.consumer_name.replace(' ', "_"),
                i.provider_name.replace(' ', "_")
            )
        })
        .collect();
    format!(
        "digraph {{ ranksep=3; ratio=auto; overlap=false; node [  shape = plaintext, fontname = Helvetica ];\n{}\n}}\n",
        edges.join("\n")
    )
}

/// `GET /integrations`: most recently changed first; `?q=` matches either name; paginated on
/// request. `Accept: text/vnd.graphviz` gets a dot graph instead of HAL.
pub async fn list_integrations(
    tenant: TenantContext,
    Negotiated(media_type): Negotiated,
    Pagination(page): Pagination,
    query: QueryParams,
    uri: Uri,
) -> Result<Response> {
    let base = tenant.base_url.as_ref();
    let mut conn = tenant.db().await?;
    let filter = query.get("q").filter(|q| !q.is_empty());
    let (integrations, total) =
        store::list(&mut conn, filter, page.map(|p| (p.limit(), p.offset()))).await?;
    if media_type == GRAPHVIZ {
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/vnd.graphviz;charset=utf-8"),
            )],
            graphviz(&integrations),
        )
            .into_response());
    }
    let resource_url = hal::resource_url(base, &uri);
    let entries: Vec<Value> = integrations
        .iter()
        .map(|i| integration_json(base, i))
        .collect();
    let mut document = json!({
        "_embedded": { "integrations": entries },
        "_links": { "self": { "href": resource_url, "title": "All integrations" } },
    });
    if let Some(page) = Page::answer(page, total, integrations.len()) {
        page.decorate(&mut document, &resource_url);
    }
    Ok(HalBody(document).into_response())
}

/// `DELETE /integrations`: deletes every pacticipant with all its contract data, as the
/// broker's does (environments stay).
pub async fn delete_integrations(tenant: TenantContext) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    store::delete_all(&mut conn).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /integrations/provider/{provider}/consumer/{consumer}`: deletes the pair's pacts,
/// verifications and integration, versions left with no contract data, and pacticipants left
/// with nothing.
pub async fn delete_integration(
    tenant: TenantContext,
    PathParams((provider, consumer)): PathParams<(String, String)>,
) -> Result<StatusCode> {
    let mut conn = tenant.db().await?;
    let mut tx = conn.begin().await?;
    let consumer_row = pacticipants::find(&mut tx, &consumer)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No consumer with name '{consumer}' found")))?;
    let provider_row = pacticipants::find(&mut tx, &provider)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No provider with name '{provider}' found")))?;
    store::delete_between(
        &mut tx,
        consumer_row.pacticipant_id,
        provider_row.pacticipant_id,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_has_one_edge_per_integration() {
        let integration = |c: &str, p: &str| IntegrationRecord {
            consumer_name: c.into(),
            provider_name: p.into(),
        };
        let dot = graphviz(&[integration("Web App", "Orders"), integration("Foo", "Bar")]);
        assert_eq!(
            dot,
            "digraph { ranksep=3; ratio=auto; overlap=false; node [  shape = plaintext, fontname = Helvetica ];\n  Web_App -> Orders\n  Foo -> Bar\n}\n"
        );
    }
}
