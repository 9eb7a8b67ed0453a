//! The roles a principal can hold, and what each may do.
//!
//! People are `administrator`, `user` or `viewer`; system accounts are always `ci`. On the broker
//! API a role caps its tokens' scope (a viewer's tokens are read-only whatever they were created
//! as — enforced again by the `router.api_token_grant` view); on the control plane only
//! administrators manage users, system accounts, other principals' tokens and the audit log.

use std::fmt;
use std::str::FromStr;

use provisioning::api_token::TokenScope;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    User,
    Viewer,
    Ci,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::User => "user",
            Self::Viewer => "viewer",
            Self::Ci => "ci",
        }
    }

    /// The widest token scope this role may hold on the broker API.
    pub fn max_scope(self) -> TokenScope {
        match self {
            Self::Viewer => TokenScope::ReadOnly,
            Self::Administrator | Self::User | Self::Ci => TokenScope::ReadWrite,
        }
    }

    /// Whether `scope` is within this role.
    pub fn allows(self, scope: TokenScope) -> bool {
        scope == TokenScope::ReadOnly || self.max_scope() == TokenScope::ReadWrite
    }

    /// Roles a person (not a system account) can be given.
    pub fn parse_person(value: &str) -> Option<Self> {
        match value.parse() {
            Ok(Self::Ci) | Err(_) => None,
            Ok(role) => Some(role),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "administrator" => Ok(Self::Administrator),
            "user" => Ok(Self::User),
            "viewer" => Ok(Self::Viewer),
            "ci" => Ok(Self::Ci),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_may_only_hold_read_only_tokens() {
        assert!(Role::Viewer.allows(TokenScope::ReadOnly));
        assert!(!Role::Viewer.allows(TokenScope::ReadWrite));
        for role in [Role::Administrator, Role::User, Role::Ci] {
            assert!(role.allows(TokenScope::ReadWrite), "{role}");
        }
    }

    #[test]
    fn people_cannot_be_given_the_ci_role() {
        assert_eq!(Role::parse_person("viewer"), Some(Role::Viewer));
        assert_eq!(Role::parse_person("ci"), None);
        assert_eq!(Role::parse_person("root"), None);
    }
}
