//! Running a matrix query (the broker's `Matrix::Repository#find`): resolve the ignore
//! selectors, then the specified ones; find the integrations they take part in; when a
//! destination was given, infer a selector for every other integrated pacticipant; read the
//! rows of all those versions; keep the latest per `latestby` group, filter by `success`, set
//! the ignored rows apart and sort.

use std::cmp::Ordering;
use std::collections::HashMap;

use sqlx::PgConnection;

use super::selectors::{
    option_errors, selector_shape_errors, LatestBy, Options, ResolvedSelector, SelectorKind,
};
use super::summary::QueryResults;
use crate::broker::model::matrix_selectors::UnresolvedSelector;
use crate::broker::store::matrix::{self as store, Integration, MatrixRow, RowQuery};

/// `Matrix::Service#validate_selectors`: the errors a `/matrix` query is refused with.
pub async fn validate(
    conn: &mut PgConnection,
    selectors: &[UnresolvedSelector],
    options: &Options,
) -> sqlx::Result<Vec<String>> {
    let mut errors = selector_shape_errors(selectors);
    let names: Vec<String> = selectors
        .iter()
        .filter_map(|s| s.pacticipant_name.clone())
        .collect();
    let existing = store::pacticipants_named(conn, &names).await?;
    for name in &names {
        if !existing.iter().any(|p| &p.name == name) {
            errors.push(format!("Pacticipant {name} not found"));
        }
    }
    if selectors.is_empty() {
        errors.push("Please provide 1 or more version selectors.".to_owned());
    }
    errors.extend(validate_options(conn, options).await?);
    Ok(errors)
}

/// `Matrix::Service#validate_options`.
pub async fn validate_options(
    conn: &mut PgConnection,
    options: &Options,
) -> sqlx::Result<Vec<String>> {
    let environment_found = match &options.environment {
        Some(name) => store::environment_exists(conn, name).await?,
        None => true,
    };
    Ok(option_errors(options, environment_found))
}

/// Runs the query. A question about an environment (as destination or in a selector) keeps one row per provider version
/// (`cvpv`) whatever `latestby` the client sent: `cvp` or `cp` would collapse the versions that
/// are live there side by side to the newest one and hide an older one's failure (broker #903).
pub async fn find(
    conn: &mut PgConnection,
    selectors: &[UnresolvedSelector],
    mut options: Options,
) -> sqlx::Result<QueryResults> {
    let names_environment =
        options.environment.is_some() || selectors.iter().any(|s| s.environment.is_some());
    if names_environment && options.latestby.is_some() {
        options.latestby = Some(LatestBy::Cvpv);
    }
    let ignore_selectors = resolve(conn, &options.ignore, SelectorKind::Ignore, &[], None).await?;
    let specified = resolve(
        conn,
        selectors,
        SelectorKind::Specified,
        &ignore_selectors,
        None,
    )
    .await?;
    let infer = options.infers_selectors();
    let integrations = find_integrations(conn, &specified, infer).await?;
    let mut all = specified;
    if infer {
        let unresolved = inferred_selectors(&all, &integrations, &options);
        // The integrations already named every inferred pacticipant's id.
        let known: HashMap<String, i64> = integrations
            .iter()
            .flat_map(|i| {
                [
                    (i.consumer_name.clone(), i.consumer_id),
                    (i.provider_name.clone(), i.provider_id),
                ]
            })
            .collect();
        let inferred = resolve(
            conn,
            &unresolved,
            SelectorKind::Inferred,
            &ignore_selectors,
            Some(known),
        )
        .await?;
        all.extend(inferred);
    }
    let rows = query_rows(conn, &all, &options).await?;
    let rows = apply_latestby(options.latestby, rows);
    let rows: Vec<MatrixRow> = match &options.success {
        Some(wanted) => rows
            .into_iter()
            .filter(|row| wanted.contains(&row.success))
            .collect(),
        None => rows,
    };
    let (mut considered_rows, mut ignored_rows): (Vec<MatrixRow>, Vec<MatrixRow>) = rows
        .into_iter()
        .partition(|row| !ignore_row(&ignore_selectors, row));
    considered_rows.sort_by(compare_rows);
    ignored_rows.sort_by(compare_rows);
    Ok(QueryResults {
        considered_rows,
        ignored_rows,
        options,
        resolved_selectors: all,
        resolved_ignore_selectors: ignore_selectors,
        integrations,
    })
}

