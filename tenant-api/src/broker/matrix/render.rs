//! Matrix responses as the broker writes them: HAL+JSON (`MatrixDecorator`) with each row's
//! versions, branches, tags, environments and links, or a plain-text table (`MatrixTextDecorator`).

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sqlx::PgConnection;

use super::summary::{DeploymentStatusSummary, QueryResults};
use crate::broker::http::hal;
use crate::broker::store::matrix::{
    self as store, MatrixRow, VersionBranch, VersionEnvironment, VersionTag,
};

/// The broker's date format (`xmlschema`, UTC, `+00:00`).
pub fn format_date(date: &DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// What the rows' versions carry, loaded in three queries for all of them.
#[derive(Default)]
pub struct VersionDetails {
    branches: HashMap<i64, Vec<VersionBranch>>,
    tags: HashMap<i64, Vec<VersionTag>>,
    environments: HashMap<i64, Vec<VersionEnvironment>>,
}

impl VersionDetails {
    pub async fn load(conn: &mut PgConnection, results: &QueryResults) -> sqlx::Result<Self> {
        let mut ids: Vec<i64> = Vec::new();
        for row in results.considered_rows.iter().chain(&results.ignored_rows) {
            ids.push(row.consumer_version_id);
            ids.extend(row.provider_version_id);
        }
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Self::default());
        }
        let mut details = Self::default();
        for row in store::version_details(conn, &ids).await? {
            let mut environments: Vec<VersionEnvironment> = Vec::new();
            for environment in row.environments.0 {
                if !environments.iter().any(|e| e.uuid == environment.uuid) {
                    environments.push(environment);
                }
            }
            details.branches.insert(row.version_id, row.branches.0);
            details.tags.insert(row.version_id, row.tags.0);
            details.environments.insert(row.version_id, environments);
        }
        Ok(details)
    }

    fn version(&self, base: &str, pacticipant: &str, version_id: i64, number: &str) -> Value {
        let branches: Vec<Value> = self
            .branches
            .get(&version_id)
            .map(|list| list.iter().map(|b| branch_version(base, b)).collect())
            .unwrap_or_default();
        let version_url = hal::url(base, &["pacticipants", pacticipant, "versions", number]);
        let tags: Vec<Value> = self
            .tags
            .get(&version_id)
            .map(|list| {
                list.iter()
                    .map(|t| {
                        json!({
                            "name": t.name,
                            "latest": t.latest,
                            "_links": { "self": { "href": hal::url(base, &["pacticipants", pacticipant, "versions", number, "tags", &t.name]) } }
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let environments: Vec<Value> = self
            .environments
            .get(&version_id)
            .map(|list| list.iter().map(|e| environment(base, e)).collect())
            .unwrap_or_default();
        json!({
            "number": number,
            "branch": self.branches.get(&version_id).and_then(|l| l.last()).map(|b| b.branch_name.clone()),
            "branches": branches,
            "branchVersions": branches,
            "environments": environments,
            "_links": { "self": { "href": version_url } },
            "tags": tags,
        })
    }
}

fn branch_version(base: &str, branch: &VersionBranch) -> Value {
    json!({
        "name": branch.branch_name,
        "latest": branch.latest,
        "_links": { "self": {
            "title": "Branch version",
            "name": branch.branch_name,
            "href": hal::url(base, &["pacticipants", &branch.pacticipant_name, "branches", &branch.branch_name, "versions", &branch.version_number]),
        } }
    })
}

fn environment(base: &str, environment: &VersionEnvironment) -> Value {
    let mut value = json!({
        "uuid": environment.uuid,
        "name": environment.name,
        "production": environment.production,
        "createdAt": format_date(&environment.created_at),
        "_links": { "self": {
            "title": "Environment",
            "name": environment.name,
            "href": hal::url(base, &["environments", &environment.uuid.to_string()]),
        } }
    });
    if let Some(display_name) = &environment.display_name {
        value["displayName"] = json!(display_name);
    }
    if environment.updated_at != environment.created_at {
        value["updatedAt"] = json!(format_date(&environment.updated_at));
    }
    value
}

/// `application/x-www-form-urlencoded` encoding as Rack's `build_nested_query` writes values.
fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A verification's URL with the consumer version in its metadata segment, as the matrix links it.
pub fn verification_url(base: &str, row: &MatrixRow, number: i32) -> String {
    let metadata = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("cvn={}", form_encode(&row.consumer_version_number)));
    hal::url(
        base,
        &[
            "pacts",
            "provider",
            &row.provider_name,
            "consumer",
            &row.consumer_name,
            "pact-version",
            &row.pact_version_sha,
            "metadata",
            &metadata,
            "verification-results",
            &number.to_string(),
        ],
    )
}

fn row_json(base: &str, details: &VersionDetails, row: &MatrixRow) -> Value {
    let provider_version = match (row.provider_version_id, &row.provider_version_number) {
        (Some(id), Some(number)) => details.version(base, &row.provider_name, id, number),
        _ => Value::Null,
    };
    let verification = match (row.success, row.verification_number) {
        (Some(success), Some(number)) => json!({
            "success": success,
            "verifiedAt": row.verification_executed_at.as_ref().map(format_date),
            "_links": { "self": { "href": verification_url(base, row, number) } }
        }),
        _ => Value::Null,
    };
    json!({
        "consumer": {
            "name": row.consumer_name,
            "version": details.version(base, &row.consumer_name, row.consumer_version_id, &row.consumer_version_number),
            "_links": { "self": { "href": hal::url(base, &["pacticipants", &row.consumer_name]) } }
        },
        "provider": {
            "name": row.provider_name,
            "version": provider_version,
            "_links": { "self": { "href": hal::url(base, &["pacticipants", &row.provider_name]) } }
        },
        "pact": {
            "createdAt": format_date(&row.pact_created_at),
            "_links": { "self": { "href": hal::url(base, &["pacts", "provider", &row.provider_name, "consumer", &row.consumer_name, "version", &row.consumer_version_number]) } }
        },
        "verificationResult": verification,
    })
}

/// `summary`, `notices` and `matrix`, as `MatrixDecorator#to_hash`.
pub fn matrix_json(base: &str, results: &QueryResults, details: &VersionDetails) -> Value {
    let summary = DeploymentStatusSummary::new(results);
    let reasons = summary.reasons();
    let counts = summary.counts();
    let mut summary_json = json!({
        "deployable": summary.deployable(),
        "reason": reasons.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n"),
        "success": counts.success,
        "failed": counts.failed,
        "unknown": counts.unknown,
    });
    if let Some(ignored) = counts.ignored {
        summary_json["ignored"] = json!(ignored);
    }
    let mut matrix: Vec<Value> = results
        .considered_rows
        .iter()
        .map(|row| row_json(base, details, row))
        .collect();
    matrix.extend(results.ignored_rows.iter().map(|row| {
        let mut value = row_json(base, details, row);
        value["ignored"] = json!(true);
        value
    }));
    json!({
        "summary": summary_json,
        "notices": reasons.iter().map(|r| json!({ "type": r.kind.as_str(), "text": r.text })).collect::<Vec<_>>(),
        "matrix": matrix,
    })
}

/// A plain-text table in the layout of Ruby's `table_print` (what the broker's text
/// representations use): upper-case headers, ` | ` between columns, values cut at 30 chars.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "No data.".to_owned();
    }
    const MAX_WIDTH: usize = 30;
    let cut = |value: &str| -> String {
        if value.chars().count() > MAX_WIDTH {
            let mut short: String = value.chars().take(MAX_WIDTH - 3).collect();
            short.push_str("...");
            short
        } else {
            value.to_owned()
        }
    };
    let headers: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|v| cut(v)).collect())
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or_default()
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(&headers)];
    out.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-"),
    );
    out.extend(rows.iter().map(|row| line(row)));
    out.join("\n")
}

