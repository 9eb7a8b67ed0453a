//! Which tenant a request is for, and the base URL its links are built from.
//!
//! The tenant is the single label in front of the base domain: with base domain `localhost`,
//! `acme.localhost:9292` is tenant `acme`; `localhost` itself is the bare host (no tenant), and any
//! other host (`example.org`) belongs to whichever tenant has it as its custom domain, if any.
//! HTTP/2 requests carry the authority in the URI, HTTP/1.1 ones in `Host`. Behind a trusted proxy `X-Forwarded-Host` and `X-Forwarded-Proto`
//! win, so links point at the public URL rather than at our listener.
//!
//! The host is parsed as a URI authority and must be a DNS name (at most 253 characters) or an
//! IP literal: anything else is refused with a 400 before it can reach a lookup or a cache.

use std::net::{IpAddr, Ipv6Addr};

use axum::http::request::Parts;
use axum::http::uri::Authority;
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

/// The longest host name DNS allows (RFC 1035), without a trailing dot.
pub const MAX_HOST_LEN: usize = 253;

/// A `Host` (or `X-Forwarded-Host`, or URI authority) that is not a DNS name or an IP literal,
/// with an optional port: refused before any lookup.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the request's host {shown:?} is not a valid host name: {reason}")]
pub struct InvalidHost {
    /// The host as sent, cut short if long.
    pub shown: String,
    pub reason: &'static str,
}

impl InvalidHost {
    fn new(raw: &str, reason: &'static str) -> Self {
        Self {
            shown: raw.chars().take(64).collect(),
            reason,
        }
    }
}

/// Reads the host of a request; `Ok(None)` when it has none at all, an error when it is not a
/// DNS name or an IP literal (with an optional port).
pub fn request_host(
    parts: &Parts,
    trust_forwarded: bool,
    default_scheme: &str,
) -> Result<Option<RequestHost>, InvalidHost> {
    let forwarded = trust_forwarded
        .then(|| first_value(&parts.headers, &X_FORWARDED_HOST))
        .flatten();
    let raw = forwarded
        .or_else(|| first_value(&parts.headers, &axum::http::header::HOST))
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()));
    let Some(raw) = raw else {
        return Ok(None);
    };
    let scheme = trust_forwarded
        .then(|| first_value(&parts.headers, &X_FORWARDED_PROTO))
        .flatten()
        .filter(|s| s == "http" || s == "https")
        .unwrap_or_else(|| default_scheme.to_owned());
    let (name, authority) = parse_authority(&raw)?;
    Ok(Some(RequestHost {
        name,
        base_url: format!("{scheme}://{authority}"),
    }))
}

/// Parses `host[:port]`: the lower-case host name without port or trailing dot (IPv6 literals
/// keep their brackets), and the authority to build links from.
pub fn parse_authority(raw: &str) -> Result<(String, String), InvalidHost> {
    // A port and brackets add at most a few characters to the longest name.
    if raw.len() > MAX_HOST_LEN + 8 {
        return Err(InvalidHost::new(raw, "it is longer than 253 characters"));
    }
    let authority: Authority = raw
        .parse()
        .map_err(|_| InvalidHost::new(raw, "it is not a host with an optional port"))?;
    if authority.as_str().contains('@') {
        return Err(InvalidHost::new(raw, "it has user information"));
    }
    let after_host = authority
        .as_str()
        .rsplit_once(']')
        .map_or(authority.as_str(), |(_, rest)| rest);
    if let Some((_, port)) = after_host.rsplit_once(':') {
        if !port.is_empty() && authority.port_u16().is_none() {
            return Err(InvalidHost::new(
                raw,
                "its port is not a number from 0 to 65535",
            ));
        }
    }
    let host = authority.host().to_ascii_lowercase();
    if let Some(literal) = host.strip_prefix('[') {
        let Some(v6) = literal.strip_suffix(']') else {
            return Err(InvalidHost::new(raw, "its IPv6 literal is not closed"));
        };
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(InvalidHost::new(raw, "it is not a valid IPv6 literal"));
        }
        return Ok((host, authority.as_str().to_ascii_lowercase()));
    }
    let name = host.strip_suffix('.').unwrap_or(&host);
    if name.parse::<IpAddr>().is_err() {
        dns_name(name).map_err(|reason| InvalidHost::new(raw, reason))?;
    }
    Ok((name.to_owned(), authority.as_str().to_ascii_lowercase()))
}

/// Checks the letters-digits-hyphens rule of host names (RFC 952/1123), lower case.
fn dns_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > MAX_HOST_LEN {
        return Err("it is longer than 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each dot-separated label must have 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("a label may only have letters, digits and hyphens");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label may not start or end with a hyphen");
        }
    }
    Ok(())
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
        let direct = request_host(&parts(&[("host", "Acme.localhost:9292")]), false, "http")
            .unwrap()
            .unwrap();
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
        let trusted = request_host(&parts(&proxied), true, "http")
            .unwrap()
            .unwrap();
        assert_eq!(trusted.base_url, "https://acme.treaty.example");
        let untrusted = request_host(&parts(&proxied), false, "http")
            .unwrap()
            .unwrap();
        assert_eq!(untrusted.base_url, "http://10.0.0.5:9292");
        assert_eq!(
            request_host(&parts(&[("host", "[::1]:9292")]), false, "http")
                .unwrap()
                .unwrap()
                .name,
            "[::1]"
        );
    }

    #[test]
    fn hosts_that_are_not_dns_names_or_ip_literals_are_refused() {
        for bad in [
            "[x",
            "[",
            "[::1",
            "[::g]:80",
            "a b",
            "a_b.localhost",
            "-a.localhost",
            "a..localhost",
            "user@acme.localhost",
            "acme.localhost:port",
            "acme.localhost:99999",
            "\u{e9}t\u{e9}.localhost",
        ] {
            assert!(parse_authority(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}.localhost", "a".repeat(250));
        assert!(parse_authority(&long).is_err());
        let label = "a".repeat(64);
        assert!(parse_authority(&format!("{label}.localhost")).is_err());
        assert_eq!(
            parse_authority("Acme.Localhost.:9292").unwrap(),
            ("acme.localhost".into(), "acme.localhost.:9292".into())
        );
        assert_eq!(parse_authority("[::1]").unwrap().0, "[::1]");
        assert_eq!(parse_authority("10.0.0.1:80").unwrap().0, "10.0.0.1");
        assert!(request_host(&parts(&[("host", "[x")]), false, "http").is_err());
    }
}
