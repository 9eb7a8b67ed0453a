//! Diffs between pact versions, in the broker's text form: the Pact matchers' diff of the
//! previous content against the new one (only what differs is shown; keys added to an object
//! are not differences), rendered as two pretty-printed JSON documents and compared line by
//! line as a unified diff with three lines of context. The same text is the `info` notice of a
//! refused publication.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::links::pact_url;
use super::lookup::not_found;
use crate::broker::http::extract::PathParams;
use crate::broker::pact_document::canonical_json;
use crate::broker::store::pacts::{self as pact_store, PactRef, PublishedPact};
use crate::error::{Error, Result};
use crate::gate::TenantContext;

/// A node of the matchers' diff.
#[derive(Debug)]
enum Diff {
    Same,
    Hash(Vec<(String, Diff)>),
    /// Element by element; `Same` elements render as "no difference here!".
    Array(Vec<Diff>),
    Different {
        expected: Side,
        actual: Side,
    },
}

/// One side of a difference.
#[derive(Clone, Debug)]
enum Side {
    Value(Value),
    /// The key or element is missing on this side.
    Absent,
}

fn calculate(expected: &Side, actual: &Side) -> Diff {
    match (expected, actual) {
        (Side::Value(Value::Object(exp)), Side::Value(Value::Object(act))) => {
            let mut entries = Vec::new();
            for (key, value) in exp {
                let other = act.get(key).cloned().map_or(Side::Absent, Side::Value);
                let diff = calculate(&Side::Value(value.clone()), &other);
                if !matches!(diff, Diff::Same) {
                    entries.push((key.clone(), diff));
                }
            }
            // Keys only in the actual object are not differences (allow_unexpected_keys).
            if entries.is_empty() {
                Diff::Same
            } else {
                Diff::Hash(entries)
            }
        }
        (Side::Value(Value::Array(exp)), Side::Value(Value::Array(act))) => {
            let len = exp.len().max(act.len());
            let items: Vec<Diff> = (0..len)
                .map(|i| {
                    let e = exp.get(i).cloned().map_or(Side::Absent, Side::Value);
                    let a = act.get(i).cloned().map_or(Side::Absent, Side::Value);
                    calculate(&e, &a)
                })
                .collect();
            if items.iter().all(|d| matches!(d, Diff::Same)) {
                Diff::Same
            } else {
                Diff::Array(items)
            }
        }
        (Side::Value(e), Side::Value(a)) if e == a => Diff::Same,
        (Side::Absent, Side::Absent) => Diff::Same,
        _ => Diff::Different {
            expected: expected.clone(),
            actual: actual.clone(),
        },
    }
}

/// One side of the diff as a JSON document (absent keys and elements left out).
fn render(diff: &Diff, expected_side: bool) -> Option<Value> {
    match diff {
        Diff::Same => Some(Value::String("no difference here!".into())),
        Diff::Hash(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                if let Some(value) = render(value, expected_side) {
                    map.insert(key.clone(), value);
                }
            }
            Some(Value::Object(map))
        }
        Diff::Array(items) => {
            // Ruby leaves a nil in a gap before a later element, and none after the last one.
            let rendered: Vec<Option<Value>> =
                items.iter().map(|d| render(d, expected_side)).collect();
            let last = rendered.iter().rposition(Option::is_some);
            Some(Value::Array(
                rendered
                    .into_iter()
                    .take(last.map_or(0, |l| l + 1))
                    .map(|v| v.unwrap_or(Value::Null))
                    .collect(),
            ))
        }
        Diff::Different { expected, actual } => {
            match if expected_side { expected } else { actual } {
                Side::Value(v) => Some(v.clone()),
                Side::Absent => None,
            }
        }
    }
}

/// The broker's `SortContent` without interaction ids: keys sorted, interactions (or messages)
/// ordered by their JSON.
fn prepare(content: &str) -> Value {
    let mut value: Value = serde_json::from_str(content).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        let key = if map.contains_key("interactions") {
            Some("interactions")
        } else if map.contains_key("messages") {
            Some("messages")
        } else {
            None
        };
        for list in ["interactions", "messages"] {
            if let Some(Value::Array(items)) = map.get_mut(list) {
                for item in items.iter_mut() {
                    if let Value::Object(interaction) = item {
                        interaction.remove("_id");
                    }
                }
                if Some(list) == key {
                    items.sort_by_cached_key(canonical_json);
                }
            }
        }
    }
    value
}