/// The text representation of a matrix result.
pub fn matrix_text(results: &QueryResults) -> String {
    let summary = DeploymentStatusSummary::new(results);
    let rows: Vec<Vec<String>> = results
        .considered_rows
        .iter()
        .chain(&results.ignored_rows)
        .map(|row| {
            vec![
                row.consumer_name.clone(),
                row.consumer_version_number.clone(),
                row.pact_revision_number.to_string(),
                row.provider_name.clone(),
                row.provider_version_number.clone().unwrap_or_default(),
                row.verification_number
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                row.success.map(|s| s.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    let deployable = match summary.deployable() {
        Some(true) => "true",
        Some(false) => "false",
        None => "nil",
    };
    let reason = summary
        .reasons()
        .iter()
        .map(|r| r.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "{}\n\nDeployable: {deployable}\nReason: {reason}\n",
        table(
            &[
                "consumer",
                "c_version",
                "revision",
                "provider",
                "p_version",
                "number",
                "success"
            ],
            &rows
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_laid_out_like_table_print() {
        let text = table(
            &["consumer", "success"],
            &[
                vec!["Foo".into(), "true".into()],
                vec!["A-much-longer-name".into(), "".into()],
            ],
        );
        assert_eq!(
            text,
            "CONSUMER           | SUCCESS\n-------------------|--------\nFoo                | true\nA-much-longer-name |"
        );
        assert_eq!(table(&["a"], &[]), "No data.");
    }

    #[test]
    fn verification_links_carry_the_consumer_version_in_their_metadata() {
        assert_eq!(form_encode("1.2.3 rc/1"), "1.2.3+rc%2F1");
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("cvn=1.2.3");
        assert_eq!(encoded, "Y3ZuPTEuMi4z");
    }
}
