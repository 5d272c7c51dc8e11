//! Address leaks in the pipeline: which observations are scanned (plain or decrypted HTTP request
//! target, Referer, Cookie of the client's requests; DNS query names), to whom a leak is
//! attributed, and the redaction of every string that reaches an output.
//!
//! Nothing here runs without `--watch-address`: the pipeline holds no [`LeakWatch`] then.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use super::{AddressSet, Encoding, Field, Leak};
use crate::flow::table::{BoundedMap, Idle};
use crate::model::{AnswerData, Category, Derived, FlowTuple, Observation, ObservationKind, Ts};
use crate::trackers::{Entry, TrackerDb};

/// Tracker and company of a leak to a host that is on no list (a constant: bounded label).
pub const UNLISTED: &str = "unlisted";

/// DNS questions for one name from one client within this window are one lookup (A + AAAA +
/// HTTPS questions, retransmissions): one leak, as in `contacts`.
const LOOKUP_WINDOW: i64 = 2 * Ts::MICROS_PER_SEC;
/// Lookups remembered for that de-duplication.
const MAX_LOOKUPS: usize = 4096;

/// A watched address seen leaving the client, in one form, in one field of one request or DNS
/// query. Never holds the address or the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressLeak {
    pub ts: Ts,
    pub flow: FlowTuple,
    /// The local side: the client that sent the request or the query.
    pub client: IpAddr,
    pub client_mac: Option<[u8; 6]>,
    /// The Host / `:authority` of the request or the query name (redacted before any output).
    pub name: String,
    /// The list entry the name matched (directly, or through a CNAME chain), or [`UNLISTED`].
    pub tracker: Arc<str>,
    pub company: Arc<str>,
    /// `None` for an unlisted host.
    pub category: Option<Category>,
    pub encoding: Encoding,
    /// [`Field::label`]: `http-path`, `https-cookie`, `dns-name`…
    pub field: &'static str,
    /// What the client calls itself (DHCP), filled in by the pipeline.
    pub who: Option<Arc<crate::model::ClientName>>,
}

impl AddressLeak {
    /// The category label: the entry's category, or `unlisted`.
    pub fn category_str(&self) -> &'static str {
        self.category.map_or(UNLISTED, Category::as_str)
    }
}

struct Seen;
impl Idle for Seen {
    fn idle_timeout(&self) -> i64 {
        LOOKUP_WINDOW
    }
}

/// See the module documentation.
pub struct LeakWatch {
    set: Arc<AddressSet>,
    /// (client, lower-case query name) of queries scanned in the last [`LOOKUP_WINDOW`].
    lookups: BoundedMap<(IpAddr, Box<str>), Seen>,
    unlisted: Arc<str>,
    leaks: Vec<Leak>,
}

impl LeakWatch {
    pub fn new(set: Arc<AddressSet>) -> LeakWatch {
        LeakWatch { set, lookups: BoundedMap::new(MAX_LOOKUPS), unlisted: Arc::from(UNLISTED), leaks: Vec::new() }
    }

    pub fn addresses(&self) -> &AddressSet {
        &self.set
    }

