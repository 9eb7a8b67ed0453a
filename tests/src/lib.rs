//! The end-to-end test harness: a fresh control database per test on a real PostgreSQL server,
//! the control plane and the tenant API served on real sockets, and clients that talk to them
//! the way users and Pact tools do.
//!
//! Environment: `TEST_DATABASE_URL` (a superuser URL; `make test` provides one), `TEST_REDIS_URL`
//! (for the tests that use Redis), and the tools `make tools` installs into `.tools/`.
//! `TEST_LOG=1` shows the services' logs. Billing tests run a fake Stripe (`stripe`).

pub mod apps;
pub mod bench;
pub mod compat;
pub mod env;
pub mod mail;
pub mod session;
pub mod stripe;
pub mod tenant_client;
pub mod tools;

pub use apps::{RunningControlPlane, RunningTenantApi};
pub use env::TestEnv;
pub use session::Session;
pub use tenant_client::{Signup, TenantClient};
