//! Consumer version selectors (the broker's `Pacts::Selector`): what each kind selects, how
//! selectors that chose the same content are ordered, and how the broker describes them.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use crate::broker::metadata::MetadataSelector;

/// `branch`: a branch name, or `true` for every branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BranchSelector {
    Named(String),
    All,
}

/// A consumer version selector after the broker's request decoration (`mainBranch`, `branch`
/// and `matchingBranch` imply `latest`; `matchingBranch` takes the provider branch;
/// `deployedOrReleased` is split in two).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    pub main_branch: bool,
    pub tag: Option<String>,
    pub branch: Option<BranchSelector>,
    pub matching_branch: bool,
    pub latest: Option<bool>,
    pub fallback_tag: Option<String>,
    pub fallback_branch: Option<String>,
    pub consumer: Option<String>,
    pub environment_name: Option<String>,
    pub currently_deployed: bool,
    pub currently_supported: bool,
}

/// The broker's selector types, in its order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelectorType {
    LatestForMainBranch,
    LatestForEachBranch,
    LatestForBranch,
    MatchingBranch,
    CurrentlyDeployed,
    CurrentlySupported,
    InEnvironment,
    LatestForTag,
    AllForTag,
    OverallLatest,
    Undefined,
}

impl Selector {
    pub fn overall_latest() -> Self {
        Self {
            latest: Some(true),
            ..Self::default()
        }
    }

    pub fn latest_for_main_branch() -> Self {
        Self {
            main_branch: true,
            latest: Some(true),
            ..Self::default()
        }
    }

    pub fn latest_for_tag(tag: &str) -> Self {
        Self {
            tag: Some(tag.to_owned()),
            latest: Some(true),
            ..Self::default()
        }
    }

    pub fn latest_for_branch(branch: &str) -> Self {
        Self {
            branch: Some(BranchSelector::Named(branch.to_owned())),
            latest: Some(true),
            ..Self::default()
        }
    }

    pub fn currently_deployed() -> Self {
        Self {
            currently_deployed: true,
            ..Self::default()
        }
    }

    pub fn currently_supported() -> Self {
        Self {
            currently_supported: true,
            ..Self::default()
        }
    }

    pub fn for_consumer(mut self, consumer: &str) -> Self {
        self.consumer = Some(consumer.to_owned());
        self
    }

    fn latest(&self) -> bool {
        self.latest == Some(true)
    }

    pub fn branch_name(&self) -> Option<&str> {
        match &self.branch {
            Some(BranchSelector::Named(name)) => Some(name),
            _ => None,
        }
    }

    pub fn is_overall_latest(&self) -> bool {
        self.latest()
            && self.tag.is_none()
            && self.branch.is_none()
            && !self.main_branch
            && !self.currently_deployed
            && !self.currently_supported
            && self.environment_name.is_none()
    }

    pub fn is_latest_for_tag(&self, tag: Option<&str>) -> bool {
        self.latest()
            && match tag {
                Some(tag) => self.tag.as_deref() == Some(tag),
                None => self.tag.is_some(),
            }
    }

    pub fn is_latest_for_branch(&self, branch: Option<&str>) -> bool {
        self.latest()
            && match branch {
                Some(branch) => self.branch_name() == Some(branch),
                None => self.branch_name().is_some(),
            }
    }

    pub fn is_latest_for_each_branch(&self) -> bool {
        self.latest() && self.branch == Some(BranchSelector::All)
    }

    pub fn is_all_for_tag(&self) -> bool {
        self.tag.is_some() && !self.latest()
    }

    pub fn is_in_environment(&self) -> bool {
        self.environment_name.is_some()
    }

