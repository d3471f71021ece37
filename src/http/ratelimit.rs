//! A small in-process rate limiter per client address, for the public
//! verification pages (`/v/…`).
//!
//! The algorithm is GCRA (the generic cell rate algorithm, a token bucket
//! kept as one number): each client has a "theoretical arrival time" `tat`.
//! With `interval = 60 s / rate` and `window = interval × burst`, a request at
//! `now` is allowed when `max(tat, now) + interval - now <= window`, and then
//! moves `tat` there. A client may send `burst` requests at once and `rate`
//! per minute after that; a refused request costs nothing and is told how
//! long to wait (`Retry-After`).
//!
//! Memory is bounded: an entry whose `tat` has passed is the same as no entry
//! and is dropped whenever a shard is full; when a shard is full of live
//! entries the one closest to expiry is dropped (it is the least limited).
//! IPv6 clients are keyed by their /64 network, the smallest block one
//! subscriber usually holds, so a host cannot step around the limit by
//! changing its interface address. State lives only in this process.

use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Shards of the table (each behind its own lock).
const SHARDS: usize = 16;
/// Default bound on the clients remembered at once (all shards together).
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allowed,
    /// Over the limit: try again after this long (at least one second).
    Limited {
        /// How long until one more request would be allowed.
        retry_after: Duration,
    },
}

impl Decision {
    /// The `Retry-After` value in whole seconds (rounded up), if limited.
    pub fn retry_after_secs(self) -> Option<u64> {
        match self {
            Decision::Allowed => None,
            Decision::Limited { retry_after } => {
                Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0))
            }
        }
    }
}

/// The key a client is counted under: an IPv4 address or an IPv6 /64 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of a client address (IPv4-mapped IPv6 counts as IPv4).
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)))
                }
            },
        }
    }
}

/// A per-client GCRA limiter; share it by reference (`&self` everywhere).
#[derive(Debug)]
pub struct RateLimiter {
    shards: Vec<Mutex<HashMap<ClientKey, u64>>>,
    hasher: RandomState,
    interval_ns: u64,
    window_ns: u64,
    shard_capacity: usize,
    origin: Instant,
}

impl RateLimiter {
    /// `per_minute` requests a minute after a burst of `burst` (both at least 1),
    /// remembering at most [`DEFAULT_MAX_CLIENTS`] clients.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self::with_capacity(per_minute, burst, DEFAULT_MAX_CLIENTS)
    }

    /// As [`new`](Self::new), remembering at most about `max_clients` clients
    /// (rounded up to a multiple of the shard count).
    pub fn with_capacity(per_minute: u32, burst: u32, max_clients: usize) -> Self {
        let interval_ns = 60_000_000_000 / u64::from(per_minute.max(1));
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            interval_ns,
            window_ns: interval_ns.saturating_mul(u64::from(burst.max(1))),
            shard_capacity: max_clients.div_ceil(SHARDS).max(1),
            origin: Instant::now(),
        }
    }

    /// Counts one request from `ip` now.
    pub fn check(&self, ip: IpAddr) -> Decision {
        let now = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.check_at(ClientKey::of(ip), now)
    }

    /// Counts one request from `key` at `now` (nanoseconds on this limiter's clock).
    fn check_at(&self, key: ClientKey, now: u64) -> Decision {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        let tat = map.get(&key).copied().unwrap_or(now).max(now);
        let next = tat.saturating_add(self.interval_ns);
        let ahead = next - now;
        if ahead > self.window_ns {
            return Decision::Limited { retry_after: Duration::from_nanos(ahead - self.window_ns) };
        }
        if !map.contains_key(&key) && map.len() >= self.shard_capacity {
            map.retain(|_, t| *t > now);
            if map.len() >= self.shard_capacity
                && let Some(oldest) = map.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        map.insert(key, next);
        Decision::Allowed
    }

    /// Clients remembered now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len()).sum()
    }

    /// Whether no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The address a request is counted under: the connection's peer, or, when
/// the peer is one of the `trusted` proxies, the last hop of the last
/// `X-Forwarded-For` header (the address the proxy itself saw). A proxy that
/// sends no usable header is counted as itself.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let Some(peer) = peer else { return IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED) };
    let canonical = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if !trusted.iter().any(|t| canonical(*t) == canonical(peer)) {
        return peer;
    }
    headers.get_all("x-forwarded-for").iter().next_back().and_then(last_hop).unwrap_or(peer)
}

