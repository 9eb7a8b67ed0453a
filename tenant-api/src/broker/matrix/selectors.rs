//! Matrix selectors: what a query asks for (unresolved, by names) and what it resolved to (by
//! ids), with the broker's descriptions of them — clients show those texts, so they are the
//! broker's word for word (`lib/pact_broker/matrix/{unresolved,resolved}_selector.rb`).

use crate::broker::model::matrix_selectors::UnresolvedSelector;
use crate::broker::query::{Param, Params};

/// Rack's `q[]` element → selector (blank values count as absent).
fn selector_from_param(param: &Param) -> UnresolvedSelector {
    let get = |key: &str| {
        param
            .str_at(key)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    UnresolvedSelector {
        pacticipant_name: get("pacticipant"),
        version: get("version"),
        latest: param.str_at("latest") == Some("true"),
        tag: get("tag"),
        branch: get("branch"),
        environment: get("environment"),
        main_branch: param.str_at("mainBranch") == Some("true"),
    }
}

/// How the matrix keeps one row per group of rows (`latestby`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatestBy {
    /// Per consumer version and provider version.
    Cvpv,
    /// Per consumer version and provider: the latest provider version.
    Cvp,
    /// Per consumer and provider.
    Cp,
}

/// The query's options (everything but the selectors).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `None`: every pact revision and every verification (the broker's `EveryRow`).
    pub latestby: Option<LatestBy>,
    /// A `latestby` the broker does not know; refused at validation.
    pub unknown_latestby: Option<String>,
    pub success: Option<Vec<Option<bool>>>,
    /// As given (`to_i` semantics apply at validation); `/matrix` defaults it to 100, the
    /// can-i-deploy forms have none.
    pub limit: Option<String>,
    pub latest: Option<bool>,
    pub tag: Option<String>,
    pub environment: Option<String>,
    pub main_branch: Option<bool>,
    pub ignore: Vec<UnresolvedSelector>,
}

impl Options {
    /// The default options of a can-i-deploy style query.
    pub fn with_latestby(latestby: LatestBy) -> Self {
        Self {
            latestby: Some(latestby),
            ..Self::default()
        }
    }

    /// The row limit (validated to be ≥ 1 before use); unlimited when none was given.
    pub fn limit(&self) -> i64 {
        self.limit
            .as_deref()
            .map_or(i64::MAX, |limit| ruby_to_i(limit).max(1))
    }

    /// Whether a destination was given, so integrated pacticipants are inferred.
    pub fn infers_selectors(&self) -> bool {
        self.latest == Some(true)
            || self.tag.is_some()
            || self.environment.is_some()
            || self.main_branch == Some(true)
    }
}

/// The most rows `/matrix` returns (`limit`; 100 when not given), as the broker bounds it.
pub const MAX_LIMIT: i64 = 1000;

/// Ruby's `String#to_i`: the leading integer, 0 when there is none.
pub fn ruby_to_i(text: &str) -> i64 {
    let text = text.trim_start();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits: String = digits
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .filter(|c| *c != '_')
        .collect();
    digits.parse::<i64>().map(|n| sign * n).unwrap_or(0)
}

