//! Which parts of a webhook definition are credentials, and how they look once hidden.
//!
//! The broker seals only headers named like `authorization` or `token`; people also put API keys,
//! signing secrets, cookies and passwords in other headers, in the URL's user information and
//! in query strings (`?api_key=…`, `?sig=…`). A header or query parameter is a credential when
//! its name says so ([`is_sensitive_name`]); a URL's password always is. Values that are only
//! `${…}` templates name no secret and stay readable, as in the broker. Hidden values are shown
//! as the broker shows its masked password, `**********`.

use super::definition::is_template;

/// What a hidden credential looks like in responses (the broker's mask).
pub const MASK: &str = "**********";

/// Name fragments that mark a header or query parameter as a credential.
const SENSITIVE_FRAGMENTS: [&str; 11] = [
    "auth",
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "signature",
    "cookie",
    "credential",
    "session",
    "private",
];

/// Whole names that are credentials though too short to be matched by fragment.
const SENSITIVE_NAMES: [&str; 4] = ["sig", "pwd", "pass", "code"];

/// Whether a header or query-parameter name marks its value as a credential.
pub fn is_sensitive_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    SENSITIVE_FRAGMENTS.iter().any(|f| name.contains(f)) || SENSITIVE_NAMES.contains(&name.as_str())
}

/// Whether a header's value is a credential to seal.
pub fn is_secret_header(name: &str, value: &str) -> bool {
    is_sensitive_name(name) && !is_template(value)
}

/// `url` with its password and sensitive query values replaced by [`MASK`], or `None` when it
/// holds no credential. Works on the text, so templates and encoding are kept as written.
pub fn mask_url(url: &str) -> Option<String> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut masked = String::with_capacity(url.len());
    masked.push_str(&url[..scheme_end]);
    let mut changed = false;
    match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, password)) if !password.is_empty() && !is_template(password) => {
                    masked.push_str(user);
                    masked.push(':');
                    masked.push_str(MASK);
                    changed = true;
                }
                _ => masked.push_str(userinfo),
            }
            masked.push_str(host);
        }
        None => masked.push_str(authority),
    }
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (tail, None),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => {
            masked.push_str(path);
            masked.push('?');
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, value))
                        if !value.is_empty()
                            && !is_template(value)
                            && is_sensitive_name(&decoded(name)) =>
                    {
                        changed = true;
                        format!("{name}={MASK}")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            masked.push_str(&pairs.join("&"));
        }
        None => masked.push_str(before_fragment),
    }
    if let Some(fragment) = fragment {
        masked.push('#');
        masked.push_str(fragment);
    }
    changed.then_some(masked)
}

/// A query-parameter name as the receiving server will read it.
fn decoded(name: &str) -> String {
    url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_recognised_by_a_broad_rule() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "X-Hub-Signature-256",
            "Cookie",
            "X-Client-Secret",
            "X-Auth-Token",
            "Private-Token",
            "sig",
            "password",
        ] {
            assert!(is_sensitive_name(name), "{name}");
        }
        for name in ["Content-Type", "Accept", "X-Request-Id", "branch"] {
            assert!(!is_sensitive_name(name), "{name}");
        }
        assert!(!is_secret_header("Authorization", "Bearer ${user.ciToken}"));
    }

    #[test]
    fn url_passwords_and_sensitive_query_values_are_masked_and_the_rest_kept() {
        assert_eq!(
            mask_url("https://bot:hunter2@ci.example/hook?api_key=abc&branch=${pactbroker.consumerVersionBranch}&x=1#frag").as_deref(),
            Some("https://bot:**********@ci.example/hook?api_key=**********&branch=${pactbroker.consumerVersionBranch}&x=1#frag")
        );
        assert_eq!(
            mask_url("https://ci.example/hook?Access%5FToken=abc").as_deref(),
            Some("https://ci.example/hook?Access%5FToken=**********")
        );
        assert_eq!(mask_url("https://ci.example/hook?branch=main"), None);
        assert_eq!(mask_url("https://bot@ci.example/hook"), None);
        assert_eq!(mask_url("https://ci.example/h?token=${user.token}"), None);
    }
}
