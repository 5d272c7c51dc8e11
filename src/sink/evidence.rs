//! `--evidence DIR`: for each e-mail open, a folder a person can attach to a complaint — the
//! open's events (JSON Lines), a pcap of only the packets of the flows involved (libpcap
//! savefile), and a README.txt saying when, which device, which companies, which leaks, and which
//! lists decided it.
//!
//! Kept in memory for that: the most recent packets (bounded in bytes and capture time) with
//! their flow, and the most recent derived-event lines. Only with `--evidence`: without it the
//! pipeline never copies a packet.

use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::capture::savefile::{Frame, write_pcap};
use crate::correlate::opens::EmailOpen;
use crate::model::{FlowTuple, Transport, Ts};

/// Packet bytes kept for evidence.
pub const MAX_BYTES: usize = 32 << 20;
/// Derived-event lines kept for evidence.
const MAX_LINES: usize = 20_000;
/// Evidence folders written per run: a flood of "opens" cannot fill a disk.
const MAX_FOLDERS: u64 = 10_000;

/// A flow in both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey(Transport, (IpAddr, u16), (IpAddr, u16));

impl FlowKey {
    fn of(f: &FlowTuple) -> FlowKey {
        let (a, b) = ((f.src, f.sport), (f.dst, f.dport));
        if a <= b { FlowKey(f.transport, a, b) } else { FlowKey(f.transport, b, a) }
    }
}

struct Kept {
    ts: Ts,
    linktype: i32,
    flow: Option<FlowKey>,
    data: Box<[u8]>,
    wire_len: u32,
}

/// See the module documentation.
pub struct Evidence {
    dir: PathBuf,
    /// Packets older than this (capture time) before the newest are dropped.
    keep: i64,
    packets: VecDeque<Kept>,
    bytes: usize,
    lines: VecDeque<(Ts, FlowKey, String)>,
    /// What decided the opens: version and lists, for the README.
    lists: String,
    /// Capture time of the newest packet dropped from the buffer.
    dropped_until: Option<Ts>,
    pub written: u64,
    /// The first error writing a folder (the run goes on; later errors are only counted).
    pub error: Option<String>,
}

impl Evidence {
    /// `keep_micros`: how far back packets are kept (the mail context plus the open gap, and
    /// some margin); `lists`: one line per list in force.
    pub fn new(dir: PathBuf, keep_micros: i64, lists: String) -> Evidence {
        Evidence {
            dir,
            keep: keep_micros.max(Ts::MICROS_PER_SEC),
            packets: VecDeque::new(),
            bytes: 0,
            lines: VecDeque::new(),
            lists,
            dropped_until: None,
            written: 0,
            error: None,
        }
    }

    /// Keeps a copy of one captured packet (`flow`: its TCP/UDP flow when it has one).
    pub fn packet(&mut self, ts: Ts, linktype: i32, data: &[u8], wire_len: u32, flow: Option<&FlowTuple>) {
        let data = &data[..data.len().min(MAX_BYTES / 64)];
        self.packets.push_back(Kept { ts, linktype, flow: flow.map(FlowKey::of), data: data.into(), wire_len });
        self.bytes += data.len();
        while let Some(old) = self.packets.front() {
            if self.bytes <= MAX_BYTES && ts.since(old.ts) <= self.keep {
                break;
            }
            self.bytes -= old.data.len();
            self.dropped_until = Some(old.ts);
            self.packets.pop_front();
        }
    }

    /// Keeps a derived event (a tracker contact, a proxied fetch, an address leak) as written.
    pub fn line(&mut self, ts: Ts, flow: &FlowTuple, line: &str) {
        if self.lines.len() >= MAX_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back((ts, FlowKey::of(flow), line.to_owned()));
    }

    /// Writes the folder of one open; `open_line` is its `email_open` event.
    pub fn open(&mut self, o: &EmailOpen, open_line: &str) {
        if self.written >= MAX_FOLDERS {
            return;
        }
        if let Err(e) = self.write_open(o, open_line) {
            self.error.get_or_insert(e);
        }
    }

