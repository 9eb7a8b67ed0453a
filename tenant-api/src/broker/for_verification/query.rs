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
/// form (`tag must be a string`), without the index suffix. The schema's type checks come first;
/// each rule after them runs only when the keys it reads passed.
fn selector_messages(selector: &Map<String, Value>, provider_branch_given: bool) -> Vec<String> {
    let mut messages = Vec::new();
    let failed = schema_messages(selector, &mut messages);
    let rules = SelectorRules { selector, failed };
    rules.criteria_messages(provider_branch_given, &mut messages);
    rules.combination_messages(&mut messages);
    rules.fallback_messages(&mut messages);
    rules.deployment_messages(&mut messages);
    messages
}

/// The schema's checks of each key's type; returns the keys that failed them.
fn schema_messages(
    selector: &Map<String, Value>,
    messages: &mut Vec<String>,
) -> BTreeSet<&'static str> {
    let mut failed: BTreeSet<&'static str> = BTreeSet::new();
    let mut check = |key: &'static str, rule: &dyn Fn(&Value) -> Option<&'static str>| {
        if let Some(value) = selector.get(key) {
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
    failed
}

/// A selector that went through the schema, with the keys that failed it, for the contract's
/// rules.
struct SelectorRules<'a> {
    selector: &'a Map<String, Value>,
    failed: BTreeSet<&'static str>,
}

impl SelectorRules<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.selector.get(key)
    }

    /// None of `keys` failed the schema.
    fn ok(&self, keys: &[&str]) -> bool {
        keys.iter().all(|k| !self.failed.contains(k))
    }

    fn all_ok(&self) -> bool {
        self.failed.is_empty()
    }

    fn is_true(&self, key: &str) -> bool {
        self.get(key) == Some(&Value::Bool(true))
    }

    fn is_false(&self, key: &str) -> bool {
        self.get(key) == Some(&Value::Bool(false))
    }

    fn present(&self, key: &str) -> bool {
        self.selector.contains_key(key)
    }

    /// Whether a branch or environment key other than `allowed` is present.
    fn others(&self, allowed: &[&str]) -> bool {
        BRANCH_KEYS
            .iter()
            .chain(ENVIRONMENT_KEYS.iter())
            .any(|k| !allowed.contains(k) && self.present(k))
    }

    /// A consumer that is not blank; some criterion; `mainBranch` and `matchingBranch` alone.
    fn criteria_messages(&self, provider_branch_given: bool, messages: &mut Vec<String>) {
        if self.ok(&["consumer"])
            && self
                .get("consumer")
                .and_then(Value::as_str)
                .is_some_and(blank)
        {
            messages.push("consumer cannot be blank".into());
        }
        if self.all_ok()
            && !provided(self.get("mainBranch"))
            && !provided(self.get("tag"))
            && !provided(self.get("branch"))
            && !provided(self.get("environment"))
            && !self.is_true("matchingBranch")
            && !self.is_true("deployed")
            && !self.is_true("released")
            && !self.is_true("deployedOrReleased")
            && !self.is_true("latest")
        {
            messages.push("must specify a value for environment or tag or branch, or specify mainBranch=true, matchingBranch=true, latest=true, deployed=true, released=true or deployedOrReleased=true".into());
        }
        if self.all_ok() && self.is_true("mainBranch") && self.others(&["mainBranch", "latest"]) {
            messages.push(
                "cannot specify mainBranch=true with any other criteria apart from consumer".into(),
            );
        }
        if self.ok(&["mainBranch", "latest"])
            && self.is_true("mainBranch")
            && self.is_false("latest")
        {
            messages.push("cannot specify mainBranch=true with latest=false".into());
        }
        if self.all_ok() && self.is_true("matchingBranch") {
            if self.others(&["matchingBranch"]) {
                messages.push(
                    "cannot specify matchingBranch=true with any other criteria apart from consumer"
                        .into(),
                );
            }
            if !provider_branch_given {
                messages.push("the providerVersionBranch must be specified when the selector matchingBranch=true is used".into());
            }
        }
    }

    /// Not a tag and a branch; not branch keys and environment keys together.
    fn combination_messages(&self, messages: &mut Vec<String>) {
        if self.ok(&["tag", "branch"]) && self.present("tag") && self.present("branch") {
            messages.push("cannot specify both a tag and a branch".into());
        }
        if !self.all_ok() {
            return;
        }
        let mut branch_fields: Vec<&str> = BRANCH_KEYS
            .iter()
            .copied()
            .filter(|k| self.present(k))
            .collect();
        let mut environment_fields: Vec<&str> = ENVIRONMENT_KEYS
            .iter()
            .copied()
            .filter(|k| self.present(k))
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

    /// Fallback tags and branches need what they fall back from, and `latest`.
    fn fallback_messages(&self, messages: &mut Vec<String>) {
        if self.ok(&["fallbackTag", "tag", "latest"]) && self.present("fallbackTag") {
            if !self.is_true("latest") {
                messages.push("fallbackTag can only be set if latest is true".into());
            }
            if !self.present("tag") {
                messages.push("a tag must be specified when a fallbackTag is specified".into());
            }
        }
        if self.ok(&["fallbackBranch", "branch", "latest"]) && self.present("fallbackBranch") {
            if !self.present("branch") {
                messages
                    .push("a branch must be specified when a fallbackBranch is specified".into());
            }
            if self.is_false("latest") {
                messages.push("fallbackBranch can only be set if latest is true".into());
            }
        }
        if self.ok(&["branch", "latest"]) && self.present("branch") && self.is_false("latest") {
            messages.push("cannot specify a branch with latest=false".into());
        }
    }

    /// At most one of `deployed`, `released` and `deployedOrReleased`.
    fn deployment_messages(&self, messages: &mut Vec<String>) {
        if !self.ok(&["deployed", "released", "deployedOrReleased"]) {
            return;
        }
        let (deployed, released, either) = (
            self.is_true("deployed"),
            self.is_true("released"),
            self.is_true("deployedOrReleased"),
        );
        if deployed && released {
            messages.push("cannot specify both deployed=true and released=true".into());
        }
        if deployed && either {
            messages.push("cannot specify both deployed=true and deployedOrReleased=true".into());
        }
        if released && either {
            messages.push("cannot specify both released=true and deployedOrReleased=true".into());
        }
    }
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
    let branch = json_provider_branch(body, &mut errors);
    let tags = json_provider_tags(body, &mut errors);
    let include_pending = json_include_pending(body, &mut errors);
    let wip_since = json_wip_since(body, &mut errors);
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
    let raw_selectors = json_selectors(body, provider_branch_given, &mut errors);
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

/// `providerVersionBranch`: a string, or absent.
fn json_provider_branch(body: &Map<String, Value>, errors: &mut FieldErrors) -> Option<String> {
    match body.get("providerVersionBranch") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            add(errors, "providerVersionBranch", "must be a string");
            None
        }
    }
}

