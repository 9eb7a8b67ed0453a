//! Pact documents: parsed, checked, canonicalised, hashed, merged.
//!
//! A pact's identity is its content. We store the canonical form — object keys sorted, no
//! insignificant white space — and its SHA-1, so the same contract published twice (even
//! re-formatted) is the same pact version, and verification results carry over. Broker metadata
//! a client may send back (`_links`, `createdAt`) is not content and is dropped. Because the
//! stored text is canonical and starts with `{`, responses can add `_links` by splicing text
//! instead of re-serialising a parsed pact.

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

/// A parsed pact.
#[derive(Clone, Debug)]
pub struct PactDocument(Map<String, Value>);

/// A pact in stored form.
pub struct CanonicalPact {
    pub json: String,
    pub sha: String,
    pub interactions: i32,
    pub messages: i32,
}

impl PactDocument {
    /// Parses a pact; it must be a JSON object.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
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

    fn count(&self, key: &str) -> i32 {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .map_or(0, |a| i32::try_from(a.len()).unwrap_or(i32::MAX))
    }

    pub fn canonical(&self) -> CanonicalPact {
        let mut json = String::new();
        write_canonical(&mut json, &Value::Object(self.0.clone()));
        let sha = hex::encode(Sha1::digest(json.as_bytes()));
        CanonicalPact {
            sha,
            interactions: self.count("interactions"),
            messages: self.count("messages"),
            json,
        }
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
}

fn same_interaction(a: &Value, b: &Value) -> bool {
    let key = |v: &Value| {
        (
            v.get("description").cloned(),
            v.get("providerState").cloned(),
            v.get("providerStates").cloned(),
        )
    };
    key(a) == key(b)
}

/// Writes `value` with object keys sorted at every level and no white space.
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

    #[test]
    fn formatting_and_key_order_do_not_change_the_identity_of_a_pact() {
        let a = PactDocument::parse(
            br#"{"consumer":{"name":"C"},"provider":{"name":"P"},"interactions":[{"b":1,"a":2}]}"#,
        )
        .unwrap();
        let b = PactDocument::parse(b"{ \"interactions\": [ {\"a\": 2, \"b\": 1} ],\n \"provider\": {\"name\": \"P\"}, \"consumer\": {\"name\": \"C\"} }").unwrap();
        assert_eq!(a.canonical().sha, b.canonical().sha);
        assert_eq!(
            a.canonical().json,
            r#"{"consumer":{"name":"C"},"interactions":[{"a":2,"b":1}],"provider":{"name":"P"}}"#
        );
        let c = PactDocument::parse(
            br#"{"consumer":{"name":"C"},"provider":{"name":"P"},"interactions":[{"a":1,"b":2}]}"#,
        )
        .unwrap();
        assert_ne!(a.canonical().sha, c.canonical().sha);
    }

    #[test]
    fn broker_metadata_sent_back_is_not_content() {
        let with = PactDocument::parse(
            br#"{"consumer":{"name":"C"},"_links":{"self":{}},"createdAt":"x"}"#,
        )
        .unwrap();
        let without = PactDocument::parse(br#"{"consumer":{"name":"C"}}"#).unwrap();
        assert_eq!(with.canonical().sha, without.canonical().sha);
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
        base.merge(&incoming);
        let merged: Value = serde_json::from_str(&base.canonical().json).unwrap();
        assert_eq!(
            merged["interactions"],
            json!([{"description":"a","providerState":"s","response":2},{"description":"b"},{"description":"c"}])
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
