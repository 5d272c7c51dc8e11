//! One packet through every stage: decode → flows/extractors → tracker contacts → e-mail opens
//! and address leaks → sinks. With watched addresses, every string is redacted before a sink sees it.
//!
//! Owned by one thread (the replay loop or the capture thread); the metrics it updates are
//! shared with the /metrics server.

use std::io;
use std::sync::Arc;

use crate::correlate::clients::Clients;
use crate::correlate::contacts::{ContactLimits, Contacts};
use crate::correlate::leaks::{AddressSet, LeakWatch};
use crate::correlate::opens::{EmailOpen, OpenLeak, OpenSettings, Opens};
use crate::decode::{Decoded, Decoder, DefragLimits};
use crate::flow::{FlowLimits, FlowTracker};
use crate::model::{Category, Derived, Observation, ObservationKind, Ts};
use crate::sink::events::EventWriter;
use crate::sink::evidence::Evidence;
use crate::sink::metrics::Metrics;
use crate::sink::summary::Summary;
use crate::trackers::{SharedTrackers, TrackerDb, TrackerView};

/// Bounds of every stateful stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub defrag: DefragLimits,
    pub flows: FlowLimits,
    pub contacts: ContactLimits,
}

/// See the module documentation.
pub struct Pipeline {
    decoder: Decoder,
    flows: FlowTracker,
    contacts: Contacts,
    db: Arc<TrackerDb>,
    /// With list reload (`live`): where new lists come from, checked once per packet with names.
    reloaded: Option<TrackerView>,
    metrics: Arc<Metrics>,
    events: Option<EventWriter>,
    pub summary: Summary,
    observations: Vec<Observation>,
    found: Vec<Derived>,
    relevant: Vec<bool>,
    opens: Opens,
    opened: Vec<EmailOpen>,
    clients: Clients,
    /// `--watch-address`: leak scanning and redaction (`None`: no scanning, no cost).
    leaks: Option<LeakWatch>,
    since_sync: u32,
    /// `--evidence DIR`: recent packets and events, and a folder per open.
    evidence: Option<Evidence>,
    line: String,
}

/// Mail-access and webmail hosts of the lists: TLS connections to them are mail connections.
fn mail_hosts(db: &Arc<TrackerDb>) -> crate::flow::MailHostPredicate {
    let db = db.clone();
    Arc::new(move |name| {
        db.lookup(name).is_some_and(|e| matches!(e.category, Category::MailAccess | Category::Webmail))
    })
}

/// How often (in packets) the flow and decoder counters are copied into the metrics.
const SYNC_EVERY: u32 = 4096;

impl Pipeline {
    pub fn new(db: Arc<TrackerDb>, metrics: Arc<Metrics>, events: Option<EventWriter>, limits: Limits) -> Pipeline {
        let mut flows = FlowTracker::new(limits.flows);
        flows.set_mail_hosts(mail_hosts(&db));
        Pipeline {
            decoder: Decoder::new(limits.defrag),
            flows,
            contacts: Contacts::new(limits.contacts),
            db,
            reloaded: None,
            metrics,
            events,
            summary: Summary::default(),
            observations: Vec::new(),
            found: Vec::new(),
            relevant: Vec::new(),
            opens: Opens::new(OpenSettings::default()),
            opened: Vec::new(),
            clients: Clients::new(false, limits.contacts.addr_names),
            leaks: None,
            since_sync: 0,
            evidence: None,
            line: String::new(),
        }
    }

    /// Writes a folder per e-mail open under `dir` (see [`Evidence`]); packets are kept for the
    /// open settings' mail context and open gap, plus a minute.
    pub fn with_evidence(mut self, dir: std::path::PathBuf, settings: &OpenSettings) -> Pipeline {
        let keep = settings.mail_context + settings.open_gap + 60 * Ts::MICROS_PER_SEC;
        let lists = crate::sink::evidence::describe_lists(&self.db);
        self.evidence = Some(Evidence::new(dir, keep, lists));
        self
    }

    /// Evidence folders written so far, and the first error writing one.
    pub fn evidence_status(&self) -> Option<(u64, Option<&str>)> {
        self.evidence.as_ref().map(|e| (e.written, e.error.as_deref()))
    }

    /// E-mail open inference settings, and whether clients are MAC addresses (`--client-label mac`).
    pub fn with_opens(mut self, settings: OpenSettings, client_by_mac: bool) -> Pipeline {
        self.opens = Opens::new(settings);
        self.clients = Clients::new(client_by_mac, settings.max_clients);
        self
    }

