//! Observations → tracker contacts: list matching, one contact per DNS lookup / flow / request,
//! CNAME uncloaking, and the per-client address → name map used for flows with no usable name.

use std::net::IpAddr;
use std::sync::Arc;

use crate::correlate::encdns;
use crate::correlate::opens::{ContextKind, MailContext, ProxiedFetch};
use crate::flow::names::AddrNames;
use crate::flow::table::{BoundedMap, Idle};
use crate::model::{AnswerData, Category, Contact, Derived, EncryptedDns, Observation, ObservationKind, Ts, Via};
use crate::trackers::{Entry, TrackerDb};

/// DNS questions for one name from one client within this window are one lookup: the query and
/// its response, retransmissions, and the A + AAAA + HTTPS questions a resolver library sends
/// together all make a single contact.
const LOOKUP_WINDOW: i64 = 2 * Ts::MICROS_PER_SEC;
/// How long a first-party name whose CNAME chain reached a tracker stays attributed to it.
const CLOAK_KEEP: i64 = 3600 * Ts::MICROS_PER_SEC;

/// Bounds of the correlation caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactLimits {
    pub lookups: usize,
    pub cloaked_names: usize,
    pub addr_names: usize,
}

impl Default for ContactLimits {
    fn default() -> Self {
        ContactLimits { lookups: 65_536, cloaked_names: 16_384, addr_names: 65_536 }
    }
}

struct Counted {
    at: Ts,
}
impl Idle for Counted {
    fn idle_timeout(&self) -> i64 {
        LOOKUP_WINDOW
    }
}

struct Cloaked {
    entry: Entry,
    /// The CNAME target that matched.
    matched: Arc<str>,
}
impl Idle for Cloaked {
    fn idle_timeout(&self) -> i64 {
        CLOAK_KEEP
    }
}

/// See the module documentation.
pub struct Contacts {
    /// (client, lower-case question name) of lookups counted in the last [`LOOKUP_WINDOW`].
    lookups: BoundedMap<(IpAddr, Box<str>), Counted>,
    /// Lower-case first-party names whose CNAME chain reached a tracker. Not per client: the
    /// chain is a fact about the name, and a dual-stack client may resolve over IPv4 and connect
    /// over IPv6.
    cloaked: BoundedMap<Box<str>, Cloaked>,
    pub addr_names: AddrNames,
}

impl Contacts {
    pub fn new(limits: ContactLimits) -> Contacts {
        Contacts {
            lookups: BoundedMap::new(limits.lookups),
            cloaked: BoundedMap::new(limits.cloaked_names),
            addr_names: AddrNames::new(limits.addr_names),
        }
    }

    /// Reads the observations of one packet. Appends what they derive (tracker contacts,
    /// encrypted-DNS flows) to `derived` and, for each observation, whether it touches a tracker
    /// or a context host to `relevant`.
    pub fn observe(
        &mut self,
        db: &TrackerDb,
        observations: &[Observation],
        derived: &mut Vec<Derived>,
        relevant: &mut Vec<bool>,
    ) {
        let Some(first) = observations.first() else { return };
        let now = first.ts;
        self.lookups.expire(now, |_, _| {});
        self.cloaked.expire(now, |_, _| {});
        let start = relevant.len();
        for obs in observations {
            let before = derived.len();
            self.derive(db, obs, derived);
            relevant.push(derived.len() > before);
        }
        for (obs, touched) in observations.iter().zip(relevant.iter_mut().skip(start)) {
            *touched = *touched || self.is_relevant(db, obs);
        }
    }