/// Looks up the ids of every selector; a selector for several versions becomes one resolved
/// selector per version. Selectors of the same shape share one query. `known` pacticipant ids
/// spare looking them up.
async fn resolve(
    conn: &mut PgConnection,
    selectors: &[UnresolvedSelector],
    kind: SelectorKind,
    ignore_selectors: &[ResolvedSelector],
    known: Option<HashMap<String, i64>>,
) -> sqlx::Result<Vec<ResolvedSelector>> {
    if selectors.is_empty() {
        return Ok(Vec::new());
    }
    let pacticipants: HashMap<String, i64> = match known {
        Some(known) => known,
        None => pacticipant_ids(conn, selectors).await?,
    };
    let versions = VersionsByShape::find(conn, selectors, &pacticipants).await?;
    let ignores = Ignores(ignore_selectors);
    let mut resolved = Vec::new();
    for selector in selectors {
        resolved.extend(resolve_one(
            selector,
            kind,
            &pacticipants,
            &versions,
            &ignores,
        ));
    }
    Ok(resolved)
}

/// The ids of the pacticipants the selectors name, by name.
async fn pacticipant_ids(
    conn: &mut PgConnection,
    selectors: &[UnresolvedSelector],
) -> sqlx::Result<HashMap<String, i64>> {
    let names: Vec<String> = selectors
        .iter()
        .filter_map(|s| s.pacticipant_name.clone())
        .collect();
    Ok(store::pacticipants_named(conn, &names)
        .await?
        .into_iter()
        .map(|p| (p.name, p.pacticipant_id))
        .collect())
}

/// A selector without its pacticipant: selectors of one shape share a version query.
fn shape(selector: &UnresolvedSelector) -> UnresolvedSelector {
    UnresolvedSelector {
        pacticipant_name: None,
        ..selector.clone()
    }
}

/// The versions the selectors stand for, read with one query per selector shape for all the
/// pacticipants that use it.
struct VersionsByShape {
    /// Each shape with the pacticipants whose selectors have it.
    shapes: Vec<(UnresolvedSelector, Vec<i64>)>,
    /// (shape index, pacticipant id) → versions, ordered by version.
    found: HashMap<(usize, i64), Vec<store::FoundVersion>>,
}

impl VersionsByShape {
    async fn find(
        conn: &mut PgConnection,
        selectors: &[UnresolvedSelector],
        pacticipants: &HashMap<String, i64>,
    ) -> sqlx::Result<Self> {
        let mut shapes: Vec<(UnresolvedSelector, Vec<i64>)> = Vec::new();
        for selector in selectors {
            let Some(id) = selector
                .pacticipant_name
                .as_ref()
                .and_then(|name| pacticipants.get(name))
            else {
                continue;
            };
            if selector.all_for_pacticipant() {
                continue;
            }
            let shape = shape(selector);
            match shapes.iter_mut().find(|(s, _)| *s == shape) {
                Some((_, ids)) => ids.push(*id),
                None => shapes.push((shape, vec![*id])),
            }
        }
        let mut found: HashMap<(usize, i64), Vec<store::FoundVersion>> = HashMap::new();
        for (index, (shape, ids)) in shapes.iter().enumerate() {
            for version in store::versions_for_selector(conn, ids, shape).await? {
                found
                    .entry((index, version.pacticipant_id))
                    .or_default()
                    .push(version);
            }
        }
        Ok(Self { shapes, found })
    }

    /// The versions of pacticipant `id` that `selector` stands for.
    fn of(&self, selector: &UnresolvedSelector, id: i64) -> Vec<store::FoundVersion> {
        let shape = shape(selector);
        let index = self
            .shapes
            .iter()
            .position(|(s, _)| *s == shape)
            .unwrap_or_default();
        self.found.get(&(index, id)).cloned().unwrap_or_default()
    }
}

/// The ignore selectors, asked whether they ignore a pacticipant or one of its versions.
struct Ignores<'a>(&'a [ResolvedSelector]);

