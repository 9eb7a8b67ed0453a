//! The can-i-deploy decision over a matrix result: `deployable` (yes / no / unknown), the counts,
//! and the reasons with their texts — the broker's `DeploymentStatusSummary` and
//! `ReasonDecorator`, rule for rule, so the CLIs print the same words — plus one rule the broker
//! lacks (its issue #903): when the question names an environment, every version of a provider
//! that is live there (deployed, or released and still supported) must have verified the pact of
//! each consumer version in question. A live version with no row for that consumer version is a
//! missing pair, named in the reasons and counted as unknown, even when another live version of
//! the same provider verified the pact.

use std::collections::{HashMap, HashSet};

use super::selectors::{Options, ResolvedSelector, SelectorKind};
use crate::broker::model::matrix_selectors::UnresolvedSelector;
use crate::broker::store::matrix::{Integration, MatrixRow};

/// A matrix query's result, before rendering.
pub struct QueryResults {
    pub considered_rows: Vec<MatrixRow>,
    pub ignored_rows: Vec<MatrixRow>,
    pub options: Options,
    /// Specified then inferred selectors.
    pub resolved_selectors: Vec<ResolvedSelector>,
    pub resolved_ignore_selectors: Vec<ResolvedSelector>,
    pub integrations: Vec<Integration>,
}

/// What a notice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeType {
    Success,
    Warning,
    Error,
}

impl NoticeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One reason, already worded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    pub kind: NoticeType,
    pub text: String,
}

impl Reason {
    fn error(text: String) -> Self {
        Self {
            kind: NoticeType::Error,
            text,
        }
    }

    fn warning(text: impl Into<String>) -> Self {
        Self {
            kind: NoticeType::Warning,
            text: text.into(),
        }
    }

    fn success(text: &str) -> Self {
        Self {
            kind: NoticeType::Success,
            text: text.to_owned(),
        }
    }
}

/// The summary's counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    pub success: usize,
    pub failed: usize,
    pub unknown: usize,
    /// Only when ignore selectors were given.
    pub ignored: Option<usize>,
}

pub struct DeploymentStatusSummary<'a> {
    results: &'a QueryResults,
    dummy_selectors: Vec<ResolvedSelector>,
    required_without_row: Vec<&'a Integration>,
    live: LivePairs<'a>,
}

/// The consumer version / live provider version pairs without a row (see the module doc).
#[derive(Default)]
struct LivePairs<'a> {
    /// Each missing pair: the row that stands for its consumer version, and the live version.
    missing: Vec<(&'a MatrixRow, &'a ResolvedSelector)>,
    /// Unverified rows whose missing pairs name every live version instead (indexes into the
    /// considered rows).
    covered: HashSet<usize>,
}

impl<'a> LivePairs<'a> {
    fn new(results: &'a QueryResults) -> Self {
        // Live versions by provider: selectors for an environment that found a version.
        let mut live: HashMap<i64, Vec<&ResolvedSelector>> = HashMap::new();
        for selector in &results.resolved_selectors {
            if selector.ignore || selector.original.environment.is_none() {
                continue;
            }
            if let (Some(pacticipant), Some(_)) = (selector.pacticipant_id, selector.version_id()) {
                live.entry(pacticipant).or_default().push(selector);
            }
        }
        if live.is_empty() {
            return Self::default();
        }
        let verified: HashSet<(i64, i64)> = results
            .considered_rows
            .iter()
            .chain(results.ignored_rows.iter())
            .filter_map(|row| Some((row.consumer_version_id, row.provider_version_id?)))
            .collect();
        let mut pairs = Self::default();
        let mut seen: HashSet<(i64, i64)> = HashSet::new();
        for (index, row) in results.considered_rows.iter().enumerate() {
            let Some(versions) = live.get(&row.provider_id) else {
                continue;
            };
            if row.provider_version_id.is_none() {
                pairs.covered.insert(index);
            }
            for &selector in versions {
                let Some(version_id) = selector.version_id() else {
                    continue;
                };
                if !verified.contains(&(row.consumer_version_id, version_id))
                    && seen.insert((row.consumer_version_id, version_id))
                {
                    pairs.missing.push((row, selector));
                }
            }
        }
        pairs
    }
}

impl<'a> DeploymentStatusSummary<'a> {
    pub fn new(results: &'a QueryResults) -> Self {
        let all_rows = || {
            results
                .considered_rows
                .iter()
                .chain(results.ignored_rows.iter())
        };
        let required_without_row = results
            .integrations
            .iter()
            .filter(|integration| integration.required)
            .filter(|integration| {
                !all_rows().any(|row| {
                    row.consumer_id == integration.consumer_id
                        && row.provider_id == integration.provider_id
                })
            })
            .collect();
        Self {
            results,
            dummy_selectors: dummy_selectors(results),
            required_without_row,
            live: LivePairs::new(results),
        }
    }

