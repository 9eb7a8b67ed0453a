//! What a database error means for the request that met it, decided once for both services.
//!
//! Each service's error type maps database errors to HTTP through [`classify`], so that a dead
//! connection, a server shutting down or out of resources, a lock conflict, a statement timeout
//! and bad data each get their one answer (503 with `Retry-After`, 409, 400) — and only what is
//! left (a bug, a schema mismatch) becomes a 500. SQLSTATE codes are PostgreSQL's
//! (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).

/// The kind of a database failure, as far as the caller is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbFailure {
    /// The connection died (server shut down or crashed, socket reset): the statement may not
    /// have run. Classes 08, 57P01 and 57P02, and I/O errors on an open connection.
    ConnectionLost,
    /// The server cannot take the work now: starting up (57P03), out of resources (class 53),
    /// or no connection could be opened.
    Unavailable,
    /// Serialization failure or deadlock (40001, 40P01): retrying the whole transaction works.
    Contention,
    /// The statement ran longer than `statement_timeout`, or was cancelled (57014).
    Timeout,
    /// The input is not valid data for the column (class 22: NUL bytes, out of range, bad
    /// encoding…): the client's fault, whatever validation before it missed.
    DataException(String),
    /// Anything else: a server-side failure.
    Other,
}

impl DbFailure {
    /// Whether retrying the same operation later may succeed (503 + `Retry-After`).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::ConnectionLost | Self::Unavailable | Self::Timeout
        )
    }
}

/// Classifies a database error by its SQLSTATE (or its kind, for errors without one).
pub fn classify(err: &sqlx::Error) -> DbFailure {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            DbFailure::ConnectionLost
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => DbFailure::Unavailable,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            classify_sqlstate(&code, db.message())
        }
        _ => DbFailure::Other,
    }
}

/// The SQLSTATE table behind [`classify`].
pub fn classify_sqlstate(code: &str, message: &str) -> DbFailure {
    match code {
        "57P01" | "57P02" => DbFailure::ConnectionLost,
        "57P03" => DbFailure::Unavailable,
        "57014" => DbFailure::Timeout,
        "40001" | "40P01" => DbFailure::Contention,
        c if c.starts_with("08") => DbFailure::ConnectionLost,
        c if c.starts_with("53") => DbFailure::Unavailable,
        c if c.starts_with("22") => DbFailure::DataException(message.to_owned()),
        _ => DbFailure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlstate_table() {
        assert_eq!(classify_sqlstate("57P01", ""), DbFailure::ConnectionLost);
        assert_eq!(classify_sqlstate("08006", ""), DbFailure::ConnectionLost);
        assert_eq!(classify_sqlstate("57P03", ""), DbFailure::Unavailable);
        assert_eq!(classify_sqlstate("53300", ""), DbFailure::Unavailable);
        assert_eq!(classify_sqlstate("40P01", ""), DbFailure::Contention);
        assert_eq!(classify_sqlstate("57014", ""), DbFailure::Timeout);
        assert_eq!(
            classify_sqlstate("22021", "invalid byte sequence"),
            DbFailure::DataException("invalid byte sequence".into())
        );
        assert_eq!(classify_sqlstate("23505", ""), DbFailure::Other);
        assert_eq!(classify_sqlstate("42P01", ""), DbFailure::Other);
    }
}
