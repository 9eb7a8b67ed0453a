//! Query strings parsed the way the Pact Broker parses them: Rack's `parse_nested_query`.
//!
//! The matrix API depends on Rack's exact grouping rules. `q[][pacticipant]=A&q[][version]=1&
//! q[][pacticipant]=B` is two selectors because a new array element starts when the key being
//! set is already present in the current (last) element. Values are form-decoded: `+` is a
//! space and every `%XX` (including `%2e`) is decoded. `a[]=x` appends to an array, `a[b]=x`
//! nests a hash, a name without brackets is a plain key, and a later plain value replaces an
//! earlier one.

use std::collections::BTreeMap;
use std::fmt;

/// Rack refuses nesting deeper than this (`param_depth_limit`).
const DEPTH_LIMIT: usize = 32;

/// One parsed value: a string (`None` for a key without `=`), an array or a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    Value(Option<String>),
    Array(Vec<Param>),
    Hash(BTreeMap<String, Param>),
}

/// Parameters that cannot be combined the way they are written (`a=1&a[]=2`), which Rack also
/// refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Param {
    /// The string, when this is a string value with `=`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Param::Value(Some(value)) => Some(value),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Param]> {
        match self {
            Param::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_hash(&self) -> Option<&BTreeMap<String, Param>> {
        match self {
            Param::Hash(hash) => Some(hash),
            _ => None,
        }
    }

    /// `hash[key]` as a string.
    pub fn str_at(&self, key: &str) -> Option<&str> {
        self.as_hash()?.get(key)?.as_str()
    }
}

/// The parsed query: the top-level hash.
pub type Params = BTreeMap<String, Param>;

/// Parses `query` (without the leading `?`) like `Rack::Utils.parse_nested_query`.
pub fn parse_nested_query(query: &str) -> Result<Params, QueryError> {
    let mut params = BTreeMap::new();
    for part in split_pairs(query) {
        if part.is_empty() {
            continue;
        }
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (unescape(name), Some(unescape(value))),
            None => (unescape(part), None),
        };
        normalize(&mut params, &name, value, 0)?;
    }
    Ok(params)
}

