//! Signup: an organisation claims a subdomain and gets a tenant ([`create`]), confirms its
//! address ([`confirmation`]), and waits for it to be served ([`tenant_changes`] wakes the
//! waiting requests).

pub mod confirmation;
pub mod create;
pub mod tenant_changes;