    pub fn selector_type(&self) -> SelectorType {
        if self.main_branch {
            SelectorType::LatestForMainBranch
        } else if self.is_latest_for_each_branch() {
            SelectorType::LatestForEachBranch
        } else if self.is_latest_for_branch(None) {
            SelectorType::LatestForBranch
        } else if self.matching_branch {
            SelectorType::MatchingBranch
        } else if self.currently_deployed {
            SelectorType::CurrentlyDeployed
        } else if self.currently_supported {
            SelectorType::CurrentlySupported
        } else if self.is_in_environment() {
            SelectorType::InEnvironment
        } else if self.is_latest_for_tag(None) {
            SelectorType::LatestForTag
        } else if self.is_all_for_tag() {
            SelectorType::AllForTag
        } else if self.is_overall_latest() {
            SelectorType::OverallLatest
        } else {
            SelectorType::Undefined
        }
    }

    /// The selector as the broker prints one it has no words for (its hash as JSON).
    fn to_json(&self) -> Value {
        let mut map = Map::new();
        if let Some(latest) = self.latest {
            map.insert("latest".into(), json!(latest));
        }
        if let Some(tag) = &self.tag {
            map.insert("tag".into(), json!(tag));
        }
        match &self.branch {
            Some(BranchSelector::Named(b)) => {
                map.insert("branch".into(), json!(b));
            }
            Some(BranchSelector::All) => {
                map.insert("branch".into(), json!(true));
            }
            None => {}
        }
        if let Some(consumer) = &self.consumer {
            map.insert("consumer".into(), json!(consumer));
        }
        if let Some(env) = &self.environment_name {
            map.insert("environment_name".into(), json!(env));
        }
        if self.main_branch {
            map.insert("main_branch".into(), json!(true));
        }
        if self.matching_branch {
            map.insert("matching_branch".into(), json!(true));
        }
        Value::Object(map)
    }
}

/// The consumer version a selector chose, and the environment it was found in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedSelector {
    pub selector: Selector,
    pub consumer_version_id: i64,
    pub consumer_version_number: String,
    /// Deployed/released selectors: the environment's name and whether it is production.
    pub environment: Option<(String, bool)>,
    pub target: Option<String>,
}

impl ResolvedSelector {
    /// The broker's `resolve`: fallbacks are dropped (they only show when they were used).
    pub fn resolve(selector: &Selector, version_id: i64, number: &str) -> Self {
        let mut selector = selector.clone();
        selector.fallback_tag = None;
        selector.fallback_branch = None;
        Self {
            selector,
            consumer_version_id: version_id,
            consumer_version_number: number.to_owned(),
            environment: None,
            target: None,
        }
    }

    /// The broker's `resolve_for_fallback`: the fallback was used, so it is kept.
    pub fn resolve_for_fallback(selector: &Selector, version_id: i64, number: &str) -> Self {
        Self {
            selector: selector.clone(),
            consumer_version_id: version_id,
            consumer_version_number: number.to_owned(),
            environment: None,
            target: None,
        }
    }

    /// What the pact URL's metadata records about this selection (`{b, t, l, e, cv}`).
    pub fn metadata(&self) -> MetadataSelector {
        MetadataSelector {
            branch: match &self.selector.branch {
                Some(BranchSelector::Named(b)) => Some(b.clone()),
                Some(BranchSelector::All) => Some("true".into()),
                None => None,
            },
            tag: self.selector.tag.clone(),
            latest: self.selector.latest,
            environment: self.selector.environment_name.clone(),
            consumer_version_id: Some(self.consumer_version_id),
        }
    }

    fn environment_name(&self) -> &str {
        self.environment
            .as_ref()
            .map(|(name, _)| name.as_str())
            .or(self.selector.environment_name.as_deref())
            .unwrap_or_default()
    }

    fn production_cmp(&self, other: &Self) -> Ordering {
        let prod = |s: &Self| s.environment.as_ref().is_some_and(|(_, p)| *p);
        match (prod(self), prod(other)) {
            (a, b) if a == b => self.environment_name().cmp(other.environment_name()),
            (true, _) => Ordering::Greater,
            _ => Ordering::Less,
        }
    }

