//! The Prometheus registry: every `pixelwatch_*` metric is declared here and only here.
//!
//! Label values come from enums, list entries and companies, never from raw traffic. The set of
//! tracker label combinations is capped: past the cap, contacts are counted under
//! `tracker="other"` and the overflow itself is counted.
//!
//! With `--per-client` the contact and open metrics also carry a `client` label: the first N
//! clients with tracker activity get their own value (their IP or MAC address, as in events), the
//! rest share `client="other"`. Counters cannot move between series, so "first N by activity"
//! is what a bounded label can honestly be; on a home gateway it is the household's devices.

use std::sync::{Arc, Mutex};

use foldhash::HashMap;
use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::decode::Layer;
use crate::model::{Contact, ObservationKind, Via};

/// Default cap on distinct (tracker, company, category) label sets (`--max-tracker-series`).
pub const DEFAULT_TRACKER_LABEL_CAP: usize = 500;

/// All metrics, with cached handles for the per-packet ones.
pub struct Metrics {
    registry: Registry,
    pub packets: IntCounter,
    pub bytes: IntCounter,
    capture_dropped: IntCounterVec,
    decode_errors: [IntCounter; Layer::ALL.len()],
    observations: [IntCounter; 5],
    tracker_contacts: IntCounterVec,
    tracker_label_overflow: IntCounter,
    cloaked_contacts: IntCounterVec,
    flows: IntGauge,
    flow_evictions: IntCounterVec,
    fragment_evictions: Evictions,
    quic_evictions: Evictions,
    name_cache_evictions: Evictions,
    list_entries: IntGaugeVec,
    encrypted_dns: IntCounterVec,
    quic_unsupported: IntCounterVec,
    email_opens: IntCounterVec,
    email_open_contacts: IntCounterVec,
    proxied_fetches: IntCounterVec,
    address_leaks: IntCounterVec,
    /// `result="ok"`, `result="error"`.
    list_reloads: [IntCounter; 2],
    /// `pixelwatch_tls_decrypted_flows_total{result}`, registered with `--tls-keylog` only.
    tls_decrypted_flows: std::sync::OnceLock<[IntCounter; 4]>,
    cache: Mutex<ContactHandles>,
    /// `--per-client`: the cap on `client` label values and those given so far.
    per_client: Option<Mutex<ClientLabels>>,
}

/// Default number of clients with a `client` label of their own (`--per-client-max`).
pub const DEFAULT_PER_CLIENT_MAX: usize = 16;

struct ClientLabels {
    max: usize,
    given: foldhash::HashSet<Arc<str>>,
}

impl ClientLabels {
    /// The label value for `client`: itself while there is room, else `other`.
    fn label(&mut self, client: &str) -> Arc<str> {
        if let Some(l) = self.given.get(client) {
            return l.clone();
        }
        if self.given.len() < self.max {
            let l: Arc<str> = Arc::from(client);
            self.given.insert(l.clone());
            return l;
        }
        Arc::from("other")
    }
}

/// The `reason="timeout"` and `reason="capacity"` series of one table's eviction counter.
type Evictions = [IntCounter; 2];

fn evictions(registry: &Registry, name: &str, help: &str) -> Evictions {
    let v = counter_vec(registry, name, help, &["reason"]);
    ["timeout", "capacity"].map(|r| v.with_label_values(&[r]))
}

