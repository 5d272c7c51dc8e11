//! Small owned values shared by every stage of the pipeline: capture time, flows, observations.
//!
//! Nothing here does I/O or parsing. Stages below the sinks only ever see [`Ts`] (capture time),
//! never the wall clock.

use std::fmt;
use std::net::IpAddr;

/// Capture time: microseconds since the Unix epoch, taken from the packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub i64);

impl Ts {
    pub const MICROS_PER_SEC: i64 = 1_000_000;

    pub fn from_secs_micros(secs: i64, micros: i64) -> Ts {
        Ts(secs.saturating_mul(Self::MICROS_PER_SEC).saturating_add(micros))
    }

    pub fn from_secs(secs: i64) -> Ts {
        Ts(secs.saturating_mul(Self::MICROS_PER_SEC))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::MICROS_PER_SEC as f64
    }

    /// `self + d` microseconds, saturating.
    pub fn plus(self, micros: i64) -> Ts {
        Ts(self.0.saturating_add(micros))
    }

    /// Microseconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn since(self, earlier: Ts) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-27T20:44:33.123456Z`.
    pub fn rfc3339(self) -> String {
        let mut s = String::with_capacity(27);
        self.write_rfc3339(&mut s);
        s
    }

    pub fn write_rfc3339(self, out: &mut String) {
        use std::fmt::Write as _;
        let secs = self.0.div_euclid(Self::MICROS_PER_SEC);
        let micros = self.0.rem_euclid(Self::MICROS_PER_SEC);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let _ =
            write!(out, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3600, (sod / 60) % 60, sod % 60);
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// The innermost IP/port header of the packet that carried an observation, as seen on the wire
/// (`src` is the sender of that packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowTuple {
    pub transport: Transport,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
}

impl FlowTuple {
    pub fn reversed(&self) -> FlowTuple {
        FlowTuple { transport: self.transport, src: self.dst, dst: self.src, sport: self.dport, dport: self.sport }
    }
}

/// DNS answer record data we keep (RFC 1035 §3.4.1, RFC 3596, RFC 1035 §3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerData {
    A(std::net::Ipv4Addr),
    Aaaa(std::net::Ipv6Addr),
    Cname(String),
}

impl AnswerData {
    pub fn type_str(&self) -> &'static str {
        match self {
            AnswerData::A(_) => "A",
            AnswerData::Aaaa(_) => "AAAA",
            AnswerData::Cname(_) => "CNAME",
        }
    }
}

/// What a packet (or a reassembled stream) told us. Names are in DNS presentation form with
/// non-printable bytes escaped (`\DDD`), case as seen on the wire, no trailing dot (the root is `.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObservationKind {
    /// One per question of every DNS message, queries and responses (RFC 1035 §4.1.2).
    DnsQuery { name: String, qtype: u16, qr: bool, id: u16 },
    /// One per A, AAAA or CNAME record of the answer section; `qname` is the message's first question.
    DnsAnswer { name: String, data: AnswerData, ttl: u32, qname: Option<String>, id: u16 },
    /// server_name of a TLS ClientHello over TCP (RFC 6066 §3); `ech` when extension 0xfe0d is present.
    TlsSni { name: String, ech: bool },
    /// server_name of the ClientHello inside QUIC Initial packets.
    QuicSni { name: String, version: u32, ech: bool },
    /// Host header (without port) and request target of an HTTP/1.x request (RFC 9112 §3), or
    /// `:authority`/Host and `:path` of a request decrypted with the client's TLS key log
    /// (`decrypted`). Referer and Cookie are kept for address-leak scanning only: they are never
    /// written to an output.
    HttpHost {
        name: String,
        path: String,
        method: String,
        referer: Option<String>,
        cookie: Option<String>,
        decrypted: bool,
    },
    /// A TLS or QUIC connection that shows no usable name: attributed, when possible, through
    /// the names its client learned from DNS for the server address.
    UnnamedFlow { reason: UnnamedReason },
    /// Client-to-server payload on a mail connection (IMAP, POP, submission ports, or a TLS
    /// connection to a mail-access host): the client is reading or sending mail. At most one a
    /// second per connection.
    MailActivity,
    /// A DHCP or DHCPv6 message naming a device (host name, client identifier).
    Dhcp(Box<DhcpClient>),
}