    /// The broker's ordering of the selectors of one pact.
    pub fn broker_cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.selector, &other.selector);
        let first = |x: bool, y: bool| match (x, y) {
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            _ => None,
        };
        let consumer_cmp = || match (&a.consumer, &b.consumer) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let order = if a.is_overall_latest() || b.is_overall_latest() {
            first(a.is_overall_latest(), b.is_overall_latest()).unwrap_or(Ordering::Equal)
        } else if a.is_latest_for_branch(None) || b.is_latest_for_branch(None) {
            first(a.is_latest_for_branch(None), b.is_latest_for_branch(None))
                .unwrap_or_else(|| a.branch_name().cmp(&b.branch_name()))
        } else if a.is_latest_for_tag(None) || b.is_latest_for_tag(None) {
            first(a.is_latest_for_tag(None), b.is_latest_for_tag(None))
                .unwrap_or_else(|| a.tag.cmp(&b.tag))
        } else if a.tag.is_some() || b.tag.is_some() {
            match (&a.tag, &b.tag) {
                (Some(x), Some(y)) if x == y => consumer_cmp(),
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            }
        } else if a.currently_deployed || b.currently_deployed {
            first(a.currently_deployed, b.currently_deployed)
                .unwrap_or_else(|| self.production_cmp(other))
        } else if a.currently_supported || b.currently_supported {
            first(a.currently_supported, b.currently_supported)
                .unwrap_or_else(|| self.production_cmp(other))
        } else if a.consumer.is_some() || b.consumer.is_some() {
            consumer_cmp()
        } else {
            Ordering::Equal
        };
        order.then(self.consumer_version_id.cmp(&other.consumer_version_id))
    }

    /// "latest version from branch 'main' (1.0.0)" — the broker's words for this selection.
    pub fn description(&self, provider: &str, consumer_main_branch: Option<&str>) -> String {
        let s = &self.selector;
        let version_label = match &s.consumer {
            Some(c) => format!("version of {c}"),
            None => "version".to_owned(),
        };
        let text = if s.is_overall_latest() {
            format!(
                "latest version of {} that has a pact with {provider}",
                s.consumer.as_deref().unwrap_or("a consumer")
            )
        } else if s.is_latest_for_tag(None) {
            match &s.fallback_tag {
                Some(fallback) => format!(
                    "latest {version_label} tagged '{fallback}' (fallback tag used as no pact was found with tag '{}')",
                    s.tag.as_deref().unwrap_or_default()
                ),
                None => format!(
                    "latest {version_label} tagged '{}'",
                    s.tag.as_deref().unwrap_or_default()
                ),
            }
        } else if s.main_branch {
            format!(
                "latest {version_label} from the main branch '{}'",
                consumer_main_branch.unwrap_or_default()
            )
        } else if s.is_latest_for_branch(None) {
            match &s.fallback_branch {
                Some(fallback) => format!(
                    "latest {version_label} from branch '{fallback}' (fallback branch used as no pact was found from branch '{}')",
                    s.branch_name().unwrap_or_default()
                ),
                None => format!(
                    "latest {version_label} from branch '{}'",
                    s.branch_name().unwrap_or_default()
                ),
            }
        } else if s.is_all_for_tag() && s.consumer.is_some() {
            format!(
                "all {} versions tagged '{}'",
                s.consumer.as_deref().unwrap_or_default(),
                s.tag.as_deref().unwrap_or_default()
            )
        } else if s.is_all_for_tag() {
            format!(
                "all consumer versions tagged '{}'",
                s.tag.as_deref().unwrap_or_default()
            )
        } else if s.is_in_environment() {
            format!(
                "{} version in environment {}",
                s.consumer.as_deref().unwrap_or("a consumer"),
                self.environment_name()
            )
        } else {
            s.to_json().to_string()
        };
        format!("{text} ({})", self.consumer_version_number)
    }

    /// The broker's short description (what Pact Go names its tests after).
    pub fn short_description(&self) -> String {
        let s = &self.selector;
        if s.is_overall_latest() {
            "latest".into()
        } else if s.is_latest_for_tag(None) {
            format!(
                "latest with tag {}",
                s.fallback_tag
                    .as_deref()
                    .or(s.tag.as_deref())
                    .unwrap_or_default()
            )
        } else if s.main_branch {
            "latest from main branch".into()
        } else if s.is_latest_for_branch(None) {
            format!(
                "latest from branch {}",
                s.fallback_branch
                    .as_deref()
                    .or(s.branch_name())
                    .unwrap_or_default()
            )
        } else if s.is_all_for_tag() && s.consumer.is_some() {
            format!(
                "one of {} {}",
                s.consumer.as_deref().unwrap_or_default(),
                s.tag.as_deref().unwrap_or_default()
            )
        } else if let Some(tag) = &s.tag {
            format!("one of {tag}")
        } else if s.currently_deployed {
            format!("deployed to {}", self.environment_name())
        } else if s.currently_supported {
            format!("released in {}", self.environment_name())
        } else {
            s.to_json().to_string()
        }
    }
}

