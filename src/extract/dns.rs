//! DNS messages (RFC 1035 §4) through the `domain` crate: question names, and the A, AAAA and
//! CNAME records of the answer section. Also the TCP framing (RFC 1035 §4.2.2: 2-byte length prefix).

use domain::base::ParsedRecord;
use domain::base::iana::Rtype;
use domain::base::name::{ParsedName, ToLabelIter};
use domain::dep::octseq::Parser;

use crate::extract::Outcome;
use crate::extract::name::push_label;
use crate::model::AnswerData;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Size of the fixed DNS header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;

/// One question (RFC 1035 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Presentation form (see [`crate::extract::name`]), case as on the wire, no trailing dot; root = ".".
    pub name: String,
    pub qtype: u16,
}

/// One A / AAAA / CNAME record of the answer section (RFC 1035 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub name: String,
    pub ttl: u32,
    pub data: AnswerData,
}

/// What we keep of a DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub id: u16,
    /// QR bit: a response.
    pub response: bool,
    pub opcode: u8,
    pub rcode: u8,
    pub questions: Vec<Question>,
    pub answers: Vec<Answer>,
    /// Some part of the question or answer section did not parse (a name with a bad label type,
    /// a pointer loop or forward pointer, a record running past the end, A/AAAA data of the wrong
    /// length…). What parsed before the damage is kept.
    pub damaged: bool,
}

/// Parses one DNS message (UDP payload, or one TCP message without its length prefix).
///
/// RFC 1035 §4.1: header (§4.1.1), question section (§4.1.2: QNAME QTYPE QCLASS, QDCOUNT
/// times), answer section (§4.1.3: NAME TYPE CLASS TTL RDLENGTH RDATA, ANCOUNT times); names per
/// §4.1.4 (compression pointers must point backwards, which `domain` enforces, so a pointer loop
/// is an error, never a loop). A (§3.4.1), AAAA (RFC 3596 §2.2), CNAME (§3.3.1).
///
/// - `NotThis`: shorter than the 12-byte header.
/// - `Malformed`: QDCOUNT > 0 but no question parses (and no answer record could be read).
/// - `Found` otherwise. A question or record whose name does not parse (bad label type, pointer
///   loop or forward pointer, decompressed name over 255 octets) or whose A/AAAA/CNAME data is
///   bad is dropped, `damaged` is set, and the walk goes on when the item's end can still be
///   found from its wire form (as tshark does); it stops at the first item that runs past the end
///   of the payload. The class is not checked (mDNS sets the cache-flush bit in it). Authority
///   and additional sections are never read.
pub fn parse_message(payload: &[u8]) -> Outcome<Message> {
    let Ok(msg) = domain::base::Message::from_slice(payload) else {
        return Outcome::NotThis;
    };
    let header = msg.header();
    let counts = msg.header_counts();
    let mut out = Message {
        id: header.id(),
        response: header.qr(),
        opcode: header.opcode().to_int(),
        rcode: header.rcode().to_int(),
        // Each question takes at least 5 bytes: never trust QDCOUNT for the allocation.
        questions: Vec::with_capacity(usize::from(counts.qdcount()).min(4)),
        answers: Vec::new(),
        damaged: false,
    };

    let mut parser = Parser::from_ref(payload);
    let mut names = Written::default();
    let walked = parser.advance(HEADER_LEN).is_ok()
        && questions(payload, &mut parser, counts.qdcount(), &mut out, &mut names)
        && answers(payload, &mut parser, counts.ancount(), &mut out, &mut names);
    if !walked {
        out.damaged = true;
    }
    if counts.qdcount() > 0 && out.questions.is_empty() && out.answers.is_empty() {
        return Outcome::Malformed;
    }
    Outcome::Found(out)
}

/// The question section (RFC 1035 §4.1.2). Returns false when the end of the section cannot be
/// found (then the answer section cannot be either).
fn questions(
    payload: &[u8],
    parser: &mut Parser<'_, [u8]>,
    qdcount: u16,
    out: &mut Message,
    names: &mut Written,
) -> bool {
    for _ in 0..qdcount {
        let start = parser.pos();
        match domain::base::Question::parse(parser) {
            Ok(q) => {
                let name = names.name(payload, out, start, q.qname());
                names.remember(payload, start, Slot::Question(out.questions.len()));
                out.questions.push(Question { name, qtype: q.qtype().to_int() });
            }
            Err(_) => {
                out.damaged = true;
                // QNAME as laid out on the wire, then QTYPE and QCLASS.
                if parser.seek(start).is_err() || !skip_wire_name(parser) || parser.advance(4).is_err() {
                    return false;
                }
            }
        }
    }
    true
}