impl Ignores<'_> {
    fn pacticipant(&self, id: i64) -> bool {
        self.0
            .iter()
            .any(|s| s.pacticipant_id == Some(id) && s.only_pacticipant_name_specified())
    }

    fn version(&self, id: i64, version_id: i64) -> bool {
        self.0.iter().any(|s| {
            s.pacticipant_id == Some(id)
                && (s.only_pacticipant_name_specified() || s.version_id() == Some(version_id))
        })
    }
}

/// One selector resolved: its pacticipant, the pacticipant missing, the version missing, or one
/// resolved selector per version it stands for.
fn resolve_one(
    selector: &UnresolvedSelector,
    kind: SelectorKind,
    pacticipants: &HashMap<String, i64>,
    versions: &VersionsByShape,
    ignores: &Ignores<'_>,
) -> Vec<ResolvedSelector> {
    let name = selector.pacticipant_name.clone().unwrap_or_default();
    let Some(&id) = pacticipants.get(&name) else {
        return vec![ResolvedSelector::for_missing_pacticipant(
            selector.clone(),
            kind,
        )];
    };
    if selector.all_for_pacticipant() {
        return vec![ResolvedSelector::for_pacticipant(
            id,
            &name,
            selector.clone(),
            kind,
            ignores.pacticipant(id),
        )];
    }
    let mut versions = versions.of(selector, id);
    if selector.latest {
        versions.truncate(1);
    }
    if versions.is_empty() {
        return vec![ResolvedSelector::for_missing_version(
            id,
            &name,
            selector.clone(),
            kind,
            ignores.pacticipant(id),
        )];
    }
    let one_of_many = versions.len() > 1;
    versions
        .into_iter()
        .map(|version| {
            ResolvedSelector::for_version(
                id,
                &name,
                version.version_id,
                &version.number,
                version.branch_name,
                selector.clone(),
                kind,
                ignores.version(id, version.version_id),
                one_of_many,
            )
        })
        .collect()
}

/// The integrations the specified selectors take part in, sorted by consumer then provider.
async fn find_integrations(
    conn: &mut PgConnection,
    specified: &[ResolvedSelector],
    infer: bool,
) -> sqlx::Result<Vec<Integration>> {
    let version_ids: Vec<i64> = specified.iter().filter_map(|s| s.version_id()).collect();
    let name_only_ids: Vec<i64> = specified
        .iter()
        .filter(|s| s.only_pacticipant_name_specified())
        .filter_map(|s| s.pacticipant_id)
        .collect();
    let pacticipant_ids: Vec<i64> = specified.iter().filter_map(|s| s.pacticipant_id).collect();
    let mut integrations: Vec<Integration> = if infer || specified.len() == 1 {
        store::integrations_involving(conn, &version_ids, &name_only_ids, &pacticipant_ids).await?
    } else {
        let specified_names: Vec<&str> = specified
            .iter()
            .map(|s| s.pacticipant_name.as_str())
            .collect();
        store::integrations_between(conn, &version_ids, &name_only_ids, &pacticipant_ids)
            .await?
            .into_iter()
            .map(|mut integration| {
                integration.required =
                    specified_names.contains(&integration.consumer_name.as_str());
                integration
            })
            .collect()
    };
    integrations.sort_by(|a, b| {
        (&a.consumer_name, &a.provider_name).cmp(&(&b.consumer_name, &b.provider_name))
    });
    Ok(integrations)
}

/// A selector for each integrated pacticipant that was not specified, for the destination.
fn inferred_selectors(
    specified: &[ResolvedSelector],
    integrations: &[Integration],
    options: &Options,
) -> Vec<UnresolvedSelector> {
    let mut names: Vec<&str> = Vec::new();
    for integration in integrations {
        for name in [&integration.consumer_name, &integration.provider_name] {
            if !names.contains(&name.as_str())
                && !specified.iter().any(|s| &s.pacticipant_name == name)
            {
                names.push(name);
            }
        }
    }
    names
        .into_iter()
        .map(|name| UnresolvedSelector {
            tag: options.tag.clone(),
            main_branch: options.main_branch == Some(true),
            latest: options.latest == Some(true),
            environment: options.environment.clone(),
            ..UnresolvedSelector::named(name)
        })
        .collect()
}

