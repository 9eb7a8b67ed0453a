//! Metadata carried in pact URLs (`…/pact-version/{sha}/metadata/{m}`).
//!
//! The broker puts facts about why a pact was handed out into the URL it hands out, so that the
//! verification result published back through that URL can be attributed: the consumer version
//! (`cvn`, or its id `cv`), tags (`cvt`), whether the pact was work in progress (`w`) or pending
//! (`p`), and the selectors that chose it (`s`, each with `b`ranch, `t`ag, `l`atest,
//! `e`nvironment and consumer version id `cv`). The encoding is the broker's:
//! `base64url_nopad(rack_build_nested_query(hash))`; decoding accepts padding, standard Base64
//! and garbage (which decodes to nothing), as the broker does.
//!
//! Rack's nested query syntax (`s[][b]=main&s[][l]=true`) is parsed by [`crate::broker::query`]
//! and built here; `Nested::parse` also reads the deprecated GET form of pacts for verification.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{alphabet, Engine as _};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// A value of a Rack nested query: a string, a list or an (ordered) hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Nested {
    Str(String),
    List(Vec<Nested>),
    Hash(Vec<(String, Nested)>),
}

impl Nested {
    pub fn str(value: impl Into<String>) -> Self {
        Self::Str(value.into())
    }

    pub fn get(&self, key: &str) -> Option<&Nested> {
        match self {
            Self::Hash(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Nested]> {
        match self {
            Self::List(items) => Some(items),
            _ => None,
        }
    }

    /// Rack's `build_nested_query`.
    pub fn to_query(&self) -> String {
        fn build(value: &Nested, prefix: Option<&str>, out: &mut Vec<String>) {
            match value {
                Nested::List(items) => {
                    let prefix = format!("{}[]", prefix.unwrap_or_default());
                    for item in items {
                        build(item, Some(&prefix), out);
                    }
                }
                Nested::Hash(entries) => {
                    for (key, item) in entries {
                        let prefix = match prefix {
                            Some(prefix) => format!("{prefix}[{key}]"),
                            None => key.clone(),
                        };
                        build(item, Some(&prefix), out);
                    }
                }
                Nested::Str(s) => out.push(format!(
                    "{}={}",
                    form_escape(prefix.unwrap_or_default()),
                    form_escape(s)
                )),
            }
        }
        let mut parts = Vec::new();
        build(self, None, &mut parts);
        parts.join("&")
    }

    /// Rack's `parse_nested_query` (see [`crate::broker::query`]); a query Rack would refuse
    /// reads as nothing, as garbage metadata does.
    pub fn parse(query: &str) -> Self {
        match crate::broker::query::parse_nested_query(query) {
            Ok(params) => Nested::Hash(
                params
                    .into_iter()
                    .map(|(k, v)| (k, Nested::from(v)))
                    .collect(),
            ),
            Err(_) => Nested::Hash(Vec::new()),
        }
    }
}

impl From<crate::broker::query::Param> for Nested {
    fn from(param: crate::broker::query::Param) -> Self {
        use crate::broker::query::Param;
        match param {
            Param::Value(value) => Nested::Str(value.unwrap_or_default()),
            Param::Array(items) => Nested::List(items.into_iter().map(Nested::from).collect()),
            Param::Hash(hash) => Nested::Hash(
                hash.into_iter()
                    .map(|(k, v)| (k, Nested::from(v)))
                    .collect(),
            ),
        }
    }
}

/// `URI.encode_www_form_component`: everything but `*-._0-9A-Za-z` escaped, space as `+`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b' ');

fn form_escape(s: &str) -> String {
    utf8_percent_encode(s, FORM).to_string().replace(' ', "+")
}

/// Encodes metadata for a pact URL.
pub fn encode(metadata: &Nested) -> String {
    URL_SAFE_NO_PAD.encode(metadata.to_query())
}

const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes the metadata segment of a pact URL; anything undecodable is empty metadata.
pub fn decode(segment: &str) -> Nested {
    if segment.is_empty() {
        return Nested::Hash(Vec::new());
    }
    let bytes = URL_SAFE_LENIENT.decode(segment).or_else(|_| {
        // The broker falls back to the lenient standard decoder (which skips bad characters).
        let cleaned: String = segment
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/'))
            .collect();
        let padded = format!("{cleaned}{}", "=".repeat((4 - cleaned.len() % 4) % 4));
        STANDARD.decode(padded)
    });
    match bytes.ok().and_then(|b| String::from_utf8(b).ok()) {
        Some(query) => Nested::parse(&query),
        None => Nested::Hash(Vec::new()),
    }
}

/// A selector recorded in the metadata of a pact handed out for verification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataSelector {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub latest: Option<bool>,
    pub environment: Option<String>,
    pub consumer_version_id: Option<i64>,
}

/// What a pact URL's metadata says, with the broker's long names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PactMetadata {
    pub consumer_version_number: Option<String>,
    pub consumer_version_id: Option<i64>,
    pub consumer_version_tags: Vec<String>,
    pub wip: bool,
    pub pending: Option<bool>,
    pub selectors: Vec<MetadataSelector>,
}