/// The A, AAAA and CNAME records of the answer section (RFC 1035 §4.1.3). Returns false when a
/// record runs past the end of the payload.
fn answers(
    payload: &[u8],
    parser: &mut Parser<'_, [u8]>,
    ancount: u16,
    out: &mut Message,
    names: &mut Written,
) -> bool {
    for _ in 0..ancount {
        let start = parser.pos();
        let record = match ParsedRecord::parse(parser) {
            Ok(record) => record,
            Err(_) => {
                out.damaged = true;
                if parser.seek(start).is_err() || !skip_wire_record(parser) {
                    return false;
                }
                continue;
            }
        };
        let rdlength = usize::from(record.rdlen());
        let rdata_start = parser.pos().saturating_sub(rdlength);
        let rdata = payload.get(rdata_start..parser.pos()).unwrap_or_default();
        let data = match record.rtype() {
            // RFC 1035 §3.4.1: a 32-bit address.
            Rtype::A => <[u8; 4]>::try_from(rdata).ok().map(|a| AnswerData::A(Ipv4Addr::from(a))),
            // RFC 3596 §2.2: a 128-bit address.
            Rtype::AAAA => <[u8; 16]>::try_from(rdata).ok().map(|a| AnswerData::Aaaa(Ipv6Addr::from(a))),
            // RFC 1035 §3.3.1: a (compressible) name that must fit in RDLENGTH.
            Rtype::CNAME => {
                let mut data = Parser::from_ref(payload);
                let target = data
                    .seek(rdata_start)
                    .ok()
                    .and_then(|()| data.parse_parser(rdlength).ok())
                    .and_then(|mut rdata| ParsedName::parse(&mut rdata).ok());
                target.map(|t| AnswerData::Cname(names.name(payload, out, rdata_start, &t)))
            }
            _ => continue,
        };
        match data {
            Some(data) => {
                let name = names.name(payload, out, start, &record.owner());
                let index = out.answers.len();
                names.remember(payload, start, Slot::Owner(index));
                if matches!(data, AnswerData::Cname(_)) {
                    names.remember(payload, rdata_start, Slot::Target(index));
                }
                out.answers.push(Answer { name, ttl: record.ttl().as_secs(), data });
            }
            None => out.damaged = true,
        }
    }
    true
}

/// Where a name already written for this message is.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Question(usize),
    Owner(usize),
    Target(usize),
}

/// The names written so far, by the offset where their wire form starts (or where the
/// compression pointer that starts them points). A name is fully determined by that offset, so
/// the owners of an RRset, which all point at the same name, are written once and cloned.
#[derive(Debug, Default)]
struct Written {
    seen: [Option<(usize, Slot)>; 8],
}

impl Written {
    /// The offset a name starting at `pos` really starts at (one pointer hop is enough for
    /// the usual `c0 0c` owners).
    fn key(payload: &[u8], pos: usize) -> usize {
        match (payload.get(pos), payload.get(pos + 1)) {
            (Some(&hi), Some(&lo)) if hi >= 0xc0 => usize::from(u16::from_be_bytes([hi & 0x3f, lo])),
            _ => pos,
        }
    }

    /// `name` (which parsed and starts at `pos`) in presentation form.
    fn name<O: AsRef<[u8]>>(&self, payload: &[u8], out: &Message, pos: usize, name: &ParsedName<O>) -> String {
        let key = Self::key(payload, pos);
        let found = self.seen.iter().flatten().find(|(k, _)| *k == key).and_then(|&(_, slot)| match slot {
            Slot::Question(i) => out.questions.get(i).map(|q| &q.name),
            Slot::Owner(i) => out.answers.get(i).map(|a| &a.name),
            Slot::Target(i) => match out.answers.get(i).map(|a| &a.data) {
                Some(AnswerData::Cname(t)) => Some(t),
                _ => None,
            },
        });
        found.cloned().unwrap_or_else(|| presentation(name))
    }

    fn remember(&mut self, payload: &[u8], pos: usize, slot: Slot) {
        let key = Self::key(payload, pos);
        if self.seen.iter().flatten().any(|(k, _)| *k == key) {
            return;
        }
        if let Some(free) = self.seen.iter_mut().find(|e| e.is_none()) {
            *free = Some((key, slot));
        }
    }
}

/// Steps over a name as laid out on the wire (RFC 1035 §4.1.4): labels up to the root label or
/// up to a compression pointer, which ends the name. Nothing is decompressed, so this cannot loop;
/// false on a reserved label type (01/10 in the top bits) or when the payload ends.
fn skip_wire_name(parser: &mut Parser<'_, [u8]>) -> bool {
    loop {
        let Ok(len) = parser.parse_u8() else {
            return false;
        };
        match len {
            0 => return true,
            1..=0x3f => {
                if parser.advance(usize::from(len)).is_err() {
                    return false;
                }
            }
            0xc0..=0xff => return parser.advance(1).is_ok(),
            _ => return false,
        }
    }
}

