//! The JSON Lines event log: one object per observation or derived event, in capture order.
//!
//! Observation objects have exactly the shapes of the test corpus (`kind`, `ts`, the flow of the
//! packet that carried them, then the kind's members), so the corpus scorer reads them directly.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::{
    AnswerData, Contact, Derived, EncryptedDns, FlowTuple, Observation, ObservationKind, Ts, UnnamedReason,
};

/// Where and what to log.
pub struct EventWriter {
    out: Box<dyn Write + Send>,
    /// Every observation (`--events-all`), not only those touching a tracker or a context host.
    pub all: bool,
    line: String,
    pub written: u64,
}

impl EventWriter {
    pub fn new(out: Box<dyn Write + Send>, all: bool) -> EventWriter {
        EventWriter { out, all, line: String::with_capacity(512), written: 0 }
    }

    /// Logs `obs` if `--events-all` or `relevant`.
    pub fn observation(&mut self, obs: &Observation, relevant: bool) -> io::Result<()> {
        if !(self.all || relevant) {
            return Ok(());
        }
        self.line.clear();
        format_observation(&mut self.line, obs);
        self.emit()
    }

    /// A derived event (tracker contact, encrypted-DNS flow…) already formatted by
    /// [`format_derived`]: always logged.
    pub fn derived_line(&mut self, line: &str) -> io::Result<()> {
        self.line.clear();
        self.line.push_str(line);
        self.emit()
    }

