//! What a pact route names, found, or the broker's 404: the pacticipant by name, and the
//! message for a consumer version without a pact. Shared by reading, publishing, diffs,
//! collections, provider states and verification results.

use sqlx::PgConnection;

use crate::broker::store::pacts as pact_store;
use crate::error::{Error, Result};

/// The pacticipant called `name` (its id and main branch), or the broker's 404.
pub async fn require_pacticipant(
    conn: &mut PgConnection,
    name: &str,
    role: &str,
) -> Result<(i64, Option<String>)> {
    pact_store::pacticipant(conn, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No {role} with name '{name}' found")))
}

/// The 404 for a consumer version without a pact with the provider.
pub fn not_found(consumer: &str, number: &str, provider: &str) -> Error {
    Error::NotFound(format!(
        "No pact found between {consumer} version {number} and {provider}"
    ))
}