async fn query_rows(
    conn: &mut PgConnection,
    selectors: &[ResolvedSelector],
    options: &Options,
) -> sqlx::Result<Vec<MatrixRow>> {
    let latest_only = options.latestby.is_some();
    let limit = options.limit();
    if let [selector] = selectors {
        let Some(pacticipant_id) = selector.pacticipant_id else {
            return Ok(Vec::new());
        };
        if selector.only_pacticipant_name_specified() {
            return store::rows_for_one_selector(conn, pacticipant_id, None, latest_only, limit)
                .await;
        }
        return match selector.version_id() {
            Some(version_id) => {
                store::rows_for_one_selector(
                    conn,
                    pacticipant_id,
                    Some(version_id),
                    latest_only,
                    limit,
                )
                .await
            }
            None => Ok(Vec::new()),
        };
    }
    let mut name_only_ids = Vec::new();
    let mut version_ids = Vec::new();
    let mut all_ids = Vec::new();
    let mut specified_ids = Vec::new();
    for selector in selectors {
        let Some(id) = selector.pacticipant_id else {
            continue;
        };
        push_unique(&mut all_ids, id);
        if selector.specified() {
            push_unique(&mut specified_ids, id);
        }
        if selector.only_pacticipant_name_specified() {
            push_unique(&mut name_only_ids, id);
        } else if let Some(version_id) = selector.version_id() {
            push_unique(&mut version_ids, version_id);
        }
    }
    store::rows_between_selectors(
        conn,
        &RowQuery {
            name_only_ids: &name_only_ids,
            version_ids: &version_ids,
            all_ids: &all_ids,
            specified_ids: &specified_ids,
            latest_only,
            limit,
        },
    )
    .await
}

fn push_unique(ids: &mut Vec<i64>, id: i64) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}

/// Keeps one row per `latestby` group: the one with the latest provider version, or the
/// unverified row when the group's newest row has no verification. Rows arrive newest first.
pub fn apply_latestby(latestby: Option<LatestBy>, rows: Vec<MatrixRow>) -> Vec<MatrixRow> {
    let Some(latestby) = latestby else {
        return rows;
    };
    type Key = (String, Option<String>, String, Option<Option<String>>);
    let key = |row: &MatrixRow| -> Key {
        match latestby {
            LatestBy::Cvpv => (
                row.consumer_name.clone(),
                Some(row.consumer_version_number.clone()),
                row.provider_name.clone(),
                Some(row.provider_version_number.clone()),
            ),
            LatestBy::Cvp => (
                row.consumer_name.clone(),
                Some(row.consumer_version_number.clone()),
                row.provider_name.clone(),
                None,
            ),
            LatestBy::Cp => (
                row.consumer_name.clone(),
                None,
                row.provider_name.clone(),
                None,
            ),
        }
    };
    let mut groups: Vec<(Key, Vec<MatrixRow>)> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    for row in rows {
        let k = key(&row);
        match index.get(&k) {
            Some(&i) => groups[i].1.push(row),
            None => {
                index.insert(k.clone(), groups.len());
                groups.push((k, vec![row]));
            }
        }
    }
    groups
        .into_iter()
        .filter_map(|(_, group)| {
            if group.first()?.provider_version_number.is_none() {
                return group.into_iter().next();
            }
            let mut best: Option<MatrixRow> = None;
            for row in group {
                let better = match &best {
                    None => true,
                    Some(current) => row.provider_version_id > current.provider_version_id,
                };
                if better {
                    best = Some(row);
                }
            }
            best
        })
        .collect()
}

/// The broker's `RowIgnorer`: a row is ignored when an ignore selector names its consumer or
/// provider (and, if it names a version, that version).
fn ignore_row(ignore_selectors: &[ResolvedSelector], row: &MatrixRow) -> bool {
    ignore_selectors.iter().any(|s| {
        // A missing ignored version matches nothing, not the rows without a provider version.
        let matches = |pacticipant_id: i64, version_id: Option<i64>| {
            s.pacticipant_id == Some(pacticipant_id)
                && (s.only_pacticipant_name_specified()
                    || (s.version_id().is_some() && s.version_id() == version_id))
        };
        matches(row.consumer_id, Some(row.consumer_version_id))
            || matches(row.provider_id, row.provider_version_id)
    })
}