    fn write_open(&mut self, o: &EmailOpen, open_line: &str) -> Result<(), String> {
        let flows: HashSet<FlowKey> = o.flows.iter().map(FlowKey::of).collect();
        let since = o.context.as_ref().map_or(o.start, |c| c.ts.min(o.start));
        let folder = self.folder_for(o)?;
        // Events: those of the open's flows since its context, then the open itself.
        let mut events = String::new();
        for (ts, flow, line) in &self.lines {
            if *ts >= since && flows.contains(flow) {
                events.push_str(line);
                events.push('\n');
            }
        }
        events.push_str(open_line);
        events.push('\n');
        write_file(&folder.join("events.jsonl"), events.as_bytes())?;
        // Packets: every kept packet of those flows, in the link type most of them have.
        let mine: Vec<&Kept> = self.packets.iter().filter(|k| k.flow.is_some_and(|f| flows.contains(&f))).collect();
        let mut by_type: Vec<(i32, usize)> = Vec::new();
        for k in &mine {
            match by_type.iter_mut().find(|(t, _)| *t == k.linktype) {
                Some((_, n)) => *n += 1,
                None => by_type.push((k.linktype, 1)),
            }
        }
        let linktype = by_type.iter().max_by_key(|(_, n)| *n).map_or(1, |(t, _)| *t);
        let frames = mine.iter().filter(|k| k.linktype == linktype).map(|k| Frame {
            ts: k.ts,
            data: &k.data,
            wire_len: k.wire_len,
        });
        let packets = write_pcap(&folder.join("packets.pcap"), linktype, frames)?;
        let first_kept = self.dropped_until.and(self.packets.front().map(|k| k.ts));
        write_file(&folder.join("README.txt"), self.readme(o, &events, packets, since, first_kept).as_bytes())?;
        self.written += 1;
        Ok(())
    }

    /// `DIR/2026-11-27T23-24-10.065774Z_10.99.0.101/` (a suffix when it exists already).
    fn folder_for(&self, o: &EmailOpen) -> Result<PathBuf, String> {
        let name = format!("{}_{}", o.start.rfc3339(), o.client).replace(':', "-");
        for n in 1..100 {
            let path = if n == 1 { self.dir.join(&name) } else { self.dir.join(format!("{name}_{n}")) };
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("--evidence {}: {e}", path.display())),
            }
        }
        Err(format!("--evidence {}: too many folders named {name}", self.dir.display()))
    }

    fn readme(&self, o: &EmailOpen, events: &str, packets: usize, since: Ts, first_kept: Option<Ts>) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "E-mail open recorded by pixelwatch {}", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(s, "==========================================\n");
        let _ = writeln!(s, "When:    {} to {} (UTC, capture clock)", o.start.rfc3339(), o.end.rfc3339());
        let device = o.who.as_ref().and_then(|w| w.host_name.as_deref());
        let _ = writeln!(
            s,
            "Device:  {}{}{}",
            o.client,
            if o.client.to_string() == o.client_ip.to_string() { String::new() } else { format!(" ({})", o.client_ip) },
            device
                .map(|d| format!(", calls itself \"{}\" (DHCP)", crate::extract::name::display(d)))
                .unwrap_or_default()
        );
        let _ = writeln!(s, "Confidence: {}", o.confidence.as_str());
        match &o.context {
            Some(c) => {
                let _ = writeln!(
                    s,
                    "Why an e-mail: mail activity ({}{}) at {}, {:.1} s before the first tracker contact.",
                    c.kind.as_str(),
                    c.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default(),
                    c.ts.rfc3339(),
                    o.start.since(c.ts) as f64 / 1e6
                );
            }
            None => {
                let _ = writeln!(s, "Why an e-mail: the burst contacted an e-mail service provider's tracking host.");
            }
        }
        let _ = writeln!(s, "\nCompanies told that this e-mail was opened:");
        if o.trackers.is_empty() {
            let proxies: Vec<&str> = o.proxies.iter().map(|p| &**p).collect();
            let _ = writeln!(
                s,
                "  none visible: the images were fetched through {} (the tracker behind the proxy is invisible from here)",
                proxies.join(", ")
            );
        }
        for t in &o.trackers {
            let _ = writeln!(
                s,
                "  - {} ({}, list entry {}): {} contact(s)",
                t.company,
                t.category.as_str(),
                t.tracker,
                t.contacts
            );
        }
        let _ = writeln!(s, "\nAddress leaks (your address, or a hash of it, sent to a tracker):");
        let leaks = leak_lines(events);
        if leaks.is_empty() {
            let _ = writeln!(
                s,
                "  none found (pixelwatch looks for the addresses given with --watch-address in plain-HTTP requests, DNS names,\n  and HTTPS requests it can decrypt with --tls-keylog; over HTTPS without a key log only host names are visible)"
            );
        }
        for l in leaks {
            let _ = writeln!(s, "  - {l}");
        }
        let _ = writeln!(s, "\nFiles:");
        let _ = writeln!(
            s,
            "  events.jsonl  the events of the flows involved since {}, then the email_open event",
            since.rfc3339()
        );
        let _ = writeln!(
            s,
            "  packets.pcap  {packets} packet(s) of those flows, as captured (open with Wireshark){}",
            first_kept.map(|t| format!("; packets before {} were no longer kept", t.rfc3339())).unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "                The packets are the proof: they hold the requests exactly as sent, a leaked address\n                or hash included (events.jsonl and this file never do). Share them only with whom you\n                complain to."
        );
        let _ = writeln!(s, "\nDecided with these tracker lists:\n{}", self.lists);
        let _ = writeln!(
            s,
            "Rule: a burst of tracker contacts (gaps under --open-gap) is an e-mail open when it holds an e-mail\nservice provider's tracker or follows mail activity of the same device within --mail-context."
        );
        s
    }
}

