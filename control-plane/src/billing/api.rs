//! The billing endpoints of the control plane:
//!
//! * `GET /api/billing` — any signed-in person: the plan, its limits, seats and system accounts
//!   in use, the subscription and payment state, and the plans on offer;
//! * `POST /api/billing/checkout` — administrators: a Stripe Checkout Session (subscription
//!   mode, the tenant as `client_reference_id`, one line item of the plan's price, quantity =
//!   seats for per-seat plans) and its URL; the plan changes when Stripe says it was paid;
//! * `POST /api/billing/portal` — administrators: a Stripe billing portal session URL (cards,
//!   invoices, seats, cancellation);
//! * `PUT /api/billing/plan` — administrators, offline mode only: sets the plan directly.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use provisioning::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::account;
use super::entitlement;
use super::limits;
use super::payment_state::{self, PaymentState};
use super::plans::Plan;
use super::seats;
use super::settings::BillingMode;
use super::stripe_api::{LineItem, NewCheckoutSession, SubscriptionData, TenantMetadata};
use crate::audit::{self, Actor};
use crate::body::JsonOrForm;
use crate::client_ip::ClientIp;
use crate::error::{Error, Result};
use crate::identity::current_user::{Administrator, CurrentUser};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PlanView {
    id: String,
    name: String,
    per_seat: bool,
    self_service: bool,
    limits: Limits,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Limits {
    /// `null`: unlimited.
    integrations: Option<i64>,
    users: Option<i64>,
    system_accounts: Option<i64>,
}

impl From<&Plan> for PlanView {
    fn from(plan: &Plan) -> Self {
        Self {
            id: plan.id.clone(),
            name: plan.name.clone(),
            per_seat: plan.per_seat,
            self_service: plan.self_service,
            limits: Limits {
                integrations: plan.max_integrations,
                users: plan.max_users,
                system_accounts: plan.max_system_accounts,
            },
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SubscriptionView {
    id: String,
    status: Option<String>,
    quantity: Option<i32>,
    current_period_end: Option<DateTime<Utc>>,
    /// Cancelled in the portal: the plan lasts until `currentPeriodEnd`, then Starter.
    cancel_at_period_end: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingOverview {
    mode: &'static str,
    plan: PlanView,
    usage: Usage,
    /// `ok`, `grace` (a payment failed; writable until `graceEndsAt`) or `read_only`.
    state: &'static str,
    grace_ends_at: Option<DateTime<Utc>>,
    subscription: Option<SubscriptionView>,
    plans: Vec<PlanView>,
    #[serde(rename = "_links")]
    links: serde_json::Value,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Usage {
    /// Seats: people not deactivated, pending invitations included.
    users: i64,
    system_accounts: i64,
}

async fn overview(state: &AppState, tenant: TenantId) -> Result<BillingOverview> {
    let mut conn = state.db.acquire().await?;
    let (plan_id, billing_state): (String, String) =
        sqlx::query_as("select plan, billing_state from tenant where tenant_id = $1")
            .bind(tenant)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| Error::NotFound("this organisation no longer exists".into()))?;
    let account = account::load(&mut conn, tenant).await?;
    let users = seats::in_use(&mut conn, tenant).await?;
    let system_accounts: i64 = sqlx::query_scalar(
        "select count(*) from app_user where tenant_id = $1 and kind = 'system' and deactivated_at is null",
    )
    .bind(tenant)
    .fetch_one(&mut *conn)
    .await?;
    let public = state.config.public_url.trim_end_matches('/');
    let links = match state.billing.mode {
        BillingMode::Stripe => json!({
            "self": {"href": format!("{public}/api/billing")},
            "checkout": {"href": format!("{public}/api/billing/checkout"), "method": "POST"},
            "portal": {"href": format!("{public}/api/billing/portal"), "method": "POST"},
        }),
        BillingMode::Offline => json!({
            "self": {"href": format!("{public}/api/billing")},
            "plan": {"href": format!("{public}/api/billing/plan"), "method": "PUT"},
        }),
    };
    Ok(BillingOverview {
        mode: state.billing.mode.as_str(),
        plan: state.plans.get(&plan_id).into(),
        usage: Usage {
            users,
            system_accounts,
        },
        state: PaymentState::parse(&billing_state).as_str(),
        grace_ends_at: account.grace_ends_at,
        subscription: account
            .stripe_subscription_id
            .clone()
            .map(|id| SubscriptionView {
                id,
                status: account.subscription_status.clone(),
                quantity: account.subscription_quantity,
                current_period_end: account.current_period_end,
                cancel_at_period_end: account.cancel_at_period_end,
            }),
        plans: state.plans.all().map(PlanView::from).collect(),
        links,
    })
}

/// `GET /api/billing`.
#[utoipa::path(
    get, path = "/api/billing", tag = "billing", security(("session" = [])),
    responses((status = 200, description = "Plan, usage, payment state and the plans on offer", body = BillingOverview)),
)]
pub async fn get_billing(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<BillingOverview>> {
    Ok(Json(overview(&state, user.tenant_id).await?))
}

/// `POST /api/billing/checkout`'s answer.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutStarted {
    /// Where to send the administrator.
    url: String,
    session_id: String,
    plan: String,
    quantity: i64,
}

/// `POST /api/billing/portal`'s answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PortalLink {
    /// Where to send the administrator.
    url: String,
}

/// `POST /api/billing/checkout` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The plan to buy; optional when only one plan is sold through Checkout.
    plan: Option<String>,
}

/// The plan a checkout is for.
fn checkout_plan<'a>(state: &'a AppState, requested: Option<&str>) -> Result<&'a Plan> {
    let on_sale: Vec<&Plan> = state
        .plans
        .all()
        .filter(|p| p.self_service && p.stripe_price.is_some())
        .collect();
    let names = || {
        on_sale
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match requested {
        Some(id) => on_sale.iter().find(|p| p.id == id).copied().ok_or_else(|| {
            Error::field(
                "plan",
                format!("is not sold through Checkout; choose one of: {}", names()),
            )
        }),
        None if on_sale.len() == 1 => Ok(on_sale[0]),
        None => Err(Error::field(
            "plan",
            format!("is required; choose one of: {}", names()),
        )),
    }
}

