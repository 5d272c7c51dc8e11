//! The end-of-run summary of `replay`: totals, tracker contacts per entry and channel, decode
//! errors — as text for people or JSON for scripts (`--summary text|json|none`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::decode::Layer;
use crate::model::{Category, Contact, ObservationKind, Ts, Via};
use crate::sink::metrics::OBSERVATION_KINDS;

/// Contact counts of one tracker entry, per channel (`Via::ALL` order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactRow {
    pub via: [u64; 5],
    pub cloaked: u64,
}

/// Leaks of one (tracker, company, category, encoding, field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeakRow {
    pub count: u64,
    pub first: Option<Ts>,
    pub last: Option<Ts>,
    /// Clients that sent them (the first [`MAX_LEAK_CLIENTS`]).
    pub clients: Vec<std::net::IpAddr>,
}

const MAX_LEAK_CLIENTS: usize = 16;
/// Rows of `address_leaks` kept (the key space is bounded by the lists; this bounds it harder).
const MAX_LEAK_ROWS: usize = 10_000;

/// (tracker, company, category, encoding, field) of an `address_leaks` row.
pub type LeakKey = (Arc<str>, Arc<str>, &'static str, &'static str, &'static str);

/// Totals of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub files: Vec<String>,
    pub packets: u64,
    pub bytes: u64,
    pub first_ts: Option<Ts>,
    pub last_ts: Option<Ts>,
    pub observations: [u64; 5],
    pub contacts: BTreeMap<(Arc<str>, Arc<str>, Category), ContactRow>,
    pub decode_errors: BTreeMap<&'static str, u64>,
    /// E-mail opens, in the order they were decided (bounded: the first 10,000).
    pub email_opens: Vec<crate::correlate::opens::EmailOpen>,
    pub email_opens_total: u64,
    /// Image-proxy / relay fetches per proxy company.
    pub proxied_fetches: BTreeMap<Arc<str>, u64>,
    /// Encrypted-DNS connections per (resolver, protocol).
    pub encrypted_dns: BTreeMap<(&'static str, &'static str), u64>,
    /// Address leaks (`--watch-address`), aggregated.
    pub address_leaks: BTreeMap<LeakKey, LeakRow>,
    pub address_leaks_total: u64,
    pub elapsed_seconds: f64,
    /// Files that stopped early, with the reason.
    pub errors: Vec<String>,
    /// With `--tls-keylog`: connections by decryption result and decrypted requests.
    pub tls_keylog: Option<crate::flow::tls_session::TlsStats>,
}

fn via_index(via: Via) -> usize {
    Via::ALL.iter().position(|v| *v == via).unwrap_or(0)
}

impl Summary {
    pub fn packet(&mut self, ts: Ts, wire_len: u32) {
        self.packets += 1;
        self.bytes += u64::from(wire_len);
        if self.first_ts.is_none_or(|f| ts < f) {
            self.first_ts = Some(ts);
        }
        if self.last_ts.is_none_or(|l| ts > l) {
            self.last_ts = Some(ts);
        }
    }

    pub fn observation(&mut self, kind: &ObservationKind) {
        if let Some(n) = crate::sink::metrics::kind_index(kind).and_then(|i| self.observations.get_mut(i)) {
            *n += 1;
        }
    }

    pub fn email_open(&mut self, o: &crate::correlate::opens::EmailOpen) {
        self.email_opens_total += 1;
        if self.email_opens.len() < 10_000 {
            self.email_opens.push(o.clone());
        }
    }

    pub fn address_leak(&mut self, l: &crate::correlate::leaks::AddressLeak) {
        self.address_leaks_total += 1;
        let key: LeakKey = (l.tracker.clone(), l.company.clone(), l.category_str(), l.encoding.as_str(), l.field);
        if self.address_leaks.len() >= MAX_LEAK_ROWS && !self.address_leaks.contains_key(&key) {
            return;
        }
        let row = self.address_leaks.entry(key).or_default();
        row.count += 1;
        row.first = Some(row.first.map_or(l.ts, |f| f.min(l.ts)));
        row.last = Some(row.last.map_or(l.ts, |f| f.max(l.ts)));
        if row.clients.len() < MAX_LEAK_CLIENTS && !row.clients.contains(&l.client) {
            row.clients.push(l.client);
        }
    }

