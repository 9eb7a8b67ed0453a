//! The pacts-for-verification request: the JSON body of the `POST` (camelCase) or the deprecated
//! `GET` query (snake_case, Rack nested), validated with the broker's messages
//! (`PactsForVerificationJsonQuerySchema`, `ConsumerVersionSelectorContract`,
//! `PactsForVerificationQueryStringSchema`) and decorated as the broker decorates it
//! (`PactsForVerificationQueryDecorator`).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::selectors::{BranchSelector, Selector};
use crate::broker::metadata::Nested;
use crate::error::FieldErrors;

/// A validated, decorated request.
#[derive(Clone, Debug, PartialEq)]
pub struct ForVerificationQuery {
    pub provider_version_branch: Option<String>,
    pub provider_version_tags: Vec<String>,
    pub selectors: Vec<Selector>,
    pub include_pending_status: bool,
    pub include_wip_pacts_since: Option<DateTime<Utc>>,
}

/// A request body that passed the schema but whose environments are still to be checked.
pub struct Unchecked {
    query: ForVerificationQuery,
    /// (selector index, environment name) of every selector that names an environment.
    environments: Vec<(usize, String)>,
    errors: FieldErrors,
    selectors_key: &'static str,
}

impl Unchecked {
    /// The environment names to look up.
    pub fn environment_names(&self) -> Vec<String> {
        self.environments.iter().map(|(_, e)| e.clone()).collect()
    }

    /// Finishes validation given the environments that exist.
    pub fn check(mut self, existing: &[String]) -> Result<ForVerificationQuery, FieldErrors> {
        for (index, name) in &self.environments {
            if !existing.contains(name) {
                self.errors
                    .entry(self.selectors_key.to_owned())
                    .or_default()
                    .push(format!(
                        "environment with name '{name}' does not exist (at index {index})"
                    ));
            }
        }
        if self.errors.is_empty() {
            Ok(self.query)
        } else {
            Err(self.errors)
        }
    }
}

