//! The broker's domain events, raised by publishing pacts and verification results, and the
//! [`EventSink`] they are handed to.
//!
//! These are the events webhooks subscribe to (`contract_published`, `contract_content_changed`,
//! `contract_requiring_verification_published`, `provider_verification_published`,
//! `provider_verification_succeeded`, `provider_verification_failed`), with what the broker's
//! webhook templates need to know about them. The publish and verification paths decide which
//! events happened inside their transaction and hand them to the sink once it has committed
//! (`TenantContext::publish_events`), so a sink never sees an event whose data was rolled back.
//!
//! The sink is part of the application state (`AppState::events`), handed to every request
//! through the tenant gate; there is no process-wide sink. Until webhooks exist it is
//! [`NoopSink`], which drops them. This is the platform core's side: the broker (`broker/`)
//! raises the events, the core carries them, so the core does not depend on the broker.

use std::sync::Mutex;

use provisioning::TenantId;

/// Which event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventName {
    ContractPublished,
    ContractContentChanged,
    /// Raised by the broker when re-publishing did not change the content (no webhook event).
    ContractContentUnchanged,
    ContractRequiringVerificationPublished,
    ProviderVerificationPublished,
    ProviderVerificationSucceeded,
    ProviderVerificationFailed,
}

impl EventName {
    /// The broker's (and the webhook API's) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContractPublished => "contract_published",
            Self::ContractContentChanged => "contract_content_changed",
            Self::ContractContentUnchanged => "contract_content_unchanged",
            Self::ContractRequiringVerificationPublished => {
                "contract_requiring_verification_published"
            }
            Self::ProviderVerificationPublished => "provider_verification_published",
            Self::ProviderVerificationSucceeded => "provider_verification_succeeded",
            Self::ProviderVerificationFailed => "provider_verification_failed",
        }
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verification result an event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationRef {
    pub verification_id: i64,
    pub number: i64,
    pub success: bool,
    pub provider_version_number: String,
    pub provider_version_branches: Vec<String>,
    pub provider_version_tags: Vec<String>,
    pub build_url: Option<String>,
}

/// One event, with the pact it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub name: EventName,
    /// Why (e.g. "first time untagged pact published"), when the broker says.
    pub comment: Option<String>,
    pub tenant_id: TenantId,
    /// The tenant's base URL, for the links a webhook renders.
    pub base_url: String,
    pub consumer: String,
    pub provider: String,
    pub pact_publication_id: i64,
    pub pact_version_sha: String,
    pub consumer_version_number: String,
    pub consumer_version_tags: Vec<String>,
    pub consumer_version_branch: Option<String>,
    /// The consumer's build URL on publication.
    pub build_url: Option<String>,
    /// `contract_requiring_verification_published`: the provider version that needs to verify.
    pub provider_version_number: Option<String>,
    /// `contract_requiring_verification_published`: why that version (e.g. "deployed in prod").
    pub provider_version_descriptions: Vec<String>,
    /// Verification events: the result.
    pub verification: Option<VerificationRef>,
}

/// Where events go once their transaction has committed. Called on the request's task: an
/// implementation hands the events on (a queue, a channel) rather than doing slow work here.
pub trait EventSink: Send + Sync {
    fn publish(&self, events: &[Event]);
}

/// The default sink: events are dropped (no webhooks yet).
pub struct NoopSink;

impl EventSink for NoopSink {
    fn publish(&self, _events: &[Event]) {}
}

/// A sink that keeps what it is given (for tests of the event paths).
#[derive(Default)]
pub struct RecordingSink(Mutex<Vec<Event>>);

impl RecordingSink {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl EventSink for RecordingSink {
    fn publish(&self, events: &[Event]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(events);
    }
}