/// `company (list entry tracker): ENCODING of the address in FIELD, at TS` for each
/// `address_leak` event among the open's events.
fn leak_lines(events: &str) -> Vec<String> {
    events
        .lines()
        .filter(|l| l.starts_with("{\"kind\":\"address_leak\""))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let text = |k: &str| v[k].as_str().unwrap_or("?").to_owned();
            format!(
                "{} (list entry {}): {} of the address in the {}, at {}",
                text("company"),
                text("tracker"),
                text("encoding"),
                text("field"),
                text("ts")
            )
        })
        .collect()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("--evidence {}: {e}", path.display()))
}

/// One line per list for the README: name, format, entries; the embedded list with a digest of
/// its text (FNV-1a 64), so that a reader can tell which version decided.
pub fn describe_lists(db: &crate::trackers::TrackerDb) -> String {
    let mut s = String::new();
    for l in db.lists() {
        let digest = if l.name == "embedded" {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in crate::trackers::DEFAULT_LIST.bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            format!(", text digest fnv1a64:{h:016x}")
        } else {
            String::new()
        };
        let _ = writeln!(s, "  - {} ({}, {} entries{digest})", l.name, l.format, l.entries);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packet_buffer_is_bounded_in_bytes_and_capture_time() {
        let mut e = Evidence::new(PathBuf::from("/nonexistent"), 10 * Ts::MICROS_PER_SEC, String::new());
        let data = vec![0u8; 1500];
        // 60 000 packets of 1500 bytes in 1 s: more than MAX_BYTES.
        for i in 0..60_000 {
            e.packet(Ts(i * 16), 1, &data, 1500, None);
        }
        assert!(e.bytes <= MAX_BYTES && e.bytes > MAX_BYTES - 1500, "{}", e.bytes);
        assert_eq!(e.bytes, e.packets.iter().map(|k| k.data.len()).sum::<usize>());
        // 20 s later, one packet: everything older than 10 s is gone.
        e.packet(Ts(21 * Ts::MICROS_PER_SEC), 1, &data, 1500, None);
        assert_eq!(e.packets.len(), 1);
        assert!(e.dropped_until.is_some());
        // A huge frame is cut.
        e.packet(Ts(21 * Ts::MICROS_PER_SEC), 1, &vec![0u8; 10 << 20], 10 << 20, None);
        assert!(e.bytes <= 1500 + MAX_BYTES / 64);
        for _ in 0..(MAX_LINES + 10) {
            e.line(
                Ts(0),
                &FlowTuple {
                    transport: Transport::Udp,
                    src: [0, 0, 0, 0].into(),
                    dst: [0, 0, 0, 0].into(),
                    sport: 1,
                    dport: 2,
                },
                "{}",
            );
        }
        assert_eq!(e.lines.len(), MAX_LINES);
    }
}
