//! A pact chosen for verification ([`VerifiablePact`]): what the selection computes, and what
//! the response body and the verifier's notices (`notices.rs`) describe. Its own module so that
//! the notices do not depend on the selection that uses them.

use super::selectors::ResolvedSelector;
use crate::broker::store::for_verification::SelectedRow;
use crate::broker::store::pacts::PactRef;

/// A pact to verify, with why and how.
#[derive(Clone, Debug)]
pub struct VerifiablePact {
    /// The publication (the latest consumer version among those with this content).
    pub pact: SelectedRow,
    pub selectors: Vec<ResolvedSelector>,
    /// `None` when pending status was not asked for.
    pub pending: Option<bool>,
    pub pending_provider_tags: Vec<String>,
    pub non_pending_provider_tags: Vec<String>,
    pub provider_branch: Option<String>,
    pub wip: bool,
}

impl VerifiablePact {
    pub fn pact_ref(&self) -> PactRef {
        let p = &self.pact;
        PactRef {
            pact_publication_id: p.pact_publication_id,
            consumer_id: p.consumer_id,
            consumer_name: p.consumer_name.clone(),
            provider_id: p.provider_id,
            provider_name: p.provider_name.clone(),
            consumer_version_id: p.consumer_version_id,
            consumer_version_number: p.consumer_version_number.clone(),
            pact_version_id: p.pact_version_id,
            sha: p.sha.clone(),
            created_at: p.created_at,
        }
    }
}
