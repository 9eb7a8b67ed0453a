//! Identifiers in administrative SQL: quoting, and escaping for `LIKE` patterns.
//!
//! `CREATE DATABASE`, `GRANT` and friends take no bind parameters, so the database server and
//! the template build format names into statements; both quote them here (a leaf module, so
//! neither depends on the other for it).

/// Escapes `\\`, `_` and `%` so `s` matches itself in a `LIKE` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('_', "\\_")
        .replace('%', "\\%")
}

/// Quotes an identifier for PostgreSQL. Names reaching here are already validated; quoting is
/// the second line of defence.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
