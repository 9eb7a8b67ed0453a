//! What a tenant *is* to both services: its id, where it is in its lifecycle, and the plan it is on.
//!
//! [`Lifecycle`] is the position alone (the steps themselves run in [`crate::lifecycle`]); these
//! types live here, below the registry and the provisioner that both use them, so neither
//! depends on the other for them.
//!
//! A tenant's [`TenantStatus`] combines its position in the provisioning [`Lifecycle`] with two
//! flags kept beside it: `failed` (a step kept failing; the position is kept so a retry resumes
//! there) and `suspended` (set by operators or billing; data is kept).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A tenant's primary key. Database and role names derive from it, never from user input.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    sqlx::Type,
)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl TenantId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// The 32 hex digits of the id, safe inside SQL identifiers.
    pub fn simple(&self) -> String {
        self.0.simple().to_string()
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

/// The provisioning steps a tenant has completed (stored as text in `tenant.lifecycle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Requested,
    DatabaseCreated,
    SchemaApplied,
    KeyCreated,
    Active,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 5] = [
        Self::Requested,
        Self::DatabaseCreated,
        Self::SchemaApplied,
        Self::KeyCreated,
        Self::Active,
    ];

    /// The same text as the status of a tenant at this position.
    pub fn as_str(self) -> &'static str {
        TenantStatus::from_parts(self, false, false).as_str()
    }
}

/// Where a tenant is in its lifecycle (stored as text in `tenant.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Requested,
    DatabaseCreated,
    SchemaApplied,
    KeyCreated,
    Active,
    Failed,
    Suspended,
}

impl TenantStatus {
    pub const ALL: [TenantStatus; 7] = [
        Self::Requested,
        Self::DatabaseCreated,
        Self::SchemaApplied,
        Self::KeyCreated,
        Self::Active,
        Self::Failed,
        Self::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::DatabaseCreated => "database_created",
            Self::SchemaApplied => "schema_applied",
            Self::KeyCreated => "key_created",
            Self::Active => "active",
            Self::Failed => "failed",
            Self::Suspended => "suspended",
        }
    }

    /// The status shown to people and used for routing: suspension wins over failure, failure
    /// over the lifecycle position.
    pub fn from_parts(lifecycle: Lifecycle, failed: bool, suspended: bool) -> Self {
        if suspended {
            return Self::Suspended;
        }
        if failed {
            return Self::Failed;
        }
        match lifecycle {
            Lifecycle::Requested => Self::Requested,
            Lifecycle::DatabaseCreated => Self::DatabaseCreated,
            Lifecycle::SchemaApplied => Self::SchemaApplied,
            Lifecycle::KeyCreated => Self::KeyCreated,
            Lifecycle::Active => Self::Active,
        }
    }

    /// True while the provisioning worker still has steps to run.
    pub fn is_provisioning(self) -> bool {
        matches!(
            self,
            Self::Requested | Self::DatabaseCreated | Self::SchemaApplied | Self::KeyCreated
        )
    }
}

/// A status string that is not one of [`TenantStatus::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown tenant status {0:?}")]
pub struct UnknownStatus(pub String);

/// `Display`, `FromStr` and `TryFrom<String>` (for `sqlx`) through `as_str` and `ALL`: both
/// enums are stored as text.
macro_rules! stored_as_text {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|value| value.as_str() == s)
                    .ok_or_else(|| UnknownStatus(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownStatus;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }
    };
}

stored_as_text!(Lifecycle);
stored_as_text!(TenantStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_text() {
        for status in TenantStatus::ALL {
            assert_eq!(status.as_str().parse::<TenantStatus>().unwrap(), status);
        }
        assert!("deleted".parse::<TenantStatus>().is_err());
    }

    #[test]
    fn every_lifecycle_position_round_trips_through_its_status_text() {
        for position in Lifecycle::ALL {
            assert_eq!(position.as_str().parse::<Lifecycle>().unwrap(), position);
            assert_eq!(
                position.as_str(),
                TenantStatus::from_parts(position, false, false).as_str()
            );
        }
        assert!("failed".parse::<Lifecycle>().is_err());
    }
}
