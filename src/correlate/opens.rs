//! E-mail opens: per-client bursts of tracker contacts, and the mail context that makes a burst
//! an open (PRODUCT.md "What an e-mail was opened means").
//!
//! Per client, a burst is a run of tracker contacts (and image-proxy fetches) with gaps shorter
//! than `open_gap`. When it ends (a later packet's capture time is past its last contact plus the
//! gap, or the capture ends) it is judged:
//! - an ESP/e-mail tracker (category `email` or `email-sales`) with mail context → `high`;
//! - an e-mail tracker alone, or other trackers with mail context → `medium`;
//! - only image-proxy fetches, with mail context → `proxied` (the trackers are invisible: the
//!   webmail provider fetched them);
//! - anything else is tracker contacts, not an open (an ordinary web page firing analytics).
//!
//! Mail context is a lookup or TLS connection of a mail-access or webmail host, or client payload
//! on a mail connection, within `mail_context` before the burst. A new mail context
//! after a pause in a burst starts a new burst: two mails opened a few seconds apart are two opens.
//! A burst that only repeats the companies of the client's previous open, within `mail_context`
//! and without new mail context, is a re-fetch of the same pixels, not a new open.
//!
//! Everything is driven by capture time and bounded (clients, trackers and flows per burst).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::flow::table::{BoundedMap, Idle};
use crate::model::{Category, Contact, FlowTuple, Ts, Via};

/// Tuning of the inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenSettings {
    /// Contacts closer than this (µs) belong to one burst (`--open-gap`).
    pub open_gap: i64,
    /// Mail activity this long (µs) before a burst makes it an open (`--mail-context`).
    pub mail_context: i64,
    pub max_clients: usize,
    /// Distinct trackers kept per open; flows kept per open (for evidence).
    pub max_trackers: usize,
    pub max_flows: usize,
}

impl Default for OpenSettings {
    fn default() -> Self {
        OpenSettings {
            open_gap: 3 * Ts::MICROS_PER_SEC,
            mail_context: 30 * Ts::MICROS_PER_SEC,
            max_clients: 4096,
            max_trackers: 64,
            max_flows: 256,
        }
    }
}

/// Who a client is: its IP address (default) or its MAC address (`--client-label mac`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientId {
    Ip(IpAddr),
    Mac([u8; 6]),
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientId::Ip(ip) => write!(f, "{ip}"),
            ClientId::Mac(m) => {
                write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
            }
        }
    }
}

/// How sure we are that a burst was an e-mail being opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Confidence {
    High,
    Medium,
    Proxied,
}

impl Confidence {
    pub const ALL: [Confidence; 3] = [Confidence::High, Confidence::Medium, Confidence::Proxied];

    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Proxied => "proxied",
        }
    }
}

/// What showed that the client was reading mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextKind {
    /// Client payload on a mail connection (IMAP, POP, submission, or TLS to a mail-access host).
    MailFlow,
    /// A DNS lookup or a TLS/QUIC connection to a mail-access host.
    MailHost,
    /// A DNS lookup or a connection to a webmail host.
    Webmail,
}

impl ContextKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContextKind::MailFlow => "mail-flow",
            ContextKind::MailHost => "mail-host",
            ContextKind::Webmail => "webmail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailContext {
    pub kind: ContextKind,
    pub ts: Ts,
    pub flow: FlowTuple,
    /// The mail host's name, when the context came with one.
    pub name: Option<Arc<str>>,
}

/// A fetch through a webmail image proxy or a privacy relay: the real tracker is invisible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedFetch {
    pub ts: Ts,
    pub flow: FlowTuple,
    pub client: IpAddr,
    pub client_mac: Option<[u8; 6]>,
    pub name: String,
    /// The proxy's company in the lists ("Google (Gmail image proxy)"…).
    pub proxy: Arc<str>,
    pub category: Category,
    pub via: Via,
    /// What the client calls itself (DHCP), filled in by the pipeline.
    pub who: Option<Arc<crate::model::ClientName>>,
}

/// One tracker of an open, with how many contacts it had in the burst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTracker {
    pub tracker: Arc<str>,
    pub company: Arc<str>,
    pub category: Category,
    pub contacts: u32,
}

/// A watched address that left during an open's burst (`--watch-address`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLeak {
    pub tracker: Arc<str>,
    pub encoding: crate::correlate::leaks::Encoding,
    /// `http-path`, `dns-name`… (see `leaks::Field::label`).
    pub field: &'static str,
}

/// Distinct leaks kept per open.
const MAX_OPEN_LEAKS: usize = 32;

