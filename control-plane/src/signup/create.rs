//! `POST /api/signup`: an organisation claims a subdomain and gets a tenant.
//!
//! Validates, records the tenant (`requested`) and its first administrator in one transaction,
//! kicks the provisioning worker, e-mails a single-use confirmation link and answers 202 with a
//! status URL ([`super::status`]). No token is handed out here: once the address is confirmed
//! ([`super::confirmation`]) the administrator signs in and creates tokens.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use provisioning::database_server::TenantDatabase;
use provisioning::registry::{self, NewTenant};
use provisioning::{Subdomain, TenantId, TenantStatus};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::body::JsonOrForm;
use crate::client_ip::ClientIp;
use crate::email_address::plausible_email;
use crate::error::{Error, FieldErrors, Result};
use crate::identity::password;
use crate::identity::principals::{is_printable_name, NAME_RULE};
use crate::signup::confirmation;
use crate::state::AppState;

/// `POST /api/signup` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organisation": "Acme", "subdomain": "acme", "email": "lead@acme.example", "password": "correct horse battery staple"}))]
pub struct SignupRequest {
    organisation: Option<String>,
    subdomain: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// A signup that passed validation.
struct ValidSignup {
    organisation: String,
    subdomain: Subdomain,
    email: String,
    password: SecretString,
}

impl SignupRequest {
    fn validate(self) -> Result<ValidSignup> {
        let mut errors = FieldErrors::new();
        let mut require = |field: &'static str, value: Option<String>| {
            let value = value.unwrap_or_default();
            if value.trim().is_empty() {
                errors.entry(field).or_default().push("is required".into());
            }
            value
        };
        let organisation = require("organisation", self.organisation).trim().to_owned();
        let subdomain_input = require("subdomain", self.subdomain);
        let email = require("email", self.email).trim().to_owned();
        let password = require("password", self.password);

        if !is_printable_name(&organisation) {
            errors
                .entry("organisation")
                .or_default()
                .push(NAME_RULE.into());
        }
        let subdomain = match Subdomain::parse(&subdomain_input) {
            Ok(subdomain) => Some(subdomain),
            Err(err) if !subdomain_input.trim().is_empty() => {
                errors.entry("subdomain").or_default().push(err.to_string());
                None
            }
            Err(_) => None,
        };
        if !email.is_empty() && !plausible_email(&email) {
            errors
                .entry("email")
                .or_default()
                .push("is not a valid e-mail address".into());
        }
        if !password.is_empty() {
            if let Some(weakness) = password::weakness(&password, &email) {
                errors.entry("password").or_default().push(weakness);
            }
        }
        match subdomain {
            Some(subdomain) if errors.is_empty() => Ok(ValidSignup {
                organisation,
                subdomain,
                email,
                password: SecretString::from(password),
            }),
            _ => Err(Error::Validation(errors)),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupResponse {
    #[schema(value_type = Uuid)]
    tenant_id: TenantId,
    subdomain: String,
    /// `requested`, `database_created`, `schema_applied`, `key_created`, `active`, `failed` or `suspended`.
    #[schema(value_type = String)]
    status: TenantStatus,
    status_url: String,
    base_url: String,
    message: &'static str,
}

/// Creates a tenant and its first administrator and e-mails the confirmation link; answers 202
/// with the status URL.
#[utoipa::path(
    post, path = "/api/signup", tag = "signup",
    request_body(content((SignupRequest = "application/json"), (SignupRequest = "application/x-www-form-urlencoded"))),
    responses((status = 202, description = "The organisation is being provisioned; confirm the e-mail address, then sign in", body = SignupResponse,
        headers(("Location" = String, description = "The signup's status URL")))),
)]
pub async fn create_signup(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<SignupRequest>,
) -> Result<impl IntoResponse> {
    state
        .limiter
        .check(
            &format!("signup:ip:{}", ip.key()),
            state.config.rate_limits.signup,
        )
        .await?;
    let signup = request.validate()?;
    let password_hash = password::hash(signup.password).await?;

    let tenant_id = TenantId::new();
    let user_id = Uuid::new_v4();
    let database = TenantDatabase::for_tenant(&state.config.tenant_db_prefix, tenant_id);
    let endpoint = state.provisioner.server().endpoint();

    let mut tx = state.db.begin().await?;
    let new = NewTenant {
        id: tenant_id,
        subdomain: &signup.subdomain,
        organisation: &signup.organisation,
        database: &database,
        endpoint: &endpoint,
    };
    registry::insert_requested(&mut tx, &new).await?;
    crate::billing::entitlement::set_plan(
        &mut tx,
        &state.plans,
        tenant_id,
        &state.plans.default_plan,
    )
    .await?;
    sqlx::query(
        "insert into app_user (user_id, tenant_id, email, password_hash, role)
         values ($1, $2, $3, $4, 'administrator')",
    )
    .bind(user_id)
    .bind(tenant_id)
    .bind(&signup.email)
    .bind(password_hash)
    .execute(&mut *tx)
    .await?;
    let mail = confirmation::confirmation_mail(
        &mut tx,
        &state,
        tenant_id,
        user_id,
        &signup.email,
        &signup.organisation,
    )
    .await?;
    audit::record(
        &mut *tx,
        tenant_id,
        &Actor::anonymous(Some(&signup.email), &ip).with_id(user_id),
        "signup",
        Some(signup.subdomain.as_str()),
        serde_json::json!({"organisation": signup.organisation}),
    )
    .await?;
    tx.commit().await?;
    state.mailer.send_in_background(mail, "confirmation");

    state.worker.kick(tenant_id);
    tracing::info!(tenant.id = %tenant_id, tenant.subdomain = %signup.subdomain, "tenant {tenant_id} signed up");

    let status_url = format!(
        "{}/api/signups/{tenant_id}",
        state.config.public_url.trim_end_matches('/')
    );
    let body = SignupResponse {
        tenant_id,
        subdomain: signup.subdomain.to_string(),
        status: TenantStatus::Requested,
        status_url: status_url.clone(),
        base_url: state.config.tenant_urls.base_url(&signup.subdomain),
        message: "check your e-mail: follow the confirmation link, then sign in (POST /api/login) and create API tokens",
    };
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, status_url)],
        Json(body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(organisation: &str, subdomain: &str, email: &str, password: &str) -> SignupRequest {
        SignupRequest {
            organisation: Some(organisation.into()),
            subdomain: Some(subdomain.into()),
            email: Some(email.into()),
            password: Some(password.into()),
        }
    }

    #[test]
    fn a_complete_signup_is_valid() {
        let valid = request(" Acme ", "Acme", "lead@acme.test", "correct horse")
            .validate()
            .unwrap();
        assert_eq!(valid.organisation, "Acme");
        assert_eq!(valid.subdomain.as_str(), "acme");
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let Err(Error::Validation(errors)) = request("", "www", "not-an-email", "short").validate()
        else {
            panic!("expected validation errors");
        };
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["email", "organisation", "password", "subdomain"]
        );
        assert_eq!(errors["subdomain"], ["\"www\" is reserved"]);
    }
}
