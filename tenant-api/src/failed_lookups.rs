//! A per-client budget of lookups that found nothing.
//!
//! An unknown API token (with a valid checksum) and an unknown custom domain each cost a query
//! on the control database's router pool. Known ones are cached and so are recent misses, but a
//! client sending a new made-up token or `Host` with every request would still make every
//! request a query, and could load the pool every tenant depends on. So each client (its IP
//! address; an IPv6 address by its /64, which one subscriber usually holds whole) may cause a
//! limited number of such misses per minute; beyond that its uncached lookups are answered 429
//! without a query until the minute is over. Lookups that succeed never count.
//!
//! The client is the connection's peer, or — behind a trusted proxy — the right-most
//! `X-Forwarded-For` entry, which that proxy appended and the client cannot forge.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::HeaderName;
use moka::future::Cache;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// How long a client's count of misses lasts.
const WINDOW: Duration = Duration::from_secs(60);

/// The most clients tracked at once (the oldest are forgotten first).
const MAX_CLIENTS: u64 = 100_000;

/// Who a budget belongs to: an IPv4 address, or an IPv6 /64; `None` when unknown (requests
/// handed to the router without a socket), which then share one budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(Option<IpAddr>);

impl ClientKey {
    /// The client of a request.
    pub fn of(parts: &Parts, trust_forwarded: bool) -> Self {
        let forwarded = trust_forwarded
            .then(|| {
                parts
                    .headers
                    .get_all(&X_FORWARDED_FOR)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .next_back()
                    .and_then(|hop| hop.trim().parse::<IpAddr>().ok())
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Self(forwarded.or(peer).map(prefix))
    }
}

/// An IPv6 address's /64 (IPv4-mapped addresses are IPv4).
fn prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

/// Misses per client per minute (see the module documentation).
pub struct FailedLookups {
    per_minute: u32,
    clients: Cache<ClientKey, Arc<AtomicU32>>,
}

impl FailedLookups {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            clients: Cache::builder()
                .max_capacity(MAX_CLIENTS)
                .time_to_live(WINDOW)
                .build(),
        }
    }

    /// Whether `client` has used up its misses for this minute.
    pub async fn exhausted(&self, client: ClientKey) -> bool {
        self.clients
            .get(&client)
            .await
            .is_some_and(|count| count.load(Ordering::Relaxed) >= self.per_minute)
    }

    /// Counts one miss of `client`.
    pub async fn record(&self, client: ClientKey) {
        self.clients
            .get_with(client, async { Arc::new(AtomicU32::new(0)) })
            .await
            .fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_is_refused_after_its_misses_and_others_are_not() {
        let budget = FailedLookups::new(3);
        let one = ClientKey(Some("10.0.0.1".parse().unwrap()));
        let other = ClientKey(Some("10.0.0.2".parse().unwrap()));
        for _ in 0..3 {
            assert!(!budget.exhausted(one).await);
            budget.record(one).await;
        }
        assert!(budget.exhausted(one).await);
        assert!(!budget.exhausted(other).await);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_slash_64() {
        let a = prefix("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = prefix("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = prefix("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            prefix("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }
}
