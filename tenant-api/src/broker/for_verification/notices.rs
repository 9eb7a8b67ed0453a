//! What the broker tells the verifier about each pact it hands out (`VerifiablePactMessages`,
//! `BuildVerifiablePactNotices`): why the pact is included, whether it is pending, and what
//! publishing a result will do. Verifiers print these texts, so they are the broker's words.

use serde_json::{json, Value};

use super::selectors::{ResolvedSelector, SelectorType};
use super::verifiable::VerifiablePact;

const READ_MORE_PENDING: &str = "Read more at https://docs.pact.io/go/pending";
const READ_MORE_WIP: &str = "Read more at https://docs.pact.io/go/wip";

/// "'a', 'b' and 'c'".
fn join_quoted(items: &[String]) -> String {
    join_unquoted(&items.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>())
}

/// "a, b and c".
fn join_unquoted(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., before_last, last] => {
            let tail = format!("{before_last} and {last}");
            if rest.is_empty() {
                tail
            } else {
                format!("{}, {tail}", rest.join(", "))
            }
        }
    }
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.iter().any(|o| o == item) {
            out.push(item.to_owned());
        }
    }
    out
}

struct Messages<'a> {
    pact: &'a VerifiablePact,
    url: &'a str,
}

impl Messages<'_> {
    fn provider(&self) -> &str {
        &self.pact.pact.provider_name
    }

    fn head_consumer_tags(&self) -> Vec<String> {
        unique(
            self.pact
                .selectors
                .iter()
                .filter(|s| s.selector.is_latest_for_tag(None))
                .filter_map(|s| s.selector.tag.as_deref()),
        )
    }

    fn branches(&self) -> Vec<String> {
        unique(
            self.pact
                .selectors
                .iter()
                .filter(|s| s.selector.is_latest_for_branch(None))
                .filter_map(|s| s.selector.branch_name()),
        )
    }

    fn pending_description(&self, any_or_a: &str) -> String {
        let provider = self.provider();
        if let Some(branch) = &self.pact.provider_branch {
            return format!("{any_or_a} version of {provider} from branch '{branch}'");
        }
        match self.pact.pending_provider_tags.as_slice() {
            [] => provider.to_owned(),
            [tag] => format!("{any_or_a} version of {provider} with tag '{tag}'"),
            tags => format!(
                "{any_or_a} versions of {provider} with tag {}",
                join_quoted(tags)
            ),
        }
    }

    fn non_pending_description(&self) -> String {
        let provider = self.provider();
        if let Some(branch) = &self.pact.provider_branch {
            return format!("a version of {provider} from branch '{branch}'");
        }
        match self.pact.non_pending_provider_tags.as_slice() {
            [] => provider.to_owned(),
            [tag] => format!("a version of {provider} with tag '{tag}'"),
            tags => format!("a version of {provider} with tag {}", join_quoted(tags)),
        }
    }

    fn with_these_tags(&self) -> &'static str {
        match self.pact.pending_provider_tags.len() {
            0 => "",
            1 => "with this tag ",
            _ => "with these tags ",
        }
    }

    fn selector_descriptions(&self) -> String {
        let mut sorted = self.pact.selectors.clone();
        super::selectors::sort(&mut sorted);
        let mut groups: Vec<(SelectorType, Vec<&ResolvedSelector>)> = Vec::new();
        for selector in &sorted {
            let kind = selector.selector.selector_type();
            match groups.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, members)) => members.push(selector),
                None => groups.push((kind, vec![selector])),
            }
        }
        let mut lines = Vec::new();
        for (kind, members) in groups {
            match kind {
                SelectorType::CurrentlyDeployed | SelectorType::CurrentlySupported => {
                    let verb = if kind == SelectorType::CurrentlyDeployed {
                        "currently deployed to"
                    } else {
                        "released and supported in"
                    };
                    let mut by_consumer: Vec<(Option<&str>, Vec<String>)> = Vec::new();
                    for s in members {
                        let consumer = s.selector.consumer.as_deref();
                        let entry = format!(
                            "{} ({})",
                            s.environment
                                .as_ref()
                                .map(|(name, _)| name.as_str())
                                .unwrap_or_default(),
                            s.consumer_version_number
                        );
                        match by_consumer.iter_mut().find(|(c, _)| *c == consumer) {
                            Some((_, entries)) => entries.push(entry),
                            None => by_consumer.push((consumer, vec![entry])),
                        }
                    }
                    for (consumer, entries) in by_consumer {
                        let who = match consumer {
                            Some(c) => format!("version(s) of {c}"),
                            None => "consumer version(s)".to_owned(),
                        };
                        lines.push(format!("{who} {verb} {}", join_unquoted(&entries)));
                    }
                }
                _ => {
                    for s in members {
                        lines.push(s.description(
                            self.provider(),
                            self.pact.pact.consumer_main_branch.as_deref(),
                        ));
                    }
                }
            }
        }
        lines
            .iter()
            .map(|l| format!("    * {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn inclusion_reason(&self) -> String {
        let consumer = &self.pact.pact.consumer_name;
        let selectors = self.pact.selectors.len();
        if self.pact.wip {
            let (tags, branches) = (self.head_consumer_tags(), self.branches());
            let version_text = if tags.len() == 1 || branches.len() == 1 {
                "version"
            } else {
                "versions"
            };
            let mut parts = Vec::new();
            if !branches.is_empty() {
                let word = if branches.len() == 1 {
                    "branch"
                } else {
                    "branches"
                };
                parts.push(format!("from {word} {}", join_quoted(&branches)));
            }
            if !tags.is_empty() {
                parts.push(format!("tagged with {}", join_quoted(&tags)));
            }
            let same_content = match selectors {
                1 => "",
                2 => " (both have the same content)",
                _ => " (all have the same content)",
            };
            format!(
                "The pact at {} is being verified because it is a 'work in progress' pact (ie. it is the pact for the latest {version_text} of {consumer} {}{same_content} and it has not yet been successfully verified by {} when the pact's application version was explicitly specified in the consumer version selectors). {READ_MORE_WIP}",
                self.url,
                parts.join(" and "),
                self.pending_description("a"),
            )
        } else {
            let criteria = if selectors > 1 {
                "criteria"
            } else {
                "criterion"
            };
            let versions = if selectors == 1 {
                "the consumer version"
            } else {
                "the consumer versions"
            };
            format!(
                "The pact at {} is being verified because the pact content belongs to {versions} matching the following {criteria}:\n{}",
                self.url,
                self.selector_descriptions()
            )
        }
    }

    fn pending_reason(&self) -> String {
        let provider = self.provider();
        let pending = self.pact.pending == Some(true);
        if pending && self.pact.wip {
            format!("This pact is in pending state for this version of {provider} because it was included as a 'work in progress' pact. If this verification fails, it will not cause the overall build to fail. {READ_MORE_PENDING}")
        } else if pending {
            format!("This pact is in pending state for this version of {provider} because a successful verification result for {} has not yet been published. If this verification fails, it will not cause the overall build to fail. {READ_MORE_PENDING}", self.pending_description("a"))
        } else {
            format!("This pact has previously been successfully verified by {}. If this verification fails, it will fail the build. {READ_MORE_PENDING}", self.non_pending_description())
        }
    }
}

