//! The tenant API's URL map: platform endpoints on any host, the broker API behind the gate.
//!
//! The platform routes are registered through `utoipa_axum::routes!`, which reads each method and
//! path from the handler's `#[utoipa::path]` annotation: [`platform`] is at once their router and
//! the OpenAPI document of Treaty's additions ([`crate::openapi`] holds its fixed parts;
//! [`get_document`] serves it).

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::Error;
use crate::state::AppState;
use crate::{broker, diagnostics, gate, http, openapi};

/// The routes beside the broker API, served on any host, with their description.
pub fn platform() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(diagnostics::heartbeat))
        .routes(routes!(diagnostics::dependencies))
        .routes(routes!(get_document))
}

/// The whole document, built once.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let (_, openapi) = platform().split_for_parts();
        openapi::with_error_default(openapi)
            .to_pretty_json()
            .unwrap_or_else(|err| {
                format!("{{\"error\": \"the document does not serialise: {err}\"}}")
            })
    });
    &DOCUMENT
}

/// `GET /openapi`: this document.
#[utoipa::path(
    get,
    path = "/openapi",
    tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document of Treaty's additions", content_type = "application/json", body = serde_json::Value)),
)]
pub async fn get_document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

pub fn router(state: AppState) -> Router {
    // `layer`, not `route_layer`: the gate also guards the broker routes' 405 and OPTIONS
    // answers (the broker authenticates before it looks at the method).
    let broker = broker::router().layer(axum::middleware::from_fn_with_state(
        state.clone(),
        gate::tenant_gate,
    ));
    let (platform, _) = platform().split_for_parts();
    let app = platform
        .merge(broker)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(
            broker::http::headers::broker_headers,
        ))
        .with_state(state.clone());
    let app = broker::http::rewrite::before_routing(app, state.config.clone());
    http::layers(app, &state.config)
}

async fn not_found(uri: axum::http::Uri) -> Error {
    Error::NotFound(format!("no resource at {}", uri.path()))
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}