fn as_bool(value: Option<&Nested>) -> Option<bool> {
    match value.and_then(Nested::as_str) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    }
}

impl PactMetadata {
    /// Reads decoded metadata.
    pub fn from_nested(nested: &Nested) -> Self {
        let string = |key| nested.get(key).and_then(Nested::as_str).map(str::to_owned);
        let id =
            |value: Option<&Nested>| value.and_then(Nested::as_str).and_then(|s| s.parse().ok());
        let selectors = nested
            .get("s")
            .and_then(Nested::as_list)
            .unwrap_or_default()
            .iter()
            .map(|s| MetadataSelector {
                branch: s.get("b").and_then(Nested::as_str).map(str::to_owned),
                tag: s.get("t").and_then(Nested::as_str).map(str::to_owned),
                latest: as_bool(s.get("l")),
                environment: s.get("e").and_then(Nested::as_str).map(str::to_owned),
                consumer_version_id: id(s.get("cv")),
            })
            .collect();
        Self {
            consumer_version_number: string("cvn"),
            consumer_version_id: id(nested.get("cv")),
            consumer_version_tags: match nested.get("cvt") {
                Some(Nested::List(items)) => items
                    .iter()
                    .filter_map(Nested::as_str)
                    .map(str::to_owned)
                    .collect(),
                Some(Nested::Str(s)) => vec![s.clone()],
                _ => Vec::new(),
            },
            wip: nested.get("w").and_then(Nested::as_str) == Some("true"),
            pending: as_bool(nested.get("p")),
            selectors,
        }
    }

    /// Decodes a metadata path segment.
    pub fn decode(segment: &str) -> Self {
        Self::from_nested(&decode(segment))
    }
}

/// `{"cvn": number}`: links from a verification result back to its pact.
pub fn for_consumer_version_number(number: &str) -> Nested {
    Nested::Hash(vec![("cvn".into(), Nested::str(number))])
}

/// `{"cvt": [tag], "cv": id}`: the latest (tagged) pact's verification publication link.
pub fn for_latest_pact(consumer_version_id: i64, tag: Option<&str>) -> Nested {
    let mut entries = Vec::new();
    if let Some(tag) = tag {
        entries.push(("cvt".into(), Nested::List(vec![Nested::str(tag)])));
    }
    entries.push(("cv".into(), Nested::str(consumer_version_id.to_string())));
    Nested::Hash(entries)
}

/// `{"w": true}` for a work-in-progress pact, else `{"s": [selectors], "p": pending}`.
pub fn for_verification(
    selectors: &[MetadataSelector],
    pending: Option<bool>,
    wip: bool,
) -> Nested {
    if wip {
        return Nested::Hash(vec![("w".into(), Nested::str("true"))]);
    }
    let selectors = selectors
        .iter()
        .map(|s| {
            let mut entries = Vec::new();
            if let Some(b) = &s.branch {
                entries.push(("b".into(), Nested::str(b)));
            }
            if let Some(t) = &s.tag {
                entries.push(("t".into(), Nested::str(t)));
            }
            if let Some(l) = s.latest {
                entries.push(("l".into(), Nested::str(l.to_string())));
            }
            if let Some(e) = &s.environment {
                entries.push(("e".into(), Nested::str(e)));
            }
            if let Some(cv) = s.consumer_version_id {
                entries.push(("cv".into(), Nested::str(cv.to_string())));
            }
            Nested::Hash(entries)
        })
        .collect();
    let mut entries = vec![("s".into(), Nested::List(selectors))];
    if let Some(p) = pending {
        entries.push(("p".into(), Nested::str(p.to_string())));
    }
    Nested::Hash(entries)
}

/// `{"cvn": number, "cvt": tags, "w": "true"}`: the pact URL given to webhooks on publication.
pub fn for_webhook(number: &str, tags: &[String]) -> Nested {
    Nested::Hash(vec![
        ("cvn".into(), Nested::str(number)),
        (
            "cvt".into(),
            Nested::List(tags.iter().map(Nested::str).collect()),
        ),
        ("w".into(), Nested::str("true")),
    ])
}

