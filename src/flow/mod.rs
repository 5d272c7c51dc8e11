//! Flows: the bounded table of TCP stream directions, their reassembly, and dispatch of UDP
//! datagrams and stream bytes to the extractors. Output: [`Observation`]s in packet order.

pub mod budget;
pub mod names;
pub mod quic;
pub mod table;
pub mod tcp;
pub mod tls_session;

use std::net::IpAddr;

use crate::decode::{L4, Segment};
use crate::extract::{Outcome, dns};
use crate::model::{FlowTuple, Observation, ObservationKind, Transport, Ts, UnnamedReason};
use budget::BufferBudget;
use table::BoundedMap;
use tcp::{App, Emit, Stream, TlsContext};
use tls_session::{TlsDecrypt, TlsStats};

/// UDP/TCP ports read as DNS: DNS, mDNS (RFC 6762), LLMNR (RFC 4795).
pub const DNS_PORTS: [u16; 3] = [53, 5353, 5355];

/// NetBIOS name and datagram services (RFC 1002): DNS-like headers, never DNS.
const NETBIOS_PORTS: [u16; 2] = [137, 138];

/// IMAP, IMAPS, POP3, POP3S, submission, submissions (RFC 9051, RFC 8314, RFC 6409): client
/// payload on these is mail activity.
pub const MAIL_PORTS: [u16; 6] = [143, 993, 110, 995, 587, 465];

/// Decides whether a TLS server name is a mail-access host (given by the pipeline from the
/// tracker lists: the flow layer knows nothing of lists).
pub type MailHostPredicate = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// At most one mail-activity observation per connection per this much capture time.
const ACTIVITY_EVERY: i64 = Ts::MICROS_PER_SEC;

/// DHCP (client 68 → server 67 and back) and DHCPv6 (client 546 → server 547) messages.
fn dhcp_message(sport: u16, dport: u16, payload: &[u8]) -> Option<crate::model::DhcpClient> {
    match (sport, dport) {
        (68, 67) | (67, 68) | (67, 67) => crate::extract::dhcp::parse_v4(payload),
        (546, 547) => crate::extract::dhcp::parse_v6(payload),
        _ => None,
    }
}

pub fn is_dns_port(port: u16) -> bool {
    DNS_PORTS.contains(&port)
}

/// Bounds of the flow table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    /// TCP stream directions tracked at once.
    pub max_streams: usize,
    /// Bytes of reassembly buffers over all TCP streams (see [`budget`]).
    pub max_buffer_bytes: usize,
    pub quic: quic::QuicLimits,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits { max_streams: 65_536, max_buffer_bytes: 16 << 20, quic: quic::QuicLimits::default() }
    }
}

/// Counters of the flow layer, exported by the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowStats {
    pub streams: usize,
    pub evicted_timeout: u64,
    pub evicted_capacity: u64,
    /// Streams dropped because the reassembly buffers of all streams were over their budget.
    pub evicted_memory: u64,
    /// Bytes held by the reassembly buffers now.
    pub buffered_bytes: usize,
    pub dns_malformed: u64,
}

/// A flow already reported.
struct Seen;

impl table::Idle for Seen {
    fn idle_timeout(&self) -> i64 {
        60 * Ts::MICROS_PER_SEC
    }
}

/// One direction of a TCP connection, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
}

impl StreamKey {
    /// The other direction of the same connection.
    pub fn reversed(&self) -> StreamKey {
        StreamKey { src: self.dst, dst: self.src, sport: self.dport, dport: self.sport }
    }
}

/// See the module documentation.
pub struct FlowTracker {
    streams: BoundedMap<StreamKey, Stream>,
    budget: BufferBudget<StreamKey>,
    pub quic: quic::QuicTracker,
    /// QUIC connections already reported as unnamed.
    unnamed_udp: BoundedMap<StreamKey, Seen>,
    kinds: Vec<ObservationKind>,
    dns_malformed: u64,
    mail_host: Option<MailHostPredicate>,
    /// With a key log (`--tls-keylog`): TLS connections are followed after their ClientHello.
    tls: Option<TlsDecrypt>,
}