    pub fn proxied_fetch(&mut self, f: &crate::correlate::opens::ProxiedFetch) {
        *self.proxied_fetches.entry(f.proxy.clone()).or_default() += 1;
    }

    pub fn encrypted_dns(&mut self, e: &crate::model::EncryptedDns) {
        *self.encrypted_dns.entry((e.resolver, e.protocol)).or_default() += 1;
    }

    pub fn contact(&mut self, c: &Contact) {
        let row = self.contacts.entry((c.tracker.clone(), c.company.clone(), c.category)).or_default();
        if let Some(n) = row.via.get_mut(via_index(c.via)) {
            *n += 1;
        }
        row.cloaked += u64::from(c.cloaked);
    }

    pub fn decode_error(&mut self, layer: Layer) {
        *self.decode_errors.entry(layer.as_str()).or_default() += 1;
    }

    pub fn total_contacts(&self) -> u64 {
        self.contacts.values().map(|r| r.via.iter().sum::<u64>()).sum()
    }

    pub fn to_json(&self) -> Value {
        let observations: serde_json::Map<String, Value> =
            OBSERVATION_KINDS.iter().zip(self.observations).map(|(k, n)| ((*k).to_owned(), json!(n))).collect();
        let contacts: Vec<Value> = self
            .contacts
            .iter()
            .map(|((tracker, company, category), row)| {
                let via: serde_json::Map<String, Value> =
                    Via::ALL.iter().zip(row.via).map(|(v, n)| (v.as_str().to_owned(), json!(n))).collect();
                json!({"tracker": &**tracker, "company": &**company, "category": category.as_str(),
                       "via": via, "cloaked": row.cloaked, "total": row.via.iter().sum::<u64>()})
            })
            .collect();
        let mut summary = json!({
            "files": self.files,
            "packets": self.packets,
            "bytes": self.bytes,
            "first_ts": self.first_ts.map(Ts::rfc3339),
            "last_ts": self.last_ts.map(Ts::rfc3339),
            "observations": observations,
            "tracker_contacts": contacts,
            "email_opens": self.email_opens.iter().map(open_json).collect::<Vec<_>>(),
            "email_opens_total": self.email_opens_total,
            "proxied_fetches": self.proxied_fetches.iter()
                .map(|(p, n)| json!({"proxy": &**p, "fetches": n}))
                .collect::<Vec<_>>(),
            "address_leaks": self.address_leaks.iter().map(|((tracker, company, category, encoding, field), row)| json!({
                "tracker": &**tracker, "company": &**company, "category": category, "encoding": encoding,
                "field": field, "count": row.count, "first": row.first.map(Ts::rfc3339),
                "last": row.last.map(Ts::rfc3339),
                "clients": row.clients.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "decode_errors": self.decode_errors,
            "encrypted_dns": self.encrypted_dns.iter()
                .map(|((r, p), n)| json!({"resolver": r, "protocol": p, "flows": n}))
                .collect::<Vec<_>>(),
            "errors": self.errors,
            "elapsed_seconds": (self.elapsed_seconds * 1e6).round() / 1e6,
        });
        if let (Some(t), Value::Object(members)) = (&self.tls_keylog, &mut summary) {
            use crate::flow::tls_session::TlsResult;
            members.insert(
                "tls_keylog".to_owned(),
                json!({
                    "flows_decrypted": t.flows(TlsResult::Decrypted),
                    "flows_without_secrets": t.flows(TlsResult::NoSecrets),
                    "flows_unsupported_suite": t.flows(TlsResult::UnsupportedSuite),
                    "flows_failed": t.flows(TlsResult::Failed),
                    "requests": t.requests,
                }),
            );
        }
        summary
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let span = match (self.first_ts, self.last_ts) {
            (Some(a), Some(b)) => format!(
                ", capture time {} → {} ({})",
                a.rfc3339(),
                b.rfc3339(),
                duration(b.since(a) / Ts::MICROS_PER_SEC)
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "{} packets, {} in {} file{}{span}; read in {:.2} s",
            thousands(self.packets),
            human_bytes(self.bytes),
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" },
            self.elapsed_seconds
        );
        let [q, a, t, qu, h] = self.observations;
        let _ = writeln!(
            s,
            "observed: {} DNS questions, {} DNS answers, {} TLS SNI, {} QUIC SNI, {} HTTP requests",
            thousands(q),
            thousands(a),
            thousands(t),
            thousands(qu),
            thousands(h)
        );
        let total = self.total_contacts();
        if total == 0 {
            let _ = writeln!(s, "tracker contacts: none");
        } else {
            let companies: std::collections::BTreeSet<&str> = self.contacts.keys().map(|(_, c, _)| &**c).collect();
            let _ = writeln!(
                s,
                "tracker contacts: {} with {} compan{}",
                thousands(total),
                companies.len(),
                if companies.len() == 1 { "y" } else { "ies" }
            );
            let mut rows: Vec<_> = self.contacts.iter().collect();
            rows.sort_by(|a, b| b.1.via.iter().sum::<u64>().cmp(&a.1.via.iter().sum::<u64>()).then(a.0.cmp(b.0)));
            let w_company = rows.iter().map(|r| r.0.1.len()).max().unwrap_or(7).max(7);
            let w_tracker = rows.iter().map(|r| r.0.0.len()).max().unwrap_or(7).max(7);
            let _ = writeln!(
                s,
                "  {:<w_company$}  {:<w_tracker$}  {:<12} {:>5} {:>5} {:>5} {:>5} {:>5} {:>7}",
                "COMPANY", "TRACKER", "CATEGORY", "DNS", "TLS", "QUIC", "HTTP", "IP", "CLOAKED"
            );
            for ((tracker, company, category), row) in rows {
                let [d, t, q, h, i] = row.via;
                let _ = writeln!(
                    s,
                    "  {:<w_company$}  {:<w_tracker$}  {:<12} {d:>5} {t:>5} {q:>5} {h:>5} {i:>5} {:>7}",
                    company,
                    tracker,
                    category.as_str(),
                    row.cloaked
                );
            }
        }
        if self.email_opens_total == 0 {
            let _ = writeln!(s, "e-mail opens: none");
        } else {
            let _ = writeln!(s, "e-mail opens: {}", thousands(self.email_opens_total));
            for o in &self.email_opens {
                let companies: Vec<&str> = o
                    .trackers
                    .iter()
                    .map(|t| &*t.company)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let told = if companies.is_empty() {
                    format!(
                        "via {} (trackers invisible)",
                        o.proxies.iter().map(|p| &**p).collect::<Vec<_>>().join(", ")
                    )
                } else {
                    format!("told {}", companies.join(", "))
                };
                let context = o.context.as_ref().map_or(String::from("no mail context"), |c| {
                    format!(
                        "after {}{}",
                        c.kind.as_str(),
                        c.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
                    )
                });
                let leaks = if o.leaks.is_empty() {
                    String::new()
                } else {
                    let parts: Vec<String> =
                        o.leaks.iter().map(|l| format!("{} in {} to {}", l.encoding, l.field, l.tracker)).collect();
                    format!("; address leaked: {}", parts.join(", "))
                };
                let _ = writeln!(
                    s,
                    "  {} {}{} {} ({}): {told}; {context}{leaks}",
                    o.start.rfc3339(),
                    o.client,
                    o.who
                        .as_ref()
                        .and_then(|w| w.host_name.as_deref())
                        .map(|n| format!(" ({})", crate::extract::name::display(n)))
                        .unwrap_or_default(),
                    o.confidence.as_str(),
                    duration_ms(o.end.since(o.start)),
                );
            }
        }
        if !self.address_leaks.is_empty() {
            let _ = writeln!(
                s,
                "address leaks (a watched address left, in this form): {}",
                thousands(self.address_leaks_total)
            );
            for ((tracker, company, category, encoding, field), row) in &self.address_leaks {
                let clients: Vec<String> = row.clients.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    s,
                    "  {company} ({tracker}, {category}): {encoding} in {field}, {} time{} from {}",
                    thousands(row.count),
                    if row.count == 1 { "" } else { "s" },
                    clients.join(", ")
                );
            }
        }
        if !self.proxied_fetches.is_empty() {
            let parts: Vec<String> =
                self.proxied_fetches.iter().map(|(p, n)| format!("{p} {}", thousands(*n))).collect();
            let _ = writeln!(s, "proxied image fetches (the tracker behind them is invisible): {}", parts.join(", "));
        }
        if !self.encrypted_dns.is_empty() {
            let parts: Vec<String> =
                self.encrypted_dns.iter().map(|((r, p), n)| format!("{r} ({p}) {}", thousands(*n))).collect();
            let _ = writeln!(
                s,
                "encrypted DNS (lookups after these are invisible; SNI and addresses still attribute flows): {}",
                parts.join(", ")
            );
        }
        if let Some(t) = &self.tls_keylog {
            use crate::flow::tls_session::TlsResult;
            let _ = writeln!(
                s,
                "TLS key log: {} connections decrypted ({} requests), {} without secrets, {} unsupported suite, {} failed",
                thousands(t.flows(TlsResult::Decrypted)),
                thousands(t.requests),
                thousands(t.flows(TlsResult::NoSecrets)),
                thousands(t.flows(TlsResult::UnsupportedSuite)),
                thousands(t.flows(TlsResult::Failed)),
            );
        }
        if !self.decode_errors.is_empty() {
            let parts: Vec<String> = self.decode_errors.iter().map(|(l, n)| format!("{l} {}", thousands(*n))).collect();
            let _ = writeln!(s, "skipped packets (decode errors): {}", parts.join(", "));
        }
        for e in &self.errors {
            let _ = writeln!(s, "stopped early: {e}");
        }
        s
    }
}

/// An e-mail open as a JSON object (summary and events share it). `leaks` only when a watched
/// address left during the open.
pub fn open_json(o: &crate::correlate::opens::EmailOpen) -> Value {
    let mut v = json!({
        "client": o.client.to_string(),
        "client_ip": o.client_ip.to_string(),
        "start": o.start.rfc3339(),
        "end": o.end.rfc3339(),
        "confidence": o.confidence.as_str(),
        "trackers": o.trackers.iter().map(|t| json!({
            "tracker": &*t.tracker, "company": &*t.company, "category": t.category.as_str(), "contacts": t.contacts,
        })).collect::<Vec<_>>(),
        "proxies": o.proxies.iter().map(|p| &**p).collect::<Vec<_>>(),
        "context": o.context.as_ref().map(|c| json!({
            "type": c.kind.as_str(),
            "name": c.name.as_deref(),
            "ts": c.ts.rfc3339(),
            "transport": c.flow.transport.as_str(),
            "src": c.flow.src.to_string(),
            "dst": c.flow.dst.to_string(),
            "sport": c.flow.sport,
            "dport": c.flow.dport,
        })),
    });
    if !o.leaks.is_empty()
        && let Value::Object(members) = &mut v
    {
        let leaks =
            o.leaks.iter().map(|l| json!({"tracker": &*l.tracker, "encoding": l.encoding.as_str(), "field": l.field}));
        members.insert("leaks".to_owned(), Value::Array(leaks.collect()));
    }
    if let (Some(who), Value::Object(members)) = (&o.who, &mut v) {
        if let Some(name) = &who.host_name {
            members.insert("client_name".into(), Value::from(crate::extract::name::display(name).into_owned()));
        }
        if let Some(id) = &who.dhcp_id {
            members.insert("client_dhcp_id".into(), Value::from(id.as_str()));
        }
    }
    v
}

fn duration_ms(micros: i64) -> String {
    format!("{:.1} s", micros as f64 / 1e6)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[unit.min(4)]) }
}

fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(duration(3723), "01:02:03");
    }
}