/// Parses `2020-01-01`, `2020-01-01T10:00:00Z` and similar (the broker's `DateTime.parse`).
pub fn parse_date(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Some(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f %z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(time) = DateTime::parse_from_str(value, format) {
            return Some(time.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(value, format) {
            return Some(time.and_utc());
        }
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn add(errors: &mut FieldErrors, key: &str, message: impl Into<String>) {
    errors
        .entry(key.to_owned())
        .or_default()
        .push(message.into());
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// `provided?`: present and, if a string, not blank.
fn provided(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !blank(s),
        Some(_) => true,
    }
}

const BRANCH_KEYS: [&str; 7] = [
    "latest",
    "tag",
    "fallbackTag",
    "branch",
    "fallbackBranch",
    "matchingBranch",
    "mainBranch",
];
const ENVIRONMENT_KEYS: [&str; 4] = ["environment", "deployed", "released", "deployedOrReleased"];

/// Validates one selector (`ConsumerVersionSelectorContract`): messages in the broker's "full"
/// form (`tag must be a string`), without the index suffix.
fn selector_messages(selector: &Map<String, Value>, provider_branch_given: bool) -> Vec<String> {
    let mut messages = Vec::new();
    let mut failed: BTreeSet<&str> = BTreeSet::new();
    let get = |key: &str| selector.get(key);
    // Schema.
    let mut check = |key: &'static str, rule: &dyn Fn(&Value) -> Option<&'static str>| {
        if let Some(value) = get(key) {
            let message = match value {
                Value::Null => Some("must be filled"),
                Value::String(s) if s.is_empty() => Some("must be filled"),
                other => rule(other),
            };
            if let Some(message) = message {
                messages.push(format!("{key} {message}"));
                failed.insert(key);
            }
        }
    };
    let only_true = |v: &Value| (v != &Value::Bool(true)).then_some("must be one of: true");
    let string = |v: &Value| (!v.is_string()).then_some("must be a string");
    check("mainBranch", &only_true);
    check("tag", &string);
    check("branch", &|v| {
        (!v.is_string() && v != &Value::Bool(true))
            .then_some("must be a string or must be equal to true")
    });
    check("matchingBranch", &only_true);
    check("latest", &|v| {
        (!v.is_boolean()).then_some("must be one of: true, false")
    });
    check("fallbackTag", &string);
    check("fallbackBranch", &string);
    check("consumer", &string);
    check("deployed", &only_true);
    check("released", &only_true);
    check("deployedOrReleased", &only_true);
    check("environment", &string);

    let ok = |keys: &[&str]| keys.iter().all(|k| !failed.contains(k));
    let all_ok = failed.is_empty();
    let is_true = |key: &str| get(key) == Some(&Value::Bool(true));
    let present = |key: &str| selector.contains_key(key);

    if ok(&["consumer"]) && get("consumer").and_then(Value::as_str).is_some_and(blank) {
        messages.push("consumer cannot be blank".into());
    }
    if all_ok
        && !provided(get("mainBranch"))
        && !provided(get("tag"))
        && !provided(get("branch"))
        && !provided(get("environment"))
        && !is_true("matchingBranch")
        && !is_true("deployed")
        && !is_true("released")
        && !is_true("deployedOrReleased")
        && !is_true("latest")
    {
        messages.push("must specify a value for environment or tag or branch, or specify mainBranch=true, matchingBranch=true, latest=true, deployed=true, released=true or deployedOrReleased=true".into());
    }
    let others = |allowed: &[&str]| {
        BRANCH_KEYS
            .iter()
            .chain(ENVIRONMENT_KEYS.iter())
            .any(|k| !allowed.contains(k) && present(k))
    };
    if all_ok && is_true("mainBranch") && others(&["mainBranch", "latest"]) {
        messages.push(
            "cannot specify mainBranch=true with any other criteria apart from consumer".into(),
        );
    }
    if ok(&["mainBranch", "latest"])
        && is_true("mainBranch")
        && get("latest") == Some(&Value::Bool(false))
    {
        messages.push("cannot specify mainBranch=true with latest=false".into());
    }
    if all_ok && is_true("matchingBranch") {
        if others(&["matchingBranch"]) {
            messages.push(
                "cannot specify matchingBranch=true with any other criteria apart from consumer"
                    .into(),
            );
        }
        if !provider_branch_given {
            messages.push("the providerVersionBranch must be specified when the selector matchingBranch=true is used".into());
        }
    }
    if ok(&["tag", "branch"]) && present("tag") && present("branch") {
        messages.push("cannot specify both a tag and a branch".into());
    }
    if all_ok {
        let mut branch_fields: Vec<&str> =
            BRANCH_KEYS.iter().copied().filter(|k| present(k)).collect();
        let mut environment_fields: Vec<&str> = ENVIRONMENT_KEYS
            .iter()
            .copied()
            .filter(|k| present(k))
            .collect();
        if !branch_fields.is_empty() && !environment_fields.is_empty() {
            branch_fields.sort_unstable();
            environment_fields.sort_unstable();
            let field = |n: usize| if n == 1 { "field" } else { "fields" };
            messages.push(format!(
                "cannot specify the {} {} with the {} {}",
                field(branch_fields.len()),
                branch_fields.join("/"),
                field(environment_fields.len()),
                environment_fields.join("/")
            ));
        }
    }
    let latest_true = is_true("latest");
    if ok(&["fallbackTag", "tag", "latest"]) && present("fallbackTag") {
        if !latest_true {
            messages.push("fallbackTag can only be set if latest is true".into());
        }
        if !present("tag") {
            messages.push("a tag must be specified when a fallbackTag is specified".into());
        }
    }
    if ok(&["fallbackBranch", "branch", "latest"]) && present("fallbackBranch") {
        if !present("branch") {
            messages.push("a branch must be specified when a fallbackBranch is specified".into());
        }
        if get("latest") == Some(&Value::Bool(false)) {
            messages.push("fallbackBranch can only be set if latest is true".into());
        }
    }
    if ok(&["branch", "latest"]) && present("branch") && get("latest") == Some(&Value::Bool(false))
    {
        messages.push("cannot specify a branch with latest=false".into());
    }
    if ok(&["deployed", "released", "deployedOrReleased"]) {
        if is_true("deployed") && is_true("released") {
            messages.push("cannot specify both deployed=true and released=true".into());
        }
        if is_true("deployed") && is_true("deployedOrReleased") {
            messages.push("cannot specify both deployed=true and deployedOrReleased=true".into());
        }
        if is_true("released") && is_true("deployedOrReleased") {
            messages.push("cannot specify both released=true and deployedOrReleased=true".into());
        }
    }
    messages
}

/// The broker's decoration of one valid selector (keys in camelCase or snake_case).
fn decorate(selector: &Map<String, Value>) -> Vec<Selector> {
    let get = |camel: &str, snake: &str| selector.get(camel).or_else(|| selector.get(snake));
    let truthy = |v: Option<&Value>| {
        matches!(v, Some(Value::Bool(true))) || v.and_then(Value::as_str) == Some("true")
    };
    let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let mut s = Selector::default();
    if let Some(v) = get("mainBranch", "main_branch") {
        s.main_branch = truthy(Some(v));
        s.latest = Some(true);
    }
    s.tag = string(get("tag", "tag"));
    if let Some(v) = get("branch", "branch") {
        s.branch = match v {
            Value::String(name) => Some(BranchSelector::Named(name.clone())),
            _ => Some(BranchSelector::All),
        };
        s.latest = Some(true);
    }
    if let Some(v) = get("matchingBranch", "matching_branch") {
        s.matching_branch = truthy(Some(v));
        s.latest = Some(true);
    }
    if let Some(v) = get("latest", "latest") {
        s.latest = Some(truthy(Some(v)));
    }
    s.fallback_tag = string(get("fallbackTag", "fallback_tag"));
    s.fallback_branch = string(get("fallbackBranch", "fallback_branch"));
    s.consumer = string(get("consumer", "consumer"));
    s.environment_name = string(get("environment", "environment"));
    s.currently_deployed = truthy(get("deployed", "deployed"));
    s.currently_supported = truthy(get("released", "released"));
    if truthy(get("deployedOrReleased", "deployed_or_released")) {
        s.currently_deployed = true;
        s.currently_supported = true;
    }
    if s.currently_deployed && s.currently_supported {
        let deployed = Selector {
            currently_supported: false,
            ..s.clone()
        };
        let released = Selector {
            currently_deployed: false,
            ..s
        };
        vec![deployed, released]
    } else {
        vec![s]
    }
}

fn finish(
    mut query: ForVerificationQuery,
    raw_selectors: &[Map<String, Value>],
    errors: FieldErrors,
    selectors_key: &'static str,
) -> Unchecked {
    let mut environments = Vec::new();
    for (index, raw) in raw_selectors.iter().enumerate() {
        if let Some(Value::String(env)) = raw.get("environment") {
            if !blank(env) {
                environments.push((index, env.clone()));
            }
        }
        query.selectors.extend(decorate(raw));
    }
    if let Some(branch) = &query.provider_version_branch {
        for selector in &mut query.selectors {
            if selector.matching_branch {
                selector.branch = Some(BranchSelector::Named(branch.clone()));
            }
        }
    }
    Unchecked {
        query,
        environments,
        errors,
        selectors_key,
    }
}

/// Validates and decorates the `POST` body.
pub fn from_json(body: &Value) -> Result<Unchecked, FieldErrors> {
    let empty = Map::new();
    let body = match body {
        Value::Object(map) => map,
        Value::Null => &empty,
        _ => {
            return Err(FieldErrors::from([(
                "body".to_owned(),
                vec!["must be a hash".to_owned()],
            )]))
        }
    };
    let mut errors = FieldErrors::new();

    let branch = match body.get("providerVersionBranch") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            add(&mut errors, "providerVersionBranch", "must be a string");
            None
        }
    };
    let tags: Vec<String> = match body.get("providerVersionTags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|t| match t {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
        Some(_) => {
            add(&mut errors, "providerVersionTags", "must be an array");
            Vec::new()
        }
    };
    let include_pending = match body.get("includePendingStatus") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Null) => {
            add(&mut errors, "includePendingStatus", "must be filled");
            None
        }
        Some(_) => {
            add(
                &mut errors,
                "includePendingStatus",
                "must be one of: true, false",
            );
            None
        }
    };
    let wip_since = match body.get("includeWipPactsSince") {
        None => None,
        Some(Value::Null) => {
            add(&mut errors, "includeWipPactsSince", "must be filled");
            None
        }
        Some(Value::String(s)) if s.is_empty() => {
            add(&mut errors, "includeWipPactsSince", "must be filled");
            None
        }
        Some(Value::String(s)) => match parse_date(s) {
            Some(date) => Some(date),
            None => {
                add(&mut errors, "includeWipPactsSince", "must be a date");
                None
            }
        },
        Some(_) => {
            add(&mut errors, "includeWipPactsSince", "must be a date");
            None
        }
    };
    if let Some(b) = &branch {
        if !b.is_empty() && blank(b) {
            add(&mut errors, "providerVersionBranch", "cannot be blank");
        } else if tags.is_empty()
            && (wip_since.is_some() || include_pending == Some(true))
            && blank(b)
        {
            add(&mut errors, "providerVersionBranch", "when pending or WIP pacts are enabled and there are no tags provided, the provider version branch must not be an empty string, as it is used in the calculations for WIP/pending. A value must be provided (recommended), or it must not be set at all.");
        }
    }
    let provider_branch_given = branch.as_deref().is_some_and(|b| !blank(b));
    let mut raw_selectors = Vec::new();
    match body.get("consumerVersionSelectors") {
        None => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match item {
                    Value::Object(selector) => {
                        for message in selector_messages(selector, provider_branch_given) {
                            add(
                                &mut errors,
                                "consumerVersionSelectors",
                                format!("{message} (at index {index})"),
                            );
                        }
                        raw_selectors.push(selector.clone());
                    }
                    _ => add(
                        &mut errors,
                        "consumerVersionSelectors",
                        format!("must be a hash (at index {index})"),
                    ),
                }
            }
        }
        Some(_) => add(&mut errors, "consumerVersionSelectors", "must be an array"),
    }
    let query = ForVerificationQuery {
        provider_version_branch: branch,
        provider_version_tags: tags,
        selectors: Vec::new(),
        include_pending_status: include_pending.unwrap_or(true),
        include_wip_pacts_since: wip_since,
    };
    Ok(finish(
        query,
        &raw_selectors,
        errors,
        "consumerVersionSelectors",
    ))
}