    fn derive(&mut self, db: &TrackerDb, obs: &Observation, derived: &mut Vec<Derived>) {
        let flow = obs.flow;
        match &obs.kind {
            ObservationKind::DnsQuery { name, qr, .. } => {
                let client = if *qr { flow.dst } else { flow.src };
                let Some(entry) = db.lookup(name) else { return };
                if entry.category.is_tracker() {
                    if self.first_time(client, name, obs.ts) {
                        derived.push(contact(obs, client, name, name, entry, Via::Dns, false));
                    }
                } else {
                    context_host(obs, client, name, entry, Via::Dns, derived, |c| self.first_time(c, name, obs.ts));
                }
            }
            ObservationKind::DnsAnswer { name, data, ttl, qname, .. } => {
                let client = flow.dst;
                let qname = qname.as_deref().unwrap_or(name);
                match data {
                    AnswerData::Cname(target) => {
                        let Some(entry) = db.lookup(target).filter(|e| e.category.is_tracker()) else { return };
                        if db.lookup(qname).is_some_and(|e| e.category.is_tracker()) {
                            return; // the name itself is a tracker: counted by its question
                        }
                        let key = lower(qname);
                        if self.cloaked.peek(&key).is_none() {
                            let cloak = Cloaked { entry: entry.clone(), matched: Arc::from(target.as_str()) };
                            self.cloaked.insert(key, cloak, obs.ts);
                        }
                        if self.first_time(client, qname, obs.ts) {
                            derived.push(contact(obs, client, qname, target, entry, Via::Dns, true));
                        }
                    }
                    AnswerData::A(a) => self.learn(client, IpAddr::V4(*a), qname, *ttl, obs.ts),
                    AnswerData::Aaaa(a) => self.learn(client, IpAddr::V6(*a), qname, *ttl, obs.ts),
                }
            }
            ObservationKind::TlsSni { name, ech } => self.named_flow(db, obs, name, Via::Tls, *ech, derived),
            ObservationKind::QuicSni { name, ech, .. } => self.named_flow(db, obs, name, Via::Quic, *ech, derived),
            // Requests decrypted with the key log (`decrypted: true`) are contacts `via: "http"`
            // too: `via` says which protocol revealed the name, and here it is an HTTP request
            // (its Host / :authority), counted once per request exactly like plain HTTP. The
            // TLS connection that carried them is already its own `via: "tls"` contact (SNI);
            // `via` stays the bounded enum dashboards know, and the http_host event says
            // "decrypted":true for who needs to tell them apart.
            ObservationKind::HttpHost { name, .. } => self.named_flow(db, obs, name, Via::Http, false, derived),
            ObservationKind::UnnamedFlow { .. } => {
                if let Some((resolver, protocol)) = encdns::classify_unnamed(&flow) {
                    derived.push(encrypted_dns(obs, resolver, protocol));
                }
                self.by_address(db, obs, derived);
            }
            ObservationKind::Dhcp(_) => {}
            ObservationKind::MailActivity => {
                let context = MailContext { kind: ContextKind::MailFlow, ts: obs.ts, flow, name: None };
                derived.push(Derived::MailContext { client: flow.src, client_mac: obs.src_mac, context });
            }
        }
    }

    /// A TLS/QUIC connection or HTTP request from `obs.flow.src` to `name`.
    fn named_flow(
        &mut self,
        db: &TrackerDb,
        obs: &Observation,
        name: &str,
        via: Via,
        ech: bool,
        derived: &mut Vec<Derived>,
    ) {
        let client = obs.flow.src;
        if via != Via::Http
            && let Some((resolver, protocol)) = encdns::classify_named(name, &obs.flow)
        {
            derived.push(encrypted_dns(obs, resolver, protocol));
        }
        // An IP literal (HTTP Host) names no host: the client's DNS answers may.
        if name.parse::<IpAddr>().is_ok() {
            self.by_address(db, obs, derived);
            return;
        }
        // With ECH the visible SNI may be only the provider's public name: when this client's
        // DNS said the server address is another name, that name is the destination.
        if ech
            && let Some(learned) = self.addr_names.lookup(client, obs.flow.dst, obs.ts)
            && !learned.eq_ignore_ascii_case(name.strip_suffix('.').unwrap_or(name))
        {
            self.by_address(db, obs, derived);
            return;
        }
        match db.lookup(name) {
            Some(entry) if entry.category.is_tracker() => {
                derived.push(contact(obs, client, name, name, entry, via, false));
            }
            Some(entry) => context_host(obs, client, name, entry, via, derived, |_| true),
            None => {
                if let Some(c) = self.cloaked.get_mut(&lower(name), obs.ts) {
                    derived.push(contact(obs, client, name, &c.matched, &c.entry, via, true));
                }
            }
        }
    }

    /// Attributes a flow by the name its client learned from DNS for the server address.
    fn by_address(&mut self, db: &TrackerDb, obs: &Observation, derived: &mut Vec<Derived>) {
        let client = obs.flow.src;
        let Some(learned) = self.addr_names.lookup(client, obs.flow.dst, obs.ts).cloned() else { return };
        match db.lookup(&learned) {
            Some(entry) if entry.category.is_tracker() => {
                derived.push(contact(obs, client, &learned, &learned, entry, Via::Ip, false));
            }
            Some(_) => {}
            None => {
                if let Some(c) = self.cloaked.get_mut(&lower(&learned), obs.ts) {
                    derived.push(contact(obs, client, &learned, &c.matched, &c.entry, Via::Ip, true));
                }
            }
        }
    }

