//! The tenant gate every broker request passes: host → tenant → status → token → scope.
//!
//! It resolves the tenant from the host (never from the path or body), refuses tenants that are
//! unknown (404), still provisioning, failed or not yet confirmed by e-mail (503 +
//! `Retry-After`) or suspended (403),
//! authenticates the token *for that tenant*, and enforces read-only scope — the token's, and
//! the tenant's when its subscription is unpaid past the grace period (402 on writes; reads and
//! verification fetches go on). What it establishes
//! travels as a [`TenantContext`] in the request's extensions; handlers take it as an extractor,
//! and its [`TenantContext::db`] is the only way to a tenant database connection.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use provisioning::api_token::TokenScope;
use provisioning::TenantStatus;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Postgres};

use crate::directory::{BillingState, LookupError, RouteKey, TenantRoute};
use crate::error::{Error, RetryOnFreshConnection};
use crate::events::{Event, EventSink};
use crate::failed_lookups::ClientKey;
use crate::host::{self, HostTarget};
use crate::keyring::Keyring;
use crate::pools::{PoolError, PoolManager};
use crate::state::AppState;
use provisioning::sealing::Sealer;

/// What the gate established about a request.
#[derive(Clone)]
pub struct TenantContext {
    pub route: Arc<TenantRoute>,
    /// The tenant's base URL as the client addressed it; every link starts with it.
    pub base_url: Arc<str>,
    /// Where the plan and payment are managed (the control plane's billing page).
    pub billing_url: Arc<str>,
    /// The token's scope: read-only tokens see webhook credentials redacted.
    pub scope: TokenScope,
    pools: PoolManager,
    keyring: Arc<Keyring>,
    events: Arc<dyn EventSink>,
    /// A read (GET/HEAD): safe to run again.
    idempotent: bool,
}

impl TenantContext {
    /// Seals and opens this tenant's secrets (webhook credentials) under its data key.
    pub async fn sealer(&self) -> Result<Arc<Sealer>, Error> {
        self.keyring.sealer(&self.route).await.map_err(|err| {
            Error::Internal(anyhow::anyhow!(
                "the tenant's data key could not be unwrapped: {err}"
            ))
        })
    }

    /// A connection to this tenant's database, as this tenant's role.
    ///
    /// A write's connection is checked with a round trip before it is handed over: one that died
    /// in the pool (a database restart) is replaced by a fresh one before the write's transaction
    /// begins, the only point where retrying a write is safe. A read's is not (speed); a read
    /// that meets a dead connection is run again by [`tenant_gate`].
    pub async fn db(&self) -> Result<PoolConnection<Postgres>, Error> {
        let mut conn = self.checkout().await?;
        if self.idempotent {
            return Ok(conn);
        }
        match conn.ping().await {
            Ok(()) => Ok(conn),
            Err(err) => {
                tracing::debug!(error = %err, "a pooled connection was dead; taking a fresh one");
                drop(conn.detach());
                self.pools.connection_lost(&self.route);
                self.checkout().await
            }
        }
    }

    /// Hands the broker's events to the application's sink. Only once the transaction that
    /// raised them has committed: a sink must never see an event whose data was rolled back.
    pub fn publish_events(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        for event in events {
            tracing::debug!(
                event.name = event.name.as_str(),
                consumer = %event.consumer,
                provider = %event.provider,
                "broker event {}",
                event.name
            );
        }
        self.events.publish(events);
    }

