//! The description of Treaty's additions to the tenant API: an OpenAPI 3.1 document generated
//! from the `#[utoipa::path]` annotations of the routes the tenant API serves beside the Pact
//! Broker API, served at `GET /openapi` (also as `/openapi.json`, by the broker's extension
//! convention) on any host, without authentication.
//!
//! The Pact Broker API itself is not re-described here: it is the broker's, documented by the
//! Pact Broker project (and browsable through its HAL links from `/`). [`crate::routes`] builds
//! the platform routes and this document from the same `utoipa_axum::routes!` calls, so they
//! cannot drift apart, and serves it; this module holds the document's fixed parts.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, ResponseBuilder};
use utoipa::OpenApi as _;

/// The document's fixed parts; [`crate::routes::platform`] adds the operations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Treaty tenant API: Treaty's additions",
        description = "Each Treaty organisation has its own Pact Broker at its own host \
            (`<subdomain>.<base domain>` or a custom domain), serving the Pact Broker HTTP API as \
            the official clients use it, with bearer API tokens (`Authorization: Bearer trty_…`) \
            created in the control plane. That API is the Pact Broker's and is described by the \
            Pact Broker project (start at `GET /` and follow its HAL links); it is not repeated \
            here. This document describes only what Treaty's tenant API serves beside it, on \
            every host and without authentication. The control plane's API (signup, sign-in, \
            users, tokens, billing) is described at `/api/openapi.json` on the control plane.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags((name = "platform", description = "Served on every host, without authentication")),
)]
pub struct ApiDoc;

/// Adds the error `default` response to every operation.
pub fn with_error_default(mut openapi: OpenApi) -> OpenApi {
    let error = ResponseBuilder::new()
        .description(
            "An error: RFC 9457 problem JSON for routing and authentication failures, the \
             broker's `{\"error\": …}` shape otherwise",
        )
        .content("application/problem+json", ContentBuilder::new().build())
        .content("application/json", ContentBuilder::new().build())
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
                .or_insert_with(|| error.clone().into());
        }
    }
    openapi
}

/// The base document, for [`crate::routes::platform`].
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}
