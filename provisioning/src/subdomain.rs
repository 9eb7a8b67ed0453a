//! The tenant's subdomain: the one name that routes traffic, names nothing else, and is validated
//! once, here.
//!
//! A subdomain is a single DNS label (RFC 1035 §2.3.1, lower-cased), 3–63 characters of
//! `[a-z0-9-]`, neither starting nor ending with a hyphen, not an IDNA `xn--` label, and not one of
//! the names the service keeps for itself. Database and role names are *not* derived from it
//! (they come from the tenant id), so a subdomain never reaches SQL as an identifier.

use std::fmt;

/// Names that can never be a tenant: they belong to the service itself or are confusable with it.
pub const RESERVED: &[&str] = &[
    "www",
    "app",
    "api",
    "admin",
    "console",
    "status",
    "mail",
    "smtp",
    "imap",
    "pop",
    "ftp",
    "ns1",
    "ns2",
    "dns",
    "mx",
    "auth",
    "login",
    "signup",
    "register",
    "account",
    "accounts",
    "billing",
    "support",
    "help",
    "docs",
    "doc",
    "blog",
    "static",
    "assets",
    "cdn",
    "media",
    "files",
    "dashboard",
    "internal",
    "intranet",
    "root",
    "system",
    "operator",
    "operators",
    "control",
    "control-plane",
    "broker",
    "treaty",
    "localhost",
    "metrics",
    "grafana",
    "prometheus",
    "health",
    "security",
    "abuse",
    "postmaster",
    "hostmaster",
    "webmaster",
    "test",
    "staging",
    "dev",
    "demo",
    "sandbox",
    "webhooks",
    "webhook",
    "oauth",
    "sso",
    "saml",
    "scim",
    "stripe",
];

/// A validated, lower-case tenant subdomain.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Subdomain(String);

/// Why a string is not an acceptable subdomain; the `Display` text is shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubdomainError {
    #[error("must be between 3 and 63 characters long")]
    Length,
    #[error("may contain only the letters a-z, digits and hyphens")]
    Characters,
    #[error("may not start or end with a hyphen")]
    Hyphen,
    #[error("may not start with \"xn--\"")]
    Punycode,
    #[error("\"{0}\" is reserved")]
    Reserved(String),
}

impl Subdomain {
    /// Validates `input` (compared case-insensitively; stored lower-case).
    pub fn parse(input: &str) -> Result<Self, SubdomainError> {
        let label = input.trim().to_ascii_lowercase();
        if !(3..=63).contains(&label.len()) {
            return Err(SubdomainError::Length);
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(SubdomainError::Characters);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(SubdomainError::Hyphen);
        }
        if label.starts_with("xn--") {
            return Err(SubdomainError::Punycode);
        }
        if RESERVED.contains(&label.as_str()) {
            return Err(SubdomainError::Reserved(label));
        }
        Ok(Self(label))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Subdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subdomain({})", self.0)
    }
}

impl TryFrom<String> for Subdomain {
    type Error = SubdomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl AsRef<str> for Subdomain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels_and_lowercases_them() {
        for (input, expected) in [("acme", "acme"), ("Acme-2", "acme-2"), ("a1b", "a1b")] {
            assert_eq!(
                Subdomain::parse(input).unwrap().as_str(),
                expected,
                "{input}"
            );
        }
        assert!(Subdomain::parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn rejects_everything_that_is_not_a_tenant_label() {
        let cases = [
            ("ab", SubdomainError::Length),
            (&"a".repeat(64) as &str, SubdomainError::Length),
            ("acme.corp", SubdomainError::Characters),
            ("ac_me", SubdomainError::Characters),
            ("acmé", SubdomainError::Characters),
            ("-acme", SubdomainError::Hyphen),
            ("acme-", SubdomainError::Hyphen),
            ("xn--acme", SubdomainError::Punycode),
            ("www", SubdomainError::Reserved("www".into())),
            ("Admin", SubdomainError::Reserved("admin".into())),
        ];
        for (input, expected) in cases {
            assert_eq!(Subdomain::parse(input), Err(expected), "{input}");
        }
    }
}