    /// Unverified rows not accounted for by missing pairs.
    fn unverified_rows(&self) -> impl Iterator<Item = &'a MatrixRow> + '_ {
        self.results
            .considered_rows
            .iter()
            .enumerate()
            .filter(|(index, row)| row.success.is_none() && !self.live.covered.contains(index))
            .map(|(_, row)| row)
    }

    pub fn counts(&self) -> Counts {
        let rows = &self.results.considered_rows;
        Counts {
            success: rows.iter().filter(|r| r.success == Some(true)).count(),
            failed: rows.iter().filter(|r| r.success == Some(false)).count(),
            unknown: self.required_without_row.len()
                + self.unverified_rows().count()
                + self.live.missing.len(),
            ignored: (!self.results.resolved_ignore_selectors.is_empty())
                .then_some(self.results.ignored_rows.len()),
        }
    }

    /// `Some(true)`, `Some(false)`, or `None` for unknown.
    pub fn deployable(&self) -> Option<bool> {
        let rows = &self.results.considered_rows;
        if self
            .results
            .resolved_selectors
            .iter()
            .any(|s| !s.ignore && s.specified_version_that_does_not_exist())
        {
            return Some(false);
        }
        if rows.iter().any(|row| row.success.is_none())
            || !self.required_without_row.is_empty()
            || !self.live.missing.is_empty()
        {
            return None;
        }
        Some(rows.iter().all(|row| row.success == Some(true)))
    }

    /// Warnings, then errors if there are any, else the success message.
    pub fn reasons(&self) -> Vec<Reason> {
        let mut reasons = self.warnings();
        let errors = self.errors();
        if errors.is_empty() {
            reasons.extend(self.success_messages());
        } else {
            reasons.extend(errors);
        }
        reasons
    }

    fn errors(&self) -> Vec<Reason> {
        let results = self.results;
        let mut messages: Vec<Reason> = results
            .resolved_selectors
            .iter()
            .filter(|s| s.specified_version_that_does_not_exist() && !s.ignore)
            .map(|s| Reason::error(s.version_does_not_exist_description()))
            .collect();
        if messages.is_empty() {
            for integration in &self.required_without_row {
                let consumer = self.selector_for(&integration.consumer_name, None);
                let provider = self.selector_for(&integration.provider_name, None);
                messages.push(Reason::error(not_verified(consumer, provider)));
            }
            for row in results
                .considered_rows
                .iter()
                .filter(|r| r.success == Some(false))
            {
                let (consumer, provider) = self.selectors_for_row(row);
                messages.push(Reason::error(format!(
                    "The verification for the pact between {} and {} failed",
                    describe(consumer),
                    describe(provider)
                )));
            }
            for row in self.unverified_rows() {
                let (consumer, provider) = self.selectors_for_row(row);
                messages.push(Reason::error(not_verified(consumer, provider)));
            }
            for (row, live) in &self.live.missing {
                let (consumer, _) = self.selectors_for_row(row);
                messages.push(Reason::error(not_verified(consumer, Some(*live))));
            }
        }
        let mut unique = Vec::with_capacity(messages.len());
        for message in messages {
            if !unique.contains(&message) {
                unique.push(message);
            }
        }
        unique
    }

    fn warnings(&self) -> Vec<Reason> {
        let results = self.results;
        let mut warnings: Vec<Reason> = results
            .resolved_ignore_selectors
            .iter()
            .filter(|s| s.pacticipant_or_version_does_not_exist())
            .map(|s| Reason::warning(format!("WARN: Cannot ignore {}", s.description())))
            .collect();
        let specified: Vec<&ResolvedSelector> = results
            .resolved_selectors
            .iter()
            .filter(|s| s.specified())
            .collect();
        let options = &results.options;
        let no_destination = options.tag.is_none()
            && options.environment.is_none()
            && options.main_branch != Some(true);
        if specified.len() == 1 && no_destination {
            warnings.push(Reason::warning(
                "WARN: It is recommended to specify the environment into which you are deploying. Without the environment, this result will not be reliable.",
            ));
        }
        let with_criteria = specified
            .iter()
            .any(|s| !s.only_pacticipant_name_specified());
        if with_criteria && !specified.iter().any(|s| s.original.version.is_some()) {
            warnings.push(Reason::warning(
                "WARN: It is recommended to specify the version number (rather than the tag or branch) of the pacticipant you wish to deploy to avoid race conditions. Without a version number, this result will not be reliable.",
            ));
        }
        warnings
    }

