//! A webhook definition as clients send it: parsed and validated the way the broker validates
//! it (same dotted error keys and messages), and checked against the operator's policy on
//! schemes, methods and private hosts ([`WebhookPolicy`], configuration data of the core).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::config::WebhookPolicy;
use crate::error::FieldErrors;

/// The events a webhook can subscribe to; the first is the default.
pub const EVENTS: [&str; 6] = [
    "contract_content_changed",
    "contract_published",
    "contract_requiring_verification_published",
    "provider_verification_published",
    "provider_verification_succeeded",
    "provider_verification_failed",
];

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// A pacticipant scope: by name or by label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Name(String),
    Label(String),
}

#[derive(Clone, Debug)]
pub struct RequestTemplate {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Definition {
    pub description: Option<String>,
    pub consumer: Option<Scope>,
    pub provider: Option<Scope>,
    pub enabled: bool,
    pub events: Vec<String>,
    pub request: RequestTemplate,
}

/// Whether `value` contains a `${…}` template parameter.
pub fn is_template(value: &str) -> bool {
    value.contains("${")
}

/// A webhook uuid chosen by the client must look like one.
pub fn valid_uuid(uuid: &str) -> bool {
    uuid.len() >= 16
        && uuid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

struct Errors(FieldErrors);

impl Errors {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0
            .entry(key.to_owned())
            .or_default()
            .push(message.into());
    }
}

fn optional_string(
    object: &Map<String, Value>,
    key: &str,
    field: &str,
    errors: &mut Errors,
) -> Option<String> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.add(field, "must be a string");
            None
        }
    }
}

fn scope(value: Option<&Value>, field: &str, errors: &mut Errors) -> Option<Scope> {
    let object = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Object(object)) => object,
        Some(_) => {
            errors.add(field, "must be an object");
            return None;
        }
    };
    let name = optional_string(object, "name", &format!("{field}.name"), errors)
        .filter(|s| !s.trim().is_empty());
    let label = optional_string(object, "label", &format!("{field}.label"), errors)
        .filter(|s| !s.trim().is_empty());
    match (name, label) {
        (Some(_), Some(_)) => {
            errors.add(
                &format!("{field}.label"),
                "name and label cannot be provided at the same time",
            );
            None
        }
        (Some(name), None) => Some(Scope::Name(name)),
        (None, Some(label)) => Some(Scope::Label(label)),
        (None, None) => {
            errors.add(&format!("{field}.name"), "cannot be blank");
            None
        }
    }
}

impl WebhookPolicy {
    fn check_url(&self, url: &str, errors: &mut Errors) {
        let rendered = render_placeholders(url, "placeholder");
        let Ok(parsed) = url::Url::parse(&rendered) else {
            errors.add("request.url", "is not a valid URL eg. http://example.org");
            return;
        };
        let Some(host) = parsed.host_str() else {
            errors.add("request.url", "is not a valid URL eg. http://example.org");
            return;
        };
        let other = url::Url::parse(&render_placeholders(url, "differentplaceholder"));
        if other
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .as_deref()
            != Some(host)
        {
            errors.add(
                "request.url",
                "cannot have a template parameter in the host",
            );
            return;
        }
        if !self
            .schemes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(parsed.scheme()))
        {
            errors.add(
                "request.url",
                format!(
                    "scheme must be {}. See /doc/webhooks#whitelist for more information.",
                    self.schemes.join(", ")
                ),
            );
            return;
        }
        if !self.allow_private_hosts && is_private_host(host) {
            errors.add(
                "request.url",
                "host must not be a private, loopback or link-local address (the operator can allow them with WEBHOOK_ALLOW_PRIVATE_HOSTS)",
            );
        }
    }

    fn check_method(&self, method: &str, errors: &mut Errors) {
        if !METHODS.contains(&method.to_ascii_uppercase().as_str()) {
            errors.add("request.method", "is not a recognised HTTP method");
        } else if !self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            let allowed = if self.methods.len() == 1 {
                format!("must be {}", self.methods[0])
            } else {
                format!("must be one of {}", self.methods.join(", "))
            };
            errors.add(
                "request.method",
                format!("{allowed}. See /doc/webhooks#whitelist for more information."),
            );
        }
    }

    /// Parses and validates a webhook body.
    pub fn parse(&self, body: &Value) -> Result<Definition, FieldErrors> {
        let mut errors = Errors(FieldErrors::new());
        let Some(object) = body.as_object() else {
            errors.add("body", "must be a JSON object");
            return Err(errors.0);
        };
        let description = optional_string(object, "description", "description", &mut errors);
        let consumer = scope(object.get("consumer"), "consumer", &mut errors);
        let provider = scope(object.get("provider"), "provider", &mut errors);
        let enabled = match object.get("enabled") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(enabled)) => *enabled,
            Some(_) => {
                errors.add("enabled", "must be boolean");
                true
            }
        };
        let events = match object.get("events") {
            None | Some(Value::Null) => vec![EVENTS[0].to_owned()],
            Some(Value::Array(items)) if items.is_empty() => {
                errors.add("events", "size cannot be less than 1");
                Vec::new()
            }
            Some(Value::Array(items)) => {
                let mut names = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    match item.get("name").and_then(Value::as_str) {
                        Some(name) if EVENTS.contains(&name) => names.push(name.to_owned()),
                        Some(name) => errors.add(
                            "events",
                            format!(
                                "name must be one of: {} (at index {index}, got {name:?})",
                                EVENTS.join(", ")
                            ),
                        ),
                        None => errors.add("events", format!("name is missing (at index {index})")),
                    }
                }
                names
            }
            Some(_) => {
                errors.add("events", "must be an array");
                Vec::new()
            }
        };
        let request = match object.get("request") {
            None | Some(Value::Null) => {
                errors.add("request", "is missing");
                None
            }
            Some(Value::Object(request)) => self.parse_request(request, &mut errors),
            Some(_) => {
                errors.add("request", "must be a hash");
                None
            }
        };
        match request {
            Some(request) if errors.0.is_empty() => Ok(Definition {
                description,
                consumer,
                provider,
                enabled,
                events,
                request,
            }),
            _ => Err(errors.0),
        }
    }

    fn parse_request(
        &self,
        request: &Map<String, Value>,
        errors: &mut Errors,
    ) -> Option<RequestTemplate> {
        let method = optional_string(request, "method", "request.method", errors)
            .filter(|m| !m.trim().is_empty());
        let url =
            optional_string(request, "url", "request.url", errors).filter(|u| !u.trim().is_empty());
        match &method {
            Some(method) => self.check_method(method, errors),
            None => errors.add("request.method", "is missing"),
        }
        match &url {
            Some(url) => self.check_url(url, errors),
            None => errors.add("request.url", "is missing"),
        }
        let mut headers = BTreeMap::new();
        match request.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, value) in map {
                    match value {
                        Value::String(value) => {
                            headers.insert(name.clone(), value.clone());
                        }
                        _ => errors.add(
                            "request.headers",
                            format!("the value of {name} must be a string"),
                        ),
                    }
                }
            }
            Some(_) => errors.add("request.headers", "must be a hash"),
        }
        let username = optional_string(request, "username", "request.username", errors);
        let password = optional_string(request, "password", "request.password", errors);
        let body = request.get("body").filter(|b| !b.is_null()).cloned();
        Some(RequestTemplate {
            method: method?.to_ascii_uppercase(),
            url: url?,
            headers,
            body,
            username,
            password,
        })
    }
}