/// `POST /api/billing/checkout`: a Checkout Session URL to pay for `plan`.
#[utoipa::path(
    post, path = "/api/billing/checkout", tag = "billing", security(("session" = [], "csrf" = [])),
    request_body(content((CheckoutRequest = "application/json"), (CheckoutRequest = "application/x-www-form-urlencoded"))),
    responses((status = 201, description = "A Stripe Checkout session to send the administrator to", body = CheckoutStarted)),
)]
pub async fn create_checkout(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<CheckoutRequest>,
) -> Result<impl IntoResponse> {
    let stripe = state.billing.stripe()?;
    let plan = checkout_plan(&state, request.plan.as_deref())?;
    let tenant = admin.tenant_id;
    let (quantity, previous) = {
        let mut conn = state.db.acquire().await?;
        let account = account::load(&mut conn, tenant).await?;
        if account.has_live_subscription() {
            return Err(Error::Conflict {
                code: "already_subscribed",
                message: "this organisation already has a subscription; change or cancel it in the billing portal (POST /api/billing/portal)".into(),
            });
        }
        let quantity = if plan.per_seat {
            seats::in_use(&mut conn, tenant).await?.max(1)
        } else {
            1
        };
        (quantity, account.stripe_subscription_id)
    };
    let customer = account::customer(&state, tenant, &admin.email).await?;
    let tenant_text = tenant.to_string();
    let price = plan.stripe_price.as_deref().unwrap_or_default();
    let separator = if state.billing.return_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let success_url = format!("{}{separator}checkout=success", state.billing.return_url);
    let cancel_url = format!("{}{separator}checkout=canceled", state.billing.return_url);
    // The same request within the hour (a double click, a retry) gets the same session; once a
    // subscription has come and gone, a new one gets a new session.
    let key = format!(
        "treaty-checkout-{tenant}-{}-{quantity}-{}-{}",
        plan.id,
        previous.as_deref().unwrap_or("new"),
        Utc::now().format("%Y%m%d%H")
    );
    let session = stripe
        .create_checkout_session(
            &NewCheckoutSession {
                mode: "subscription",
                customer: &customer,
                client_reference_id: &tenant_text,
                line_items: vec![LineItem { price, quantity }],
                success_url: &success_url,
                cancel_url: &cancel_url,
                metadata: TenantMetadata {
                    tenant_id: &tenant_text,
                },
                subscription_data: SubscriptionData {
                    metadata: TenantMetadata {
                        tenant_id: &tenant_text,
                    },
                },
            },
            &key,
        )
        .await?;
    let url = session.url.ok_or_else(|| {
        Error::PaymentProvider("Stripe returned a Checkout Session without a URL".into())
    })?;
    audit::record(
        &state.db,
        tenant,
        &Actor::user(&admin, &ip),
        "checkout_started",
        Some(&plan.id),
        json!({"plan": plan.id, "quantity": quantity, "session": session.id}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CheckoutStarted {
            url,
            session_id: session.id,
            plan: plan.id.clone(),
            quantity,
        }),
    ))
}

