//! IPv4 and IPv6 (with extension headers and fragments), then TCP and UDP.
//!
//! Header fields are read through etherparse's checked header slices; the length logic (snaplen
//! cuts, Ethernet padding, fragments) is ours.

use std::net::IpAddr;

use etherparse::{IpAuthHeaderSlice, Ipv4HeaderSlice, Ipv6FragmentHeaderSlice, Ipv6HeaderSlice, Ipv6RawExtHeaderSlice};

use super::defrag::{FragKey, Insert};
use super::{Cx, L4, Layer, MAX_IP_DEPTH, Next, TcpFlags, be16, be32, error, skipped, tunnel};

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
mod proto {
    pub const HOPOPT: u8 = 0;
    pub const IPV4: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const IPV6_ROUTE: u8 = 43;
    pub const IPV6_FRAG: u8 = 44;
    pub const GRE: u8 = 47;
    pub const AH: u8 = 51;
    pub const IPV6_OPTS: u8 = 60;
}

/// Extension headers followed after one IP header (a real chain has at most a few).
const MAX_EXT_HEADERS: usize = 8;

/// One IP packet, IPv4 or IPv6 by its version nibble. Counts towards the tunnel depth limit.
pub(super) fn packet<'a>(cx: &mut Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    cx.ip_depth = cx.ip_depth.saturating_add(1);
    if cx.ip_depth > MAX_IP_DEPTH {
        cx.stats.tunnel_depth_exceeded += 1;
        return skipped();
    }
    match data.first().map(|b| b >> 4) {
        Some(4) => ipv4(cx, data),
        Some(6) => ipv6(cx, data),
        Some(_) => error(Layer::Ip),
        None => cx.short(Layer::Ip),
    }
}

/// IPv4 header (RFC 791 §3.1). The payload ends at Total Length (which drops Ethernet padding);
/// when fewer bytes were captured the frame was cut by the snaplen. A Total Length smaller than
/// the header (0 in TCP-segmentation-offload captures) is ignored and the captured length used.
fn ipv4<'a>(cx: &mut Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let h = match Ipv4HeaderSlice::from_slice(data) {
        Ok(h) => h,
        Err(etherparse::err::ipv4::HeaderSliceError::Len(_)) => return cx.short(Layer::Ip),
        Err(etherparse::err::ipv4::HeaderSliceError::Content(_)) => return error(Layer::Ip),
    };
    let header_len = h.slice().len();
    let end = cx.ip_end(header_len, usize::from(h.total_len()), data.len());
    let payload = data.get(header_len..end).unwrap_or(&[]);
    let (src, dst) = (IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr()));
    let protocol = h.protocol().0;
    let offset = h.fragments_offset().value();
    if h.more_fragments() || offset != 0 {
        // RFC 791 §3.2: fragments of one datagram share source, destination, protocol and
        // Identification; Fragment Offset counts 8-byte units.
        let key = FragKey { src, dst, id: u32::from(h.identification()), proto: protocol };
        return fragment(cx, key, usize::from(offset) * 8, h.more_fragments(), payload, false);
    }
    transport(cx, false, protocol, payload, src, dst)
}

/// IPv6 header (RFC 8200 §3): 40 bytes; Payload Length counts the extension headers. A zero
/// Payload Length (jumbogram, RFC 2675, or segmentation offload) uses the captured length.
fn ipv6<'a>(cx: &mut Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let h = match Ipv6HeaderSlice::from_slice(data) {
        Ok(h) => h,
        Err(etherparse::err::ipv6::HeaderSliceError::Len(_)) => return cx.short(Layer::Ip),
        Err(etherparse::err::ipv6::HeaderSliceError::Content(_)) => return error(Layer::Ip),
    };
    let header_len = h.slice().len();
    let payload_len = usize::from(h.payload_length());
    let end = if payload_len == 0 { data.len() } else { cx.ip_end(header_len, header_len + payload_len, data.len()) };
    let payload = data.get(header_len..end).unwrap_or(&[]);
    let (src, dst) = (IpAddr::V6(h.source_addr()), IpAddr::V6(h.destination_addr()));
    transport(cx, true, h.next_header().0, payload, src, dst)
}

impl Cx<'_, '_> {
    /// End of an IP packet whose header claims `claimed` bytes out of `captured`.
    fn ip_end(&mut self, header_len: usize, claimed: usize, captured: usize) -> usize {
        if claimed < header_len {
            captured
        } else if claimed > captured {
            self.truncated = true;
            captured
        } else {
            claimed
        }
    }
}

