//! Signup: an organisation claims a subdomain and gets a tenant.
//!
//! `POST /api/signup` validates, records the tenant (`requested`) and its first administrator in
//! one transaction, kicks the provisioning worker, e-mails a single-use confirmation link and
//! answers 202 with a status URL. No token is handed out here: once the address is confirmed
//! (see `confirmation`) the administrator signs in and creates tokens, and the tenant API serves
//! the tenant only when it is both provisioned and confirmed. `GET /api/signups/{id}` reports
//! progress; `?wait=N` holds the request until the tenant is ready (or N seconds, at most 30,
//! have passed), so scripts need no loop. Waiting costs no queries: the request sleeps until the
//! process's one listener hears that this tenant changed (see `tenant_changes`), and waiting
//! requests are rate-limited per client IP (`RATE_LIMIT_SIGNUP_WAIT`).

use std::time::Duration;

use axum::extract::{Path, State};
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
use crate::body::{JsonOrForm, QueryParams};
use crate::client_ip::ClientIp;
use crate::error::{Error, FieldErrors, Result};
use crate::identity::password;
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

        if organisation.chars().count() > 100 || organisation.chars().any(char::is_control) {
            errors
                .entry("organisation")
                .or_default()
                .push("must be at most 100 printable characters".into());
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

/// One `@`, a non-empty local part, a dotted domain, no white space, at most 254 characters.
pub fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Seconds to wait for the tenant to become ready.
    wait: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupStatus {
    #[schema(value_type = Uuid)]
    tenant_id: TenantId,
    subdomain: String,
    /// `requested`, `database_created`, `schema_applied`, `key_created`, `active`, `failed` or `suspended`.
    #[schema(value_type = String)]
    status: TenantStatus,
    /// Whether the signup e-mail address has been confirmed.
    confirmed: bool,
    /// Provisioned and confirmed: the tenant API serves it.
    ready: bool,
    base_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

const MAX_WAIT: Duration = Duration::from_secs(30);

/// Where a signup's tenant is in provisioning.
#[utoipa::path(
    get, path = "/api/signups/{id}", tag = "signup",
    params(("id" = Uuid, Path, description = "The tenant id from the signup answer"), StatusQuery),
    responses((status = 200, description = "Where the signup is", body = SignupStatus)),
)]
pub async fn get_signup(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<StatusQuery>,
) -> Result<impl IntoResponse> {
    let not_found = || Error::NotFound(format!("no signup {id:?}"));
    let tenant_id = Uuid::parse_str(&id)
        .map(TenantId)
        .map_err(|_| not_found())?;
    let wait = Duration::from_secs(query.wait.unwrap_or(0)).min(MAX_WAIT);
    if !wait.is_zero() {
        state
            .limiter
            .check(
                &format!("signup-wait:ip:{}", ip.key()),
                state.config.rate_limit_signup_wait,
            )
            .await?;
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut changes = state.tenant_changes.subscribe();
    loop {
        let tenant = registry::find(&state.db, tenant_id)
            .await?
            .ok_or_else(not_found)?;
        let confirmed = tenant.confirmed_at.is_some();
        let status = tenant.status();
        let ready = tenant.is_ready();
        if ready
            || !(status.is_provisioning() || status == TenantStatus::Active)
            || tokio::time::Instant::now() >= deadline
        {
            let subdomain = Subdomain::parse(&tenant.subdomain)
                .map_err(|e| anyhow::anyhow!("stored subdomain: {e}"))?;
            let body = SignupStatus {
                tenant_id,
                subdomain: tenant.subdomain.clone(),
                status,
                confirmed,
                ready,
                base_url: state.config.tenant_urls.base_url(&subdomain),
                message: (status == TenantStatus::Failed).then_some(
                    "provisioning failed; the operators have been alerted and will retry it",
                ),
            };
            return Ok(Json(body));
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        changes
            .changed(
                tenant_id,
                left.min(crate::signup::tenant_changes::FALLBACK_CHECK),
            )
            .await;
    }
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

    #[test]
    fn e_mail_addresses_need_a_local_part_and_a_dotted_domain() {
        for good in ["a@b.co", "first.last+tag@example.org"] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in ["a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.co", "a@co."] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