/// `POST /api/billing/portal`: a billing portal URL for the tenant's Stripe customer.
#[utoipa::path(
    post, path = "/api/billing/portal", tag = "billing", security(("session" = [], "csrf" = [])),
    responses((status = 201, description = "A Stripe billing portal session", body = PortalLink)),
)]
pub async fn create_portal(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
) -> Result<impl IntoResponse> {
    let stripe = state.billing.stripe()?;
    let customer = account::customer(&state, admin.tenant_id, &admin.email).await?;
    let session = stripe
        .create_portal_session(&customer, &state.billing.return_url)
        .await?;
    Ok((StatusCode::CREATED, Json(PortalLink { url: session.url })))
}

/// `PUT /api/billing/plan` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    plan: Option<String>,
}

/// `PUT /api/billing/plan` (offline mode): puts the tenant on `plan` at once.
#[utoipa::path(
    put, path = "/api/billing/plan", tag = "billing", security(("session" = [], "csrf" = [])),
    request_body(content((PlanRequest = "application/json"), (PlanRequest = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "The organisation is on the plan (offline billing only)", body = BillingOverview)),
)]
pub async fn set_plan(
    State(state): State<AppState>,
    Administrator(admin): Administrator,
    ip: ClientIp,
    JsonOrForm(request): JsonOrForm<PlanRequest>,
) -> Result<Json<BillingOverview>> {
    if state.billing.mode != BillingMode::Offline {
        return Err(Error::Conflict {
            code: "billing_managed_by_stripe",
            message: "plans change through Stripe: upgrade with POST /api/billing/checkout, \
                      change or cancel in the billing portal (POST /api/billing/portal)"
                .into(),
        });
    }
    let requested = request.plan.unwrap_or_default();
    let Some(plan) = state.plans.find(requested.trim()) else {
        let ids: Vec<&str> = state.plans.all().map(|p| p.id.as_str()).collect();
        return Err(Error::field(
            "plan",
            format!("must be one of: {}", ids.join(", ")),
        ));
    };
    let mut tx = state.db.begin().await?;
    limits::lock_tenant(&mut tx, admin.tenant_id).await?;
    if let Some(from) =
        entitlement::set_plan(&mut tx, &state.plans, admin.tenant_id, &plan.id).await?
    {
        entitlement::record_change(
            &mut tx,
            admin.tenant_id,
            &Actor::user(&admin, &ip),
            &from,
            plan,
            "offline",
        )
        .await?;
    }
    payment_state::clear(&mut tx, admin.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(overview(&state, admin.tenant_id).await?))
}