/// Walks the headers after an IP header down to the transport: AH (RFC 4302 §2) for both
/// versions; for IPv6 also Hop-by-Hop, Destination Options, Routing (RFC 8200 §4.3–4.6) and
/// Fragment (§4.5). ESP and unknown protocols end decoding.
fn transport<'a>(cx: &mut Cx<'a, '_>, v6: bool, first: u8, payload: &'a [u8], src: IpAddr, dst: IpAddr) -> Next<'a> {
    let mut next = first;
    let mut rest = payload;
    for _ in 0..MAX_EXT_HEADERS {
        let (header_len, next_header) = match next {
            proto::TCP => return tcp(cx, src, dst, rest),
            proto::UDP => return udp(cx, src, dst, rest),
            proto::IPV4 | proto::IPV6 => return Next::Ip(rest),
            proto::GRE => return tunnel::gre(cx, rest),
            proto::AH => match IpAuthHeaderSlice::from_slice(rest) {
                Ok(ah) => (ah.slice().len(), ah.next_header().0),
                Err(etherparse::err::ip_auth::HeaderSliceError::Len(_)) => {
                    return cx.short(Layer::Ip);
                }
                Err(etherparse::err::ip_auth::HeaderSliceError::Content(_)) => {
                    return error(Layer::Ip);
                }
            },
            proto::HOPOPT | proto::IPV6_ROUTE | proto::IPV6_OPTS if v6 => {
                match Ipv6RawExtHeaderSlice::from_slice(rest) {
                    Ok(ext) => (ext.slice().len(), ext.next_header().0),
                    Err(_) => return cx.short(Layer::Ip),
                }
            }
            proto::IPV6_FRAG if v6 => {
                let Ok(frag) = Ipv6FragmentHeaderSlice::from_slice(rest) else {
                    return cx.short(Layer::Ip);
                };
                let after = rest.get(frag.slice().len()..).unwrap_or(&[]);
                if frag.is_fragmenting_payload() {
                    // RFC 8200 §4.5: the Fragmentable Part starts right after this header.
                    let key = FragKey { src, dst, id: frag.identification(), proto: frag.next_header().0 };
                    let offset = usize::from(frag.fragment_offset().value()) * 8;
                    return fragment(cx, key, offset, frag.more_fragments(), after, true);
                }
                // An atomic fragment (RFC 6946): offset 0, no more fragments.
                (frag.slice().len(), frag.next_header().0)
            }
            _ => return skipped(),
        };
        rest = rest.get(header_len..).unwrap_or(&[]);
        next = next_header;
    }
    skipped()
}

/// Hands a fragment to the reassembly table; a completed datagram is decoded from its
/// protocol on. One reassembly per frame: a fragment inside a reassembled datagram is dropped.
fn fragment<'a>(cx: &mut Cx<'a, '_>, key: FragKey, offset: usize, more: bool, data: &'a [u8], v6: bool) -> Next<'a> {
    if cx.truncated {
        // A fragment cut by the snaplen cannot be reassembled; from a first fragment we still
        // read the transport header and the captured payload (as for any truncated frame).
        return if offset == 0 { transport(cx, v6, key.proto, data, key.src, key.dst) } else { skipped() };
    }
    let Some(defrag) = cx.defrag.take() else {
        return skipped();
    };
    let (src, dst, protocol) = (key.src, key.dst, key.proto);
    match defrag.insert(cx.ts, key, offset, more, data, cx.stats) {
        Insert::Held => skipped(),
        Insert::Invalid => error(Layer::Fragment),
        Insert::Complete(datagram) => transport(cx, v6, protocol, datagram, src, dst),
    }
}

/// TCP header (RFC 9293 §3.1): Source Port, Destination Port, Sequence Number, Acknowledgment
/// Number, Data Offset (4 bits, 32-bit words, ≥ 5), control bits; options up to Data Offset.
fn tcp<'a>(cx: &mut Cx<'a, '_>, src: IpAddr, dst: IpAddr, seg: &'a [u8]) -> Next<'a> {
    let (Some(sport), Some(dport), Some(seq), Some(ack), Some(&off), Some(&flags)) =
        (be16(seg, 0), be16(seg, 2), be32(seg, 4), be32(seg, 8), seg.get(12), seg.get(13))
    else {
        return cx.short(Layer::Tcp);
    };
    let data_offset = usize::from(off >> 4) * 4;
    if data_offset < 20 {
        return error(Layer::Tcp);
    }
    let Some(payload) = seg.get(data_offset..) else {
        return cx.short(Layer::Tcp);
    };
    let l4 = L4::Tcp { sport, dport, seq, ack, flags: TcpFlags(flags), payload };
    cx.segment(src, dst, l4)
}

/// UDP header (RFC 768): Source Port, Destination Port, Length (header included), Checksum.
/// Length 0 is allowed only for IPv6 jumbograms (RFC 2675 §4); then the IP length counts.
/// A Length beyond the IP payload is not trusted: the payload ends with the IP packet.
/// Tunnels carried over UDP (VXLAN, Geneve, GTP-U, Teredo, GRE-in-UDP) are followed by port.
fn udp<'a>(cx: &mut Cx<'a, '_>, src: IpAddr, dst: IpAddr, dgram: &'a [u8]) -> Next<'a> {
    let (Some(sport), Some(dport), Some(len)) = (be16(dgram, 0), be16(dgram, 2), be16(dgram, 4)) else {
        return cx.short(Layer::Udp);
    };
    if dgram.len() < 8 {
        return cx.short(Layer::Udp);
    }
    let len = usize::from(len);
    let end = match len {
        0 if src.is_ipv6() => dgram.len(),
        0..8 => return error(Layer::Udp),
        // Longer than the IP payload (snaplen cut, or a bogus length): read what is there, as
        // tshark does; the IP header bounds the datagram.
        _ if len > dgram.len() => dgram.len(),
        _ => len,
    };
    let payload = dgram.get(8..end).unwrap_or(&[]);
    if let Some(next) = tunnel::over_udp(cx, sport, dport, payload) {
        return next;
    }
    let l4 = L4::Udp { sport, dport, payload };
    cx.segment(src, dst, l4)
}