/// `providerVersionTags`: an array (nulls dropped, other values as their JSON text).
fn json_provider_tags(body: &Map<String, Value>, errors: &mut FieldErrors) -> Vec<String> {
    match body.get("providerVersionTags") {
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
            add(errors, "providerVersionTags", "must be an array");
            Vec::new()
        }
    }
}

/// `includePendingStatus`: a boolean, or absent.
fn json_include_pending(body: &Map<String, Value>, errors: &mut FieldErrors) -> Option<bool> {
    match body.get("includePendingStatus") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Null) => {
            add(errors, "includePendingStatus", "must be filled");
            None
        }
        Some(_) => {
            add(
                errors,
                "includePendingStatus",
                "must be one of: true, false",
            );
            None
        }
    }
}

/// `includeWipPactsSince`: a date, or absent.
fn json_wip_since(body: &Map<String, Value>, errors: &mut FieldErrors) -> Option<DateTime<Utc>> {
    match body.get("includeWipPactsSince") {
        None => None,
        Some(Value::Null) => {
            add(errors, "includeWipPactsSince", "must be filled");
            None
        }
        Some(Value::String(s)) if s.is_empty() => {
            add(errors, "includeWipPactsSince", "must be filled");
            None
        }
        Some(Value::String(s)) => match parse_date(s) {
            Some(date) => Some(date),
            None => {
                add(errors, "includeWipPactsSince", "must be a date");
                None
            }
        },
        Some(_) => {
            add(errors, "includeWipPactsSince", "must be a date");
            None
        }
    }
}

/// `consumerVersionSelectors`: an array of objects, each validated; the objects, as given.
fn json_selectors(
    body: &Map<String, Value>,
    provider_branch_given: bool,
    errors: &mut FieldErrors,
) -> Vec<Map<String, Value>> {
    let mut raw_selectors = Vec::new();
    match body.get("consumerVersionSelectors") {
        None => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match item {
                    Value::Object(selector) => {
                        for message in selector_messages(selector, provider_branch_given) {
                            add(
                                errors,
                                "consumerVersionSelectors",
                                format!("{message} (at index {index})"),
                            );
                        }
                        raw_selectors.push(selector.clone());
                    }
                    _ => add(
                        errors,
                        "consumerVersionSelectors",
                        format!("must be a hash (at index {index})"),
                    ),
                }
            }
        }
        Some(_) => add(errors, "consumerVersionSelectors", "must be an array"),
    }
    raw_selectors
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
