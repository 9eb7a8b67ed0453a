//! Persistence of the broker's data in a tenant database. Functions take the caller's connection
//! or transaction (`&mut PgConnection`); the caller owns the transaction.

pub mod branches;
pub mod environments;
pub mod for_verification;
pub mod integrations;
pub mod matrix;
pub mod pacticipants;
pub mod pacts;
pub mod reports;
pub mod verifications;
pub mod versions;
pub mod webhooks;