/// The `notices` of one pact for verification.
pub fn notices(
    pact: &VerifiablePact,
    pact_url: &str,
    include_pending_status: bool,
    deprecated: bool,
) -> Vec<Value> {
    let messages = Messages {
        pact,
        url: pact_url,
    };
    let mut notices = Vec::new();
    let mut add = |when: &str, text: String| notices.push(json!({ "when": when, "text": text }));
    if deprecated {
        add("before_verification", "WARNING - this version of the Pact library uses a beta version of the API which will be removed in the future. Please upgrade your Pact library. See https://docs.pact.io/pact_broker/advanced_topics/provider_verification_results/#pacts-for-verification for minimum required versions.".into());
    }
    add("before_verification", messages.inclusion_reason());
    if include_pending_status {
        add("before_verification", messages.pending_reason());
        if pact.pending == Some(true) {
            let any = messages.pending_description("any");
            let tags = messages.with_these_tags();
            let provider = messages.provider();
            let still_pending = format!("This pact is still in pending state for {any} as a successful verification result {tags}has not yet been published");
            add("after_verification:success_true_published_false", format!("This pact is still in pending state for {any} as the successful verification results {tags}have not yet been published."));
            add(
                "after_verification:success_false_published_false",
                still_pending.clone(),
            );
            add("after_verification:success_true_published_true", format!("This pact is no longer in pending state for {any}, as a successful verification result {tags}has been published. If a verification for a version of {provider} {tags}fails in the future, it will fail the build. {READ_MORE_PENDING}"));
            add(
                "after_verification:success_false_published_true",
                still_pending,
            );
        }
    }
    notices
}

/// The `shortDescription` of one pact for verification.
pub fn short_description(pact: &VerifiablePact) -> String {
    pact.selectors
        .iter()
        .map(ResolvedSelector::short_description)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_joined_the_brokers_way() {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_unquoted(&list(&["a"])), "a");
        assert_eq!(join_unquoted(&list(&["a", "b"])), "a and b");
        assert_eq!(join_unquoted(&list(&["a", "b", "c"])), "a, b and c");
        assert_eq!(join_quoted(&list(&["a", "b"])), "'a' and 'b'");
    }
}