/// (tracker, company, category) label values.
type LabelSet = (Arc<str>, Arc<str>, &'static str);

struct ContactHandles {
    cap: usize,
    seen: HashMap<LabelSet, ()>,
    /// By label set, via and (with `--per-client`) client label.
    handles: HashMap<(LabelSet, Via, Option<Arc<str>>), IntCounter>,
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric name");
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric name");
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric name");
    registry.register(Box::new(g.clone())).expect("registered once");
    g
}

/// Index of an observation kind in [`Metrics::observations`] and the `kind` label values.
pub const OBSERVATION_KINDS: [&str; 5] = ["dns_query", "dns_answer", "tls_sni", "quic_sni", "http_host"];

/// Index in [`OBSERVATION_KINDS`]; None for kinds not counted there (unnamed flows).
pub fn kind_index(kind: &ObservationKind) -> Option<usize> {
    match kind {
        ObservationKind::DnsQuery { .. } => Some(0),
        ObservationKind::DnsAnswer { .. } => Some(1),
        ObservationKind::TlsSni { .. } => Some(2),
        ObservationKind::QuicSni { .. } => Some(3),
        ObservationKind::HttpHost { .. } => Some(4),
        ObservationKind::UnnamedFlow { .. } | ObservationKind::MailActivity | ObservationKind::Dhcp(_) => None,
    }
}

impl Metrics {
    pub fn new(tracker_label_cap: usize) -> Metrics {
        Metrics::with_options(tracker_label_cap, None)
    }

    /// `per_client`: `Some(N)` adds a `client` label to the contact and open metrics, with at
    /// most N distinct values besides `other`.
    pub fn with_options(tracker_label_cap: usize, per_client: Option<usize>) -> Metrics {
        let client_label: &[&str] = if per_client.is_some() { &["client"] } else { &[] };
        let with_client = |labels: &[&'static str]| -> Vec<&'static str> {
            labels.iter().copied().chain(client_label.iter().copied()).collect()
        };
        let registry = Registry::new();
        let packets = counter(&registry, "pixelwatch_packets_total", "Packets read from the capture.");
        let bytes =
            counter(&registry, "pixelwatch_bytes_total", "Bytes on the wire of the packets read (original length).");
        let capture_dropped = counter_vec(
            &registry,
            "pixelwatch_capture_dropped_packets_total",
            "Packets the capture lost before pixelwatch saw them (pcap stats): reason=kernel (ring buffer full) or interface.",
            &["reason"],
        );
        let decode_errors_vec = counter_vec(
            &registry,
            "pixelwatch_decode_errors_total",
            "Packets skipped because a header was malformed or of an unsupported type, by layer.",
            &["layer"],
        );
        let decode_errors = Layer::ALL.map(|l| decode_errors_vec.with_label_values(&[l.as_str()]));
        let observations_vec = counter_vec(
            &registry,
            "pixelwatch_observations_total",
            "Names observed in traffic: DNS questions and answer records, TLS and QUIC SNI, HTTP Host headers.",
            &["kind"],
        );
        let observations = OBSERVATION_KINDS.map(|k| observations_vec.with_label_values(&[k]));
        let tracker_contacts = counter_vec(
            &registry,
            "pixelwatch_tracker_contacts_total",
            "Contacts with tracker hosts: once per DNS lookup, TLS/QUIC flow or HTTP request.",
            &with_client(&["tracker", "company", "category", "via"]),
        );
        let cloaked_contacts = counter_vec(
            &registry,
            "pixelwatch_cloaked_tracker_contacts_total",
            "Tracker contacts through a first-party name whose DNS CNAME chain reaches the tracker (CNAME cloaking); also counted in pixelwatch_tracker_contacts_total.",
            &["tracker", "company", "category"],
        );
        let tracker_label_overflow = counter(
            &registry,
            "pixelwatch_tracker_label_overflow_total",
            "Tracker contacts counted under tracker=\"other\" because the label-set cap was reached.",
        );
        let flows = IntGauge::new("pixelwatch_flows", "TCP stream directions currently tracked.").expect("valid");
        registry.register(Box::new(flows.clone())).expect("registered once");
        let flow_evictions = counter_vec(
            &registry,
            "pixelwatch_flow_evictions_total",
            "Tracked TCP flows dropped before they closed: reason=timeout (idle), capacity (table full) or memory (reassembly buffers over their budget).",
            &["reason"],
        );
        let fragment_evictions = evictions(
            &registry,
            "pixelwatch_fragment_evictions_total",
            "Incomplete fragmented IP datagrams dropped: reason=timeout (not completed in time) or capacity (table or byte budget full).",
        );
        let quic_evictions = evictions(
            &registry,
            "pixelwatch_quic_evictions_total",
            "QUIC connections dropped from the handshake table: reason=timeout (idle) or capacity (table full).",
        );
        let name_cache_evictions = evictions(
            &registry,
            "pixelwatch_name_cache_evictions_total",
            "Server address to DNS name entries dropped from the per-client cache: reason=timeout (TTL) or capacity (cache full).",
        );
        let list_entries = gauge_vec(
            &registry,
            "pixelwatch_tracker_list_entries",
            "Entries loaded from each tracker list.",
            &["list"],
        );
        let encrypted_dns = counter_vec(
            &registry,
            "pixelwatch_encrypted_dns_flows_total",
            "Connections to encrypted-DNS resolvers (DoT, DoH, DoQ): the client's DNS lookups are invisible from then on.",
            &["resolver", "protocol"],
        );
        let quic_unsupported = counter_vec(
            &registry,
            "pixelwatch_quic_unsupported_packets_total",
            "QUIC long-header packets of versions whose Initials are not decrypted, by version family.",
            &["version"],
        );
        let email_opens = counter_vec(
            &registry,
            "pixelwatch_email_opens_total",
            "E-mail opens inferred from bursts of tracker contacts with mail context, by confidence (high, medium, proxied).",
            &with_client(&["confidence"]),
        );
        let email_open_contacts = counter_vec(
            &registry,
            "pixelwatch_email_open_tracker_contacts_total",
            "Tracker contacts that were part of an e-mail open.",
            &with_client(&["tracker", "company", "category"]),
        );
        let proxied_fetches = counter_vec(
            &registry,
            "pixelwatch_proxied_image_fetches_total",
            "Fetches through webmail image proxies and privacy relays: the tracker behind them is invisible.",
            &["proxy"],
        );
        let address_leaks = counter_vec(
            &registry,
            "pixelwatch_address_leaks_total",
            "Watched e-mail addresses (--watch-address) found in requests or DNS query names, by recipient \
             (tracker=\"unlisted\" for a host on no list) and form (plain, urlencoded, base64, md5, sha256, md5(sha256)…).",
            &["tracker", "company", "encoding"],
        );
        let list_reloads_vec = counter_vec(
            &registry,
            "pixelwatch_tracker_list_reloads_total",
            "Tracker list reloads (SIGHUP or a list file changed): result=ok (new lists in force) or error (the previous lists were kept).",
            &["result"],
        );
        let list_reloads = ["ok", "error"].map(|r| list_reloads_vec.with_label_values(&[r]));
        let build_info = gauge_vec(&registry, "pixelwatch_build_info", "pixelwatch version (always 1).", &["version"]);
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Metrics {
            registry,
            packets,
            bytes,
            capture_dropped,
            decode_errors,
            observations,
            tracker_contacts,
            tracker_label_overflow,
            cloaked_contacts,
            flows,
            flow_evictions,
            fragment_evictions,
            quic_evictions,
            name_cache_evictions,
            list_entries,
            encrypted_dns,
            quic_unsupported,
            email_opens,
            email_open_contacts,
            proxied_fetches,
            address_leaks,
            list_reloads,
            per_client: per_client.map(|max| Mutex::new(ClientLabels { max, given: Default::default() })),
            tls_decrypted_flows: std::sync::OnceLock::new(),
            cache: Mutex::new(ContactHandles {
                cap: tracker_label_cap.max(1),
                seen: HashMap::default(),
                handles: HashMap::default(),
            }),
        }
    }

    pub fn decode_error(&self, layer: Layer) {
        if let Some(c) = Layer::ALL.iter().position(|l| *l == layer).and_then(|i| self.decode_errors.get(i)) {
            c.inc();
        }
    }

    pub fn observation(&self, kind: &ObservationKind) {
        if let Some(c) = kind_index(kind).and_then(|i| self.observations.get(i)) {
            c.inc();
        }
    }

    /// The `client` label value of `client` with `--per-client` (None without it).
    fn client_label(&self, client: impl FnOnce() -> String) -> Option<Arc<str>> {
        let labels = self.per_client.as_ref()?;
        let client = client();
        Some(labels.lock().unwrap_or_else(|e| e.into_inner()).label(&client))
    }

    /// Counts a tracker contact; `client` is the resolved client (IP or MAC address as text),
    /// used only with `--per-client`.
    pub fn contact(&self, c: &Contact, client: impl FnOnce() -> String) {
        let client = self.client_label(client);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let set: LabelSet = (c.tracker.clone(), c.company.clone(), c.category.as_str());
        let key = (set.clone(), c.via, client);
        if let Some(h) = cache.handles.get(&key) {
            h.inc();
            if c.cloaked {
                self.cloaked_contacts.with_label_values(&[&c.tracker, &c.company, c.category.as_str()]).inc();
            }
            return;
        }
        let fits = cache.seen.contains_key(&set) || cache.seen.len() < cache.cap;
        if c.cloaked {
            let (tracker, company) = if fits { (&*c.tracker, &*c.company) } else { ("other", "other") };
            self.cloaked_contacts.with_label_values(&[tracker, company, c.category.as_str()]).inc();
        }
        let mut values = if fits {
            cache.seen.insert(set, ());
            vec![&*c.tracker, &*c.company, c.category.as_str(), c.via.as_str()]
        } else {
            self.tracker_label_overflow.inc();
            vec!["other", "other", c.category.as_str(), c.via.as_str()]
        };
        if let Some(client) = &key.2 {
            values.push(client);
        }
        let h = self.tracker_contacts.with_label_values(&values);
        h.inc();
        if fits {
            cache.handles.insert(key, h);
        }
    }

    pub fn email_open(&self, o: &crate::correlate::opens::EmailOpen) {
        let client = self.client_label(|| o.client.to_string());
        let mut values = vec![o.confidence.as_str()];
        values.extend(client.as_deref());
        self.email_opens.with_label_values(&values).inc();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for t in &o.trackers {
            let set: LabelSet = (t.tracker.clone(), t.company.clone(), t.category.as_str());
            let fits = cache.seen.contains_key(&set) || cache.seen.len() < cache.cap;
            let (tracker, company) = if fits {
                cache.seen.insert(set, ());
                (&*t.tracker, &*t.company)
            } else {
                ("other", "other")
            };
            let mut values = vec![tracker, company, t.category.as_str()];
            values.extend(client.as_deref());
            self.email_open_contacts.with_label_values(&values).inc_by(u64::from(t.contacts));
        }
    }

    /// One leak. Its (tracker, company) takes a place in the capped tracker label sets like a
    /// contact's; past the cap it is counted under `other`. `unlisted` is always allowed.
    pub fn address_leak(&self, l: &crate::correlate::leaks::AddressLeak) {
        let (tracker, company) = match l.category {
            None => (crate::correlate::leaks::watch::UNLISTED, crate::correlate::leaks::watch::UNLISTED),
            Some(category) => {
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                let set: LabelSet = (l.tracker.clone(), l.company.clone(), category.as_str());
                if cache.seen.contains_key(&set) || cache.seen.len() < cache.cap {
                    cache.seen.insert(set, ());
                    (&*l.tracker, &*l.company)
                } else {
                    ("other", "other")
                }
            }
        };
        self.address_leaks.with_label_values(&[tracker, company, l.encoding.as_str()]).inc();
    }

    pub fn proxied_fetch(&self, f: &crate::correlate::opens::ProxiedFetch) {
        self.proxied_fetches.with_label_values(&[&f.proxy]).inc();
    }

    pub fn encrypted_dns(&self, e: &crate::model::EncryptedDns) {
        self.encrypted_dns.with_label_values(&[e.resolver, e.protocol]).inc();
    }

    /// QUIC packets of unsupported versions: cumulative counts per version from the QUIC tracker.
    pub fn quic_unsupported(&self, per_version: &[(u32, u64)], other: u64) {
        let mut per_family: std::collections::BTreeMap<&'static str, u64> = std::collections::BTreeMap::new();
        for (version, n) in per_version {
            *per_family.entry(crate::extract::quic::family_label(*version)).or_default() += n;
        }
        if other > 0 {
            *per_family.entry("other").or_default() += other;
        }
        for (family, total) in per_family {
            Self::catch_up(&self.quic_unsupported.with_label_values(&[family]), total);
        }
    }

    /// Sets a cumulative counter from a cumulative source (pcap stats, flow-table counters).
    fn catch_up(c: &IntCounter, total: u64) {
        let now = c.get();
        if total > now {
            c.inc_by(total - now);
        }
    }

    pub fn capture_dropped(&self, kernel: u64, interface: u64) {
        Self::catch_up(&self.capture_dropped.with_label_values(&["kernel"]), kernel);
        Self::catch_up(&self.capture_dropped.with_label_values(&["interface"]), interface);
    }

    pub fn flows(&self, f: &crate::flow::FlowStats) {
        self.flows.set(i64::try_from(f.streams).unwrap_or(i64::MAX));
        Self::catch_up(&self.flow_evictions.with_label_values(&["timeout"]), f.evicted_timeout);
        Self::catch_up(&self.flow_evictions.with_label_values(&["capacity"]), f.evicted_capacity);
        Self::catch_up(&self.flow_evictions.with_label_values(&["memory"]), f.evicted_memory);
    }

    /// Cumulative (timeout, capacity) evictions of the fragment, QUIC and address → name tables.
    pub fn table_evictions(&self, fragments: (u64, u64), quic: (u64, u64), names: (u64, u64)) {
        for (counters, (timeout, capacity)) in
            [(&self.fragment_evictions, fragments), (&self.quic_evictions, quic), (&self.name_cache_evictions, names)]
        {
            let [t, c] = counters;
            Self::catch_up(t, timeout);
            Self::catch_up(c, capacity);
        }
    }

    /// Registers `pixelwatch_tls_decrypted_flows_total{result}` (with `--tls-keylog`; without it the
    /// family does not appear).
    pub fn enable_tls_keylog(&self) {
        use crate::flow::tls_session::TlsResult;
        self.tls_decrypted_flows.get_or_init(|| {
            let family = counter_vec(
                &self.registry,
                "pixelwatch_tls_decrypted_flows_total",
                "TLS connections followed with the --tls-keylog key log, by result: decrypted (client records opened), \
no_secrets (no usable key-log lines for the ClientHello random), unsupported_suite, failed (no ServerHello, records that do not open, session cap).",
                &["result"],
            );
            TlsResult::ALL.map(|r| family.with_label_values(&[r.as_str()]))
        });
    }

    /// Copies the cumulative key-log decryption counters.
    pub fn tls_keylog(&self, stats: &crate::flow::tls_session::TlsStats) {
        if let Some(counters) = self.tls_decrypted_flows.get() {
            for (c, total) in counters.iter().zip(stats.flows) {
                Self::catch_up(c, total);
            }
        }
    }

    pub fn list_entries(&self, list: &str, entries: usize) {
        self.list_entries.with_label_values(&[list]).set(i64::try_from(entries).unwrap_or(i64::MAX));
    }

    /// Counts a list reload: `ok` when the new lists are in force, otherwise the old ones were kept.
    pub fn list_reload(&self, ok: bool) {
        let [done, kept] = &self.list_reloads;
        if ok { done.inc() } else { kept.inc() }
    }

    /// The cap on tracker label sets this registry was made with.
    pub fn tracker_label_cap(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).cap
    }

    /// The text exposition format 0.0.4 (`prometheus::TEXT_FORMAT`).
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        let families = self.registry.gather();
        if TextEncoder::new().encode(&families, &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}
