//! Pact documents: parsed, checked, identified, stored, merged.
//!
//! A pact's identity is the part of its content that affects verification results, as the Pact
//! Broker defines it (`base_equality_only_on_content_that_affects_verification_results`): the
//! interactions (or messages), in any order, and the pact specification version. Metadata,
//! white space and key order do not count, so a consumer re-publishing the same contract with a
//! newer Pact library is not a change, and verification results carry over. The SHA-1 is the
//! broker's own: of the JSON `{"interactions"|"messages", "pact_specification_version"}` with
//! object keys sorted at every level and the interactions ordered by their JSON text.
//!
//! We store the document canonically — object keys sorted, no insignificant white space — with
//! an `_id` on every interaction (the SHA-1 of the interaction, as the broker adds it; verifiers
//! report test results by it). Broker metadata a client may send back (`_links`, `createdAt`) is
//! not content and is dropped. Because the stored text is canonical and starts with `{`,
//! responses add `_links` by splicing text instead of re-serialising a parsed pact.

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

/// A parsed pact.
#[derive(Clone, Debug)]
pub struct PactDocument(Map<String, Value>);

/// A pact in stored form.
pub struct CanonicalPact {
    /// The canonical JSON, with interaction `_id`s.
    pub json: String,
    /// The content identity (see the module documentation).
    pub sha: String,
    pub interactions: i32,
    pub messages: i32,
}

/// A provider state named by an interaction.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderState {
    pub name: Value,
    pub params: Option<Value>,
}

