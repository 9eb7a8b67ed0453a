//! The control plane's URL map.

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::error::Error;
use crate::state::AppState;
use crate::{http, signup};

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/signup", post(signup::create_signup))
        .route("/api/signups/{id}", get(signup::get_signup))
        .route("/health", get(health));
    http::layers(api, &state.config)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

/// Liveness: answers without touching anything.
async fn health() -> &'static str {
    "ok"
}

async fn not_found(uri: axum::http::Uri) -> Error {
    Error::NotFound(format!("no resource at {}", uri.path()))
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}