/// An e-mail open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailOpen {
    pub client: ClientId,
    /// The client's IP address (of its first contact in the burst).
    pub client_ip: IpAddr,
    pub start: Ts,
    pub end: Ts,
    pub confidence: Confidence,
    pub trackers: Vec<OpenTracker>,
    /// Image proxies / relays fetched in the burst (their companies).
    pub proxies: Vec<Arc<str>>,
    pub context: Option<MailContext>,
    /// Flows of the burst's contacts (and of the context), for evidence.
    pub flows: Vec<FlowTuple>,
    /// What the client calls itself (DHCP), filled in by the pipeline.
    pub who: Option<Arc<crate::model::ClientName>>,
    /// Watched addresses that left during the burst (empty without `--watch-address`).
    pub leaks: Vec<OpenLeak>,
}

#[derive(Debug)]
struct Burst {
    start: Ts,
    last: Ts,
    client_ip: IpAddr,
    trackers: BTreeMap<Arc<str>, OpenTracker>,
    proxies: Vec<Arc<str>>,
    has_email: bool,
    contacts: u32,
    context: Option<MailContext>,
    flows: Vec<FlowTuple>,
    leaks: Vec<OpenLeak>,
}

#[derive(Debug, Default)]
struct ClientState {
    last_context: Option<MailContext>,
    burst: Option<Burst>,
    /// End and companies of the client's last open, to recognise re-fetches.
    last_open: Option<(Ts, Vec<Arc<str>>, Option<Ts>)>,
}

impl Idle for ClientState {
    fn idle_timeout(&self) -> i64 {
        // Long enough to keep mail context and the last open; bursts are closed by `tick`.
        10 * 60 * Ts::MICROS_PER_SEC
    }
}

/// See the module documentation.
pub struct Opens {
    settings: OpenSettings,
    clients: BoundedMap<ClientId, ClientState>,
    /// Clients with an open burst, and the earliest time one of them can end.
    open_bursts: Vec<ClientId>,
    next_deadline: Option<Ts>,
}

impl Opens {
    pub fn new(settings: OpenSettings) -> Opens {
        Opens { settings, clients: BoundedMap::new(settings.max_clients), open_bursts: Vec::new(), next_deadline: None }
    }

    /// The state of `client`, created when new (evicting the least recently seen client when
    /// the table is full: bounded memory first).
    fn state(&mut self, client: ClientId, now: Ts) -> &mut ClientState {
        self.clients.get_or_insert_with(client, now, ClientState::default)
    }

    /// Mail activity of `client`.
    pub fn context(&mut self, client: ClientId, ctx: MailContext, out: &mut Vec<EmailOpen>) {
        let gap = self.settings.open_gap;
        let split_after = Ts::MICROS_PER_SEC;
        let ts = ctx.ts;
        let st = self.state(client, ts);
        // New mail after a pause: what came before is its own burst.
        let split = st.burst.as_ref().is_some_and(|b| b.contacts > 0 && ts.since(b.last) >= split_after.min(gap));
        let closed = if split { st.burst.take() } else { None };
        // Payload on a mail connection keeps the name its ClientHello gave.
        let mut ctx = ctx;
        if ctx.name.is_none()
            && let Some(last) = &st.last_context
            && last.flow == ctx.flow
        {
            ctx.name = last.name.clone();
        }
        // Context counts before a burst, not during it: a mail host looked up after the pixels
        // does not explain them.
        st.last_context = Some(ctx);
        if let Some(b) = closed {
            self.judge(client, b, out);
        }
    }

    /// A tracker contact of `client`.
    pub fn contact(&mut self, client: ClientId, c: &Contact, out: &mut Vec<EmailOpen>) {
        self.add(client, c.ts, c.client, c.flow, out, |b| {
            b.has_email |= matches!(c.category, Category::Email | Category::EmailSales);
            b.contacts += 1;
            b.trackers
                .entry(c.tracker.clone())
                .or_insert_with(|| OpenTracker {
                    tracker: c.tracker.clone(),
                    company: c.company.clone(),
                    category: c.category,
                    contacts: 0,
                })
                .contacts += 1;
        });
    }

    /// An image-proxy fetch of `client` (privacy relays are counted elsewhere, not opens).
    pub fn proxied(&mut self, client: ClientId, f: &ProxiedFetch, out: &mut Vec<EmailOpen>) {
        if f.category != Category::ImageProxy {
            return;
        }
        self.add(client, f.ts, f.client, f.flow, out, |b| {
            if !b.proxies.contains(&f.proxy) {
                b.proxies.push(f.proxy.clone());
            }
        });
    }

