//! Signup: an organisation claims a subdomain and gets a tenant, confirms its address, and
//! waits for it to be served.
//!
//! [`create`] records the tenant (`requested`) and its first administrator in one transaction,
//! kicks the provisioning worker and e-mails a single-use confirmation link; [`confirmation`]
//! redeems that link (and sends fresh ones); the tenant API serves the tenant only when it is both
//! provisioned and confirmed. [`status`] reports progress and can wait for it, woken by
//! [`tenant_changes`] (one LISTEN connection per process).
//!
//! Signup uses `identity` (passwords, links) and `billing` (the first plan); nothing outside
//! this folder but the router and the application state uses it.

pub mod confirmation;
pub mod create;
pub mod status;
pub mod tenant_changes;
