//! Which tenant a request is for, and the base URL its links are built from.
//!
//! The tenant is the single label in front of the base domain: with base domain `localhost`,
//! `acme.localhost:9292` is tenant `acme`; `localhost` itself is the bare host (no tenant), and any
//! other host (`example.org`) belongs to whichever tenant has it as its custom domain, if any.
//! HTTP/2 requests carry the authority in the URI, HTTP/1.1 ones in `Host`. Behind a trusted proxy `X-Forwarded-Host` and `X-Forwarded-Proto`
//! win, so links point at the public URL rather than at our listener.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use provisioning::Subdomain;

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The host a request was sent to, as the client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHost {
    /// Lower-case host name without port.
    pub name: String,
    /// `https://acme.example.com` or `http://acme.localhost:9292`: what links start with.
    pub base_url: String,
}

/// What the host says about the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostTarget {
    /// `<subdomain>.<base domain>`.
    Tenant(Subdomain),
    /// The base domain itself (or a bare IP): platform endpoints only.
    Bare,
    /// Anything else: possibly a tenant's own domain (`tenant.custom_domain`).
    Foreign,
}

fn first_value(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_owned())
}

/// Reads the host of a request; `None` when it has none at all.
pub fn request_host(
    parts: &Parts,
    trust_forwarded: bool,
    default_scheme: &str,
) -> Option<RequestHost> {
    let forwarded = trust_forwarded
        .then(|| first_value(&parts.headers, &X_FORWARDED_HOST))
        .flatten();
    let authority = forwarded
        .or_else(|| first_value(&parts.headers, &axum::http::header::HOST))
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))?;
    let scheme = trust_forwarded
        .then(|| first_value(&parts.headers, &X_FORWARDED_PROTO))
        .flatten()
        .filter(|s| s == "http" || s == "https")
        .unwrap_or_else(|| default_scheme.to_owned());
    let authority = authority.to_ascii_lowercase();
    let name = strip_port(&authority).trim_end_matches('.').to_owned();
    Some(RequestHost {
        name,
        base_url: format!("{scheme}://{authority}"),
    })
}

fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        // An IPv6 literal: `[::1]:9292`.
        return authority
            .split(']')
            .next()
            .map_or(authority, |h| &authority[..=h.len()]);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                host
            } else {
                authority
            }
        })
}

/// Classifies `host` against the configured base domain.
pub fn target(host: &str, base_domain: &str) -> HostTarget {
    let base = base_domain.trim_matches('.').to_ascii_lowercase();
    if host == base || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return HostTarget::Bare;
    }
    let Some(label) = host
        .strip_suffix(&base)
        .and_then(|rest| rest.strip_suffix('.'))
    else {
        return HostTarget::Foreign;
    };
    if label.contains('.') {
        return HostTarget::Foreign;
    }
    match Subdomain::parse(label) {
        Ok(subdomain) => HostTarget::Tenant(subdomain),
        Err(_) => HostTarget::Foreign,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::builder().uri("/");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_tenant_is_the_single_label_in_front_of_the_base_domain() {
        let sub = |s: &str| HostTarget::Tenant(Subdomain::parse(s).unwrap());
        assert_eq!(target("acme.localhost", "localhost"), sub("acme"));
        assert_eq!(
            target("acme.treaty.example", ".treaty.example"),
            sub("acme")
        );
        assert_eq!(target("localhost", "localhost"), HostTarget::Bare);
        assert_eq!(target("127.0.0.1", "localhost"), HostTarget::Bare);
        assert_eq!(target("a.b.localhost", "localhost"), HostTarget::Foreign);
        assert_eq!(target("www.localhost", "localhost"), HostTarget::Foreign);
        assert_eq!(target("acmelocalhost", "localhost"), HostTarget::Foreign);
        assert_eq!(target("example.org", "localhost"), HostTarget::Foreign);
    }

    #[test]
    fn the_base_url_keeps_the_port_and_honours_trusted_proxies_only() {
        let direct =
            request_host(&parts(&[("host", "Acme.localhost:9292")]), false, "http").unwrap();
        assert_eq!(
            direct,
            RequestHost {
                name: "acme.localhost".into(),
                base_url: "http://acme.localhost:9292".into()
            }
        );

        let proxied = [
            ("host", "10.0.0.5:9292"),
            ("x-forwarded-host", "acme.treaty.example"),
            ("x-forwarded-proto", "https"),
        ];
        let trusted = request_host(&parts(&proxied), true, "http").unwrap();
        assert_eq!(trusted.base_url, "https://acme.treaty.example");
        let untrusted = request_host(&parts(&proxied), false, "http").unwrap();
        assert_eq!(untrusted.base_url, "http://10.0.0.5:9292");
        assert_eq!(
            request_host(&parts(&[("host", "[::1]:9292")]), false, "http")
                .unwrap()
                .name,
            "[::1]"
        );
    }
}