    fn add(
        &mut self,
        client: ClientId,
        ts: Ts,
        ip: IpAddr,
        flow: FlowTuple,
        out: &mut Vec<EmailOpen>,
        update: impl FnOnce(&mut Burst),
    ) {
        let OpenSettings { open_gap, mail_context, max_trackers, max_flows, .. } = self.settings;
        let st = self.state(client, ts);
        let ended = st.burst.as_ref().is_some_and(|b| ts.since(b.last) >= open_gap);
        let closed = if ended { st.burst.take() } else { None };
        let recent_context = st.last_context.clone().filter(|c| ts.since(c.ts) <= mail_context);
        let burst = st.burst.get_or_insert_with(|| Burst {
            start: ts,
            last: ts,
            client_ip: ip,
            trackers: BTreeMap::new(),
            proxies: Vec::new(),
            has_email: false,
            contacts: 0,
            context: recent_context,
            flows: Vec::new(),
            leaks: Vec::new(),
        });
        burst.last = burst.last.max(ts);
        if burst.trackers.len() < max_trackers {
            update(burst);
        }
        if burst.flows.len() < max_flows && !burst.flows.contains(&flow) {
            burst.flows.push(flow);
        }
        let deadline = burst.last.plus(open_gap);
        if !self.open_bursts.contains(&client) {
            self.open_bursts.push(client);
        }
        self.next_deadline = Some(self.next_deadline.map_or(deadline, |d| d.min(deadline)));
        if let Some(b) = closed {
            self.judge(client, b, out);
        }
    }

    /// A watched address that `client` sent at `ts`: attached to the client's burst when one is
    /// running (the leak's request is normally one of its contacts). Never starts a burst.
    pub fn leak(&mut self, client: ClientId, ts: Ts, leak: OpenLeak) {
        let gap = self.settings.open_gap;
        let Some(b) = self.clients.get_mut(&client, ts).and_then(|st| st.burst.as_mut()) else { return };
        if ts.since(b.last) < gap && b.leaks.len() < MAX_OPEN_LEAKS && !b.leaks.contains(&leak) {
            b.leaks.push(leak);
        }
    }

    /// Closes the bursts that ended before capture time `now`.
    pub fn tick(&mut self, now: Ts, out: &mut Vec<EmailOpen>) {
        if self.next_deadline.is_none_or(|d| now < d) {
            return;
        }
        let gap = self.settings.open_gap;
        self.close(|b| now >= b.last.plus(gap), out);
    }

    /// Closes every burst (end of capture, or shutdown).
    pub fn finish(&mut self, out: &mut Vec<EmailOpen>) {
        self.close(|_| true, out);
    }

    fn close(&mut self, ended: impl Fn(&Burst) -> bool, out: &mut Vec<EmailOpen>) {
        let gap = self.settings.open_gap;
        let mut next: Option<Ts> = None;
        let clients = std::mem::take(&mut self.open_bursts);
        let mut still_open = Vec::with_capacity(clients.len());
        for client in clients {
            let Some(st) = self.clients.peek(&client) else { continue };
            let Some(b) = st.burst.as_ref() else { continue };
            if ended(b) {
                if let Some(b) = self.clients.get_mut(&client, b.last).and_then(|st| st.burst.take()) {
                    self.judge(client, b, out);
                }
            } else {
                let d = b.last.plus(gap);
                next = Some(next.map_or(d, |n| n.min(d)));
                still_open.push(client);
            }
        }
        self.open_bursts = still_open;
        self.next_deadline = next;
    }

    fn judge(&mut self, client: ClientId, b: Burst, out: &mut Vec<EmailOpen>) {
        let mail_context = self.settings.mail_context;
        let context = b.context.clone().filter(|c| b.start.since(c.ts) <= mail_context);
        let confidence = match (b.has_email, context.is_some(), b.contacts > 0, !b.proxies.is_empty()) {
            (true, true, _, _) => Confidence::High,
            (true, false, _, _) | (false, true, true, _) => Confidence::Medium,
            (false, true, false, true) => Confidence::Proxied,
            _ => return,
        };
        let companies: Vec<Arc<str>> = {
            let mut v: Vec<Arc<str>> = b.trackers.values().map(|t| t.company.clone()).collect();
            v.extend(b.proxies.iter().cloned());
            v.sort();
            v.dedup();
            v
        };
        let Some(st) = self.clients.get_mut(&client, b.last) else { return };
        // The same pixels fetched again shortly after, without new mail: not a new open.
        if let Some((end, previous, previous_context)) = &st.last_open
            && b.start.since(*end) <= mail_context
            && companies.iter().all(|c| previous.contains(c))
            && context.as_ref().map(|c| c.ts) == *previous_context
        {
            return;
        }
        st.last_open = Some((b.last, companies, context.as_ref().map(|c| c.ts)));
        let mut flows = b.flows;
        if let Some(c) = &context
            && flows.len() < self.settings.max_flows
            && !flows.contains(&c.flow)
        {
            flows.push(c.flow);
        }
        out.push(EmailOpen {
            client,
            client_ip: b.client_ip,
            start: b.start,
            end: b.last,
            confidence,
            trackers: b.trackers.into_values().collect(),
            proxies: b.proxies,
            context,
            flows,
            who: None,
            leaks: b.leaks,
        });
    }
}

#[cfg(test)]
mod tests;