    async fn checkout(&self) -> Result<PoolConnection<Postgres>, Error> {
        self.pools
            .acquire(&self.route)
            .await
            .map_err(|err| match err {
                PoolError::Exhausted(_) | PoolError::Busy(_) | PoolError::ShuttingDown => {
                    Error::Unavailable(err.to_string())
                }
                PoolError::ServerUnavailable(_) => Error::DatabaseUnavailable {
                    connection_lost: false,
                },
                PoolError::Database(db) => Error::from(db),
                PoolError::Credentials(_) => Error::Internal(anyhow::anyhow!(err)),
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TenantContext {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<TenantContext>()
            .cloned()
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("route is not behind the tenant gate")))
    }
}

/// Establishes the [`TenantContext`] for a request, or the error that refuses it.
pub async fn resolve(state: &AppState, parts: &Parts) -> Result<TenantContext, Error> {
    let config = &state.config;
    let host = host::request_host(
        parts,
        config.trust_forwarded_headers,
        &config.tenant_urls.scheme,
    )?
    .ok_or_else(|| Error::UnknownHost(String::new()))?;
    let key = match host::target(&host.name, &config.tenant_urls.base_domain) {
        HostTarget::Tenant(subdomain) => RouteKey::Subdomain(subdomain),
        HostTarget::Foreign => RouteKey::CustomDomain(host.name.clone()),
        HostTarget::Bare => return Err(Error::UnknownHost(host.name)),
    };
    let client = ClientKey::of(parts, config.trust_forwarded_headers);
    let route = state
        .directory
        .lookup(&key, client)
        .await
        .map_err(|err| match err {
            LookupError::TooManyMisses => Error::TooManyRequests(
                "too many requests for unknown hosts from this address; try again in a minute",
            ),
            LookupError::Failed(cause) => Error::Internal(cause),
        })?
        .ok_or_else(|| match &key {
            RouteKey::Subdomain(subdomain) => Error::UnknownTenant(subdomain.to_string()),
            RouteKey::CustomDomain(_) => Error::UnknownHost(host.name.clone()),
        })?;
    let subdomain = route.subdomain.clone();
    match route.status {
        TenantStatus::Active if !route.confirmed => {
            return Err(Error::TenantUnconfirmed(subdomain.to_string()))
        }
        TenantStatus::Active => {}
        TenantStatus::Suspended => return Err(Error::TenantSuspended(subdomain)),
        other => {
            return Err(Error::TenantNotReady {
                subdomain,
                status: other.to_string(),
            })
        }
    }
    tracing::Span::current().record("tenant", route.subdomain.as_str());
    let principal = state
        .tokens
        .authenticate(&parts.headers, route.tenant_id, client)
        .await?;
    state.token_usage.record(principal.token_id);
    let writes = !read_only_may(&parts.method, parts.uri.path());
    if principal.scope == TokenScope::ReadOnly && writes {
        return Err(Error::Forbidden(format!(
            "this API token is read-only; {} {} needs a read-write token",
            parts.method,
            parts.uri.path()
        )));
    }
    if route.billing_state == BillingState::ReadOnly && writes {
        return Err(Error::PaymentRequired {
            billing_url: config.billing_url(),
        });
    }
    Ok(TenantContext {
        route,
        base_url: host.base_url.into(),
        billing_url: config.billing_url().into(),
        scope: principal.scope,
        pools: state.pools.clone(),
        keyring: state.keyring.clone(),
        events: state.events.clone(),
        idempotent: matches!(parts.method, Method::GET | Method::HEAD),
    })
}

/// Middleware form of [`resolve`] for the broker routes.
///
/// It also handles the database failures a fresh connection may cure
/// ([`RetryOnFreshConnection`]): a dead connection makes the pool discard its server's other
/// idle connections, and a read (idempotent) is run once more.
pub async fn tenant_gate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    let (mut parts, body) = request.into_parts();
    let context = resolve(&state, &parts).await?;
    let (route, idempotent) = (context.route.clone(), context.idempotent);
    parts.extensions.insert(context);
    let again = idempotent.then(|| same_request(&parts));
    let response = next.clone().run(Request::from_parts(parts, body)).await;
    let Some(hint) = response
        .extensions()
        .get::<RetryOnFreshConnection>()
        .copied()
    else {
        return Ok(response);
    };
    if hint.connection_lost {
        state.pools.connection_lost(&route);
    }
    match again {
        Some(request) => {
            tracing::debug!("retrying a read on a fresh connection");
            Ok(next.run(request).await)
        }
        None => Ok(response),
    }
}

/// A bodiless copy of a read request, to run it again.
fn same_request(parts: &Parts) -> Request {
    let mut request = Request::new(axum::body::Body::empty());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    *request.extensions_mut() = parts.extensions.clone();
    request
}

/// Read-only tokens (and read-only tenants) may read, and fetch pacts for verification (a POST
/// that changes nothing).
fn read_only_may(method: &Method, path: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    *method == Method::POST
        && matches!(
            segments.as_slice(),
            ["pacts", "provider", _, "for-verification"]
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_tokens_may_read_and_fetch_pacts_for_verification_only() {
        assert!(read_only_may(
            &Method::GET,
            "/pacts/provider/P/consumer/C/latest"
        ));
        assert!(read_only_may(&Method::HEAD, "/"));
        assert!(read_only_may(
            &Method::POST,
            "/pacts/provider/Some%20P/for-verification"
        ));
        assert!(!read_only_may(&Method::POST, "/contracts/publish"));
        assert!(!read_only_may(
            &Method::PUT,
            "/pacts/provider/P/consumer/C/version/1"
        ));
        assert!(!read_only_may(&Method::DELETE, "/pacticipants/P"));
        assert!(!read_only_may(
            &Method::POST,
            "/pacts/provider/P/for-verification/x"
        ));
    }
}
