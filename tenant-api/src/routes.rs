//! The tenant API's URL map: platform endpoints on any host, the broker API behind the gate.

use axum::routing::get;
use axum::Router;

use crate::error::Error;
use crate::state::AppState;
use crate::{broker, diagnostics, gate, http};

pub fn router(state: AppState) -> Router {
    // `layer`, not `route_layer`: the gate also guards the broker routes' 405 and OPTIONS
    // answers (the broker authenticates before it looks at the method).
    let broker = broker::router().layer(axum::middleware::from_fn_with_state(
        state.clone(),
        gate::tenant_gate,
    ));
    let app = Router::new()
        .route("/diagnostic/status/heartbeat", get(diagnostics::heartbeat))
        .route(
            "/diagnostic/status/dependencies",
            get(diagnostics::dependencies),
        )
        .merge(broker)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(
            broker::conventions::broker_headers,
        ))
        .with_state(state.clone());
    let app = broker::conventions::before_routing(app, state.config.clone());
    http::layers(app, &state.config)
}

async fn not_found(uri: axum::http::Uri) -> Error {
    Error::NotFound(format!("no resource at {}", uri.path()))
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}