    /// Watches these addresses (`--watch-address`); an empty set watches nothing.
    pub fn with_watched_addresses(mut self, set: Arc<AddressSet>) -> Pipeline {
        self.leaks = (!set.is_empty()).then(|| LeakWatch::new(set));
        self
    }

    /// Decrypts the client side of TLS connections with the secrets of a key log (`--tls-keylog`);
    /// `complete` when the key log will not grow (replay).
    pub fn with_keylog(mut self, keys: crate::extract::tls::keylog::KeyLog, complete: bool) -> Pipeline {
        let tls = crate::flow::tls_session::TlsDecrypt::new(keys, complete);
        self.summary.tls_keylog = Some(tls.stats());
        self.flows.set_tls_decrypt(tls);
        self.metrics.enable_tls_keylog();
        self
    }

    /// New lines of a live key log read at capture time `ts`: connections waiting for these
    /// secrets are decrypted now.
    pub fn keylog_feed(&mut self, bytes: &[u8], ts: Ts) -> io::Result<()> {
        self.flows.keylog_feed(bytes, ts, &mut self.observations);
        self.observed()
    }

    /// Replaces the tracker lists (list reload).
    pub fn set_trackers(&mut self, db: Arc<TrackerDb>) {
        self.flows.set_mail_hosts(mail_hosts(&db));
        self.db = db;
    }

    /// Follows the lists a reloader swaps into `shared`: a new list is in force from the next
    /// packet that carries names (cost per such packet: one relaxed atomic load).
    pub fn with_tracker_updates(mut self, shared: Arc<SharedTrackers>) -> Pipeline {
        let view = TrackerView::new(shared);
        self.set_trackers(view.db().clone());
        self.reloaded = Some(view);
        self
    }

    /// One captured frame. Errors are event-log write failures only; packet bytes never fail.
    pub fn packet(&mut self, ts: Ts, linktype: i32, data: &[u8], wire_len: u32) -> io::Result<()> {
        self.metrics.packets.inc();
        self.metrics.bytes.inc_by(u64::from(wire_len));
        self.summary.packet(ts, wire_len);
        self.since_sync += 1;
        if self.since_sync >= SYNC_EVERY {
            self.sync_stats();
        }
        match self.decoder.decode(ts, linktype, data) {
            Decoded::Segment(seg) => {
                if let Some(ev) = &mut self.evidence {
                    ev.packet(ts, linktype, data, wire_len, Some(&seg.flow_tuple()));
                }
                self.flows.handle(ts, &seg, &mut self.observations)
            }
            Decoded::Skipped => {}
            Decoded::Error(layer) => {
                self.metrics.decode_error(layer);
                self.summary.decode_error(layer);
            }
        }
        // Bursts of tracker contacts that ended before this packet are judged now.
        self.opens.tick(ts, &mut self.opened);
        self.observed()
    }

    /// What the flows of this step observed, through contacts and correlation to the sinks.
    fn observed(&mut self) -> io::Result<()> {
        if self.observations.is_empty() && self.opened.is_empty() {
            return Ok(());
        }
        if let Some(view) = &mut self.reloaded
            && let Some(db) = view.refresh()
        {
            let db = db.clone();
            self.set_trackers(db);
        }
        self.contacts.observe(&self.db, &self.observations, &mut self.found, &mut self.relevant);
        if let Some(leaks) = &mut self.leaks {
            let contacts = &self.contacts;
            leaks.scan(&self.db, |name| contacts.uncloaked(name), &self.observations, &mut self.found);
        }
        self.correlate();
        let result = self.emit();
        self.observations.clear();
        self.found.clear();
        self.relevant.clear();
        result
    }

    /// Feeds what contacts derived to the e-mail open inference; appends the opens it decided.
    fn correlate(&mut self) {
        for obs in &self.observations {
            if let ObservationKind::Dhcp(d) = &obs.kind {
                self.clients.dhcp(d, obs.src_mac, obs.ts);
            }
        }
        for d in &mut self.found {
            match d {
                Derived::Contact(c) => {
                    let client = self.clients.resolve(c.client, c.client_mac, c.ts);
                    c.who = self.clients.name(c.client, c.client_mac, c.ts);
                    self.opens.contact(client, c, &mut self.opened);
                }
                Derived::MailContext { client, client_mac, context } => {
                    let client = self.clients.resolve(*client, *client_mac, context.ts);
                    self.opens.context(client, context.clone(), &mut self.opened);
                }
                Derived::ProxiedFetch(f) => {
                    let client = self.clients.resolve(f.client, f.client_mac, f.ts);
                    f.who = self.clients.name(f.client, f.client_mac, f.ts);
                    self.opens.proxied(client, f, &mut self.opened);
                }
                Derived::AddressLeak(l) => {
                    let client = self.clients.resolve(l.client, l.client_mac, l.ts);
                    l.who = self.clients.name(l.client, l.client_mac, l.ts);
                    let leak = OpenLeak { tracker: l.tracker.clone(), encoding: l.encoding, field: l.field };
                    self.opens.leak(client, l.ts, leak);
                }
                Derived::EncryptedDns(_) | Derived::EmailOpen(_) => {}
            }
        }
        self.take_opens();
    }