    fn learn(&mut self, client: IpAddr, addr: IpAddr, qname: &str, ttl: u32, now: Ts) {
        self.addr_names.learn(client, addr, Arc::from(qname), ttl, now);
    }

    /// Records a lookup of `name` by `client`; true unless one was counted in the last window.
    fn first_time(&mut self, client: IpAddr, name: &str, now: Ts) -> bool {
        let key = (client, lower(name));
        if self.lookups.peek(&key).is_some_and(|c| now.since(c.at) < LOOKUP_WINDOW) {
            return false;
        }
        self.lookups.insert(key, Counted { at: now }, now);
        true
    }

    /// The tracker entry a first-party name's CNAME chain reached, if one did recently
    /// (`name` lower-case, without a trailing dot).
    pub fn uncloaked(&self, name: &str) -> Option<&Entry> {
        self.cloaked.peek(&Box::<str>::from(name)).map(|c| &c.entry)
    }

    /// Whether an observation touches a tracker or a context host (logged without `--events-all`).
    fn is_relevant(&self, db: &TrackerDb, obs: &Observation) -> bool {
        let known = |n: &str| db.lookup(n).is_some() || self.cloaked.peek(&lower(n)).is_some();
        match &obs.kind {
            ObservationKind::DnsQuery { name, .. } => known(name),
            ObservationKind::DnsAnswer { name, data, qname, .. } => {
                known(name)
                    || matches!(data, AnswerData::Cname(t) if db.lookup(t).is_some())
                    || qname.as_deref().is_some_and(known)
            }
            ObservationKind::TlsSni { name, .. }
            | ObservationKind::QuicSni { name, .. }
            | ObservationKind::HttpHost { name, .. } => known(name),
            ObservationKind::UnnamedFlow { .. } | ObservationKind::MailActivity | ObservationKind::Dhcp(_) => false,
        }
    }
}

fn contact(
    obs: &Observation,
    client: IpAddr,
    name: &str,
    matched: &str,
    entry: &Entry,
    via: Via,
    cloaked: bool,
) -> Derived {
    Derived::Contact(Contact {
        ts: obs.ts,
        flow: obs.flow,
        client,
        client_mac: obs.mac_of(client),
        name: name.to_owned(),
        matched: matched.to_owned(),
        tracker: entry.suffix.clone(),
        company: entry.company.clone(),
        category: entry.category,
        via,
        cloaked,
        who: None,
        // Path rules apply only where a full URL is visible: HTTP requests, plain or decrypted.
        pixel: match &obs.kind {
            ObservationKind::HttpHost { path, .. } if entry.paths.is_some() => entry.pixel(path),
            _ => None,
        },
    })
}

/// A lookup of, or a connection to, a context host: mail activity (mail-access, webmail) or a
/// proxied fetch (image proxy, privacy relay). `count` says whether this lookup is new (DNS
/// questions of one lookup are counted once).
fn context_host(
    obs: &Observation,
    client: IpAddr,
    name: &str,
    entry: &Entry,
    via: Via,
    derived: &mut Vec<Derived>,
    mut count: impl FnMut(IpAddr) -> bool,
) {
    let kind = match entry.category {
        Category::MailAccess => ContextKind::MailHost,
        Category::Webmail => ContextKind::Webmail,
        Category::ImageProxy | Category::PrivacyRelay => {
            if count(client) {
                derived.push(Derived::ProxiedFetch(ProxiedFetch {
                    ts: obs.ts,
                    flow: obs.flow,
                    client,
                    client_mac: obs.mac_of(client),
                    name: name.to_owned(),
                    proxy: entry.company.clone(),
                    category: entry.category,
                    via,
                    who: None,
                }));
            }
            return;
        }
        _ => return,
    };
    let context = MailContext { kind, ts: obs.ts, flow: obs.flow, name: Some(Arc::from(name)) };
    derived.push(Derived::MailContext { client, client_mac: obs.mac_of(client), context });
}

fn encrypted_dns(obs: &Observation, resolver: &'static str, protocol: &'static str) -> Derived {
    Derived::EncryptedDns(EncryptedDns { ts: obs.ts, flow: obs.flow, client: obs.flow.src, resolver, protocol })
}

/// ASCII-lower-case copy without a trailing dot: the key of per-name caches.
fn lower(name: &str) -> Box<str> {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase().into_boxed_str()
}