/// Rack splits on `&` followed by any spaces.
fn split_pairs(query: &str) -> impl Iterator<Item = &str> {
    query.split('&').map(|part| part.trim_start_matches(' '))
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; a `%` not
/// followed by two hex digits is kept as it is (Rack would refuse the request).
pub fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(high), Some(low)) => {
                        out.push((high * 16 + low) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn type_error(key: &str, expected: &str, got: &Param) -> QueryError {
    let got = match got {
        Param::Value(_) => "String",
        Param::Array(_) => "Array",
        Param::Hash(_) => "Hash",
    };
    QueryError(format!("expected {expected} (got {got}) for param `{key}'"))
}

/// Rack's `_normalize_params`: sets `value` at `name` inside `params`. Returns `Some([value])`
/// for a bare `[]` below the top level (`x[][]=1`), which the caller stores as an element.
fn normalize(
    params: &mut Params,
    name: &str,
    value: Option<String>,
    depth: usize,
) -> Result<Option<Vec<Param>>, QueryError> {
    if depth >= DEPTH_LIMIT {
        return Err(QueryError("the query string nests too deeply".into()));
    }
    let (key, after): (&str, &str) = if depth == 0 {
        // The start of a name: a leading `[` is part of the key.
        match name.get(1..).and_then(|rest| rest.find('[')) {
            Some(start) => (&name[..start + 1], &name[start + 1..]),
            None => (name, ""),
        }
    } else if let Some(rest) = name.strip_prefix("[]") {
        ("[]", rest)
    } else if let Some(close) = name
        .starts_with('[')
        .then(|| name.get(1..).and_then(|rest| rest.find(']')))
        .flatten()
    {
        (&name[1..close + 1], &name[close + 2..])
    } else {
        (name, "")
    };
    if key.is_empty() {
        return Ok(None);
    }
    if after.is_empty() {
        if key == "[]" && depth != 0 {
            return Ok(Some(vec![Param::Value(value)]));
        }
        params.insert(key.to_owned(), Param::Value(value));
    } else if after == "[" {
        params.insert(name.to_owned(), Param::Value(value));
    } else if after == "[]" {
        let entry = params
            .entry(key.to_owned())
            .or_insert_with(|| Param::Array(Vec::new()));
        match entry {
            Param::Array(items) => items.push(Param::Value(value)),
            other => return Err(type_error(key, "Array", other)),
        }
    } else if let Some(rest) = after.strip_prefix("[]") {
        // `x[][y]`: hashes inside an array.
        let child_key = match rest
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
        {
            Some(inner) if !inner.is_empty() && !inner.contains(['[', ']']) => inner,
            _ => rest,
        };
        let entry = params
            .entry(key.to_owned())
            .or_insert_with(|| Param::Array(Vec::new()));
        let items = match entry {
            Param::Array(items) => items,
            other => return Err(type_error(key, "Array", other)),
        };
        match items.last_mut() {
            Some(Param::Hash(last)) if !hash_has_key(last, child_key) => {
                normalize(last, child_key, value, depth + 1)?;
            }
            _ => {
                let mut child = BTreeMap::new();
                let element = match normalize(&mut child, child_key, value, depth + 1)? {
                    Some(array) => Param::Array(array),
                    None => Param::Hash(child),
                };
                items.push(element);
            }
        }
    } else {
        let entry = params
            .entry(key.to_owned())
            .or_insert_with(|| Param::Hash(BTreeMap::new()));
        match entry {
            Param::Hash(child) => {
                if let Some(array) = normalize(child, after, value, depth + 1)? {
                    *entry = Param::Array(array);
                }
            }
            other => return Err(type_error(key, "Hash", other)),
        }
    }
    Ok(None)
}

/// Rack's `params_hash_has_key?`: whether the (possibly nested) key is already set.
fn hash_has_key(hash: &Params, key: &str) -> bool {
    if key.contains("[]") {
        return false;
    }
    let mut current = hash;
    let parts: Vec<&str> = key
        .split(['[', ']'])
        .filter(|part| !part.is_empty())
        .collect();
    for (i, part) in parts.iter().enumerate() {
        match current.get(*part) {
            Some(Param::Hash(next)) => current = next,
            Some(_) if i == parts.len() - 1 => return true,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Param {
        Param::Value(Some(s.to_owned()))
    }

    fn hash(pairs: &[(&str, Param)]) -> Param {
        Param::Hash(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    fn parse(query: &str) -> Params {
        parse_nested_query(query).unwrap()
    }

    #[test]
    fn matrix_selectors_are_grouped_when_a_key_repeats_in_the_current_element() {
        let params = parse(
            "q[][pacticipant]=Foo&q[][version]=1.2.3&q[][pacticipant]=Bar&q[][latest]=true&q[][tag]=prod&latestby=cvpv",
        );
        assert_eq!(
            params["q"],
            Param::Array(vec![
                hash(&[("pacticipant", v("Foo")), ("version", v("1.2.3"))]),
                hash(&[
                    ("pacticipant", v("Bar")),
                    ("latest", v("true")),
                    ("tag", v("prod"))
                ]),
            ])
        );
        assert_eq!(params["latestby"], v("cvpv"));
    }

    #[test]
    fn sorted_queries_pair_the_way_rack_pairs_them() {
        // What a key-sorting client sends: Rack (and so the broker) pairs Foo with nothing
        // until the repeated key starts a new element.
        let params = parse(
            "q[][pacticipant]=Foo&q[][pacticipant]=Bar&q[][version]=1.2.3&q[][version]=4.5.6",
        );
        assert_eq!(
            params["q"],
            Param::Array(vec![
                hash(&[("pacticipant", v("Foo"))]),
                hash(&[("pacticipant", v("Bar")), ("version", v("1.2.3"))]),
                hash(&[("version", v("4.5.6"))]),
            ])
        );
    }

    #[test]
    fn values_are_form_decoded_including_encoded_dots_and_plus_signs() {
        let params = parse("q[][pacticipant]=Foo+Thing&q[][version]=1%2e2%2E3&tag=a%2Fb%20c");
        assert_eq!(
            params["q"],
            Param::Array(vec![hash(&[
                ("pacticipant", v("Foo Thing")),
                ("version", v("1.2.3"))
            ])])
        );
        assert_eq!(params["tag"], v("a/b c"));
    }

    #[test]
    fn brackets_may_be_percent_encoded() {
        let params = parse("q%5B%5D%5Bpacticipant%5D=Foo&q%5B%5D%5Bversion%5D=1");
        assert_eq!(
            params["q"],
            Param::Array(vec![hash(&[
                ("pacticipant", v("Foo")),
                ("version", v("1"))
            ])])
        );
    }

    #[test]
    fn plain_arrays_collect_every_value_including_blanks() {
        let params = parse("success[]=true&success[]=&success[]=false&ignore[]=Bar");
        assert_eq!(
            params["success"],
            Param::Array(vec![v("true"), v(""), v("false")])
        );
        assert_eq!(params["ignore"], Param::Array(vec![v("Bar")]));
    }

    #[test]
    fn a_later_plain_value_replaces_an_earlier_one_and_a_bare_key_has_no_value() {
        let params = parse("limit=5&limit=10&latest&&tag=");
        assert_eq!(params["limit"], v("10"));
        assert_eq!(params["latest"], Param::Value(None));
        assert_eq!(params["tag"], v(""));
    }

    #[test]
    fn nested_hashes_and_arrays_of_arrays_follow_rack() {
        let params = parse("a[b][c]=1&a[b][d]=2&x[][]=3&y[][z][w]=4&y[][z][w]=5");
        assert_eq!(
            params["a"],
            hash(&[("b", hash(&[("c", v("1")), ("d", v("2"))]))])
        );
        assert_eq!(params["x"], Param::Array(vec![Param::Array(vec![v("3")])]));
        assert_eq!(
            params["y"],
            Param::Array(vec![
                hash(&[("z", hash(&[("w", v("4"))]))]),
                hash(&[("z", hash(&[("w", v("5"))]))]),
            ])
        );
    }

    #[test]
    fn ignore_selectors_group_like_matrix_selectors() {
        let params =
            parse("ignore[][pacticipant]=Foo&ignore[][version]=3.4.5&ignore[][pacticipant]=Baz");
        assert_eq!(
            params["ignore"],
            Param::Array(vec![
                hash(&[("pacticipant", v("Foo")), ("version", v("3.4.5"))]),
                hash(&[("pacticipant", v("Baz"))]),
            ])
        );
    }

    #[test]
    fn conflicting_shapes_are_refused_not_panicked_on() {
        assert!(parse_nested_query("q=1&q[][pacticipant]=Foo").is_err());
        assert!(parse_nested_query("q[]=1&q[a]=2").is_err());
        assert!(parse_nested_query("a[b]=1&a[]=2").is_err());
        let deep = format!("a{}=1", "[b]".repeat(40));
        assert!(parse_nested_query(&deep).is_err());
    }

    #[test]
    fn malformed_percent_escapes_are_kept_literally() {
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%zz%4"), "%zz%4");
        assert_eq!(unescape("%E2%9C%93"), "✓");
    }

    #[test]
    fn empty_names_and_leading_spaces_after_ampersands_are_ignored() {
        let params = parse("=x&&  a=1&[]=2");
        assert_eq!(params.len(), 2, "{params:?}");
        assert_eq!(params["a"], v("1"));
        assert_eq!(params["[]"], v("2"));
    }
}
