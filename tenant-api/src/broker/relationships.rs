//! `GET /relationships` (every integration with a pact) and `GET /groups/{pacticipant}` (the
//! integrations connected to one pacticipant) as the broker's `text/csv`
//! (`RelationshipsCsvDecorator`): one line per pacticipant, `id,name,1,1,0,order` followed by
//! the ids of its providers, padded with `0`s to the longest line.

use axum::routing::get;
use axum::Router;
use std::collections::HashMap;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::http::extract::{PathParams, Query};
use super::store::matrix as matrix_store;
use super::store::reports::{self, Pair};
use crate::error::{Error, Result};
use crate::gate::TenantContext;
use crate::state::AppState;

/// Relationships (also as `.csv`) and a pacticipant's group.
///
/// Merged into the broker router in `broker.rs`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/relationships", get(get_relationships))
        .route("/relationships.csv", get(get_relationships))
        .route("/groups/{pacticipant}", get(get_group))
}

/// One CSV field, quoted when it must be (Ruby's CSV rules).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The broker's relationships CSV for `pairs`.
pub fn relationships_csv(pairs: &[Pair]) -> String {
    let mut order: Vec<i64> = Vec::new();
    let mut lines: HashMap<i64, Vec<String>> = HashMap::new();
    let line_for =
        |lines: &mut HashMap<i64, Vec<String>>, id: i64, name: &str, order: &mut Vec<i64>| {
            lines.entry(id).or_insert_with(|| {
                order.push(id);
                vec![
                    id.to_string(),
                    csv_field(name),
                    "1".into(),
                    "1".into(),
                    "0".into(),
                    order.len().to_string(),
                ]
            });
        };
    for pair in pairs {
        line_for(
            &mut lines,
            pair.consumer_id,
            &pair.consumer_name,
            &mut order,
        );
        line_for(
            &mut lines,
            pair.provider_id,
            &pair.provider_name,
            &mut order,
        );
        if let Some(line) = lines.get_mut(&pair.consumer_id) {
            line.push(pair.provider_id.to_string());
        }
    }
    let width = lines.values().map(Vec::len).max().unwrap_or_default();
    let mut csv = String::new();
    for id in order {
        let mut line = lines.remove(&id).unwrap_or_default();
        line.resize(width, "0".into());
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    csv
}

fn csv_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv;charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// `GET /relationships`.
pub async fn get_relationships(tenant: TenantContext) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let pairs = reports::latest_pact_pairs(&mut conn).await?;
    Ok(csv_response(relationships_csv(&pairs)))
}

#[derive(Debug, Default, Deserialize)]
pub struct GroupParams {
    #[serde(rename = "maxPacticipants")]
    max_pacticipants: Option<String>,
}

/// `GET /groups/{pacticipant}[?maxPacticipants=N]`: the pacticipant's connected group.
pub async fn get_group(
    tenant: TenantContext,
    PathParams(pacticipant): PathParams<String>,
    Query(params): Query<GroupParams>,
) -> Result<Response> {
    let mut conn = tenant.db().await?;
    let Some(id) = matrix_store::pacticipant_id(&mut conn, &pacticipant).await? else {
        return Err(Error::NotFound(format!(
            "No pacticipant with name '{pacticipant}' found"
        )));
    };
    let mut pairs = reports::group_of(&mut conn, id).await?;
    if let Some(max) = params
        .max_pacticipants
        .as_deref()
        .and_then(|m| m.parse::<usize>().ok())
    {
        pairs = limit_group(pairs, id, max);
    }
    Ok(csv_response(relationships_csv(&pairs)))
}

/// The broker's breadth-first walk with `maxPacticipants`: rings of integrations around the
/// pacticipant, stopping after the ring that reaches the maximum.
fn limit_group(pairs: Vec<Pair>, start: i64, max: usize) -> Vec<Pair> {
    let mut taken: Vec<Pair> = Vec::new();
    let mut connected = vec![start];
    let mut frontier = vec![start];
    loop {
        let ring: Vec<Pair> = pairs
            .iter()
            .filter(|p| {
                (frontier.contains(&p.consumer_id) || frontier.contains(&p.provider_id))
                    && !taken
                        .iter()
                        .any(|t| t.consumer_id == p.consumer_id && t.provider_id == p.provider_id)
            })
            .cloned()
            .collect();
        let mut next = Vec::new();
        for pair in &ring {
            for id in [pair.consumer_id, pair.provider_id] {
                if !connected.contains(&id) {
                    connected.push(id);
                    next.push(id);
                }
            }
        }
        taken.extend(ring);
        if next.is_empty() || connected.len() >= max {
            break;
        }
        frontier = next;
    }
    // Keep the database's order.
    pairs
        .into_iter()
        .filter(|p| {
            taken
                .iter()
                .any(|t| t.consumer_id == p.consumer_id && t.provider_id == p.provider_id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(c: i64, p: i64) -> Pair {
        Pair {
            consumer_id: c,
            consumer_name: format!("P{c}"),
            provider_id: p,
            provider_name: format!("P{p}"),
        }
    }

    #[test]
    fn relationships_are_one_padded_line_per_pacticipant() {
        let csv = relationships_csv(&[pair(1, 2), pair(1, 3), pair(3, 2)]);
        assert_eq!(
            csv,
            "1,P1,1,1,0,1,2,3\n2,P2,1,1,0,2,0,0\n3,P3,1,1,0,3,2,0\n"
        );
        assert_eq!(relationships_csv(&[]), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }

    #[test]
    fn groups_stop_growing_at_the_maximum() {
        let pairs = vec![pair(1, 2), pair(2, 3), pair(3, 4)];
        assert_eq!(limit_group(pairs.clone(), 1, 2).len(), 1);
        assert_eq!(limit_group(pairs, 1, 10).len(), 3);
    }
}
