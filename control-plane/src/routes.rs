//! The control plane's URL map.
//!
//! Every route is registered through `utoipa_axum::routes!`, which reads its method and path from
//! the handler's `#[utoipa::path]` annotation: [`api`] is at once the router and the OpenAPI
//! document ([`crate::openapi`] holds its fixed parts; [`get_document`] serves it), so what is
//! served and what is described cannot drift apart.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::billing;
use crate::error::Error;
use crate::identity::{api_tokens, invitations, login, password_reset, system_accounts, users};
use crate::signup::{confirmation, create, status};
use crate::state::AppState;
use crate::{audit, http, openapi};

/// Every route with its description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(create::create_signup))
        .routes(routes!(status::get_signup))
        .routes(routes!(
            confirmation::confirm_signup_link,
            confirmation::confirm_signup
        ))
        .routes(routes!(confirmation::resend_confirmation))
        .routes(routes!(login::create_session))
        .routes(routes!(login::delete_session))
        .routes(routes!(login::get_current_user))
        .routes(routes!(password_reset::request_password_reset))
        .routes(routes!(password_reset::reset_password))
        .routes(routes!(
            invitations::get_invitation,
            invitations::accept_invitation
        ))
        .routes(routes!(api_tokens::list_tokens, api_tokens::create_token))
        .routes(routes!(api_tokens::delete_token))
        .routes(routes!(api_tokens::regenerate_token))
        .routes(routes!(users::list_users))
        .routes(routes!(users::invite_user))
        .routes(routes!(
            users::get_user,
            users::update_user,
            users::delete_user
        ))
        .routes(routes!(
            system_accounts::list_system_accounts,
            system_accounts::create_system_account
        ))
        .routes(routes!(
            system_accounts::get_system_account,
            system_accounts::update_system_account,
            system_accounts::delete_system_account
        ))
        .routes(routes!(
            system_accounts::list_system_account_tokens,
            system_accounts::create_system_account_token
        ))
        .routes(routes!(system_accounts::delete_system_account_token))
        .routes(routes!(system_accounts::regenerate_system_account_token))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(billing::api::get_billing))
        .routes(routes!(billing::api::create_checkout))
        .routes(routes!(billing::api::create_portal))
        .routes(routes!(billing::api::set_plan))
        // Its larger body limit is applied by path: `http::STRIPE_EVENT_MAX_BYTES`.
        .routes(routes!(billing::webhooks::receive))
        .routes(routes!(get_document))
        .routes(routes!(health))
}

/// The whole document, built once.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let (_, openapi) = api().split_for_parts();
        openapi::with_problem_default(openapi)
            .to_pretty_json()
            .unwrap_or_else(|err| {
                format!("{{\"error\": \"the document does not serialise: {err}\"}}")
            })
    });
    &DOCUMENT
}

/// `GET /api/openapi.json`: this API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = serde_json::Value)),
)]
pub async fn get_document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

pub fn router(state: AppState) -> Router {
    let (api, _) = api().split_for_parts();
    http::layers(api, &state.config)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Liveness: answers without touching anything.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    responses((status = 200, description = "The control plane is up", content_type = "text/plain", body = String, example = "ok")),
)]
async fn health() -> &'static str {
    "ok"
}

async fn not_found(uri: axum::http::Uri) -> Error {
    Error::NotFound(format!("no resource at {}", uri.path()))
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}