impl PactDocument {
    /// Parses a pact; it must be a JSON object.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if super::http::extract::has_nul_escape(bytes) {
            return Err("the pact cannot contain a NUL character (\\u0000) in a string".into());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(mut map)) => {
                map.remove("_links");
                map.remove("createdAt");
                Ok(Self(map))
            }
            Ok(_) => Err("the pact must be a JSON object".into()),
            Err(err) => Err(format!("the pact is not valid JSON: {err}")),
        }
    }

    fn party(&self, role: &str) -> Option<&str> {
        self.0.get(role)?.get("name")?.as_str()
    }

    pub fn consumer_name(&self) -> Option<&str> {
        self.party("consumer")
    }

    pub fn provider_name(&self) -> Option<&str> {
        self.party("provider")
    }

    fn array(&self, key: &str) -> Option<&Vec<Value>> {
        self.0.get(key).and_then(Value::as_array)
    }

    fn count(&self, key: &str) -> i32 {
        self.array(key)
            .map_or(0, |a| i32::try_from(a.len()).unwrap_or(i32::MAX))
    }

    /// The stored form: canonical JSON with interaction ids, and the content SHA.
    pub fn canonical(&self) -> CanonicalPact {
        let mut stored = self.0.clone();
        for key in ["interactions", "messages"] {
            if let Some(Value::Array(items)) = stored.get_mut(key) {
                for item in items.iter_mut() {
                    if let Value::Object(interaction) = item {
                        interaction.remove("_id");
                        let id = sha1_hex(&canonical_json(&Value::Object(interaction.clone())));
                        interaction.insert("_id".into(), Value::String(id));
                    }
                }
            }
        }
        CanonicalPact {
            json: canonical_json(&Value::Object(stored)),
            sha: self.sha(),
            interactions: self.count("interactions"),
            messages: self.count("messages"),
        }
    }

    /// The broker's content SHA (see the module documentation).
    pub fn sha(&self) -> String {
        sha1_hex(&canonical_json(&self.verifiable_content()))
    }

    /// `{"interactions", "messages", "pact_specification_version"}` (those present), or the
    /// whole document when it has neither interactions nor messages.
    fn verifiable_content(&self) -> Value {
        let without_ids = |items: &Vec<Value>| -> Vec<Value> {
            items
                .iter()
                .map(|item| match item {
                    Value::Object(map) => {
                        let mut map = map.clone();
                        map.remove("_id");
                        Value::Object(map)
                    }
                    other => other.clone(),
                })
                .collect()
        };
        let interactions = self.array("interactions").map(without_ids);
        let messages = self.array("messages").map(without_ids);
        if interactions.is_none() && messages.is_none() {
            return Value::Object(self.0.clone());
        }
        // The broker orders only the first of interactions/messages (SortContent).
        let sorted = |mut items: Vec<Value>| {
            items.sort_by_cached_key(canonical_json);
            Value::Array(items)
        };
        let mut content = Map::new();
        let interactions_present = interactions.is_some();
        if let Some(items) = interactions {
            content.insert("interactions".into(), sorted(items));
        }
        if let Some(items) = messages {
            let value = if interactions_present {
                Value::Array(items)
            } else {
                sorted(items)
            };
            content.insert("messages".into(), value);
        }
        if let Some(version) = self.specification_version() {
            content.insert("pact_specification_version".into(), version.clone());
        }
        Value::Object(content)
    }

    /// `metadata.pactSpecification.version` (or its older spellings).
    pub fn specification_version(&self) -> Option<&Value> {
        let metadata = self.0.get("metadata")?;
        metadata
            .get("pactSpecification")
            .and_then(|s| s.get("version"))
            .or_else(|| {
                metadata
                    .get("pact-specification")
                    .and_then(|s| s.get("version"))
            })
            .or_else(|| metadata.get("pactSpecificationVersion"))
            .filter(|v| !v.is_null())
    }

    /// Whether merging `incoming` into this pact would replace an interaction with one that has
    /// the same description and provider state but a different request (the broker refuses a
    /// PATCH then). A pact without interactions cannot be merged.
    pub fn merge_conflicts_with(&self, incoming: &PactDocument) -> bool {
        let (Some(original), Some(additional)) =
            (self.array("interactions"), incoming.array("interactions"))
        else {
            return true;
        };
        additional.iter().any(|new| {
            original.iter().any(|old| {
                same_interaction(old, new)
                    && ["method", "path", "query", "body", "headers"]
                        .iter()
                        .any(|attribute| {
                            old.get("request").and_then(|r| r.get(*attribute))
                                != new.get("request").and_then(|r| r.get(*attribute))
                        })
            })
        })
    }

    /// Adds `incoming`'s interactions and messages to this pact; one with the same description
    /// and provider state(s) as an existing one replaces it (the broker's merge).
    pub fn merge(&mut self, incoming: &PactDocument) {
        for key in ["interactions", "messages"] {
            let Some(Value::Array(new_items)) = incoming.0.get(key) else {
                continue;
            };
            let items = self
                .0
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = items else { continue };
            for item in new_items {
                match items
                    .iter()
                    .position(|existing| same_interaction(existing, item))
                {
                    Some(index) => items[index] = item.clone(),
                    None => items.push(item.clone()),
                }
            }
        }
    }

    /// The provider states the interactions and messages name, in order.
    pub fn provider_states(&self) -> Vec<ProviderState> {
        let mut states = Vec::new();
        let items = self
            .array("messages")
            .into_iter()
            .flatten()
            .chain(self.array("interactions").into_iter().flatten());
        for interaction in items {
            if let Some(Value::String(name)) = interaction.get("providerState") {
                states.push(ProviderState {
                    name: Value::String(name.clone()),
                    params: None,
                });
            } else if let Some(Value::Array(list)) = interaction.get("providerStates") {
                for state in list {
                    states.push(ProviderState {
                        name: state.get("name").cloned().unwrap_or(Value::Null),
                        params: state.get("params").filter(|p| !p.is_null()).cloned(),
                    });
                }
            }
        }
        states
    }
}

/// The broker's notion of "the same interaction": same description and provider state(s).
fn same_interaction(a: &Value, b: &Value) -> bool {
    let state = |v: &Value| {
        ["provider_state", "providerState", "providerStates"]
            .iter()
            .find_map(|key| v.get(*key).filter(|s| !s.is_null()).cloned())
    };
    a.get("description") == b.get("description") && state(a) == state(b)
}