impl FlowTracker {
    pub fn new(limits: FlowLimits) -> FlowTracker {
        FlowTracker {
            streams: BoundedMap::new(limits.max_streams),
            budget: BufferBudget::new(limits.max_buffer_bytes),
            quic: quic::QuicTracker::new(limits.quic),
            unnamed_udp: BoundedMap::new(limits.quic.max_connections),
            kinds: Vec::new(),
            dns_malformed: 0,
            mail_host: None,
            tls: None,
        }
    }

    /// Decrypts the client side of TLS connections whose secrets `tls` holds (`--tls-keylog`).
    pub fn set_tls_decrypt(&mut self, tls: TlsDecrypt) {
        self.tls = Some(tls);
    }

    /// Counters of the key-log decryption; None without a key log.
    pub fn tls_stats(&self) -> Option<TlsStats> {
        self.tls.as_ref().map(TlsDecrypt::stats)
    }

    /// New bytes of a live key log, read at capture time `ts`: connections that were waiting for
    /// these secrets are decrypted now; their requests are appended to `out`.
    pub fn keylog_feed(&mut self, bytes: &[u8], ts: Ts, out: &mut Vec<Observation>) {
        let Some(tls) = &mut self.tls else { return };
        tls.keys.feed(bytes, ts);
        for key in tls.take_waiting() {
            let Some(stream) = self.streams.peek_mut(&key) else { continue };
            let Some(session) = stream.session.as_mut().filter(|s| s.awaits_secrets()) else { continue };
            session.retry(tls, ts);
            if session.is_done() {
                stream.app = App::Done;
                if let Some(session) = stream.session.take() {
                    tls.end(session);
                }
            }
        }
        out.append(&mut tls.out);
    }

    /// The end of the input: every TLS session still open gets its result counted.
    pub fn finish(&mut self) {
        let Some(tls) = &mut self.tls else { return };
        for stream in self.streams.values_mut() {
            if let Some(session) = stream.session.take() {
                tls.end(session);
            }
        }
    }

    /// Sets how to recognise mail-access hosts by TLS server name.
    pub fn set_mail_hosts(&mut self, predicate: MailHostPredicate) {
        self.mail_host = Some(predicate);
    }

