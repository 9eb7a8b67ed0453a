//! The control plane's API description: an OpenAPI 3.1 document generated from the handlers'
//! `#[utoipa::path]` annotations and their request and response types, served at
//! `GET /api/openapi.json`.
//!
//! [`crate::routes`] registers every route through `utoipa_axum::routes!`, which takes the method
//! and path from the annotation, and serves the finished document: the router and this document
//! come from the same declarations,
//! so a route cannot be served without being described (and `clippy.toml` forbids the plain
//! `route` calls that would bypass it). Errors are not listed per operation: every operation has a
//! `default` response, the problem JSON that [`crate::error::Error`] answers with.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

/// The document's fixed parts; [`crate::routes::api`] adds the operations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Treaty control plane",
        description = "Signup, sign-in, users, system accounts, API tokens, the audit log and \
            billing of Treaty, the hosted Pact Broker. A person signs in with `POST /api/login`: \
            the answer sets the `treaty_session` cookie and carries a CSRF token, which every \
            state-changing request signed in by that cookie must send back in `X-CSRF-Token`. \
            Errors are RFC 9457 problem JSON with a stable `code`. Request bodies are JSON, or \
            HTML form fields. The Pact Broker API that each organisation uses at its own URL is \
            served by the tenant API and described by the Pact Broker project; Treaty's additions \
            to it are described at `/openapi` on the tenant API.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(crate::error::Problem<'_>)),
    tags(
        (name = "signup", description = "Creating an organisation and confirming its e-mail address"),
        (name = "sessions", description = "Signing in and out, and the signed-in person"),
        (name = "passwords", description = "Resetting a forgotten password"),
        (name = "users", description = "The people of an organisation, and invitations"),
        (name = "system accounts", description = "Non-human principals for CI"),
        (name = "tokens", description = "API tokens for the Pact Broker API"),
        (name = "audit", description = "The organisation's audit log"),
        (name = "billing", description = "Plans, Stripe Checkout and portal, Stripe's webhooks"),
        (name = "service", description = "Liveness and this description"),
    ),
    modifiers(&Conventions),
)]
pub struct ApiDoc;

/// The names of the security schemes operations refer to.
pub const SESSION: &str = "session";
pub const CSRF: &str = "csrf";

/// What every operation shares: the problem-JSON `default` response and the session scheme.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::identity::session::COOKIE,
                "The session cookie `POST /api/login` sets.",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The `csrfToken` of the login answer; required on state-changing requests.",
            ))),
        );
    }
}

/// Adds the `default` problem response to every operation. Applied after the routes are in.
pub fn with_problem_default(mut openapi: OpenApi) -> OpenApi {
    let problem = ResponseBuilder::new()
        .description(
            "An error, as RFC 9457 problem JSON (`code` says which; validation failures add \
             `errors` by field)",
        )
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    for item in openapi.paths.paths.values_mut() {
        let operations: [&mut Option<Operation>; 5] = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            operation
                .responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| problem.clone().into());
        }
    }
    openapi
}

/// The base document, for [`crate::routes::api`].
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}