/// Why a connection has no usable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnnamedReason {
    /// A ClientHello without server_name (TLS over TCP or QUIC).
    NoSni,
    /// QUIC Initials of a version we do not decrypt (the version is in the flow's packets).
    QuicUnsupported(u32),
    /// QUIC Initials no known keys open (the connection's first packet was not captured…).
    QuicUndecryptable(u32),
}

impl UnnamedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnnamedReason::NoSni => "no_sni",
            UnnamedReason::QuicUnsupported(_) => "quic_unsupported_version",
            UnnamedReason::QuicUndecryptable(_) => "quic_undecryptable",
        }
    }
}

impl ObservationKind {
    /// The kind's name in events and in `pixelwatch_observations_total{kind}`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            ObservationKind::DnsQuery { .. } => "dns_query",
            ObservationKind::DnsAnswer { .. } => "dns_answer",
            ObservationKind::TlsSni { .. } => "tls_sni",
            ObservationKind::QuicSni { .. } => "quic_sni",
            ObservationKind::HttpHost { .. } => "http_host",
            ObservationKind::UnnamedFlow { .. } => "unnamed_flow",
            ObservationKind::MailActivity => "mail_activity",
            ObservationKind::Dhcp(_) => "dhcp",
        }
    }

    /// The observed name ("" for an unnamed flow).
    pub fn name(&self) -> &str {
        match self {
            ObservationKind::DnsQuery { name, .. }
            | ObservationKind::DnsAnswer { name, .. }
            | ObservationKind::TlsSni { name, .. }
            | ObservationKind::QuicSni { name, .. }
            | ObservationKind::HttpHost { name, .. } => name,
            ObservationKind::UnnamedFlow { .. } | ObservationKind::MailActivity | ObservationKind::Dhcp(_) => "",
        }
    }
}

/// What a DHCP message says about a device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DhcpClient {
    /// The device's Ethernet address (`chaddr` of an Ethernet-type DHCPv4 message); DHCPv6 has
    /// none in the message (the packet's source MAC is the device's).
    pub mac: Option<[u8; 6]>,
    /// The address a server ACKed (`yiaddr` of a DHCPACK), or the client's current one (`ciaddr`).
    pub addr: Option<std::net::Ipv4Addr>,
    /// Host name (option 12) or Client FQDN, in DNS presentation form with hostile bytes escaped.
    pub host_name: Option<String>,
    /// Client identifier (option 61 / DHCPv6 DUID) as colon-separated hex.
    pub client_id: Option<String>,
    /// Sent by the client (a request), not by a server.
    pub from_client: bool,
}

impl DhcpClient {
    pub fn is_empty(&self) -> bool {
        self.host_name.is_none() && self.client_id.is_none()
    }
}

/// What DHCP told us a client calls itself, for events (never a metric label).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientName {
    /// Host name (DHCP option 12, Client FQDN), presentation form.
    pub host_name: Option<String>,
    /// DHCP client identifier (option 61) or DHCPv6 DUID, colon-separated hex.
    pub dhcp_id: Option<String>,
}

/// One observation with the capture time and the flow of the packet that completed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub ts: Ts,
    pub flow: FlowTuple,
    /// Ethernet addresses of that packet, when the capture has them.
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    pub kind: ObservationKind,
}

impl Observation {
    /// The MAC address of `addr`'s side of the packet, when known.
    pub fn mac_of(&self, addr: IpAddr) -> Option<[u8; 6]> {
        if addr == self.flow.src { self.src_mac } else { self.dst_mac }
    }
}

/// How a tracker contact was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via {
    Dns,
    Tls,
    Quic,
    Http,
    /// A flow with no usable name, attributed through the client's earlier DNS answers.
    Ip,
}

impl Via {
    pub const ALL: [Via; 5] = [Via::Dns, Via::Tls, Via::Quic, Via::Http, Via::Ip];

    pub fn as_str(self) -> &'static str {
        match self {
            Via::Dns => "dns",
            Via::Tls => "tls",
            Via::Quic => "quic",
            Via::Http => "http",
            Via::Ip => "ip",
        }
    }
}

