//! The broker's HTTP rules, apart from any one resource (`pact-broker-api.md` §0): how input is
//! read ([`extract`]), how the response type is chosen ([`negotiate`]), what happens before
//! routing ([`rewrite`]: path checks, file extensions) and around it ([`methods`]: `OPTIONS`
//! and 405 `Allow`; [`headers`]), how documents and links are written ([`hal`]) and how
//! collections are paged ([`pagination`]). Resource modules use these; these use no resource.

pub mod extract;
pub mod hal;
pub mod headers;
pub mod methods;
pub mod negotiate;
pub mod pagination;
pub mod rewrite;