    /// Moves the opens decided so far into `found`, named by DHCP where it named their client.
    fn take_opens(&mut self) {
        for mut o in self.opened.drain(..) {
            o.who = self.clients.name_of(&o.client, o.client_ip, o.end);
            self.found.push(Derived::EmailOpen(o));
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        if let Some(leaks) = &self.leaks {
            self.observations.iter_mut().for_each(|o| leaks.redact_observation(o));
            self.found.iter_mut().for_each(|d| leaks.redact_derived(d));
        }
        for (obs, relevant) in self.observations.iter().zip(&self.relevant) {
            self.metrics.observation(&obs.kind);
            self.summary.observation(&obs.kind);
            if let Some(events) = &mut self.events {
                events.observation(obs, *relevant)?;
            }
        }
        for d in &self.found {
            match d {
                Derived::Contact(c) => {
                    let clients = &mut self.clients;
                    self.metrics.contact(c, || clients.resolve(c.client, c.client_mac, c.ts).to_string());
                    self.summary.contact(c);
                }
                Derived::EncryptedDns(e) => {
                    self.metrics.encrypted_dns(e);
                    self.summary.encrypted_dns(e);
                }
                Derived::ProxiedFetch(f) => {
                    self.metrics.proxied_fetch(f);
                    self.summary.proxied_fetch(f);
                }
                Derived::EmailOpen(o) => {
                    self.metrics.email_open(o);
                    self.summary.email_open(o);
                }
                Derived::AddressLeak(l) => {
                    self.metrics.address_leak(l);
                    self.summary.address_leak(l);
                }
                Derived::MailContext { .. } => continue,
            }
            // One formatting serves the event log and the evidence folders.
            if self.events.is_none() && self.evidence.is_none() {
                continue;
            }
            self.line.clear();
            if !crate::sink::events::format_derived(&mut self.line, d) {
                continue;
            }
            if let Some(events) = &mut self.events {
                events.derived_line(&self.line)?;
            }
            if let Some(ev) = &mut self.evidence {
                match d {
                    Derived::EmailOpen(o) => ev.open(o, &self.line),
                    Derived::Contact(c) => ev.line(c.ts, &c.flow, &self.line),
                    Derived::ProxiedFetch(f) => ev.line(f.ts, &f.flow, &self.line),
                    Derived::AddressLeak(l) => ev.line(l.ts, &l.flow, &self.line),
                    Derived::EncryptedDns(_) | Derived::MailContext { .. } => {}
                }
            }
        }
        Ok(())
    }

    /// The end of the capture (or a shutdown): every pending burst is judged and written.
    pub fn finish(&mut self) -> io::Result<()> {
        self.flows.finish();
        self.opens.finish(&mut self.opened);
        self.take_opens();
        let result = self.emit();
        self.found.clear();
        result.and(self.flush())
    }

    /// Copies the cumulative counters of the stateful stages into the metrics.
    pub fn sync_stats(&mut self) {
        self.since_sync = 0;
        self.metrics.flows(&self.flows.stats());
        let q = self.flows.quic.stats();
        self.metrics.quic_unsupported(&q.unsupported, q.unsupported_other);
        let d = self.decoder.stats();
        self.metrics.table_evictions(
            (d.fragment_evictions_timeout, d.fragment_evictions_capacity),
            (q.evicted_timeout, q.evicted_capacity),
            self.contacts.addr_names.evictions(),
        );
        if let Some(t) = self.flows.tls_stats() {
            self.metrics.tls_keylog(&t);
            self.summary.tls_keylog = Some(t);
        }
    }

    /// Flushes the event log (periodically in live capture, and at the end).
    pub fn flush(&mut self) -> io::Result<()> {
        self.sync_stats();
        match &mut self.events {
            Some(e) => e.flush(),
            None => Ok(()),
        }
    }

    /// Capture time of the latest packet.
    pub fn last_ts(&self) -> Option<Ts> {
        self.summary.last_ts
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}