    /// Reads one decoded packet captured at `ts`; appends what it revealed to `out`.
    pub fn handle(&mut self, ts: Ts, seg: &Segment<'_>, out: &mut Vec<Observation>) {
        let (budget, tls) = (&mut self.budget, &mut self.tls);
        self.streams.expire(ts, |_, mut stream| {
            budget.released(stream.buffered());
            end_session(tls, &mut stream);
        });
        self.quic.expire(ts);
        self.unnamed_udp.expire(ts, |_, _| {});
        match seg.l4 {
            L4::Udp { sport, dport, payload } => {
                if let Some(dhcp) = dhcp_message(sport, dport, payload) {
                    self.kinds.push(ObservationKind::Dhcp(Box::new(dhcp)));
                } else if is_dns_port(sport) || is_dns_port(dport) {
                    match dns::parse_message(payload) {
                        Outcome::Found(m) => dns_observations(&m, &mut self.kinds),
                        Outcome::Malformed => self.dns_malformed += 1,
                        _ => {}
                    }
                } else {
                    match self.quic.datagram(ts, seg.src, sport, seg.dst, dport, payload) {
                        quic::QuicOutcome::ClientHello { version, hello, .. } => {
                            if let Outcome::Found(ch) = crate::extract::tls::parse_client_hello_message(&hello) {
                                self.kinds.push(match ch.sni {
                                    Some(name) => ObservationKind::QuicSni { name, version, ech: ch.ech },
                                    None => ObservationKind::UnnamedFlow { reason: UnnamedReason::NoSni },
                                });
                            }
                        }
                        quic::QuicOutcome::Unsupported { version } if version != 0 => {
                            self.unnamed_quic(ts, seg, sport, dport, UnnamedReason::QuicUnsupported(version));
                        }
                        quic::QuicOutcome::Undecryptable { version } => {
                            self.unnamed_quic(ts, seg, sport, dport, UnnamedReason::QuicUndecryptable(version));
                        }
                        // NetBIOS name service (137) has DNS's header but is not DNS.
                        quic::QuicOutcome::None | quic::QuicOutcome::NotQuic
                            if !NETBIOS_PORTS.contains(&sport) && !NETBIOS_PORTS.contains(&dport) =>
                        {
                            if let Outcome::Found(m) = dns::parse_heuristic(payload) {
                                dns_observations(&m, &mut self.kinds);
                            }
                        }
                        _ => {}
                    }
                }
                let flow = FlowTuple { transport: Transport::Udp, src: seg.src, dst: seg.dst, sport, dport };
                let (src_mac, dst_mac) = (seg.src_mac, seg.dst_mac);
                out.extend(self.kinds.drain(..).map(|kind| Observation { ts, flow, src_mac, dst_mac, kind }));
            }
            L4::Tcp { sport, dport, seq, flags, payload, .. } => {
                let key = StreamKey { src: seg.src, dst: seg.dst, sport, dport };
                let (src_mac, dst_mac) = (seg.src_mac, seg.dst_mac);
                self.tcp(ts, key, seq, flags, payload, (src_mac, dst_mac));
                if self.budget.over() || self.budget.needs_compaction(self.streams.len()) {
                    self.enforce_budget();
                }
                let flow = FlowTuple { transport: Transport::Tcp, src: seg.src, dst: seg.dst, sport, dport };
                out.extend(self.kinds.drain(..).map(|kind| Observation { ts, flow, src_mac, dst_mac, kind }));
                if let Some(tls) = &mut self.tls {
                    out.append(&mut tls.out);
                }
            }
        }
    }

    fn tcp(
        &mut self,
        ts: Ts,
        key: StreamKey,
        seq: u32,
        flags: crate::decode::TcpFlags,
        payload: &[u8],
        macs: (Option<[u8; 6]>, Option<[u8; 6]>),
    ) {
        let dns = is_dns_port(key.sport) || is_dns_port(key.dport);
        let mail_port = MAIL_PORTS.contains(&key.dport);
        if flags.syn() {
            // The client's SYN opens the stream we read; the server's SYN-ACK only for DNS.
            if !flags.ack() || dns {
                let app = if dns { App::Dns } else { App::Probe };
                let mut stream = Stream::new(seq.wrapping_add(1), app);
                stream.watch = mail_port;
                self.remove(&key);
                self.insert_stream(key, stream, ts);
            }
            return;
        }
        if flags.rst() {
            self.close(&key);
            self.close(&key.reversed());
            return;
        }
        self.make_room_for_session();
        let before = self.kinds.len();
        let decrypting = self.tls.is_some();
        let tls = self.tls.as_mut().map(|state| TlsContext { state, key, ts, macs });
        let mut emit = Emit { out: &mut self.kinds, tls, server_hello: None };
        match self.streams.get_mut(&key, ts) {
            Some(stream) => {
                let held = stream.buffered();
                stream.segment(seq, payload, &mut emit);
                self.budget.changed(&key, held, stream.buffered());
                let server_hello = emit.server_hello.take();
                mail_activity(stream, ts, payload, before, &mut self.kinds, self.mail_host.as_ref());
                if stream.session.is_some() && stream.app != App::Decrypt {
                    end_session(&mut self.tls, stream);
                }
                if let Some(hello) = server_hello {
                    self.remove(&key);
                    self.server_hello(key.reversed(), hello, ts);
                    return;
                }
            }
            None if !payload.is_empty() => {
                // With a key log: the server's first bytes of a connection being decrypted.
                if decrypting
                    && self
                        .streams
                        .peek(&key.reversed())
                        .is_some_and(|s| s.session.as_ref().is_some_and(|x| x.awaits_server_hello()))
                {
                    let mut stream = Stream::new(seq, App::ServerHello);
                    stream.segment(seq, payload, &mut emit);
                    match emit.server_hello.take() {
                        Some(hello) => self.server_hello(key.reversed(), hello, ts),
                        None if !flags.fin() && stream.app == App::ServerHello => {
                            self.budget.changed(&key, 0, stream.buffered());
                            self.insert_stream(key, stream, ts);
                        }
                        None => {}
                    }
                    return;
                }
                // Picked up mid-stream (no SYN seen): only where the first bytes say what follows,
                // or on a mail port (a long-lived IMAP connection opened before the capture).
                let app = if dns {
                    App::Dns
                } else if crate::extract::tls::looks_like_client_hello(payload) {
                    App::Tls
                } else if crate::extract::http::looks_like_request_start(payload) && payload.contains(&b' ') {
                    App::Http(Default::default())
                } else if tcp::starts_with_proxy_header(payload) {
                    App::Probe
                } else if mail_port {
                    App::Done
                } else {
                    return;
                };
                let mut stream = Stream::new(seq, app);
                stream.watch = mail_port;
                stream.segment(seq, payload, &mut emit);
                mail_activity(&mut stream, ts, payload, before, &mut self.kinds, self.mail_host.as_ref());
                if stream.session.is_some() && stream.app != App::Decrypt {
                    end_session(&mut self.tls, &mut stream);
                }
                if !flags.fin() || stream.session.as_ref().is_some_and(|s| s.awaits_secrets()) {
                    self.budget.changed(&key, 0, stream.buffered());
                    self.insert_stream(key, stream, ts);
                } else {
                    end_session(&mut self.tls, &mut stream);
                }
                return;
            }
            None => return,
        }
        if flags.fin() {
            self.close(&key);
        }
    }