/// What a list entry is. The first five are trackers; the rest are context hosts that never count
/// as tracker contacts (they feed e-mail-open correlation and their own counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// ESP / marketing-cloud open-pixel and tracking hosts.
    Email,
    /// One-to-one sales trackers and read receipts.
    EmailSales,
    /// ESP click redirectors.
    EspClick,
    Analytics,
    Advertising,
    /// IMAP/POP/JMAP/Exchange endpoints.
    MailAccess,
    Webmail,
    /// Image proxies of webmail providers (the tracker is then invisible).
    ImageProxy,
    /// Privacy relays such as Apple Mail Privacy Protection.
    PrivacyRelay,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::Email,
        Category::EmailSales,
        Category::EspClick,
        Category::Analytics,
        Category::Advertising,
        Category::MailAccess,
        Category::Webmail,
        Category::ImageProxy,
        Category::PrivacyRelay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Email => "email",
            Category::EmailSales => "email-sales",
            Category::EspClick => "esp-click",
            Category::Analytics => "analytics",
            Category::Advertising => "advertising",
            Category::MailAccess => "mail-access",
            Category::Webmail => "webmail",
            Category::ImageProxy => "image-proxy",
            Category::PrivacyRelay => "privacy-relay",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Trackers count as tracker contacts; context hosts do not.
    pub fn is_tracker(self) -> bool {
        matches!(
            self,
            Category::Email | Category::EmailSales | Category::EspClick | Category::Analytics | Category::Advertising
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tracker contact: an observation whose name (or CNAME target, or the name learned for its
/// server address) matched a tracker entry. Counted once per DNS lookup, TLS/QUIC flow or HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub ts: Ts,
    pub flow: FlowTuple,
    /// The local side (the client that looked up or connected).
    pub client: IpAddr,
    /// The client's MAC address, when the capture has it.
    pub client_mac: Option<[u8; 6]>,
    /// The name seen in the traffic.
    pub name: String,
    /// The name that matched the list (a CNAME target when `cloaked`).
    pub matched: String,
    /// The matching entry's suffix, company and category.
    pub tracker: std::sync::Arc<str>,
    pub company: std::sync::Arc<str>,
    pub category: Category,
    pub via: Via,
    /// The name itself is first-party; its CNAME chain reaches the tracker.
    pub cloaked: bool,
    /// What the client calls itself (DHCP), filled in by the pipeline.
    pub who: Option<std::sync::Arc<ClientName>>,
    /// An HTTP request whose path matched a pixel path rule of the entry (open pixel or click).
    pub pixel: Option<crate::trackers::paths::Pixel>,
}

/// A connection to an encrypted-DNS resolver (DNS over TLS, HTTPS or QUIC): the client's DNS
/// lookups are invisible from then on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedDns {
    pub ts: Ts,
    pub flow: FlowTuple,
    pub client: IpAddr,
    /// The resolver's operator from a fixed table ("Google", "Cloudflare"…), or "other".
    pub resolver: &'static str,
    /// "dot", "doh" or "doq".
    pub protocol: &'static str,
}

/// What correlation derives from observations, in the order it was derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Derived {
    Contact(Contact),
    EncryptedDns(EncryptedDns),
    /// The client showed mail activity (not logged: it is the context of opens).
    MailContext {
        client: IpAddr,
        client_mac: Option<[u8; 6]>,
        context: crate::correlate::opens::MailContext,
    },
    ProxiedFetch(crate::correlate::opens::ProxiedFetch),
    EmailOpen(crate::correlate::opens::EmailOpen),
    /// A watched address found in a request or a DNS query name (`--watch-address`).
    AddressLeak(crate::correlate::leaks::AddressLeak),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(Ts(0).rfc3339(), "1970-01-01T00:00:00.000000Z");
        // 2026-11-27T20:44:33.123456Z
        assert_eq!(Ts(1_795_812_273_123_456).rfc3339(), "2026-11-27T20:44:33.123456Z");
        // leap day
        assert_eq!(Ts::from_secs(951_782_400).rfc3339(), "2000-02-29T00:00:00.000000Z");
        assert_eq!(Ts(-1).rfc3339(), "1969-12-31T23:59:59.999999Z");
    }
}