fn non_blank(params: &Params, key: &str) -> Option<String> {
    params
        .get(key)
        .and_then(Param::as_str)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// `GET /matrix`'s query (`PactBroker::Matrix::ParseQuery`).
pub fn parse_matrix_query(params: &Params) -> (Vec<UnresolvedSelector>, Options) {
    let selectors = params
        .get("q")
        .and_then(Param::as_array)
        .map(|items| items.iter().map(selector_from_param).collect())
        .unwrap_or_default();
    let mut options = Options {
        limit: Some(non_blank(params, "limit").unwrap_or_else(|| "100".into())),
        ..Options::default()
    };
    let success_value = |value: Option<&str>| match value {
        Some("") | None => None,
        Some(value) => Some(value == "true"),
    };
    match params.get("success") {
        Some(Param::Array(values)) => {
            options.success = Some(values.iter().map(|v| success_value(v.as_str())).collect());
        }
        Some(Param::Value(value)) => {
            options.success = Some(vec![success_value(value.as_deref())]);
        }
        _ => {}
    }
    match non_blank(params, "latestby").as_deref() {
        Some("cvpv") => options.latestby = Some(LatestBy::Cvpv),
        Some("cvp") => options.latestby = Some(LatestBy::Cvp),
        Some("cp") => options.latestby = Some(LatestBy::Cp),
        Some(other) => options.unknown_latestby = Some(other.to_owned()),
        None => {}
    }
    options.latest = non_blank(params, "latest").map(|v| v == "true");
    options.tag = non_blank(params, "tag");
    options.environment = non_blank(params, "environment");
    options.main_branch = non_blank(params, "mainBranch").map(|v| v == "true");
    options.ignore = params
        .get("ignore")
        .and_then(Param::as_array)
        .map(|items| items.iter().map(selector_from_param).collect())
        .unwrap_or_default();
    (selectors, options)
}

/// `GET /can-i-deploy`'s query (`PactBroker::Matrix::ParseCanIDeployQuery`), after the query
/// schema accepted it.
pub fn parse_can_i_deploy_query(params: &Params) -> (Vec<UnresolvedSelector>, Options) {
    let string = |key: &str| params.get(key).and_then(Param::as_str).map(str::to_owned);
    let selector = UnresolvedSelector {
        pacticipant_name: string("pacticipant"),
        version: string("version"),
        ..UnresolvedSelector::default()
    };
    let mut options = Options::with_latestby(LatestBy::Cvp);
    if let Some(to) = string("to") {
        options.tag = Some(to);
        options.latest = Some(true);
    }
    if let Some(environment) = string("environment") {
        options.environment = Some(environment);
        // Every co-resident version of the other applications is checked (broker issue #903).
        options.latestby = Some(LatestBy::Cvpv);
    }
    if let Some(items) = params.get("ignore").and_then(Param::as_array) {
        options.ignore = items
            .iter()
            .filter_map(|item| match item {
                Param::Value(Some(name)) => Some(UnresolvedSelector::named(name)),
                Param::Hash(_) => item.str_at("pacticipant").map(|name| UnresolvedSelector {
                    version: item.str_at("version").map(str::to_owned),
                    ..UnresolvedSelector::named(name)
                }),
                _ => None,
            })
            .collect();
    }
    (vec![selector], options)
}

/// The selector-shape checks of `Matrix::Service#validate_selectors` that need no database.
pub fn selector_shape_errors(selectors: &[UnresolvedSelector]) -> Vec<String> {
    let mut errors = Vec::new();
    for selector in selectors {
        match &selector.pacticipant_name {
            None => errors.push("Please specify the pacticipant name".to_owned()),
            Some(name) if selector.version.is_some() && selector.latest => errors.push(format!(
                "A version number and latest flag cannot both be specified for {name}"
            )),
            Some(_) => {}
        }
    }
    errors
}

/// `Matrix::Service#validate_options`; `environment_found` is whether the destination
/// environment (if any) exists.
pub fn option_errors(options: &Options, environment_found: bool) -> Vec<String> {
    let mut errors = Vec::new();
    for selector in &options.ignore {
        match &selector.pacticipant_name {
            None => errors.push("Please specify the pacticipant name to ignore".to_owned()),
            Some(name) if selector.version.is_some() && selector.latest => errors.push(format!(
                "A version number and latest flag cannot both be specified for {name} to ignore"
            )),
            Some(_) => {}
        }
    }
    // `mainBranch=false` still counts as a destination, as in the broker.
    let destinations = [
        options.tag.is_some(),
        options.environment.is_some(),
        options.main_branch.is_some(),
    ]
    .into_iter()
    .filter(|given| *given)
    .count();
    if destinations > 1 {
        errors.push("Cannot specify more than one of tag, environment and mainBranch.".to_owned());
    }
    if options.latest == Some(true) && options.environment.is_some() {
        errors.push("Cannot specify both latest=true and an environment.".to_owned());
    }
    if let (Some(name), false) = (&options.environment, environment_found) {
        errors.push(format!("Environment with name '{name}' does not exist"));
    }
    if options
        .limit
        .as_deref()
        .is_some_and(|limit| ruby_to_i(limit) < 1)
    {
        errors.push("The limit must be 1 or greater.".to_owned());
    }
    if options
        .limit
        .as_deref()
        .is_some_and(|limit| ruby_to_i(limit) > MAX_LIMIT)
    {
        errors.push(format!("The limit must be {MAX_LIMIT} or less."));
    }
    if let Some(latestby) = &options.unknown_latestby {
        errors.push(format!(
            "latestby must be one of cvpv, cvp or cp (got '{latestby}')"
        ));
    }
    errors
}

/// Where a resolved selector came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorKind {
    Specified,
    Inferred,
    Ignore,
}

