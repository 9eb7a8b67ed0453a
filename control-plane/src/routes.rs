//! The control plane's URL map.

use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::billing;
use crate::error::Error;
use crate::state::AppState;
use crate::{
    api_tokens, audit, confirmation, http, invitations, login, password_reset, signup,
    system_accounts, users,
};

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/signup", post(signup::create_signup))
        .route("/api/signups/{id}", get(signup::get_signup))
        .route(
            "/api/signup/confirm",
            get(confirmation::confirm_signup_link).post(confirmation::confirm_signup),
        )
        .route(
            "/api/signup/resend-confirmation",
            post(confirmation::resend_confirmation),
        )
        .route("/api/login", post(login::create_session))
        .route("/api/logout", post(login::delete_session))
        .route("/api/user", get(login::get_current_user))
        .route(
            "/api/password-reset",
            post(password_reset::request_password_reset),
        )
        .route(
            "/api/password-reset/confirm",
            post(password_reset::reset_password),
        )
        .route(
            "/api/invitations/accept",
            get(invitations::get_invitation).post(invitations::accept_invitation),
        )
        .route(
            "/api/settings/tokens",
            get(api_tokens::list_tokens).post(api_tokens::create_token),
        )
        .route(
            "/api/settings/tokens/{id}",
            delete(api_tokens::delete_token),
        )
        .route(
            "/api/settings/tokens/{id}/regenerate",
            post(api_tokens::regenerate_token),
        )
        .route("/api/admin/users", get(users::list_users))
        .route("/api/admin/users/invite-user", post(users::invite_user))
        .route(
            "/api/admin/users/{id}",
            get(users::get_user)
                .put(users::update_user)
                .delete(users::delete_user),
        )
        .route(
            "/api/admin/system-accounts",
            get(system_accounts::list_system_accounts).post(system_accounts::create_system_account),
        )
        .route(
            "/api/admin/system-accounts/{id}",
            get(system_accounts::get_system_account)
                .put(system_accounts::update_system_account)
                .delete(system_accounts::delete_system_account),
        )
        .route(
            "/api/admin/system-accounts/{id}/tokens",
            get(system_accounts::list_system_account_tokens)
                .post(system_accounts::create_system_account_token),
        )
        .route(
            "/api/admin/system-accounts/{id}/tokens/{token}",
            delete(system_accounts::delete_system_account_token),
        )
        .route(
            "/api/admin/system-accounts/{id}/tokens/{token}/regenerate",
            post(system_accounts::regenerate_system_account_token),
        )
        .route("/api/audit", get(audit::list_audit_events))
        .route("/api/billing", get(billing::api::get_billing))
        .route("/api/billing/checkout", post(billing::api::create_checkout))
        .route("/api/billing/portal", post(billing::api::create_portal))
        .route("/api/billing/plan", put(billing::api::set_plan))
        .route(
            "/api/stripe/webhooks",
            // Its larger body limit: `http::STRIPE_EVENT_MAX_BYTES`.
            post(billing::webhooks::receive),
        )
        .route("/health", get(health));
    http::layers(api, &state.config)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
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
