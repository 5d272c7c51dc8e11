//! What each client learned from DNS: server address → the name it looked up, kept for the
//! record's TTL (clamped) so that later flows with no usable name can be attributed.

use std::net::IpAddr;
use std::sync::Arc;

use crate::flow::table::{BoundedMap, Idle};
use crate::model::Ts;

/// Shortest and longest time an answer is remembered, whatever its TTL says: clients keep
/// using an address for a while after a short TTL, and very long TTLs would pin memory.
pub const MIN_KEEP: i64 = 60 * Ts::MICROS_PER_SEC;
pub const MAX_KEEP: i64 = 24 * 3600 * Ts::MICROS_PER_SEC;

struct Learned {
    name: Arc<str>,
    keep: i64,
    learned_at: Ts,
}

impl Idle for Learned {
    fn idle_timeout(&self) -> i64 {
        self.keep
    }
}

/// Per-client address → name map, bounded in entries, expiring in capture time; with a
/// global address → name map as a fallback, for a dual-stack client that resolves over IPv4 and
/// connects over IPv6 (its two addresses are two clients), or whose lookups went another way.
pub struct AddrNames {
    map: BoundedMap<(IpAddr, IpAddr), Learned>,
    any_client: BoundedMap<IpAddr, Learned>,
}

impl AddrNames {
    pub fn new(capacity: usize) -> AddrNames {
        AddrNames { map: BoundedMap::new(capacity), any_client: BoundedMap::new(capacity) }
    }

    /// `client` was told at `now` that `name` has address `addr` for `ttl` seconds.
    pub fn learn(&mut self, client: IpAddr, addr: IpAddr, name: Arc<str>, ttl: u32, now: Ts) {
        self.map.expire(now, |_, _| {});
        self.any_client.expire(now, |_, _| {});
        let keep = (i64::from(ttl) * Ts::MICROS_PER_SEC).clamp(MIN_KEEP, MAX_KEEP);
        self.any_client.insert(addr, Learned { name: name.clone(), keep, learned_at: now }, now);
        self.map.insert((client, addr), Learned { name, keep, learned_at: now }, now);
    }

    /// The name `client` last resolved to `addr`, if still valid at `now`; else the name any
    /// client last resolved to it.
    pub fn lookup(&self, client: IpAddr, addr: IpAddr, now: Ts) -> Option<&Arc<str>> {
        let valid = |l: &Learned| now.since(l.learned_at) <= l.keep;
        match self.map.peek(&(client, addr)).filter(|l| valid(l)) {
            Some(l) => Some(&l.name),
            None => self.any_client.peek(&addr).filter(|l| valid(l)).map(|l| &l.name),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn evictions(&self) -> (u64, u64) {
        (self.map.evicted_timeout, self.map.evicted_capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_client_for_the_clamped_ttl() {
        let c1: IpAddr = "10.0.0.2".parse().unwrap();
        let c2: IpAddr = "10.0.0.3".parse().unwrap();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        let mut n = AddrNames::new(100);
        n.learn(c1, a, Arc::from("www.google-analytics.com"), 5, Ts::from_secs(100));
        assert_eq!(n.lookup(c1, a, Ts::from_secs(150)).map(|s| &**s), Some("www.google-analytics.com"));
        n.learn(c2, "192.0.2.8".parse().unwrap(), Arc::from("other.example"), 5, Ts::from_secs(100));
        assert_eq!(
            n.lookup(c2, a, Ts::from_secs(150)).map(|s| &**s),
            Some("www.google-analytics.com"),
            "another client's answer is the fallback"
        );
        n.learn(c2, a, Arc::from("cdn.example"), 5, Ts::from_secs(100));
        assert_eq!(n.lookup(c2, a, Ts::from_secs(150)).map(|s| &**s), Some("cdn.example"), "per client first");
        assert!(n.lookup(c1, a, Ts::from_secs(161)).is_none(), "a 5 s TTL is kept 60 s, not longer");
    }

    #[test]
    fn bounded() {
        let mut n = AddrNames::new(1000);
        let c: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..100_000u32 {
            n.learn(c, IpAddr::from(i.to_be_bytes()), Arc::from("x"), 300, Ts(i64::from(i)));
        }
        assert_eq!(n.len(), 1000);
        assert_eq!(n.any_client.len(), 1000);
    }
}