/// Which versions a resolved selector stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionRef {
    /// Every version of the pacticipant.
    Any,
    /// A version that was asked for but does not exist (the broker's id -1): matches no row.
    Missing,
    Found {
        id: i64,
        number: String,
    },
}

/// A selector with the ids looked up (`PactBroker::Matrix::ResolvedSelector`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedSelector {
    /// `None`: no such pacticipant (only possible for ignore selectors).
    pub pacticipant_id: Option<i64>,
    pub pacticipant_name: String,
    pub version: VersionRef,
    /// The version number to describe: the found one, or the one asked for.
    pub version_number: Option<String>,
    pub latest: bool,
    pub tag: Option<String>,
    pub branch: Option<String>,
    pub main_branch: bool,
    pub environment: Option<String>,
    pub kind: SelectorKind,
    pub ignore: bool,
    pub one_of_many: bool,
    pub original: UnresolvedSelector,
}

impl ResolvedSelector {
    /// Every version of an existing pacticipant.
    pub fn for_pacticipant(
        id: i64,
        name: &str,
        original: UnresolvedSelector,
        kind: SelectorKind,
        ignore: bool,
    ) -> Self {
        Self {
            pacticipant_id: Some(id),
            pacticipant_name: name.to_owned(),
            version: VersionRef::Any,
            version_number: None,
            latest: false,
            tag: None,
            branch: None,
            main_branch: false,
            environment: None,
            kind,
            ignore,
            one_of_many: false,
            original,
        }
    }

    /// A pacticipant that does not exist (ignore selectors only).
    pub fn for_missing_pacticipant(original: UnresolvedSelector, kind: SelectorKind) -> Self {
        Self {
            pacticipant_id: None,
            pacticipant_name: original.pacticipant_name.clone().unwrap_or_default(),
            ..Self::for_pacticipant(0, "", original, kind, false)
        }
    }

    /// One found version. `branch_name` is the branch the version was found on, when the
    /// selector asked for the main branch.
    #[expect(clippy::too_many_arguments)]
    pub fn for_version(
        id: i64,
        name: &str,
        version_id: i64,
        number: &str,
        branch_name: Option<String>,
        original: UnresolvedSelector,
        kind: SelectorKind,
        ignore: bool,
        one_of_many: bool,
    ) -> Self {
        Self {
            pacticipant_id: Some(id),
            pacticipant_name: name.to_owned(),
            version: VersionRef::Found {
                id: version_id,
                number: number.to_owned(),
            },
            version_number: Some(number.to_owned()),
            latest: original.latest,
            tag: original.tag.clone(),
            branch: original
                .branch
                .clone()
                .or_else(|| original.main_branch.then_some(branch_name).flatten()),
            main_branch: original.main_branch,
            environment: original.environment.clone(),
            kind,
            ignore,
            one_of_many,
            original,
        }
    }

