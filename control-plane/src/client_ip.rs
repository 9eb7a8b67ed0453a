//! The client's IP address, for rate limits and the audit log: the socket's peer, or — behind
//! proxies the operator trusts (`TRUST_FORWARDED_HEADERS`, `TRUSTED_PROXY_COUNT`) — the address
//! the outermost trusted proxy saw.
//!
//! Every proxy *appends* the address it received the request from to `X-Forwarded-For`, so
//! only the right-most entries are written by proxies we trust; everything to their left is
//! whatever the client sent. With N trusted proxies the client is the N-th entry from the
//! right. Taking the left-most entry, as this module once did, let anyone pick their own
//! rate-limit key by sending the header themselves.
//!
//! Rate limits key IPv6 clients by their /64: a single subscriber usually holds a whole /64, so
//! per-address limits would be as many limits as the client cares to use.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::state::AppState;

#[derive(Clone, Debug)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// For rate-limit keys: the IPv4 address, the IPv6 /64 network, or `unknown`.
    pub fn key(&self) -> String {
        match self.0.map(canonical) {
            None => "unknown".to_owned(),
            Some(IpAddr::V4(ip)) => ip.to_string(),
            Some(IpAddr::V6(ip)) => {
                let network = u128::from(ip) & (u128::MAX << 64);
                format!("{}/64", Ipv6Addr::from(network))
            }
        }
    }

    /// The full address, for the audit log.
    pub fn text(&self) -> Option<String> {
        self.0.map(|ip| canonical(ip).to_string())
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as dual-stack sockets report IPv4 peers) are
/// the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The client address `X-Forwarded-For` names, given `trusted` proxies in front of us: the
/// `trusted`-th entry from the right (every header line, in order, is one list). When the list
/// is shorter than that, every entry came from a trusted proxy and the left-most is the best we
/// know. `None` when the header is absent or that entry is not an IP address.
pub fn forwarded_client(headers: &HeaderMap, trusted: usize) -> Option<IpAddr> {
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    let index = hops.len().saturating_sub(trusted.max(1));
    hops.get(index).and_then(|hop| parse_hop(hop))
}

/// An address as proxies write it: bare, or IPv6 in brackets, possibly with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        if state.config.trust_forwarded_headers {
            let forwarded = forwarded_client(&parts.headers, state.config.trusted_proxy_count);
            if forwarded.is_some() {
                return Ok(Self(forwarded));
            }
        }
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_client_is_the_entry_the_outermost_trusted_proxy_appended() {
        let h = headers(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(forwarded_client(&h, 1), "203.0.113.7".parse().ok());
        let h = headers(&["6.6.6.6, 203.0.113.7", "10.0.0.2"]);
        assert_eq!(forwarded_client(&h, 2), "203.0.113.7".parse().ok());
        assert_eq!(forwarded_client(&h, 9), "6.6.6.6".parse().ok());
        let h = headers(&["[2001:db8::1]:443"]);
        assert_eq!(forwarded_client(&h, 1), "2001:db8::1".parse().ok());
        assert_eq!(forwarded_client(&headers(&["nonsense"]), 1), None);
        assert_eq!(forwarded_client(&HeaderMap::new(), 1), None);
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_slash_64() {
        let a = ClientIp("2001:db8:1:2:aaaa::1".parse().ok());
        let b = ClientIp("2001:db8:1:2:bbbb::9".parse().ok());
        let other = ClientIp("2001:db8:1:3::1".parse().ok());
        assert_eq!(a.key(), "2001:db8:1:2::/64");
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), other.key());
        assert_eq!(ClientIp("::ffff:192.0.2.1".parse().ok()).key(), "192.0.2.1");
        assert_eq!(ClientIp(None).key(), "unknown");
    }
}