    /// Scans the observations of one packet and appends a [`Derived::AddressLeak`] per (address,
    /// encoding, field) found. `uncloak` gives the tracker a first-party name's CNAME chain
    /// reached (see `contacts`); it is asked only for a name with a leak, off the common path.
    pub fn scan<'a>(
        &mut self,
        db: &TrackerDb,
        uncloak: impl Fn(&str) -> Option<&'a Entry>,
        observations: &[Observation],
        out: &mut Vec<Derived>,
    ) {
        let Some(first) = observations.first() else { return };
        self.lookups.expire(first.ts, |_, _| {});
        for obs in observations {
            self.leaks.clear();
            let (name, decrypted) = match &obs.kind {
                ObservationKind::HttpHost { name, path, referer, cookie, decrypted, .. } => {
                    let leaks = self.set.scan_http(
                        path.as_bytes(),
                        referer.as_deref().map(str::as_bytes),
                        cookie.as_deref().map(str::as_bytes),
                    );
                    self.leaks = leaks;
                    (name, *decrypted)
                }
                // Questions of queries only: the response repeats them.
                ObservationKind::DnsQuery { name, qr: false, .. } => {
                    self.leaks = self.set.scan_dns_name(name);
                    if !self.leaks.is_empty() {
                        let key = (obs.flow.src, lower(name));
                        if self.lookups.peek(&key).is_some() {
                            continue;
                        }
                        self.lookups.insert(key, Seen, obs.ts);
                    }
                    (name, false)
                }
                _ => continue,
            };
            if self.leaks.is_empty() {
                continue;
            }
            let entry = db.lookup(name).or_else(|| uncloak(&lower(name)));
            // The user's own mail service (IMAP host, webmail) is expected to see the address.
            if entry.is_some_and(|e| matches!(e.category, Category::MailAccess | Category::Webmail)) {
                continue;
            }
            let (tracker, company, category) = match entry {
                Some(e) => (e.suffix.clone(), e.company.clone(), Some(e.category)),
                None => (self.unlisted.clone(), self.unlisted.clone(), None),
            };
            let client = obs.flow.src;
            for leak in &self.leaks {
                out.push(Derived::AddressLeak(AddressLeak {
                    ts: obs.ts,
                    flow: obs.flow,
                    client,
                    client_mac: obs.mac_of(client),
                    name: name.clone(),
                    tracker: tracker.clone(),
                    company: company.clone(),
                    category,
                    encoding: leak.encoding,
                    field: leak.field.label(decrypted && leak.field != Field::DnsName),
                    who: None,
                }));
            }
        }
    }

    /// Replaces every watched form in the strings of `obs` that an output may show; drops the
    /// Referer and Cookie values (never written anywhere).
    pub fn redact_observation(&self, obs: &mut Observation) {
        match &mut obs.kind {
            ObservationKind::DnsQuery { name, .. }
            | ObservationKind::TlsSni { name, .. }
            | ObservationKind::QuicSni { name, .. } => self.redact(name),
            ObservationKind::DnsAnswer { name, data, qname, .. } => {
                self.redact(name);
                if let AnswerData::Cname(target) = data {
                    self.redact(target);
                }
                if let Some(q) = qname {
                    self.redact(q);
                }
            }
            ObservationKind::HttpHost { name, path, referer, cookie, .. } => {
                self.redact(name);
                self.redact(path);
                *referer = None;
                *cookie = None;
            }
            ObservationKind::Dhcp(d) => {
                if let Some(name) = &mut d.host_name {
                    self.redact(name);
                }
            }
            ObservationKind::UnnamedFlow { .. } | ObservationKind::MailActivity => {}
        }
    }

    /// The same for what correlation derived (names of contacts, fetches, opens' mail context).
    pub fn redact_derived(&self, d: &mut Derived) {
        match d {
            Derived::Contact(c) => {
                self.redact(&mut c.name);
                self.redact(&mut c.matched);
            }
            Derived::ProxiedFetch(f) => self.redact(&mut f.name),
            Derived::AddressLeak(l) => self.redact(&mut l.name),
            Derived::EmailOpen(o) => {
                if let Some(c) = &mut o.context {
                    self.redact_arc(&mut c.name);
                }
            }
            Derived::MailContext { context, .. } => self.redact_arc(&mut context.name),
            Derived::EncryptedDns(_) => {}
        }
    }

    fn redact(&self, s: &mut String) {
        if let Cow::Owned(r) = self.set.redact(s) {
            *s = r;
        }
    }

    fn redact_arc(&self, s: &mut Option<Arc<str>>) {
        if let Some(name) = s
            && let Cow::Owned(r) = self.set.redact(name)
        {
            *s = Some(Arc::from(r));
        }
    }
}

/// ASCII-lower-case copy without a trailing dot.
fn lower(name: &str) -> Box<str> {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase().into_boxed_str()
}