    /// With every TLS session slot taken, the sessions that waited longest for their secrets are
    /// given up (counted `no_secrets`) so that new connections can be followed.
    fn make_room_for_session(&mut self) {
        let Some(tls) = &mut self.tls else { return };
        while let Some(key) = tls.oldest_waiting_when_full() {
            let Some(stream) = self.streams.peek_mut(&key) else { continue };
            let Some(session) = stream.session.as_mut() else { continue };
            session.give_up_waiting(tls);
            if session.is_done() {
                stream.app = App::Done;
                if let Some(session) = stream.session.take() {
                    tls.end(session);
                }
            }
        }
    }

    /// Inserts a stream whose buffers are already counted; a stream evicted to make room gives
    /// its buffers back and ends its TLS session.
    fn insert_stream(&mut self, key: StreamKey, stream: Stream, ts: Ts) {
        if let Some((_, mut evicted)) = self.streams.insert(key, stream, ts) {
            self.budget.released(evicted.buffered());
            end_session(&mut self.tls, &mut evicted);
        }
    }

    /// Removes a stream now: its buffers go back to the budget, its TLS session ends.
    fn remove(&mut self, key: &StreamKey) {
        if let Some(mut stream) = self.streams.remove(key) {
            self.budget.released(stream.buffered());
            end_session(&mut self.tls, &mut stream);
        }
    }

    /// Drops the streams that started buffering first until the buffers fit their budget;
    /// forgets holders that left.
    #[cold]
    fn enforce_budget(&mut self) {
        while self.budget.over() {
            let Some(key) = self.budget.oldest_holder() else { break };
            if self.streams.peek(&key).is_some_and(|s| s.buffered() > 0) {
                self.remove(&key);
                self.budget.evicted += 1;
            }
        }
        if self.budget.needs_compaction(self.streams.len()) {
            let streams = &self.streams;
            self.budget.compact(|k| streams.peek(k).is_some_and(|s| s.buffered() > 0));
        }
    }