fn sha1_hex(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

/// `value` as JSON with object keys sorted at every level and no white space.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value);
    out
}

fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            out.push('{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(out, &map[key]);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The stored pact with `_links` and `createdAt` added in front of its own keys.
pub fn with_metadata(canonical: &str, links: &Value, created_at: &str) -> String {
    let rest = canonical.strip_prefix('{').unwrap_or(canonical);
    let separator = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    format!(
        "{{\"_links\":{links},\"createdAt\":{}{separator}{rest}",
        Value::String(created_at.to_owned())
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Found by the `pact_document` fuzz target: without correctly rounded float parsing, the
    /// stored canonical text read back gave another number, so another text (and SHA).
    #[test]
    fn canonical_json_reads_back_as_itself() {
        for text in [
            r#"{"J":110.5888888888888880}"#,
            r#"{"interactions":[{"n":0.1,"m":1e-7,"l":2.2250738585072014e-308}]}"#,
        ] {
            let pact = PactDocument::parse(text.as_bytes()).unwrap();
            let stored = pact.canonical();
            let again: Value = serde_json::from_str(&stored.json).unwrap();
            assert_eq!(canonical_json(&again), stored.json, "{text}");
            let reread = PactDocument::parse(stored.json.as_bytes()).unwrap();
            assert_eq!(reread.canonical().json, stored.json, "{text}");
        }
    }

    fn doc(value: Value) -> PactDocument {
        PactDocument::parse(value.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn formatting_key_order_and_interaction_order_do_not_change_the_identity_of_a_pact() {
        let a = PactDocument::parse(
            br#"{"consumer":{"name":"C"},"provider":{"name":"P"},"interactions":[{"b":1,"a":2},{"c":3}]}"#,
        )
        .unwrap();
        let b = PactDocument::parse(b"{ \"interactions\": [ {\"c\": 3}, {\"a\": 2, \"b\": 1} ],\n \"provider\": {\"name\": \"P\"}, \"consumer\": {\"name\": \"C\"} }").unwrap();
        assert_eq!(a.sha(), b.sha());
        let c = PactDocument::parse(
            br#"{"consumer":{"name":"C"},"provider":{"name":"P"},"interactions":[{"a":1,"b":2},{"c":3}]}"#,
        )
        .unwrap();
        assert_ne!(a.sha(), c.sha());
    }

    #[test]
    fn metadata_does_not_change_the_identity_but_the_specification_version_does() {
        let base = json!({"consumer":{"name":"C"},"provider":{"name":"P"},"interactions":[{"description":"x"}],
            "metadata":{"pactSpecification":{"version":"2.0.0"},"pact-js":{"version":"1"}}});
        let mut newer_library = base.clone();
        newer_library["metadata"]["pact-js"]["version"] = json!("2");
        assert_eq!(doc(base.clone()).sha(), doc(newer_library).sha());
        let mut v3 = base.clone();
        v3["metadata"]["pactSpecification"]["version"] = json!("3.0.0");
        assert_ne!(doc(base).sha(), doc(v3).sha());
    }

    #[test]
    fn the_sha_is_the_brokers() {
        // SHA-1 of `{"interactions":[{"description":"a"}],"pact_specification_version":"2.0.0"}`.
        let pact = doc(
            json!({"interactions":[{"description":"a"}],"metadata":{"pactSpecification":{"version":"2.0.0"}}}),
        );
        assert_eq!(
            pact.sha(),
            sha1_hex(
                r#"{"interactions":[{"description":"a"}],"pact_specification_version":"2.0.0"}"#
            )
        );
    }

    #[test]
    fn stored_interactions_carry_their_id_and_ids_sent_back_are_not_content() {
        let pact = doc(json!({"interactions":[{"description":"a","request":{"method":"GET"}}]}));
        let stored: Value = serde_json::from_str(&pact.canonical().json).unwrap();
        let id = stored["interactions"][0]["_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            id,
            sha1_hex(r#"{"description":"a","request":{"method":"GET"}}"#)
        );
        let sent_back = PactDocument::parse(pact.canonical().json.as_bytes()).unwrap();
        assert_eq!(sent_back.sha(), pact.sha());
        assert_eq!(sent_back.canonical().json, pact.canonical().json);
    }

    #[test]
    fn broker_metadata_sent_back_is_not_content() {
        let with = PactDocument::parse(
            br#"{"consumer":{"name":"C"},"_links":{"self":{}},"createdAt":"x"}"#,
        )
        .unwrap();
        let without = PactDocument::parse(br#"{"consumer":{"name":"C"}}"#).unwrap();
        assert_eq!(with.sha(), without.sha());
        assert_eq!(with.consumer_name(), Some("C"));
        assert_eq!(with.provider_name(), None);
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(PactDocument::parse(b"[1]").is_err());
        assert!(PactDocument::parse(b"{").is_err());
    }

    #[test]
    fn merging_replaces_same_interactions_and_appends_new_ones() {
        let mut base = PactDocument::parse(
            br#"{"interactions":[{"description":"a","providerState":"s","response":1},{"description":"b"}]}"#,
        )
        .unwrap();
        let incoming = PactDocument::parse(
            br#"{"interactions":[{"description":"a","providerState":"s","response":2},{"description":"c"}]}"#,
        )
        .unwrap();
        assert!(!base.merge_conflicts_with(&incoming));
        base.merge(&incoming);
        let merged: Value = serde_json::from_str(&canonical_json(&Value::Object(base.0))).unwrap();
        assert_eq!(
            merged["interactions"],
            json!([{"description":"a","providerState":"s","response":2},{"description":"b"},{"description":"c"}])
        );
    }

    #[test]
    fn merging_an_interaction_with_a_different_request_conflicts() {
        let base = doc(
            json!({"interactions":[{"description":"a","providerState":"s","request":{"method":"GET","path":"/"}}]}),
        );
        let same_request = doc(
            json!({"interactions":[{"description":"a","providerState":"s","request":{"method":"GET","path":"/"},"response":{"status":500}}]}),
        );
        let other_request = doc(
            json!({"interactions":[{"description":"a","providerState":"s","request":{"method":"POST","path":"/"}}]}),
        );
        assert!(!base.merge_conflicts_with(&same_request));
        assert!(base.merge_conflicts_with(&other_request));
        assert!(doc(json!({"messages":[]})).merge_conflicts_with(&same_request));
    }

    #[test]
    fn provider_states_are_read_from_both_spellings() {
        let pact = doc(json!({"interactions":[
            {"providerState":"a"},
            {"providerStates":[{"name":"b","params":{"id":1}},{"name":"c"}]},
            {"description":"none"}
        ]}));
        assert_eq!(
            pact.provider_states(),
            vec![
                ProviderState {
                    name: json!("a"),
                    params: None
                },
                ProviderState {
                    name: json!("b"),
                    params: Some(json!({"id":1}))
                },
                ProviderState {
                    name: json!("c"),
                    params: None
                },
            ]
        );
    }

    #[test]
    fn metadata_is_spliced_into_the_stored_text_as_valid_json() {
        let spliced = with_metadata(
            r#"{"consumer":{"name":"C"}}"#,
            &json!({"self":{"href":"x"}}),
            "2026-01-01T00:00:00+00:00",
        );
        let parsed: Value = serde_json::from_str(&spliced).unwrap();
        assert_eq!(parsed["_links"]["self"]["href"], "x");
        assert_eq!(parsed["consumer"]["name"], "C");
        let empty: Value = serde_json::from_str(&with_metadata("{}", &json!({}), "t")).unwrap();
        assert_eq!(empty["createdAt"], "t");
    }
}
