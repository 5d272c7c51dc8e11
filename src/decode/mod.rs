//! Link layer → IP (with bounded fragment reassembly) → TCP/UDP views. No protocol knowledge above L4.
//!
//! Input: one captured frame with its libpcap link type. Output: a [`Segment`] borrowing either the
//! frame or the decoder's reassembly buffer, [`Decoded::Skipped`] for traffic we do not read (ARP,
//! ICMP, a fragment held for reassembly…), or [`Decoded::Error`] naming the layer that was malformed
//! (counted in `pixelwatch_decode_errors_total{layer}`). Never panics on any input.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod defrag;
mod ether;
mod ip;
mod link;
mod tunnel;
mod wlan;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use crate::model::Ts;
use defrag::Defrag;
pub use link::linktype;

/// The layer a malformed packet failed at: the `layer` label of `pixelwatch_decode_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Unsupported link type or a frame too short for its link header.
    Link,
    /// Bad IPv4/IPv6 header.
    Ip,
    /// Inconsistent fragments (overlap with different bytes, too large, bad offsets).
    Fragment,
    /// A tunnel header (GRE, VXLAN, GTP-U, Teredo, Geneve, IP-in-IP, MPLS) that does not parse.
    Tunnel,
    Tcp,
    Udp,
}

impl Layer {
    pub const ALL: [Layer; 6] = [Layer::Link, Layer::Ip, Layer::Fragment, Layer::Tunnel, Layer::Tcp, Layer::Udp];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Ip => "ip",
            Layer::Fragment => "fragment",
            Layer::Tunnel => "tunnel",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
        }
    }
}

/// TCP header flags (RFC 9293 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// Transport header and payload of the innermost IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4<'a> {
    Tcp { sport: u16, dport: u16, seq: u32, ack: u32, flags: TcpFlags, payload: &'a [u8] },
    Udp { sport: u16, dport: u16, payload: &'a [u8] },
}

/// A decoded TCP or UDP packet. Addresses are those of the innermost IP header (inside tunnels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Source MAC of the outermost Ethernet header, when there is one (also the sender address
    /// of a Linux cooked SLL/SLL2 header of an Ethernet interface).
    pub src_mac: Option<[u8; 6]>,
    /// Destination MAC of the outermost Ethernet header, when there is one.
    pub dst_mac: Option<[u8; 6]>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4<'a>,
    /// The frame was cut by the snaplen: the payload is only what was captured.
    pub truncated: bool,
}

impl Segment<'_> {
    /// The packet's transport and addresses.
    pub fn flow_tuple(&self) -> crate::model::FlowTuple {
        let (transport, sport, dport) = match self.l4 {
            L4::Tcp { sport, dport, .. } => (crate::model::Transport::Tcp, sport, dport),
            L4::Udp { sport, dport, .. } => (crate::model::Transport::Udp, sport, dport),
        };
        crate::model::FlowTuple { transport, src: self.src, dst: self.dst, sport, dport }
    }
}

/// The result of decoding one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    Segment(Segment<'a>),
    /// Nothing for us (not IP, not TCP/UDP, or a fragment kept until its datagram is complete).
    Skipped,
    /// Malformed at this layer: a counted drop.
    Error(Layer),
}

/// Bounds of the IP fragment reassembly table (all time in capture time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once.
    pub max_entries: usize,
    /// Bytes buffered over all datagrams being reassembled.
    pub max_bytes: usize,
    /// A datagram not complete after this many microseconds is dropped.
    pub timeout_micros: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits { max_entries: 1024, max_bytes: 8 << 20, timeout_micros: 30 * Ts::MICROS_PER_SEC }
    }
}

/// Counters the decoder keeps; exported by the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeStats {
    pub datagrams_reassembled: u64,
    pub fragment_evictions_timeout: u64,
    pub fragment_evictions_capacity: u64,
    /// Frames cut by the snaplen (IP length larger than what was captured), decoded or not.
    pub truncated_frames: u64,
    /// Frames dropped (as `Skipped`) because tunnels were nested deeper than [`MAX_IP_DEPTH`].
    pub tunnel_depth_exceeded: u64,
}

/// IP headers followed in one frame: the outer one plus up to 4 tunnels.
pub const MAX_IP_DEPTH: u8 = 5;

/// Layer steps followed in one frame (VLAN tags, PPP, tunnel headers…), a guard against loops.
const MAX_STEPS: usize = 48;

/// Stateful decoder: owns the fragment reassembly table.
#[derive(Debug, Default)]
pub struct Decoder {
    stats: DecodeStats,
    defrag: Defrag,
}