/// The addresses of a `--watch-addresses` file: one per line, blank lines and `#` comments
/// (whole-line or trailing) ignored. Returns the addresses and the 1-based numbers of the lines
/// that are not an address (reported by number only, never by content).
pub fn parse_address_file(text: &str) -> (Vec<String>, Vec<usize>) {
    let mut addresses = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let value = line.split_once('#').map_or(line, |(v, _)| v).trim();
        if value.is_empty() {
            continue;
        }
        if super::forms::looks_like_address(value) {
            addresses.push(value.to_owned());
        } else {
            bad.push(i + 1);
        }
    }
    (addresses, bad)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::model::Transport;

    const ME: &str = "myemailaddress@example.com";
    const MD5: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";

    fn watch() -> LeakWatch {
        LeakWatch::new(Arc::new(AddressSet::new(&[ME.to_owned()]).unwrap()))
    }

    fn obs(kind: ObservationKind, transport: Transport, dport: u16) -> Observation {
        Observation {
            ts: Ts(1_000_000),
            flow: FlowTuple {
                transport,
                src: "10.99.0.101".parse().unwrap(),
                dst: "192.0.2.80".parse().unwrap(),
                sport: 40000,
                dport,
            },
            src_mac: None,
            dst_mac: None,
            kind,
        }
    }

    fn http(name: &str, path: &str, referer: Option<&str>, cookie: Option<&str>, decrypted: bool) -> Observation {
        obs(
            ObservationKind::HttpHost {
                name: name.into(),
                path: path.into(),
                method: "GET".into(),
                referer: referer.map(Into::into),
                cookie: cookie.map(Into::into),
                decrypted,
            },
            Transport::Tcp,
            80,
        )
    }

    fn scan(w: &mut LeakWatch, observations: &[Observation]) -> Vec<(String, String, String, String)> {
        let db = TrackerDb::builder().embedded().unwrap().build();
        let mut out = Vec::new();
        w.scan(&db, |_| None, observations, &mut out);
        out.iter()
            .map(|d| match d {
                Derived::AddressLeak(l) => (
                    l.tracker.to_string(),
                    l.category_str().to_owned(),
                    l.encoding.as_str().to_owned(),
                    l.field.to_owned(),
                ),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn referer_and_cookie_leaks_are_named_by_field_and_decryption() {
        let mut w = watch();
        let referer = format!("http://shop.example/account?email={}", ME.replace('@', "%40"));
        let cookie = format!("_ga=GA1.2.3.4; em={MD5}");
        let plain = http("bouyguestelecom.solution.weborama.fr", "/pixel.gif", Some(&referer), Some(&cookie), false);
        let got = scan(&mut w, &[plain]);
        assert_eq!(
            got,
            [
                ("solution.weborama.fr".into(), "advertising".into(), "urlencoded".into(), "http-referer".into()),
                ("solution.weborama.fr".into(), "advertising".into(), "md5".into(), "http-cookie".into()),
            ]
        );
        let decrypted = http("www.google-analytics.com", &format!("/g/collect?uid={MD5}"), None, Some(&cookie), true);
        let got = scan(&mut w, &[decrypted]);
        assert_eq!(
            got,
            [
                ("google-analytics.com".into(), "analytics".into(), "md5".into(), "https-path".into()),
                ("google-analytics.com".into(), "analytics".into(), "md5".into(), "https-cookie".into()),
            ]
        );
        // A host on no list is still reported, under a constant label.
        let got = scan(&mut w, &[http("pixel.unknown-sender.example", &format!("/o?e={ME}"), None, None, false)]);
        assert_eq!(got, [(UNLISTED.into(), UNLISTED.into(), "plain".into(), "http-path".into())]);
        // Nothing watched in the request: nothing.
        assert!(
            scan(&mut w, &[http("www.google-analytics.com", "/collect?v=1", Some("http://a.example/"), None, false)])
                .is_empty()
        );
    }

    /// RFC 1035 §4.1: a query for `<md5>.open.sendgrid.net` type A, built byte by byte, through
    /// the real DNS extractor.
    #[test]
    fn dns_query_name_leak_from_real_bytes() {
        let mut msg: Vec<u8> = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in [MD5, "open", "sendgrid", "net"] {
            msg.push(label.len() as u8);
            msg.extend_from_slice(label.as_bytes());
        }
        msg.extend_from_slice(&[0, 0, 1, 0, 1]);
        let message = crate::extract::dns::parse_message(&msg).found().unwrap();
        let question = &message.questions[0];
        assert!(!message.response);
        let query = obs(
            ObservationKind::DnsQuery { name: question.name.clone(), qtype: question.qtype, qr: false, id: message.id },
            Transport::Udp,
            53,
        );
        let mut w = watch();
        let got = scan(&mut w, std::slice::from_ref(&query));
        assert_eq!(got, [("sendgrid.net".into(), "email".into(), "md5".into(), "dns-name".into())]);
        // The AAAA question of the same lookup, and the response's question: not counted again.
        let mut again = query.clone();
        again.ts = Ts(1_500_000);
        let mut response = query.clone();
        if let ObservationKind::DnsQuery { qr, .. } = &mut response.kind {
            *qr = true;
        }
        assert!(scan(&mut w, &[again, response]).is_empty());
        // Redaction of the name in what is written out.
        let mut shown = query;
        w.redact_observation(&mut shown);
        assert_eq!(shown.kind.name(), "[redacted:md5].open.sendgrid.net");
    }

    #[test]
    fn address_files() {
        let text = "# my addresses\n\n  Me@Example.com  \nnot an address\nother@example.org # work\n#x@y.z\n";
        let (ok, bad) = parse_address_file(text);
        assert_eq!(ok, ["Me@Example.com", "other@example.org"]);
        assert_eq!(bad, [4]);
    }
}