/// Steps over a resource record (RFC 1035 §4.1.3) whose owner name may not decompress.
fn skip_wire_record(parser: &mut Parser<'_, [u8]>) -> bool {
    if !skip_wire_name(parser) || parser.advance(8).is_err() {
        return false;
    }
    let Ok(rdlength) = parser.parse_u16_be() else {
        return false;
    };
    parser.advance(usize::from(rdlength)).is_ok()
}

/// A parsed (validated, decompressed) name in presentation form: labels joined by `.`, escaped
/// with [`push_label`], no trailing dot, the root written `.` (RFC 1035 §5.1).
fn presentation<O: AsRef<[u8]>>(name: &ParsedName<O>) -> String {
    let mut out = String::with_capacity(usize::from(name.compose_len()));
    for label in name.iter() {
        if label.is_root() {
            break;
        }
        if !out.is_empty() {
            out.push('.');
        }
        push_label(&mut out, label.as_slice());
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// The DNS messages of a TCP byte stream (RFC 1035 §4.2.2, RFC 7766 §8): each message is
/// preceded by a two-byte length field. Yields every complete message (without its prefix);
/// [`TcpMessages::consumed`] tells how many bytes of the input were used up, the rest is the start
/// of an incomplete message. Zero-length messages are consumed and not yielded.
#[derive(Debug, Clone)]
pub struct TcpMessages<'a> {
    buf: &'a [u8],
    consumed: usize,
}

impl<'a> TcpMessages<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        TcpMessages { buf, consumed: 0 }
    }

    /// Bytes of the input consumed by the messages yielded so far (and skipped empty ones).
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// The bytes not consumed yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.consumed..).unwrap_or_default()
    }
}

impl<'a> Iterator for TcpMessages<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let rest = self.rest();
            let (prefix, body) = rest.split_at_checked(2)?;
            let len = usize::from(u16::from_be_bytes([*prefix.first()?, *prefix.get(1)?]));
            let message = body.get(..len)?;
            // Every round consumes at least the 2-byte prefix: this loop ends.
            self.consumed += 2 + len;
            if len > 0 {
                return Some(message);
            }
        }
    }
}

/// All complete length-prefixed messages at the start of `buf` (RFC 1035 §4.2.2) and the number
/// of bytes they took; the caller keeps `buf[consumed..]` for the next segment.
pub fn split_tcp_messages(buf: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut it = TcpMessages::new(buf);
    let messages: Vec<&[u8]> = it.by_ref().collect();
    (messages, it.consumed())
}

/// How many more bytes the first length-prefixed message of `buf` needs (0 when it is complete).
pub fn tcp_message_needed(buf: &[u8]) -> usize {
    match buf {
        [] => 2,
        [_] => 1,
        [hi, lo, rest @ ..] => usize::from(u16::from_be_bytes([*hi, *lo])).saturating_sub(rest.len()),
    }
}

/// A DNS message on a port not assigned to DNS (DNSCrypt certificate queries on 443, resolvers
/// on odd ports): accepted only when it looks like nothing else could — a standard query or
/// response (RFC 1035 §4.1.1: opcode 0, Z clear) with exactly one question, few records, a
/// clean parse, and a question name of host-name characters. The header checks reject almost
/// every non-DNS payload (encrypted QUIC, RTP, WireGuard…) in a few instructions.
pub fn parse_heuristic(payload: &[u8]) -> Outcome<Message> {
    let Some(&[_, _, f0, f1, q0, q1, a0, a1, n0, n1, r0, r1]) = payload.first_chunk::<HEADER_LEN>() else {
        return Outcome::NotThis;
    };
    let flags = u16::from_be_bytes([f0, f1]);
    let (qd, an, ns, ar) = (
        u16::from_be_bytes([q0, q1]),
        u16::from_be_bytes([a0, a1]),
        u16::from_be_bytes([n0, n1]),
        u16::from_be_bytes([r0, r1]),
    );
    let response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    let z = flags & 0x0040 != 0;
    let rcode = flags & 0xf;
    let plausible = payload.len() >= HEADER_LEN + 5
        && opcode == 0
        && !z
        && qd == 1
        && if response {
            an <= 32 && ns <= 16 && ar <= 16 && rcode <= 5
        } else {
            an == 0 && ns == 0 && ar <= 1 && rcode == 0
        };
    if !plausible {
        return Outcome::NotThis;
    }
    match parse_message(payload) {
        Outcome::Found(m)
            if !m.damaged
                && m.questions.len() == 1
                && m.questions.iter().all(|q| {
                    q.qtype != 0
                        && !q.name.is_empty()
                        && q.name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                }) =>
        {
            Outcome::Found(m)
        }
        _ => Outcome::NotThis,
    }
}

#[cfg(test)]
mod tests;