impl Decoder {
    pub fn new(limits: DefragLimits) -> Decoder {
        Decoder { stats: DecodeStats::default(), defrag: Defrag::new(limits) }
    }

    /// Decodes one frame of link type `linktype` (libpcap `DLT_*`/`LINKTYPE_*` value) captured at `ts`.
    ///
    /// `ts` also drives expiry of incomplete fragmented datagrams (no wall clock).
    pub fn decode<'a>(&'a mut self, ts: Ts, linktype: i32, data: &'a [u8]) -> Decoded<'a> {
        self.defrag.expire(ts, &mut self.stats);
        let mut cx = Cx {
            ts,
            defrag: Some(&mut self.defrag),
            stats: &mut self.stats,
            src_mac: None,
            dst_mac: None,
            truncated: false,
            ip_depth: 0,
        };
        let first = link::start(&mut cx, linktype, data);
        let decoded = cx.run(first);
        if cx.truncated {
            cx.stats.truncated_frames += 1;
        }
        decoded
    }

    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Datagrams currently held for reassembly (always ≤ `DefragLimits::max_entries`).
    pub fn reassembly_entries(&self) -> usize {
        self.defrag.entries()
    }

    /// Bytes currently held for reassembly (always ≤ `DefragLimits::max_bytes`).
    pub fn reassembly_bytes(&self) -> usize {
        self.defrag.bytes()
    }
}

/// What to decode next: each step of [`Cx::run`] consumes one header and names the next one.
#[derive(Debug)]
enum Next<'a> {
    /// An Ethernet II / 802.3 frame (destination MAC first).
    Ethernet(&'a [u8]),
    /// A payload identified by an EtherType (also used by SLL, GRE, Cisco HDLC, SNAP).
    EtherType(u16, &'a [u8]),
    /// A PPP frame starting at the Protocol field (RFC 1661 §2).
    Ppp(&'a [u8]),
    /// An IEEE 802.11 MAC frame (frame control first).
    Ieee80211(&'a [u8]),
    /// An IPv4 or IPv6 packet, told apart by the version nibble.
    Ip(&'a [u8]),
    /// Decoding ended.
    Done(Decoded<'a>),
}

/// Per-frame decoding context.
struct Cx<'a, 's> {
    ts: Ts,
    /// Taken by the first reassembly of the frame: the completed datagram borrows it.
    defrag: Option<&'a mut Defrag>,
    stats: &'s mut DecodeStats,
    src_mac: Option<[u8; 6]>,
    dst_mac: Option<[u8; 6]>,
    /// Some IP length was larger than the captured bytes.
    truncated: bool,
    ip_depth: u8,
}

impl<'a> Cx<'a, '_> {
    fn run(&mut self, mut next: Next<'a>) -> Decoded<'a> {
        for _ in 0..MAX_STEPS {
            next = match next {
                Next::Ethernet(b) => ether::ethernet(self, b),
                Next::EtherType(t, b) => ether::ethertype(t, b),
                Next::Ppp(b) => link::ppp_protocol(b),
                Next::Ieee80211(b) => wlan::data_frame(b),
                Next::Ip(b) => ip::packet(self, b),
                Next::Done(d) => return d,
            };
        }
        match next {
            Next::Done(d) => d,
            _ => Decoded::Skipped,
        }
    }

    /// A header did not fit in the bytes left: a snaplen cut when an IP length said more bytes
    /// were sent (not a protocol error), otherwise malformed at `layer`.
    fn short(&self, layer: Layer) -> Next<'a> {
        if self.truncated { Next::Done(Decoded::Skipped) } else { Next::Done(Decoded::Error(layer)) }
    }

    /// The decoded TCP or UDP packet, with the frame's MAC addresses and truncation.
    fn segment(&self, src: IpAddr, dst: IpAddr, l4: L4<'a>) -> Next<'a> {
        Next::Done(Decoded::Segment(Segment {
            src_mac: self.src_mac,
            dst_mac: self.dst_mac,
            src,
            dst,
            l4,
            truncated: self.truncated,
        }))
    }
}

/// `Next::Done(Decoded::Error(layer))`.
fn error<'a>(layer: Layer) -> Next<'a> {
    Next::Done(Decoded::Error(layer))
}

/// `Next::Done(Decoded::Skipped)`.
fn skipped<'a>() -> Next<'a> {
    Next::Done(Decoded::Skipped)
}

/// Big-endian u16 at `at`, if present.
fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(s))
}

/// Big-endian u32 at `at`, if present.
fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}