    fn success_messages(&self) -> Vec<Reason> {
        let rows = &self.results.considered_rows;
        if rows.iter().all(|r| r.success == Some(true))
            && self.required_without_row.is_empty()
            && self.live.missing.is_empty()
        {
            if rows.is_empty() {
                vec![Reason::success("There are no missing dependencies")]
            } else {
                vec![Reason::success(
                    "All required verification results are published and successful",
                )]
            }
        } else {
            Vec::new()
        }
    }

    fn selectors_for_row(
        &self,
        row: &MatrixRow,
    ) -> (Option<&ResolvedSelector>, Option<&ResolvedSelector>) {
        (
            self.selector_for(&row.consumer_name, Some(&row.consumer_version_number)),
            self.selector_for(&row.provider_name, row.provider_version_number.as_deref()),
        )
    }

    /// The selector that caused a row for this pacticipant (and version) to be returned.
    fn selector_for(&self, name: &str, number: Option<&str>) -> Option<&ResolvedSelector> {
        let found: Vec<&ResolvedSelector> = self
            .results
            .resolved_selectors
            .iter()
            .filter(|s| s.pacticipant_name == name)
            .collect();
        if found.len() == 1 {
            return Some(found[0]);
        }
        let dummy = || {
            self.dummy_selectors
                .iter()
                .find(|s| s.pacticipant_name == name)
        };
        match number {
            Some(number) => found
                .into_iter()
                .find(|s| s.version_number.as_deref() == Some(number))
                .or_else(dummy),
            None => dummy(),
        }
    }
}

fn describe(selector: Option<&ResolvedSelector>) -> String {
    selector
        .map(ResolvedSelector::description)
        .unwrap_or_default()
}

fn not_verified(
    consumer: Option<&ResolvedSelector>,
    provider: Option<&ResolvedSelector>,
) -> String {
    format!(
        "There is no verified pact between {} and {}",
        describe(consumer),
        describe(provider)
    )
}

