//! The Prometheus registry: every `pixelwatch_*` metric is declared here and only here.
//!
//! Label values come from enums, list entries and companies, never from raw traffic. The set of
//! tracker label combinations is capped: past the cap, contacts are counted under
//! `tracker="other"` and the overflow itself is counted.

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
    flows: IntGauge,
    flow_evictions: IntCounterVec,
    list_entries: IntGaugeVec,
    encrypted_dns: IntCounterVec,
    quic_unsupported: IntCounterVec,
    email_opens: IntCounterVec,
    email_open_contacts: IntCounterVec,
    proxied_fetches: IntCounterVec,
    /// `result="ok"`, `result="error"`.
    list_reloads: [IntCounter; 2],
    /// `pixelwatch_tls_decrypted_flows_total{result}`, registered with `--tls-keylog` only.
    tls_decrypted_flows: std::sync::OnceLock<[IntCounter; 4]>,
    cache: Mutex<ContactHandles>,
}

/// (tracker, company, category) label values.
type LabelSet = (Arc<str>, Arc<str>, &'static str);

struct ContactHandles {
    cap: usize,
    seen: HashMap<LabelSet, ()>,
    handles: HashMap<(LabelSet, Via), IntCounter>,
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
        ObservationKind::UnnamedFlow { .. } | ObservationKind::MailActivity => None,
    }
}

impl Metrics {
    pub fn new(tracker_label_cap: usize) -> Metrics {
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
            &["tracker", "company", "category", "via"],
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
            "Tracked flows dropped before they closed: reason=timeout (idle) or capacity (table full).",
            &["reason"],
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
            &["confidence"],
        );
        let email_open_contacts = counter_vec(
            &registry,
            "pixelwatch_email_open_tracker_contacts_total",
            "Tracker contacts that were part of an e-mail open.",
            &["tracker", "company", "category"],
        );
        let proxied_fetches = counter_vec(
            &registry,
            "pixelwatch_proxied_image_fetches_total",
            "Fetches through webmail image proxies and privacy relays: the tracker behind them is invisible.",
            &["proxy"],
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
            flows,
            flow_evictions,
            list_entries,
            encrypted_dns,
            quic_unsupported,
            email_opens,
            email_open_contacts,
            proxied_fetches,
            list_reloads,
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

    pub fn contact(&self, c: &Contact) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let set: LabelSet = (c.tracker.clone(), c.company.clone(), c.category.as_str());
        let key = (set.clone(), c.via);
        if let Some(h) = cache.handles.get(&key) {
            h.inc();
            return;
        }
        let fits = cache.seen.contains_key(&set) || cache.seen.len() < cache.cap;
        if fits {
            cache.seen.insert(set, ());
            let h =
                self.tracker_contacts.with_label_values(&[&c.tracker, &c.company, c.category.as_str(), c.via.as_str()]);
            h.inc();
            cache.handles.insert(key, h);
        } else {
            self.tracker_label_overflow.inc();
            self.tracker_contacts.with_label_values(&["other", "other", c.category.as_str(), c.via.as_str()]).inc();
        }
    }

    pub fn email_open(&self, o: &crate::correlate::opens::EmailOpen) {
        self.email_opens.with_label_values(&[o.confidence.as_str()]).inc();
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
            self.email_open_contacts
                .with_label_values(&[tracker, company, t.category.as_str()])
                .inc_by(u64::from(t.contacts));
        }
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

    pub fn flows(&self, streams: usize, evicted_timeout: u64, evicted_capacity: u64) {
        self.flows.set(i64::try_from(streams).unwrap_or(i64::MAX));
        Self::catch_up(&self.flow_evictions.with_label_values(&["timeout"]), evicted_timeout);
        Self::catch_up(&self.flow_evictions.with_label_values(&["capacity"]), evicted_capacity);
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