/// The unified diff of the previous content against the new one (`CreateFormattedDiff`).
pub fn formatted_diff(new_content: &str, previous_content: &str) -> String {
    let diff = calculate(
        &Side::Value(prepare(previous_content)),
        &Side::Value(prepare(new_content)),
    );
    if matches!(diff, Diff::Same) {
        return String::new();
    }
    let pretty = |v: Option<Value>| {
        serde_json::to_string_pretty(&v.unwrap_or(Value::Null)).unwrap_or_default()
    };
    let expected = pretty(render(&diff, true));
    let actual = pretty(render(&diff, false));
    unified_diff(&expected, &actual)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Keep,
    Remove,
    Add,
}

/// Line operations turning `old` into `new` (longest common subsequence).
fn edit_script(old: &[&str], new: &[&str]) -> Vec<(Op, usize, usize)> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (o, n) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut ops: Vec<(Op, usize, usize)> = (0..prefix).map(|i| (Op::Keep, i, i)).collect();
    if o.len().saturating_mul(n.len()) <= 4_000_000 {
        // lengths[i][j] = LCS of o[i..] and n[j..]
        let mut lengths = vec![vec![0u32; n.len() + 1]; o.len() + 1];
        for i in (0..o.len()).rev() {
            for j in (0..n.len()).rev() {
                lengths[i][j] = if o[i] == n[j] {
                    lengths[i + 1][j + 1] + 1
                } else {
                    lengths[i + 1][j].max(lengths[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < o.len() || j < n.len() {
            if i < o.len() && j < n.len() && o[i] == n[j] {
                ops.push((Op::Keep, prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if j < n.len() && (i == o.len() || lengths[i][j + 1] >= lengths[i + 1][j]) {
                ops.push((Op::Add, prefix + i, prefix + j));
                j += 1;
            } else {
                ops.push((Op::Remove, prefix + i, prefix + j));
                i += 1;
            }
        }
    } else {
        ops.extend((0..o.len()).map(|i| (Op::Remove, prefix + i, prefix)));
        ops.extend((0..n.len()).map(|j| (Op::Add, prefix + o.len(), prefix + j)));
    }
    ops.extend((0..suffix).map(|k| (Op::Keep, old.len() - suffix + k, new.len() - suffix + k)));
    // Within a change, removals come before additions, as in a unified diff.
    let mut ordered = Vec::with_capacity(ops.len());
    let mut pending_adds = Vec::new();
    for op in ops {
        match op.0 {
            Op::Add => pending_adds.push(op),
            Op::Remove => ordered.push(op),
            Op::Keep => {
                ordered.append(&mut pending_adds);
                ordered.push(op);
            }
        }
    }
    ordered.append(&mut pending_adds);
    ordered
}

/// A unified diff (three lines of context, hunks separated by new lines, no file header).
fn unified_diff(old_text: &str, new_text: &str) -> String {
    const CONTEXT: usize = 3;
    let old: Vec<&str> = old_text.lines().collect();
    let new: Vec<&str> = new_text.lines().collect();
    let ops = edit_script(&old, &new);
    let changes: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.0 != Op::Keep)
        .map(|(i, _)| i)
        .collect();
    if changes.is_empty() {
        return String::new();
    }
    // Group changes whose context would touch or overlap.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &c in &changes {
        match groups.last_mut() {
            Some((_, end)) if c <= *end + 2 * CONTEXT + 1 => *end = c,
            _ => groups.push((c, c)),
        }
    }
    let range = |start: usize, len: usize| {
        if len == 1 {
            format!("{start}")
        } else if len == 0 {
            format!("{},0", start.saturating_sub(1))
        } else {
            format!("{start},{len}")
        }
    };
    let mut hunks = Vec::new();
    for (first, last) in groups {
        let from = first.saturating_sub(CONTEXT);
        let to = (last + CONTEXT).min(ops.len() - 1);
        let slice = &ops[from..=to];
        let old_len = slice.iter().filter(|o| o.0 != Op::Add).count();
        let new_len = slice.iter().filter(|o| o.0 != Op::Remove).count();
        let old_start = slice[0].1 + 1;
        let new_start = slice[0].2 + 1;
        let mut lines = vec![format!(
            "@@ -{} +{} @@",
            range(old_start, old_len),
            range(new_start, new_len)
        )];
        for (op, i, j) in slice {
            lines.push(match op {
                Op::Keep => format!(" {}", old[*i]),
                Op::Remove => format!("-{}", old[*i]),
                Op::Add => format!("+{}", new[*j]),
            });
        }
        hunks.push(lines.join("\n"));
    }
    format!("{}\n", hunks.join("\n"))
}

/// ActionView's `distance_of_time_in_words`, as the broker words the age of a change.
fn distance_in_words(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let seconds = (to - from).num_seconds().unsigned_abs() as f64;
    let minutes = (seconds / 60.0).round() as i64;
    let plural = |n: i64, one: &str, other: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            other.replace("%{count}", &n.to_string())
        }
    };
    let round = |divisor: f64| (minutes as f64 / divisor).round() as i64;
    match minutes {
        0 => "less than a minute".into(),
        1 => "1 minute".into(),
        2..=44 => format!("{minutes} minutes"),
        45..=89 => "about 1 hour".into(),
        90..=1439 => plural(round(60.0), "about 1 hour", "about %{count} hours"),
        1440..=2519 => "1 day".into(),
        2520..=43199 => plural(round(1440.0), "1 day", "%{count} days"),
        43200..=86399 => plural(round(43200.0), "about 1 month", "about %{count} months"),
        86400..=525599 => plural(round(43200.0), "1 month", "%{count} months"),
        _ => {
            let years = minutes / 525_600;
            let remainder = minutes % 525_600;
            if remainder < 131_400 {
                plural(years, "about 1 year", "about %{count} years")
            } else if remainder < 394_200 {
                plural(years, "over 1 year", "over %{count} years")
            } else {
                plural(years + 1, "almost 1 year", "almost %{count} years")
            }
        }
    }
}

fn yaml_scalar(s: &str) -> String {
    let special = s.is_empty()
        || s.contains(": ")
        || s.contains(" #")
        || s.starts_with(|c: char| "!&*{}[]|>'\"%@,?:-#`".contains(c) || c.is_whitespace())
        || s.ends_with(char::is_whitespace);
    if special {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_owned()
    }
}

/// The broker's diff page (`Pacts::Diff::DiffDecorator`).
fn diff_text(
    base: &str,
    pact: &PublishedPact,
    comparison: &PublishedPact,
    changed_at: DateTime<Utc>,
) -> String {
    let header = format!(
        "# Diff between versions {} and {} of the pact between {} and {}\n\nThe following changes were made {} ago ({})",
        comparison.consumer_version_number,
        pact.consumer_version_number,
        pact.consumer_name,
        pact.provider_name,
        distance_in_words(changed_at, Utc::now()),
        changed_at.format("%a %d %b %Y, %-I:%M%P %:z"),
    );
    let link = |key: &str, p: &PactRef| {
        format!(
            "{key}:\n  title: Pact\n  name: {}\n  href: {}\n",
            yaml_scalar(&p.name()),
            yaml_scalar(&pact_url(base, p))
        )
    };
    let links = format!(
        "## Links\n\n{}{}",
        link("pact-version", pact),
        link("comparison-pact-version", comparison)
    );
    format!(
        "{header}\n\n{}\n\n{links}",
        formatted_diff(&pact.content, &comparison.content)
    )
}

async fn diff_response(
    tenant: &TenantContext,
    pact: PublishedPact,
    comparison: Option<PublishedPact>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let text = match comparison {
        Some(comparison) => {
            // The change happened when the first version after the comparison was published.
            let changed_at = pact_store::next_after(&mut conn, &comparison)
                .await?
                .map_or(pact.created_at, |next| next.created_at);
            diff_text(&tenant.base_url, &pact, &comparison, changed_at)
        }
        None => format!("No previous distinct version was found for {}", pact.name()),
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

/// `GET …/version/{version}/diff/previous-distinct`.
pub async fn get_diff_with_previous_distinct(
    tenant: TenantContext,
    PathParams((provider, consumer, number)): PathParams<(String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = pact_store::for_consumer_version(&mut conn, &provider, &consumer, &number)
        .await?
        .ok_or_else(|| not_found(&consumer, &number, &provider))?;
    let previous = pact_store::previous_distinct(&mut conn, &pact).await?;
    drop(conn);
    diff_response(&tenant, pact, previous).await
}

/// `GET …/version/{version}/diff/version/{other}`.
pub async fn get_diff_with_version(
    tenant: TenantContext,
    PathParams((provider, consumer, number, other)): PathParams<(String, String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pact = pact_store::for_consumer_version(&mut conn, &provider, &consumer, &number)
        .await?
        .ok_or_else(|| not_found(&consumer, &number, &provider))?;
    let comparison = pact_store::for_consumer_version(&mut conn, &provider, &consumer, &other)
        .await?
        .ok_or_else(|| not_found(&consumer, &other, &provider))?;
    drop(conn);
    diff_response(&tenant, pact, Some(comparison)).await
}

/// `GET …/pact-version/{sha}/diff/pact-version/{other}`.
pub async fn get_diff_with_pact_version(
    tenant: TenantContext,
    PathParams((provider, consumer, sha, other)): PathParams<(String, String, String, String)>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let missing = |sha: &str| {
        Error::NotFound(format!(
            "No pact with content {sha} found between {consumer} and {provider}"
        ))
    };
    let pact = pact_store::by_sha(&mut conn, &provider, &consumer, &sha, None)
        .await?
        .ok_or_else(|| missing(&sha))?;
    let comparison = pact_store::by_sha(&mut conn, &provider, &consumer, &other, None)
        .await?
        .ok_or_else(|| missing(&other))?;
    drop(conn);
    diff_response(&tenant, pact, Some(comparison)).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_what_changed_is_shown_as_a_unified_diff() {
        let previous = json!({"consumer":{"name":"C"},"interactions":[
            {"_id":"1","description":"a","response":{"status":200}},
            {"_id":"2","description":"b","response":{"status":200}}
        ]});
        let new = json!({"consumer":{"name":"C"},"interactions":[
            {"description":"a","response":{"status":200}},
            {"description":"b","response":{"status":404}}
        ]});
        let diff = formatted_diff(&new.to_string(), &previous.to_string());
        assert_eq!(
            diff,
            "@@ -3,7 +3,7 @@\n     \"no difference here!\",\n     {\n       \"response\": {\n-        \"status\": 200\n+        \"status\": 404\n       }\n     }\n   ]\n"
        );
        assert!(!diff.contains("consumer"));
    }

    #[test]
    fn identical_content_has_an_empty_diff_and_added_keys_are_not_differences() {
        let a = json!({"interactions":[{"description":"a"}]}).to_string();
        assert_eq!(formatted_diff(&a, &a), "");
        let with_more = json!({"interactions":[{"description":"a"}],"metadata":{}}).to_string();
        assert_eq!(formatted_diff(&with_more, &a), "");
    }

    #[test]
    fn added_interactions_are_shown() {
        let previous = json!({"interactions":[{"description":"a"}]}).to_string();
        let new = json!({"interactions":[{"description":"a"},{"description":"b"}]}).to_string();
        let diff = formatted_diff(&new, &previous);
        assert!(
            diff.contains("+    {\n+      \"description\": \"b\"\n+    }"),
            "{diff}"
        );
        assert!(diff.contains("\"no difference here!\""), "{diff}");
    }

    #[test]
    fn ages_are_worded_like_the_broker() {
        let now = Utc::now();
        let ago = |minutes| distance_in_words(now - chrono::Duration::minutes(minutes), now);
        assert_eq!(ago(0), "less than a minute");
        assert_eq!(ago(10), "10 minutes");
        assert_eq!(ago(60), "about 1 hour");
        assert_eq!(ago(3 * 60), "about 3 hours");
        assert_eq!(ago(3 * 1440), "3 days");
        assert_eq!(ago(400 * 1440), "about 1 year");
    }
}
