//! Pacts: publishing one by consumer version (`PUT`/`PATCH`/`DELETE`), reading them by version,
//! content, tag, branch or recency, the collections of an integration and of a provider, the
//! diffs between versions and the provider states they name.
//!
//! Every pact document is served the broker's way: the stored JSON with `_links` and
//! `createdAt` spliced in ([`document::pact_document_body`]).

pub mod collections;
pub mod diff;
pub mod document;
pub mod links;
pub mod lookup;
pub mod provider_states;
pub mod publish;
pub mod read;
pub mod routes;