    /// A version that was asked for and does not exist.
    pub fn for_missing_version(
        id: i64,
        name: &str,
        original: UnresolvedSelector,
        kind: SelectorKind,
        ignore: bool,
    ) -> Self {
        Self {
            pacticipant_id: Some(id),
            pacticipant_name: name.to_owned(),
            version: VersionRef::Missing,
            version_number: original.version.clone(),
            latest: original.latest,
            tag: original.tag.clone(),
            branch: original.branch.clone(),
            main_branch: original.main_branch,
            environment: original.environment.clone(),
            kind,
            ignore,
            one_of_many: false,
            original,
        }
    }

    pub fn version_id(&self) -> Option<i64> {
        match &self.version {
            VersionRef::Found { id, .. } => Some(*id),
            _ => None,
        }
    }

    pub fn specified(&self) -> bool {
        self.kind == SelectorKind::Specified
    }

    pub fn only_pacticipant_name_specified(&self) -> bool {
        self.original.all_for_pacticipant()
    }

    pub fn version_does_not_exist(&self) -> bool {
        self.version == VersionRef::Missing
    }

    pub fn pacticipant_or_version_does_not_exist(&self) -> bool {
        self.pacticipant_id.is_none() || self.version_does_not_exist()
    }

    pub fn specified_version_that_does_not_exist(&self) -> bool {
        self.specified() && self.version_does_not_exist()
    }

    /// The broker's description, used in reasons.
    pub fn description(&self) -> String {
        let name = &self.pacticipant_name;
        let number = self.version_number.as_deref();
        let prefix = |many: &str, one: &str| if self.one_of_many { many } else { one }.to_owned();
        match (self, number) {
            (s, Some(n)) if s.latest && s.tag.is_some() => format!(
                "the latest version of {name} with tag {} ({n})",
                s.tag.as_deref().unwrap_or_default()
            ),
            (s, None) if s.latest && s.tag.is_some() => format!(
                "the latest version of {name} with tag {} (no such version exists)",
                s.tag.as_deref().unwrap_or_default()
            ),
            (s, None) if s.latest && s.main_branch => format!(
                "the latest version of {name} from the main branch (no versions exist for this branch)"
            ),
            (s, None) if s.main_branch => format!(
                "any version of {name} from the main branch (no versions exist for this branch)"
            ),
            (s, Some(n)) if s.latest && s.branch.is_some() => format!(
                "the latest version of {name} from branch {} ({n})",
                s.branch.as_deref().unwrap_or_default()
            ),
            (s, None) if s.latest && s.branch.is_some() => format!(
                "the latest version of {name} from branch {} (no such version exists)",
                s.branch.as_deref().unwrap_or_default()
            ),
            (s, Some(n)) if s.branch.is_some() => format!(
                "{}of {name} from branch {} ({n})",
                prefix("one of the versions ", "the version "),
                s.branch.as_deref().unwrap_or_default()
            ),
            (s, None) if s.branch.is_some() => format!(
                "a version of {name} from branch {} (no such version exists)",
                s.branch.as_deref().unwrap_or_default()
            ),
            (s, Some(n)) if s.latest => format!("the latest version of {name} ({n})"),
            (s, None) if s.latest => {
                format!("the latest version of {name} (no such version exists)")
            }
            (s, Some(n)) if s.tag.is_some() => format!(
                "a version of {name} with tag {} ({n})",
                s.tag.as_deref().unwrap_or_default()
            ),
            (s, None) if s.tag.is_some() => format!(
                "a version of {name} with tag {} (no such version exists)",
                s.tag.as_deref().unwrap_or_default()
            ),
            (s, Some(n)) if s.environment.is_some() => format!(
                "{} of {name} currently in {} ({n})",
                prefix("one of the versions", "the version"),
                s.environment.as_deref().unwrap_or_default()
            ),
            (s, None) if s.environment.is_some() => format!(
                "a version of {name} currently in {} (no version is currently recorded as deployed/released in this environment)",
                s.environment.as_deref().unwrap_or_default()
            ),
            (s, Some(n)) if s.version_does_not_exist() => {
                format!("version {n} of {name} (no such version exists)")
            }
            (_, Some(n)) => format!("version {n} of {name}"),
            (s, None) if s.pacticipant_id.is_none() => {
                format!("any version of {name} (no such pacticipant exists)")
            }
            _ => format!("any version of {name}"),
        }
    }