/// `{wip: true}` as the broker writes it into notice texts for WIP pacts.
pub fn for_wip_notice() -> Nested {
    Nested::Hash(vec![("wip".into(), Nested::str("true"))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_encoded_as_the_broker_encodes_it() {
        let metadata = for_verification(
            &[MetadataSelector {
                branch: Some("main".into()),
                latest: Some(true),
                consumer_version_id: Some(12),
                ..Default::default()
            }],
            Some(false),
            false,
        );
        assert_eq!(
            metadata.to_query(),
            "s%5B%5D%5Bb%5D=main&s%5B%5D%5Bl%5D=true&s%5B%5D%5Bcv%5D=12&p=false"
        );
        // Base64.urlsafe_encode64("wip=true", padding: false), as in the broker's notices.
        assert_eq!(encode(&for_wip_notice()), "d2lwPXRydWU");
        assert_eq!(
            encode(&for_latest_pact(7, Some("prod"))),
            URL_SAFE_NO_PAD.encode("cvt%5B%5D=prod&cv=7")
        );
        assert_eq!(
            for_consumer_version_number("1.0 beta").to_query(),
            "cvn=1.0+beta"
        );
    }

    #[test]
    fn metadata_round_trips_and_decoding_tolerates_padding() {
        let selectors = vec![
            MetadataSelector {
                branch: Some("feat/x y".into()),
                latest: Some(true),
                consumer_version_id: Some(3),
                ..Default::default()
            },
            MetadataSelector {
                branch: Some("main".into()),
                latest: Some(true),
                consumer_version_id: Some(4),
                ..Default::default()
            },
        ];
        let encoded = encode(&for_verification(&selectors, Some(true), false));
        let decoded = PactMetadata::decode(&encoded);
        assert_eq!(decoded.selectors, selectors);
        assert_eq!(decoded.pending, Some(true));
        assert!(!decoded.wip);

        // Rack starts a new list element only when a key repeats, so selectors with different
        // keys fold together (as in the broker); the consumer versions survive.
        let mixed = vec![
            MetadataSelector {
                tag: Some("prod".into()),
                consumer_version_id: Some(5),
                ..Default::default()
            },
            MetadataSelector {
                environment: Some("production".into()),
                consumer_version_id: Some(6),
                ..Default::default()
            },
        ];
        let decoded = PactMetadata::decode(&encode(&for_verification(&mixed, None, false)));
        let ids: Vec<_> = decoded
            .selectors
            .iter()
            .map(|s| s.consumer_version_id)
            .collect();
        assert_eq!(ids, vec![Some(5), Some(6)]);

        let padded = STANDARD.encode("cvn=1.2.3&w=true");
        assert!(padded.ends_with('='));
        let decoded = PactMetadata::decode(&padded);
        assert_eq!(decoded.consumer_version_number.as_deref(), Some("1.2.3"));
        assert!(decoded.wip);
        let unpadded = PactMetadata::decode(padded.trim_end_matches('='));
        assert_eq!(unpadded, decoded);
    }

    #[test]
    fn garbage_metadata_decodes_to_nothing() {
        assert_eq!(PactMetadata::decode("!!!"), PactMetadata::default());
        assert_eq!(PactMetadata::decode(""), PactMetadata::default());
        let latest = PactMetadata::decode(&encode(&for_latest_pact(9, Some("prod"))));
        assert_eq!(latest.consumer_version_id, Some(9));
        assert_eq!(latest.consumer_version_tags, vec!["prod".to_owned()]);
    }

    #[test]
    fn nested_queries_group_list_elements_the_rack_way() {
        let parsed = Nested::parse(
            "consumer_version_selectors[][tag]=main&consumer_version_selectors[][latest]=true&consumer_version_selectors[][tag]=prod&provider_version_tags[]=a&provider_version_tags[]=b&include_pending_status=true",
        );
        let selectors = parsed
            .get("consumer_version_selectors")
            .and_then(Nested::as_list)
            .unwrap();
        assert_eq!(selectors.len(), 2);
        assert_eq!(
            selectors[0].get("latest").and_then(Nested::as_str),
            Some("true")
        );
        assert_eq!(
            selectors[1].get("tag").and_then(Nested::as_str),
            Some("prod")
        );
        assert_eq!(
            parsed.get("provider_version_tags"),
            Some(&Nested::List(vec![Nested::str("a"), Nested::str("b")]))
        );
        assert_eq!(
            Nested::parse("a%5Bb%5D=x+y")
                .get("a")
                .and_then(|a| a.get("b")),
            Some(&Nested::str("x y"))
        );
    }
}