    fn emit(&mut self) -> io::Result<()> {
        self.line.push('\n');
        self.written += 1;
        self.out.write_all(self.line.as_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Appends the event line of a derived fact (no newline); false for those that have none.
pub fn format_derived(s: &mut String, d: &Derived) -> bool {
    match d {
        Derived::Contact(c) => format_contact(s, c),
        Derived::EncryptedDns(e) => format_encrypted_dns(s, e),
        Derived::ProxiedFetch(f) => format_proxied_fetch(s, f),
        Derived::EmailOpen(o) => format_email_open(s, o),
        Derived::AddressLeak(l) => format_address_leak(s, l),
        Derived::MailContext { .. } => return false,
    }
    true
}

/// `"kind":…,"ts":…,"transport":…,"src":…,"dst":…,"sport":…,"dport":…` (no braces).
fn head(s: &mut String, kind: &str, ts: Ts, flow: &FlowTuple) {
    s.push_str("{\"kind\":\"");
    s.push_str(kind);
    s.push_str("\",\"ts\":\"");
    ts.write_rfc3339(s);
    let _ = write!(
        s,
        "\",\"transport\":\"{}\",\"src\":\"{}\",\"dst\":\"{}\",\"sport\":{},\"dport\":{}",
        flow.transport.as_str(),
        flow.src,
        flow.dst,
        flow.sport,
        flow.dport
    );
}

fn field_str(s: &mut String, key: &str, value: &str) {
    s.push_str(",\"");
    s.push_str(key);
    s.push_str("\":");
    json_str(s, value);
}

/// A name field: the display form (as tshark prints names), and when that loses information
/// (non-printable or non-UTF-8 bytes) also `<key>_escaped` with the RFC 1035 presentation form.
fn field_name(s: &mut String, key: &str, presentation: &str) {
    let shown = crate::extract::name::display(presentation);
    field_str(s, key, &shown);
    if shown != presentation {
        s.push_str(",\"");
        s.push_str(key);
        s.push_str("_escaped\":");
        json_str(s, presentation);
    }
}

/// `client_name` (DHCP host name) and `client_dhcp_id` (DHCP client identifier), when known.
pub fn field_who(s: &mut String, who: Option<&crate::model::ClientName>) {
    let Some(who) = who else { return };
    if let Some(name) = &who.host_name {
        field_name(s, "client_name", name);
    }
    if let Some(id) = &who.dhcp_id {
        field_str(s, "client_dhcp_id", id);
    }
}

/// `proto` of DNS observations, as in the corpus: by port.
pub fn dns_proto(flow: &FlowTuple) -> &'static str {
    let has = |p: u16| flow.sport == p || flow.dport == p;
    if has(5353) {
        "mdns"
    } else if has(5355) {
        "llmnr"
    } else {
        "dns"
    }
}

pub fn format_observation(s: &mut String, obs: &Observation) {
    head(s, obs.kind.kind_str(), obs.ts, &obs.flow);
    match &obs.kind {
        ObservationKind::DnsQuery { name, qtype, qr, .. } => {
            field_name(s, "name", name);
            let _ = write!(s, ",\"qtype\":{qtype},\"qr\":{}", u8::from(*qr));
            field_str(s, "proto", dns_proto(&obs.flow));
        }
        ObservationKind::DnsAnswer { name, data, ttl, qname, .. } => {
            field_name(s, "name", name);
            field_str(s, "type", data.type_str());
            match data {
                AnswerData::A(a) => field_str(s, "addr", &a.to_string()),
                AnswerData::Aaaa(a) => field_str(s, "addr", &a.to_string()),
                AnswerData::Cname(c) => field_name(s, "cname", c),
            }
            let _ = write!(s, ",\"ttl\":{ttl}");
            if let Some(q) = qname {
                field_name(s, "qname", q);
            }
            field_str(s, "proto", dns_proto(&obs.flow));
        }
        ObservationKind::TlsSni { name, ech } => {
            field_name(s, "name", name);
            let _ = write!(s, ",\"ech\":{ech}");
        }
        ObservationKind::QuicSni { name, version, ech } => {
            field_name(s, "name", name);
            field_str(s, "version", &format!("0x{version:08x}"));
            let _ = write!(s, ",\"ech\":{ech}");
        }
        ObservationKind::HttpHost { name, path, method, decrypted, .. } => {
            field_name(s, "name", name);
            field_str(s, "path", path);
            field_str(s, "method", method);
            if *decrypted {
                s.push_str(",\"decrypted\":true");
            }
        }
        ObservationKind::MailActivity => {}
        ObservationKind::Dhcp(d) => {
            if let Some(name) = &d.host_name {
                field_name(s, "host_name", name);
            }
            if let Some(id) = &d.client_id {
                field_str(s, "client_id", id);
            }
            if let Some(mac) = &d.mac {
                field_str(s, "mac", &crate::correlate::opens::ClientId::Mac(*mac).to_string());
            }
            if let Some(addr) = &d.addr {
                field_str(s, "addr", &addr.to_string());
            }
            let _ = write!(s, ",\"from_client\":{}", d.from_client);
        }
        ObservationKind::UnnamedFlow { reason } => {
            field_str(s, "reason", reason.as_str());
            if let UnnamedReason::QuicUnsupported(v) | UnnamedReason::QuicUndecryptable(v) = reason {
                field_str(s, "version", &format!("0x{v:08x}"));
            }
        }
    }
    s.push('}');
}

pub fn format_contact(s: &mut String, c: &Contact) {
    head(s, "tracker_contact", c.ts, &c.flow);
    field_str(s, "client", &c.client.to_string());
    field_who(s, c.who.as_deref());
    field_name(s, "name", &c.name);
    field_name(s, "matched", &c.matched);
    field_str(s, "tracker", &c.tracker);
    field_str(s, "company", &c.company);
    field_str(s, "category", c.category.as_str());
    field_str(s, "via", c.via.as_str());
    let _ = write!(s, ",\"cloaked\":{}", c.cloaked);
    if let Some(pixel) = c.pixel {
        field_str(s, "pixel", pixel.as_str());
    }
    s.push('}');
}

pub fn format_proxied_fetch(s: &mut String, f: &crate::correlate::opens::ProxiedFetch) {
    head(s, "proxied_fetch", f.ts, &f.flow);
    field_str(s, "client", &f.client.to_string());
    field_who(s, f.who.as_deref());
    field_name(s, "name", &f.name);
    field_str(s, "proxy", &f.proxy);
    field_str(s, "category", f.category.as_str());
    field_str(s, "via", f.via.as_str());
    s.push('}');
}

/// `email_open`: `ts` is the end of the burst (when it was decided), with the flow of its first
/// contact; the members are those of the summary's `email_opens` entries.
pub fn format_email_open(s: &mut String, o: &crate::correlate::opens::EmailOpen) {
    let flow = o.flows.first().copied().unwrap_or(FlowTuple {
        transport: crate::model::Transport::Tcp,
        src: o.client_ip,
        dst: o.client_ip,
        sport: 0,
        dport: 0,
    });
    head(s, "email_open", o.end, &flow);
    if let serde_json::Value::Object(members) = crate::sink::summary::open_json(o) {
        for (k, v) in members {
            s.push_str(",\"");
            s.push_str(&k);
            s.push_str("\":");
            s.push_str(&v.to_string());
        }
    }
    s.push('}');
}

/// `address_leak`: who received a watched address, in which form and field; never the address or
/// the form (the name is redacted by the pipeline before it gets here).
pub fn format_address_leak(s: &mut String, l: &crate::correlate::leaks::AddressLeak) {
    head(s, "address_leak", l.ts, &l.flow);
    field_str(s, "client", &l.client.to_string());
    field_who(s, l.who.as_deref());
    field_name(s, "name", &l.name);
    field_str(s, "tracker", &l.tracker);
    field_str(s, "company", &l.company);
    field_str(s, "category", l.category_str());
    field_str(s, "encoding", l.encoding.as_str());
    field_str(s, "field", l.field);
    s.push('}');
}

pub fn format_encrypted_dns(s: &mut String, e: &EncryptedDns) {
    head(s, "encrypted_dns", e.ts, &e.flow);
    field_str(s, "client", &e.client.to_string());
    field_str(s, "resolver", e.resolver);
    field_str(s, "protocol", e.protocol);
    s.push('}');
}

/// Appends `v` as a JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped.
pub fn json_str(s: &mut String, v: &str) {
    s.push('"');
    for ch in v.chars() {
        match ch {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Transport;

    #[test]
    fn observation_shape_matches_the_corpus() {
        let obs = Observation {
            ts: Ts(1_795_812_273_000_001),
            flow: FlowTuple {
                transport: Transport::Udp,
                src: "10.0.0.2".parse().unwrap(),
                dst: "10.0.0.1".parse().unwrap(),
                sport: 40000,
                dport: 53,
            },
            src_mac: None,
            dst_mac: None,
            kind: ObservationKind::DnsQuery { name: "www.google-analytics.com".into(), qtype: 1, qr: false, id: 7 },
        };
        let mut s = String::new();
        format_observation(&mut s, &obs);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["kind"], "dns_query");
        assert_eq!(v["ts"], "2026-11-27T20:44:33.000001Z");
        assert_eq!(v["name"], "www.google-analytics.com");
        assert_eq!(v["qr"], 0);
        assert_eq!(v["sport"], 40000);
        assert_eq!(v["proto"], "dns");
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001é\"");
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\n\u{1}é");
    }
}