    /// Why a selected version is missing, when it is.
    pub fn version_does_not_exist_description(&self) -> String {
        if !self.version_does_not_exist() {
            return String::new();
        }
        let name = &self.pacticipant_name;
        if let Some(tag) = &self.tag {
            format!("No version with tag {tag} exists for {name}")
        } else if let Some(branch) = &self.branch {
            format!("No version of {name} from branch {branch} exists")
        } else if self.main_branch {
            format!("No version of {name} from the main branch exists")
        } else if let Some(environment) = &self.environment {
            format!("No version of {name} is currently recorded as deployed or released in environment {environment}")
        } else if let Some(number) = &self.version_number {
            format!("No pacts or verifications have been published for version {number} of {name}")
        } else {
            format!("No pacts or verifications have been published for {name}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::query::parse_nested_query;

    fn selector(f: impl FnOnce(&mut UnresolvedSelector)) -> UnresolvedSelector {
        let mut s = UnresolvedSelector::named("Bar");
        f(&mut s);
        s
    }

    #[test]
    fn the_matrix_query_is_parsed_like_the_broker_parses_it() {
        let params = parse_nested_query(
            "q[][pacticipant]=Foo&q[][version]=1.2.3&q[][pacticipant]=Bar&q[][latest]=true&q[][tag]=prod&latestby=cvpv&success[]=true&success[]=&ignore[][pacticipant]=Baz&ignore[][version]=&tag=&environment=prod&limit=",
        )
        .unwrap();
        let (selectors, options) = parse_matrix_query(&params);
        assert_eq!(selectors.len(), 2);
        assert_eq!(selectors[0].version.as_deref(), Some("1.2.3"));
        assert!(selectors[1].latest);
        assert_eq!(selectors[1].tag.as_deref(), Some("prod"));
        assert_eq!(options.latestby, Some(LatestBy::Cvpv));
        assert_eq!(options.success, Some(vec![Some(true), None]));
        assert_eq!(options.ignore, vec![UnresolvedSelector::named("Baz")]);
        assert_eq!(options.tag, None, "a blank tag is no tag");
        assert_eq!(options.environment.as_deref(), Some("prod"));
        assert_eq!(options.limit.as_deref(), Some("100"));
        assert!(options.infers_selectors());
    }

    #[test]
    fn can_i_deploy_queries_use_cvpv_for_environments_and_latest_tags_for_to() {
        let params =
            parse_nested_query("pacticipant=Foo&version=1&environment=prod&ignore[]=Bar&ignore[][pacticipant]=Baz&ignore[][version]=2")
                .unwrap();
        let (selectors, options) = parse_can_i_deploy_query(&params);
        assert_eq!(selectors[0].pacticipant_name.as_deref(), Some("Foo"));
        assert_eq!(options.latestby, Some(LatestBy::Cvpv));
        assert_eq!(options.ignore.len(), 2);
        assert_eq!(options.ignore[1].version.as_deref(), Some("2"));

        let params = parse_nested_query("pacticipant=Foo&version=1&to=prod").unwrap();
        let (_, options) = parse_can_i_deploy_query(&params);
        assert_eq!(options.latestby, Some(LatestBy::Cvp));
        assert_eq!(
            (options.tag.as_deref(), options.latest),
            (Some("prod"), Some(true))
        );
    }

    #[test]
    fn option_errors_use_the_brokers_texts() {
        let options = Options {
            tag: Some("prod".into()),
            environment: Some("prod".into()),
            latest: Some(true),
            limit: Some("0".into()),
            ignore: vec![UnresolvedSelector::default()],
            ..Options::default()
        };
        assert_eq!(
            option_errors(&options, false),
            [
                "Please specify the pacticipant name to ignore",
                "Cannot specify more than one of tag, environment and mainBranch.",
                "Cannot specify both latest=true and an environment.",
                "Environment with name 'prod' does not exist",
                "The limit must be 1 or greater."
            ]
        );
        let bad = [
            UnresolvedSelector::default(),
            selector(|s| {
                s.version = Some("1".into());
                s.latest = true;
            }),
        ];
        assert_eq!(
            selector_shape_errors(&bad),
            [
                "Please specify the pacticipant name",
                "A version number and latest flag cannot both be specified for Bar"
            ]
        );
    }

    #[test]
    fn ruby_to_i_takes_the_leading_integer() {
        assert_eq!(ruby_to_i("25"), 25);
        assert_eq!(ruby_to_i("12abc"), 12);
        assert_eq!(ruby_to_i("abc"), 0);
        assert_eq!(ruby_to_i("-3"), -3);
    }

    #[test]
    fn descriptions_match_the_brokers_texts() {
        let found = |original: UnresolvedSelector, many: bool| {
            ResolvedSelector::for_version(
                2,
                "Bar",
                7,
                "4.5.6",
                Some("main".into()),
                original,
                SelectorKind::Inferred,
                false,
                many,
            )
            .description()
        };
        let missing = |original: UnresolvedSelector| {
            ResolvedSelector::for_missing_version(2, "Bar", original, SelectorKind::Inferred, false)
        };
        assert_eq!(
            found(
                selector(|s| {
                    s.latest = true;
                    s.tag = Some("prod".into())
                }),
                false
            ),
            "the latest version of Bar with tag prod (4.5.6)"
        );
        assert_eq!(
            missing(selector(|s| {
                s.latest = true;
                s.tag = Some("prod".into())
            }))
            .description(),
            "the latest version of Bar with tag prod (no such version exists)"
        );
        assert_eq!(
            found(
                selector(|s| {
                    s.latest = true;
                    s.main_branch = true
                }),
                false
            ),
            "the latest version of Bar from branch main (4.5.6)"
        );
        assert_eq!(
            missing(selector(|s| {
                s.latest = true;
                s.main_branch = true
            }))
            .description(),
            "the latest version of Bar from the main branch (no versions exist for this branch)"
        );
        assert_eq!(
            found(selector(|s| s.environment = Some("prod".into())), true),
            "one of the versions of Bar currently in prod (4.5.6)"
        );
        assert_eq!(
            found(selector(|s| s.environment = Some("prod".into())), false),
            "the version of Bar currently in prod (4.5.6)"
        );
        assert_eq!(
            missing(selector(|s| s.environment = Some("prod".into()))).description(),
            "a version of Bar currently in prod (no version is currently recorded as deployed/released in this environment)"
        );
        assert_eq!(
            found(selector(|s| s.branch = Some("feat".into())), true),
            "one of the versions of Bar from branch feat (4.5.6)"
        );
        assert_eq!(
            found(selector(|s| s.version = Some("4.5.6".into())), false),
            "version 4.5.6 of Bar"
        );
        let missing_number = missing(selector(|s| s.version = Some("9.9.9".into())));
        assert_eq!(
            missing_number.description(),
            "version 9.9.9 of Bar (no such version exists)"
        );
        assert_eq!(
            missing_number.version_does_not_exist_description(),
            "No pacts or verifications have been published for version 9.9.9 of Bar"
        );
        assert_eq!(
            missing(selector(|s| s.environment = Some("prod".into())))
                .version_does_not_exist_description(),
            "No version of Bar is currently recorded as deployed or released in environment prod"
        );
        assert_eq!(
            ResolvedSelector::for_missing_pacticipant(
                UnresolvedSelector::named("Nope"),
                SelectorKind::Ignore
            )
            .description(),
            "any version of Nope (no such pacticipant exists)"
        );
        assert_eq!(
            ResolvedSelector::for_pacticipant(
                1,
                "Foo",
                UnresolvedSelector::default(),
                SelectorKind::Inferred,
                false
            )
            .description(),
            "any version of Foo"
        );
    }
}