    /// A direction ended (FIN or RST). A TLS session still waiting for its secrets (a live key
    /// log lags the traffic) stays until they come or [`tls_session::SECRETS_WAIT`] passes.
    fn close(&mut self, key: &StreamKey) {
        if self.tls.is_some()
            && self.streams.peek(key).is_some_and(|s| s.session.as_ref().is_some_and(|x| x.awaits_secrets()))
        {
            return;
        }
        self.remove(key);
    }

    /// Gives the ServerHello (or the news that there is none) to the client direction's session.
    fn server_hello(&mut self, client: StreamKey, hello: Option<crate::extract::tls::session::ServerHello>, ts: Ts) {
        let Some(tls) = &mut self.tls else { return };
        let Some(stream) = self.streams.get_mut(&client, ts) else { return };
        let Some(session) = stream.session.as_mut() else { return };
        session.server_hello(hello, tls, ts);
        if session.is_done() {
            stream.app = App::Done;
            end_session(&mut self.tls, stream);
        }
    }

    /// A QUIC connection we cannot read: reported once per 5-tuple, from the client side (the
    /// packet goes to a server port from a higher, ephemeral one).
    fn unnamed_quic(&mut self, ts: Ts, seg: &Segment<'_>, sport: u16, dport: u16, reason: UnnamedReason) {
        let client_to_server = dport < sport && (dport < 1024 || matches!(dport, 4433 | 8443));
        if !client_to_server {
            return;
        }
        let key = StreamKey { src: seg.src, dst: seg.dst, sport, dport };
        if self.unnamed_udp.get_mut(&key, ts).is_none() {
            self.unnamed_udp.insert(key, Seen, ts);
            self.kinds.push(ObservationKind::UnnamedFlow { reason });
        }
    }

    pub fn stats(&self) -> FlowStats {
        FlowStats {
            streams: self.streams.len(),
            evicted_timeout: self.streams.evicted_timeout,
            evicted_capacity: self.streams.evicted_capacity,
            evicted_memory: self.budget.evicted,
            buffered_bytes: self.budget.used(),
            dns_malformed: self.dns_malformed,
        }
    }
}

/// Counts the result of `stream`'s TLS session, if it has one, and drops it.
fn end_session(tls: &mut Option<TlsDecrypt>, stream: &mut Stream) {
    if let (Some(tls), Some(session)) = (tls.as_mut(), stream.session.take()) {
        tls.end(session);
    }
}

/// After a client segment of `stream`: a ClientHello to a mail-access host makes it a mail
/// connection; client payload on a mail connection is mail activity (rate-limited).
fn mail_activity(
    stream: &mut Stream,
    ts: Ts,
    payload: &[u8],
    first_new: usize,
    kinds: &mut Vec<ObservationKind>,
    mail_host: Option<&MailHostPredicate>,
) {
    if !stream.watch
        && let Some(is_mail) = mail_host
        && kinds.iter().skip(first_new).any(|k| matches!(k, ObservationKind::TlsSni { name, .. } if is_mail(name)))
    {
        stream.watch = true;
    }
    if stream.watch && !payload.is_empty() && stream.last_activity.is_none_or(|last| ts.since(last) >= ACTIVITY_EVERY) {
        stream.last_activity = Some(ts);
        kinds.push(ObservationKind::MailActivity);
    }
}

/// The observations of one DNS message: every question, then every A/AAAA/CNAME answer.
pub fn dns_observations(m: &dns::Message, out: &mut Vec<ObservationKind>) {
    for q in &m.questions {
        out.push(ObservationKind::DnsQuery { name: q.name.clone(), qtype: q.qtype, qr: m.response, id: m.id });
    }
    let qname = m.questions.first().map(|q| q.name.clone());
    for a in &m.answers {
        out.push(ObservationKind::DnsAnswer {
            name: a.name.clone(),
            data: a.data.clone(),
            ttl: a.ttl,
            qname: qname.clone(),
            id: m.id,
        });
    }
}

#[cfg(test)]
mod tests;