/// The broker's row order: consumer name, newest consumer version, newest revision, provider
/// name, newest provider version (unverified first), newest verification.
pub fn compare_rows(a: &MatrixRow, b: &MatrixRow) -> Ordering {
    let desc = |x: Option<i64>, y: Option<i64>| match (x, y) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    };
    a.consumer_name
        .cmp(&b.consumer_name)
        .then_with(|| b.consumer_version_id.cmp(&a.consumer_version_id))
        .then_with(|| b.pact_revision_number.cmp(&a.pact_revision_number))
        .then_with(|| a.provider_name.cmp(&b.provider_name))
        .then_with(|| desc(a.provider_version_id, b.provider_version_id))
        .then_with(|| desc(a.verification_id, b.verification_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn row(cv: &str, pv: Option<(i64, &str)>, verification: Option<i64>) -> MatrixRow {
        MatrixRow {
            consumer_id: 1,
            consumer_name: "Foo".into(),
            consumer_version_id: cv.len() as i64,
            consumer_version_number: cv.into(),
            provider_id: 2,
            provider_name: "Bar".into(),
            provider_version_id: pv.map(|p| p.0),
            provider_version_number: pv.map(|p| p.1.to_owned()),
            verification_id: verification,
            verification_number: verification.map(|v| v as i32),
            success: verification.map(|_| true),
            pact_publication_id: 1,
            pact_revision_number: 1,
            pact_version_sha: "x".into(),
            pact_created_at: Utc::now(),
            verification_executed_at: None,
            verification_created_at: None,
        }
    }

    #[test]
    fn cvp_keeps_the_latest_provider_version_per_consumer_version() {
        let rows = vec![
            row("1", Some((5, "a")), Some(50)),
            row("1", Some((7, "b")), Some(40)),
            row("22", Some((5, "a")), Some(30)),
        ];
        let kept = apply_latestby(Some(LatestBy::Cvp), rows.clone());
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].provider_version_number.as_deref(), Some("b"));
        assert_eq!(apply_latestby(Some(LatestBy::Cvpv), rows.clone()).len(), 3);
        let cp = apply_latestby(Some(LatestBy::Cp), rows);
        assert_eq!(cp.len(), 1);
        assert_eq!(cp[0].provider_version_id, Some(7));
    }

    #[test]
    fn an_unverified_newest_row_wins_its_group() {
        let rows = vec![row("1", None, None), row("22", Some((5, "a")), Some(30))];
        let cp = apply_latestby(Some(LatestBy::Cp), rows);
        assert_eq!(cp.len(), 1);
        assert!(cp[0].provider_version_id.is_none());
    }

    #[test]
    fn an_ignored_version_that_does_not_exist_ignores_no_row() {
        let missing = ResolvedSelector::for_missing_version(
            2,
            "Bar",
            UnresolvedSelector {
                version: Some("9".into()),
                ..UnresolvedSelector::named("Bar")
            },
            SelectorKind::Ignore,
            false,
        );
        assert!(!ignore_row(&[missing], &row("1", None, None)));
        let whole = ResolvedSelector::for_pacticipant(
            2,
            "Bar",
            UnresolvedSelector::named("Bar"),
            SelectorKind::Ignore,
            false,
        );
        assert!(ignore_row(&[whole], &row("1", None, None)));
    }

    #[test]
    fn rows_sort_like_the_broker_with_unverified_rows_first() {
        let mut rows = [
            row("1", Some((5, "a")), Some(50)),
            row("22", None, None),
            row("1", None, None),
            row("1", Some((7, "b")), Some(40)),
        ];
        rows.sort_by(compare_rows);
        let order: Vec<(i64, Option<i64>)> = rows
            .iter()
            .map(|r| (r.consumer_version_id, r.provider_version_id))
            .collect();
        assert_eq!(order, [(2, None), (1, None), (1, Some(7)), (1, Some(5))]);
    }
}