/// Sorts a pact's selectors as the broker does.
pub fn sort(selectors: &mut [ResolvedSelector]) {
    selectors.sort_by(|a, b| a.broker_cmp(b));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(selector: Selector, version: i64) -> ResolvedSelector {
        ResolvedSelector::resolve(&selector, version, &version.to_string())
    }

    #[test]
    fn selector_types_follow_the_brokers_precedence() {
        assert_eq!(
            Selector::latest_for_main_branch().selector_type(),
            SelectorType::LatestForMainBranch
        );
        assert_eq!(
            Selector::latest_for_branch("x").selector_type(),
            SelectorType::LatestForBranch
        );
        assert_eq!(
            Selector::latest_for_tag("x").selector_type(),
            SelectorType::LatestForTag
        );
        let all = Selector {
            tag: Some("x".into()),
            ..Selector::default()
        };
        assert_eq!(all.selector_type(), SelectorType::AllForTag);
        assert_eq!(
            Selector::overall_latest().selector_type(),
            SelectorType::OverallLatest
        );
        assert_eq!(
            Selector::currently_deployed().selector_type(),
            SelectorType::CurrentlyDeployed
        );
    }

    #[test]
    fn overall_latest_sorts_first_then_branches_then_tags() {
        let mut list = vec![
            resolved(Selector::latest_for_tag("b"), 1),
            resolved(Selector::latest_for_branch("main"), 1),
            resolved(Selector::overall_latest(), 1),
            resolved(Selector::latest_for_tag("a"), 1),
        ];
        sort(&mut list);
        let short: Vec<String> = list
            .iter()
            .map(ResolvedSelector::short_description)
            .collect();
        assert_eq!(
            short,
            vec![
                "latest",
                "latest from branch main",
                "latest with tag a",
                "latest with tag b"
            ]
        );
    }

    #[test]
    fn descriptions_are_the_brokers() {
        assert_eq!(
            resolved(Selector::latest_for_main_branch(), 3).description("P", Some("main")),
            "latest version from the main branch 'main' (3)"
        );
        assert_eq!(
            resolved(Selector::latest_for_branch("feat").for_consumer("C"), 3)
                .description("P", None),
            "latest version of C from branch 'feat' (3)"
        );
        assert_eq!(
            resolved(Selector::overall_latest(), 3).description("P", None),
            "latest version of a consumer that has a pact with P (3)"
        );
        let fallback = Selector {
            fallback_tag: Some("main".into()),
            ..Selector::latest_for_tag("feat")
        };
        assert_eq!(
            ResolvedSelector::resolve_for_fallback(&fallback, 2, "2").description("P", None),
            "latest version tagged 'main' (fallback tag used as no pact was found with tag 'feat') (2)"
        );
        assert_eq!(
            ResolvedSelector::resolve(&fallback, 2, "2").short_description(),
            "latest with tag feat"
        );
    }
}