fn last_hop(value: &HeaderValue) -> Option<IpAddr> {
    let text = value.to_str().ok()?;
    let hop = text.rsplit(',').next()?.trim();
    hop.parse().ok().or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn key(s: &str) -> ClientKey {
        ClientKey::of(s.parse().unwrap())
    }

    #[test]
    fn a_burst_then_the_rate() {
        let l = RateLimiter::new(60, 5); // one a second, five at once
        let k = key("192.0.2.1");
        for _ in 0..5 {
            assert_eq!(l.check_at(k, 10 * SEC), Decision::Allowed);
        }
        let d = l.check_at(k, 10 * SEC);
        assert_eq!(d, Decision::Limited { retry_after: Duration::from_secs(1) });
        assert_eq!(d.retry_after_secs(), Some(1));
        // Refused requests cost nothing: one second later exactly one more.
        assert_eq!(l.check_at(k, 11 * SEC), Decision::Allowed);
        assert!(matches!(l.check_at(k, 11 * SEC), Decision::Limited { .. }));
        // Another client is not affected.
        assert_eq!(l.check_at(key("192.0.2.2"), 11 * SEC), Decision::Allowed);
        // After a quiet spell the whole burst is back.
        for _ in 0..5 {
            assert_eq!(l.check_at(k, 30 * SEC), Decision::Allowed);
        }
        assert!(matches!(l.check_at(k, 30 * SEC), Decision::Limited { .. }));
    }

    #[test]
    fn retry_after_rounds_up() {
        let l = RateLimiter::new(7, 1);
        let k = key("192.0.2.9");
        assert_eq!(l.check_at(k, 0), Decision::Allowed);
        let d = l.check_at(k, SEC / 2);
        assert_eq!(d.retry_after_secs(), Some(9), "{d:?}"); // 60/7 = 8.57 s, minus 0.5 s, rounded up
    }

    #[test]
    fn sustained_rate_over_a_minute() {
        let l = RateLimiter::new(120, 10);
        let k = key("198.51.100.7");
        let mut allowed = 0;
        // 100 requests a second for a minute.
        for i in 0..6000u64 {
            if l.check_at(k, 100 * SEC + i * SEC / 100) == Decision::Allowed {
                allowed += 1;
            }
        }
        assert!((128..=131).contains(&allowed), "{allowed}");
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
    }

    #[test]
    fn memory_stays_bounded() {
        let l = RateLimiter::with_capacity(60, 2, 1_000);
        for i in 0..50_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            // All at the same instant: every entry is live, the oldest is dropped.
            assert_eq!(l.check_at(ClientKey::of(ip), 5 * SEC), Decision::Allowed);
        }
        assert!(l.len() <= 1_008, "{}", l.len());
        // Later, idle entries are swept as new clients come.
        for i in 0..2_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            l.check_at(ClientKey::of(ip), 500 * SEC);
        }
        assert!(l.len() <= 1_008, "{}", l.len());
    }

    #[test]
    fn client_address_from_the_connection_or_a_trusted_proxy() {
        let peer: IpAddr = "203.0.113.5".parse().unwrap();
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.9.9.9, 198.51.100.20"));
        // Not trusted: the header is ignored.
        assert_eq!(client_ip(Some(peer), &h, &[proxy]), peer);
        // Trusted: the last hop.
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), "198.51.100.20".parse::<IpAddr>().unwrap());
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(client_ip(Some(mapped), &h, &[proxy]), "198.51.100.20".parse::<IpAddr>().unwrap());
        // Several headers: the last one's last hop.
        h.append("x-forwarded-for", HeaderValue::from_static("192.0.2.77"));
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), "192.0.2.77".parse::<IpAddr>().unwrap());
        // Garbage or missing: the proxy itself.
        let mut bad = HeaderMap::new();
        bad.insert("x-forwarded-for", HeaderValue::from_static("unknown"));
        assert_eq!(client_ip(Some(proxy), &bad, &[proxy]), proxy);
        assert_eq!(client_ip(Some(proxy), &HeaderMap::new(), &[proxy]), proxy);
        assert_eq!(client_ip(None, &h, &[proxy]), IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    }
}