fn render_placeholders(template: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(replacement);
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Loopback, private, link-local, unspecified or `localhost` names.
pub fn is_private_host(host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64 // 100.64.0.0/10, carrier-grade NAT
        }
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (ip.segments()[0] & 0xffc0) == 0xfe80 // link-local
                || ip.to_ipv4_mapped().is_some_and(|v4| is_private_host(&v4.to_string()))
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy() -> WebhookPolicy {
        WebhookPolicy {
            schemes: vec!["https".into()],
            methods: vec!["POST".into()],
            allow_private_hosts: false,
        }
    }

    #[test]
    fn a_minimal_webhook_gets_the_default_event_and_is_enabled() {
        let definition = policy()
            .parse(&json!({"request": {"method": "post", "url": "https://ci.example/hook"}}))
            .unwrap();
        assert_eq!(definition.events, ["contract_content_changed"]);
        assert!(definition.enabled);
        assert_eq!(definition.request.method, "POST");
    }

    #[test]
    fn invalid_webhooks_are_reported_with_the_brokers_dotted_keys() {
        let cases = [
            (json!({"request": {"method": "POST"}}), "request.url"),
            (json!({}), "request"),
            (
                json!({"request": {"method": "POST", "url": "not a url"}}),
                "request.url",
            ),
            (
                json!({"request": {"method": "POST", "url": "http://ci.example"}}),
                "request.url",
            ),
            (
                json!({"request": {"method": "POST", "url": "https://${pactbroker.consumerName}.example"}}),
                "request.url",
            ),
            (
                json!({"request": {"method": "POST", "url": "https://10.1.2.3/hook"}}),
                "request.url",
            ),
            (
                json!({"request": {"method": "POST", "url": "https://[::1]/hook"}}),
                "request.url",
            ),
            (
                json!({"request": {"method": "GET", "url": "https://ci.example"}}),
                "request.method",
            ),
            (
                json!({"request": {"method": "FETCH", "url": "https://ci.example"}}),
                "request.method",
            ),
            (
                json!({"request": {"method": "POST", "url": "https://ci.example"}, "events": []}),
                "events",
            ),
            (
                json!({"request": {"method": "POST", "url": "https://ci.example"}, "events": [{"name": "nope"}]}),
                "events",
            ),
            (
                json!({"request": {"method": "POST", "url": "https://ci.example"}, "consumer": {}}),
                "consumer.name",
            ),
            (
                json!({"request": {"method": "POST", "url": "https://ci.example"}, "consumer": {"name": "a", "label": "b"}}),
                "consumer.label",
            ),
        ];
        for (body, key) in cases {
            let errors = policy().parse(&body).unwrap_err();
            assert!(errors.contains_key(key), "{body}: {errors:?}");
        }
    }

    #[test]
    fn templates_are_allowed_outside_the_host_and_private_hosts_only_when_allowed() {
        assert!(policy().parse(&json!({"request": {"method": "POST", "url": "https://ci.example/${pactbroker.consumerName}"}})).is_ok());
        let open = WebhookPolicy {
            allow_private_hosts: true,
            ..policy()
        };
        assert!(open
            .parse(&json!({"request": {"method": "POST", "url": "https://localhost:8080/hook"}}))
            .is_ok());
        for host in [
            "localhost",
            "a.localhost",
            "127.0.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "[fd00::1]",
            "[::ffff:10.0.0.1]",
        ] {
            assert!(is_private_host(host), "{host}");
        }
        for host in ["ci.example", "8.8.8.8", "[2001:db8::1]", "webhook"] {
            assert!(!is_private_host(host), "{host}");
        }
    }
}