/// Validates and decorates the deprecated `GET` query string.
pub fn from_query(query: &str) -> Unchecked {
    let parsed = Nested::parse(query);
    let mut errors = FieldErrors::new();
    let string = |n: Option<&Nested>| n.and_then(Nested::as_str).map(str::to_owned);
    let tags = match parsed.get("provider_version_tags") {
        None => Vec::new(),
        Some(Nested::List(items)) => items
            .iter()
            .filter_map(Nested::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
            add(&mut errors, "provider_version_tags", "must be an array");
            Vec::new()
        }
    };
    let flag = |errors: &mut FieldErrors, key: &str| match parsed.get(key) {
        None => None,
        Some(Nested::Str(s)) if s == "true" => Some(true),
        Some(Nested::Str(s)) if s == "false" => Some(false),
        Some(Nested::Str(s)) if s.is_empty() => {
            add(errors, key, "must be filled");
            None
        }
        Some(_) => {
            add(errors, key, "must be one of: true, false");
            None
        }
    };
    let include_pending = flag(&mut errors, "include_pending_status");
    let wip_since = match string(parsed.get("include_wip_pacts_since")) {
        None => None,
        Some(s) if s.is_empty() => {
            add(&mut errors, "include_wip_pacts_since", "must be filled");
            None
        }
        Some(s) => match parse_date(&s) {
            Some(date) => Some(date),
            None => {
                add(&mut errors, "include_wip_pacts_since", "must be a date");
                None
            }
        },
    };
    let mut raw_selectors = Vec::new();
    match parsed.get("consumer_version_selectors") {
        None => {}
        Some(Nested::List(items)) => {
            for (index, item) in items.iter().enumerate() {
                let mut selector = Map::new();
                let Nested::Hash(entries) = item else {
                    add(
                        &mut errors,
                        "consumer_version_selectors",
                        format!("must be a hash (at index {index})"),
                    );
                    continue;
                };
                for (key, value) in entries {
                    if let Nested::Str(s) = value {
                        selector.insert(key.clone(), Value::String(s.clone()));
                    }
                }
                let mut check_string = |key: &str, required: bool| match selector.get(key) {
                    None if required => add(
                        &mut errors,
                        "consumer_version_selectors",
                        format!("{key} is missing (at index {index})"),
                    ),
                    Some(Value::String(s)) if s.is_empty() => add(
                        &mut errors,
                        "consumer_version_selectors",
                        format!("{key} must be filled (at index {index})"),
                    ),
                    _ => {}
                };
                check_string("tag", true);
                check_string("fallback_tag", false);
                check_string("consumer", false);
                match selector.get("latest").and_then(Value::as_str) {
                    None | Some("true") | Some("false") => {}
                    Some(_) => add(
                        &mut errors,
                        "consumer_version_selectors",
                        format!("latest must be one of: true, false (at index {index})"),
                    ),
                }
                raw_selectors.push(selector);
            }
        }
        Some(_) => add(
            &mut errors,
            "consumer_version_selectors",
            "must be an array",
        ),
    }
    let query = ForVerificationQuery {
        provider_version_branch: string(parsed.get("provider_version_branch")),
        provider_version_tags: tags,
        selectors: Vec::new(),
        include_pending_status: include_pending.unwrap_or(true),
        include_wip_pacts_since: wip_since,
    };
    finish(query, &raw_selectors, errors, "consumer_version_selectors")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn errors(body: Value) -> Vec<String> {
        match from_json(&body).and_then(|u| u.check(&[])) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_values().flatten().collect(),
        }
    }

    fn selectors(body: Value) -> Vec<Selector> {
        from_json(&body)
            .unwrap()
            .check(&["prod".into()])
            .unwrap()
            .selectors
    }

    #[test]
    fn an_empty_body_means_default_selectors_with_pending_status() {
        let query = from_json(&json!({})).unwrap().check(&[]).unwrap();
        assert!(query.selectors.is_empty());
        assert!(query.include_pending_status);
        assert_eq!(query.include_wip_pacts_since, None);
    }

    #[test]
    fn selectors_without_criteria_are_refused_with_the_brokers_words() {
        assert_eq!(
            errors(json!({"consumerVersionSelectors": [{"consumer": "C"}]})),
            vec!["must specify a value for environment or tag or branch, or specify mainBranch=true, matchingBranch=true, latest=true, deployed=true, released=true or deployedOrReleased=true (at index 0)"]
        );
    }

    #[test]
    fn each_invalid_combination_has_its_message() {
        let cases = [
            (json!({"mainBranch": true, "tag": "x"}), "cannot specify mainBranch=true with any other criteria apart from consumer (at index 0)"),
            (json!({"mainBranch": true, "latest": false}), "cannot specify mainBranch=true with latest=false (at index 0)"),
            (json!({"matchingBranch": true}), "the providerVersionBranch must be specified when the selector matchingBranch=true is used (at index 0)"),
            (json!({"tag": "x", "branch": "y"}), "cannot specify both a tag and a branch (at index 0)"),
            (json!({"tag": "x", "fallbackTag": "y"}), "fallbackTag can only be set if latest is true (at index 0)"),
            (json!({"latest": true, "fallbackTag": "y"}), "a tag must be specified when a fallbackTag is specified (at index 0)"),
            (json!({"latest": true, "fallbackBranch": "y"}), "a branch must be specified when a fallbackBranch is specified (at index 0)"),
            (json!({"branch": "x", "latest": false}), "cannot specify a branch with latest=false (at index 0)"),
            (json!({"deployed": true, "released": true}), "cannot specify both deployed=true and released=true (at index 0)"),
            (json!({"deployed": true, "deployedOrReleased": true}), "cannot specify both deployed=true and deployedOrReleased=true (at index 0)"),
            (json!({"tag": "x", "environment": "prod"}), "cannot specify the field tag with the field environment (at index 0)"),
            (json!({"branch": "x", "latest": true, "deployed": true, "environment": "prod"}), "cannot specify the fields branch/latest with the fields deployed/environment (at index 0)"),
            (json!({"mainBranch": false}), "mainBranch must be one of: true (at index 0)"),
            (json!({"tag": 1}), "tag must be a string (at index 0)"),
            (json!({"tag": ""}), "tag must be filled (at index 0)"),
            (json!({"branch": 1}), "branch must be a string or must be equal to true (at index 0)"),
            (json!({"latest": "yes"}), "latest must be one of: true, false (at index 0)"),
            (json!({"latest": true, "consumer": "  "}), "consumer cannot be blank (at index 0)"),
            (json!({"environment": "nowhere"}), "environment with name 'nowhere' does not exist (at index 0)"),
        ];
        for (selector, message) in cases {
            let got = errors(json!({"consumerVersionSelectors": [selector.clone()]}));
            assert!(got.contains(&message.to_owned()), "{selector}: {got:?}");
        }
    }

    #[test]
    fn top_level_fields_are_checked() {
        assert_eq!(
            errors(json!({"includePendingStatus": "yes"})),
            vec!["must be one of: true, false"]
        );
        assert_eq!(
            errors(json!({"includeWipPactsSince": "last tuesday"})),
            vec!["must be a date"]
        );
        assert_eq!(
            errors(json!({"consumerVersionSelectors": "x"})),
            vec!["must be an array"]
        );
        assert_eq!(
            errors(json!({"providerVersionBranch": " "})),
            vec!["cannot be blank"]
        );
        assert_eq!(
            errors(json!({"providerVersionBranch": "", "includePendingStatus": true})).len(),
            1
        );
        assert!(
            errors(json!({"providerVersionBranch": "", "includePendingStatus": false})).is_empty()
        );
    }

    #[test]
    fn selectors_are_decorated_as_the_broker_decorates_them() {
        let s = selectors(
            json!({"providerVersionBranch": "feat", "consumerVersionSelectors": [
                {"mainBranch": true}, {"branch": "main"}, {"matchingBranch": true}, {"deployedOrReleased": true, "environment": "prod"},
                {"tag": "prod"}, {"tag": "main", "latest": true, "fallbackTag": "dev"}
            ]}),
        );
        assert_eq!(s[0], Selector::latest_for_main_branch());
        assert_eq!(s[1], Selector::latest_for_branch("main"));
        assert_eq!(s[2].branch, Some(BranchSelector::Named("feat".into())));
        assert!(s[2].matching_branch && s[2].latest == Some(true));
        assert!(s[3].currently_deployed && !s[3].currently_supported);
        assert!(!s[4].currently_deployed && s[4].currently_supported);
        assert_eq!(s[4].environment_name.as_deref(), Some("prod"));
        assert!(s[5].is_all_for_tag());
        assert_eq!(s[6].fallback_tag.as_deref(), Some("dev"));
        assert!(s[6].is_latest_for_tag(Some("main")));
    }

    #[test]
    fn the_deprecated_query_string_form_is_understood() {
        let query = from_query("provider_version_tags[]=dev&consumer_version_selectors[][tag]=main&consumer_version_selectors[][latest]=true&consumer_version_selectors[][tag]=prod&include_pending_status=false&include_wip_pacts_since=2020-01-01")
            .check(&[])
            .unwrap();
        assert_eq!(query.provider_version_tags, vec!["dev"]);
        assert_eq!(query.selectors.len(), 2);
        assert!(query.selectors[0].is_latest_for_tag(Some("main")));
        assert!(query.selectors[1].is_all_for_tag());
        assert!(!query.include_pending_status);
        assert!(query.include_wip_pacts_since.is_some());
        let bad = from_query("consumer_version_selectors[][latest]=true").check(&[]);
        assert_eq!(
            bad.unwrap_err()["consumer_version_selectors"],
            vec!["tag is missing (at index 0)"]
        );
    }

    #[test]
    fn dates_are_parsed_leniently() {
        assert!(parse_date("2020-01-01").is_some());
        assert!(parse_date("2020-01-01T10:00:00Z").is_some());
        assert!(parse_date("2020-01-01T10:00:00+01:00").is_some());
        assert!(parse_date("yesterday").is_none());
    }
}
