//! The tenancy library shared by Treaty's two services. No HTTP in it.
//!
//! It knows what a tenant is ([`TenantId`], [`Subdomain`], [`TenantStatus`]), how one is
//! provisioned ([`lifecycle`]: a database and role from a template on a [`database_server`], a
//! data key from a [`keys`] provider, the database password [`sealing`]-encrypted under it), how
//! the tenant schema is rolled out ([`rollout`] of the [`migrations`]), and what an API token looks like
//! ([`api_token`]). The control plane drives the lifecycle; the tenant API uses the keys and
//! credentials to open tenant pools. Neither service depends on the other, only on this.

mod admin_session;
pub mod api_token;
pub mod credentials;
pub mod database_server;
pub mod db_failure;
mod error;
pub mod failpoint;
pub mod keys;
pub mod lifecycle;
pub mod migrations;
pub mod outage;
pub mod registry;
pub mod rollout;
pub mod scram;
pub mod sealing;
pub mod settings;
pub mod signals;
mod sql_names;
mod subdomain;
pub mod telemetry;
mod template;
mod tenant;

pub use error::ProvisionError;
pub use failpoint::Failpoint;
pub use lifecycle::Provisioner;
pub use subdomain::{Subdomain, SubdomainError, RESERVED};
pub use template::TemplateDatabase;
pub use tenant::{Lifecycle, TenantId, TenantStatus, UnknownStatus};
