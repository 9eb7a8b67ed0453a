//! Pact documents: parsing and canonicalisation never panic; the canonical form is JSON that
//! reads back as the same value, and the content SHA does not depend on key order or spacing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tenant_api::broker::pact_document::{canonical_json, PactDocument};

fuzz_target!(|data: &[u8]| {
    let Ok(pact) = PactDocument::parse(data) else {
        return;
    };
    let stored = pact.canonical();
    let value: Value = serde_json::from_str(&stored.json).expect("canonical JSON parses");
    assert_eq!(
        canonical_json(&value),
        stored.json,
        "canonical JSON is a fixed point"
    );
    let _ = pact.provider_states();
    let _ = pact.specification_version();
    let _ = pact.merge_conflicts_with(&pact);
    if let Ok(original) = serde_json::from_slice::<Value>(data) {
        let respaced = serde_json::to_vec_pretty(&original).expect("serialises");
        let again = PactDocument::parse(&respaced).expect("the same document parses");
        assert_eq!(
            again.sha(),
            pact.sha(),
            "white space changed the content SHA"
        );
    }
});