/// Selectors made up from the rows and integrations, for rows no selector accounts for (the
/// broker's `create_dummy_selectors`, in its order).
fn dummy_selectors(results: &QueryResults) -> Vec<ResolvedSelector> {
    let mut dummies: Vec<ResolvedSelector> = Vec::new();
    let mut push = |selector: ResolvedSelector| {
        if !dummies.contains(&selector) {
            dummies.push(selector);
        }
    };
    let blank = UnresolvedSelector::default;
    for row in &results.considered_rows {
        push(ResolvedSelector::for_version(
            row.consumer_id,
            &row.consumer_name,
            row.consumer_version_id,
            &row.consumer_version_number,
            None,
            blank(),
            SelectorKind::Inferred,
            false,
            false,
        ));
        push(
            match (row.provider_version_id, &row.provider_version_number) {
                (Some(id), Some(number)) => ResolvedSelector::for_version(
                    row.provider_id,
                    &row.provider_name,
                    id,
                    number,
                    None,
                    blank(),
                    SelectorKind::Inferred,
                    false,
                    false,
                ),
                _ => ResolvedSelector::for_pacticipant(
                    row.provider_id,
                    &row.provider_name,
                    blank(),
                    SelectorKind::Inferred,
                    false,
                ),
            },
        );
    }
    for integration in &results.integrations {
        push(ResolvedSelector::for_pacticipant(
            integration.consumer_id,
            &integration.consumer_name,
            blank(),
            SelectorKind::Inferred,
            false,
        ));
        push(ResolvedSelector::for_pacticipant(
            integration.provider_id,
            &integration.provider_name,
            blank(),
            SelectorKind::Inferred,
            false,
        ));
    }
    dummies
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::matrix::selectors::LatestBy;
    use chrono::Utc;

    fn row(
        consumer: (&str, &str),
        provider: Option<(&str, &str)>,
        success: Option<bool>,
    ) -> MatrixRow {
        let id = |name: &str| if name == "Foo" { 1 } else { 2 };
        MatrixRow {
            consumer_id: id(consumer.0),
            consumer_name: consumer.0.into(),
            consumer_version_id: 10,
            consumer_version_number: consumer.1.into(),
            provider_id: 2,
            provider_name: "Bar".into(),
            provider_version_id: provider.map(|_| 20),
            provider_version_number: provider.map(|p| p.1.to_owned()),
            verification_id: success.map(|_| 30),
            verification_number: success.map(|_| 1),
            success,
            pact_publication_id: 40,
            pact_revision_number: 1,
            pact_version_sha: "abc".into(),
            pact_created_at: Utc::now(),
            verification_executed_at: None,
            verification_created_at: None,
        }
    }

    fn foo_v1() -> ResolvedSelector {
        let original = UnresolvedSelector {
            version: Some("1".into()),
            ..UnresolvedSelector::named("Foo")
        };
        ResolvedSelector::for_version(
            1,
            "Foo",
            10,
            "1",
            None,
            original,
            SelectorKind::Specified,
            false,
            false,
        )
    }

    fn bar_in_prod() -> ResolvedSelector {
        let original = UnresolvedSelector {
            environment: Some("prod".into()),
            ..UnresolvedSelector::named("Bar")
        };
        ResolvedSelector::for_version(
            2,
            "Bar",
            20,
            "2",
            None,
            original,
            SelectorKind::Inferred,
            false,
            false,
        )
    }

    fn results(rows: Vec<MatrixRow>, selectors: Vec<ResolvedSelector>) -> QueryResults {
        let mut options = Options::with_latestby(LatestBy::Cvpv);
        options.environment = Some("prod".into());
        QueryResults {
            considered_rows: rows,
            ignored_rows: Vec::new(),
            options,
            resolved_selectors: selectors,
            resolved_ignore_selectors: Vec::new(),
            integrations: vec![Integration {
                consumer_id: 1,
                consumer_name: "Foo".into(),
                provider_id: 2,
                provider_name: "Bar".into(),
                required: true,
            }],
        }
    }

    #[test]
    fn a_successful_verification_by_the_deployed_provider_is_deployable() {
        let r = results(
            vec![row(("Foo", "1"), Some(("Bar", "2")), Some(true))],
            vec![foo_v1(), bar_in_prod()],
        );
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), Some(true));
        assert_eq!(
            summary.reasons(),
            [Reason::success(
                "All required verification results are published and successful"
            )]
        );
        assert_eq!(
            summary.counts(),
            Counts {
                success: 1,
                failed: 0,
                unknown: 0,
                ignored: None
            }
        );
    }

    #[test]
    fn a_failed_verification_is_not_deployable_and_names_both_versions() {
        let r = results(
            vec![row(("Foo", "1"), Some(("Bar", "2")), Some(false))],
            vec![foo_v1(), bar_in_prod()],
        );
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), Some(false));
        assert_eq!(
            summary.reasons()[0].text,
            "The verification for the pact between version 1 of Foo and the version of Bar currently in prod (2) failed"
        );
    }

    #[test]
    fn an_unverified_pact_is_unknown() {
        let r = results(
            vec![row(("Foo", "1"), None, None)],
            vec![foo_v1(), bar_in_prod()],
        );
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), None);
        assert_eq!(
            summary.reasons(),
            [Reason::error(
                "There is no verified pact between version 1 of Foo and the version of Bar currently in prod (2)".into()
            )]
        );
        assert_eq!(summary.counts().unknown, 1);
    }

    #[test]
    fn a_required_integration_without_any_row_is_unknown() {
        let r = results(Vec::new(), vec![foo_v1(), bar_in_prod()]);
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), None);
        assert_eq!(summary.counts().unknown, 1);
    }

    #[test]
    fn a_missing_specified_version_is_not_deployable_whatever_the_rows_say() {
        let missing = ResolvedSelector::for_missing_version(
            1,
            "Foo",
            UnresolvedSelector {
                version: Some("9".into()),
                ..UnresolvedSelector::named("Foo")
            },
            SelectorKind::Specified,
            false,
        );
        let mut r = results(Vec::new(), vec![missing]);
        r.integrations.clear();
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), Some(false));
        assert_eq!(
            summary.reasons()[0].text,
            "No pacts or verifications have been published for version 9 of Foo"
        );
    }

    #[test]
    fn no_rows_and_no_requirements_means_no_missing_dependencies_with_a_warning_without_destination(
    ) {
        let mut r = results(Vec::new(), vec![foo_v1()]);
        r.integrations.clear();
        r.options.environment = None;
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), Some(true));
        let texts: Vec<String> = summary.reasons().into_iter().map(|r| r.text).collect();
        assert_eq!(
            texts,
            [
                "WARN: It is recommended to specify the environment into which you are deploying. Without the environment, this result will not be reliable.",
                "There are no missing dependencies"
            ]
        );
    }

    #[test]
    fn ignored_rows_leave_the_decision_and_are_counted() {
        let mut r = results(Vec::new(), vec![foo_v1(), bar_in_prod()]);
        r.ignored_rows = vec![row(("Foo", "1"), Some(("Bar", "2")), Some(false))];
        r.resolved_ignore_selectors = vec![ResolvedSelector::for_pacticipant(
            2,
            "Bar",
            UnresolvedSelector::named("Bar"),
            SelectorKind::Ignore,
            false,
        )];
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), Some(true));
        assert_eq!(summary.counts().ignored, Some(1));
        assert_eq!(
            summary.counts().unknown,
            0,
            "the ignored row covers the integration"
        );
    }

    #[test]
    fn ignoring_something_that_does_not_exist_warns() {
        let mut r = results(
            vec![row(("Foo", "1"), Some(("Bar", "2")), Some(true))],
            vec![foo_v1(), bar_in_prod()],
        );
        r.resolved_ignore_selectors = vec![ResolvedSelector::for_missing_pacticipant(
            UnresolvedSelector::named("Nope"),
            SelectorKind::Ignore,
        )];
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(
            summary.reasons()[0],
            Reason::warning("WARN: Cannot ignore any version of Nope (no such pacticipant exists)")
        );
        assert_eq!(summary.counts().ignored, Some(0));
    }

    fn bar_tagged(version_id: i64, number: &str) -> ResolvedSelector {
        ResolvedSelector::for_version(
            2,
            "Bar",
            version_id,
            number,
            None,
            UnresolvedSelector {
                tag: Some("prod".into()),
                ..UnresolvedSelector::named("Bar")
            },
            SelectorKind::Specified,
            false,
            true,
        )
    }

    fn bar_live(version_id: i64, number: &str) -> ResolvedSelector {
        ResolvedSelector::for_version(
            2,
            "Bar",
            version_id,
            number,
            None,
            UnresolvedSelector {
                environment: Some("prod".into()),
                ..UnresolvedSelector::named("Bar")
            },
            SelectorKind::Inferred,
            false,
            true,
        )
    }

    #[test]
    fn rows_no_selector_accounts_for_are_described_by_dummy_selectors() {
        // Two selectors for Bar (two versions with a tag), and a row whose provider version is
        // neither: the broker falls back to a selector made up from the row.
        let mut r = results(
            vec![row(("Foo", "1"), None, None)],
            vec![foo_v1(), bar_tagged(20, "2"), bar_tagged(21, "3")],
        );
        r.options.environment = None;
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(
            summary.reasons()[0].text,
            "There is no verified pact between version 1 of Foo and any version of Bar"
        );
    }

    #[test]
    fn a_live_version_that_never_verified_is_a_named_missing_pair() {
        // Bar 2 (version id 20) verified Foo 1; Bar 3 (21), also live, never did.
        let r = results(
            vec![row(("Foo", "1"), Some(("Bar", "2")), Some(true))],
            vec![foo_v1(), bar_live(20, "2"), bar_live(21, "3")],
        );
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), None);
        assert_eq!(
            summary.reasons(),
            [Reason::error(
                "There is no verified pact between version 1 of Foo and one of the versions of Bar currently in prod (3)".into()
            )]
        );
        assert_eq!(
            summary.counts(),
            Counts {
                success: 1,
                failed: 0,
                unknown: 1,
                ignored: None
            }
        );
    }

    #[test]
    fn an_unverified_pact_names_every_live_version() {
        let r = results(
            vec![row(("Foo", "1"), None, None)],
            vec![foo_v1(), bar_live(20, "2"), bar_live(21, "3")],
        );
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), None);
        let texts: Vec<String> = summary.reasons().into_iter().map(|r| r.text).collect();
        assert_eq!(
            texts,
            [
                "There is no verified pact between version 1 of Foo and one of the versions of Bar currently in prod (2)",
                "There is no verified pact between version 1 of Foo and one of the versions of Bar currently in prod (3)"
            ]
        );
        assert_eq!(summary.counts().unknown, 2);
    }

    #[test]
    fn an_ignored_live_version_is_not_required() {
        let mut ignored = bar_live(21, "3");
        ignored.ignore = true;
        let r = results(
            vec![row(("Foo", "1"), Some(("Bar", "2")), Some(true))],
            vec![foo_v1(), bar_live(20, "2"), ignored],
        );
        let summary = DeploymentStatusSummary::new(&r);
        assert_eq!(summary.deployable(), Some(true));
        assert_eq!(summary.counts().unknown, 0);
    }
}
