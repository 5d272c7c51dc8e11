//! Replay of pcap and pcapng files (or stdin) through libpcap, with the pcap-parser fallback for
//! pcapng files whose interfaces differ in link type or snapshot length.

use std::io::IsTerminal as _;

use pcap::{Capture, Offline, Precision};

use super::pcapng_fallback::PcapngFallback;
use super::{CaptureError, RawPacket, pcap_reason, timeval_ts};
use crate::model::Ts;

/// [`replay`] reports progress every this many packets (and once at the end).
pub const PROGRESS_EVERY: u64 = 65_536;

/// Totals of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayStats {
    /// Packets delivered to the callback.
    pub packets: u64,
    /// Sum of their wire lengths (`orig_len`).
    pub bytes: u64,
    /// Files that were read by the built-in pcapng reader because libpcap refused them.
    pub fallback_files: u32,
}

/// How far a replay is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Packets delivered so far.
    pub packets: u64,
    /// Approximate bytes of the input consumed (record headers + captured bytes).
    pub bytes_read: u64,
    /// Size of the input files; 0 when unknown (stdin, pipes).
    pub total_bytes: u64,
}

/// A pcap or pcapng file opened for reading, one packet at a time.
pub struct OfflineReader {
    path: String,
    /// libpcap's handle; `None` when the file went straight to the fallback.
    libpcap: Option<Capture<Offline>>,
    /// DLT of every packet read through libpcap.
    linktype: i32,
    /// Set once libpcap refused the file; from then on packets come from `fallback`.
    use_fallback: bool,
    fallback: Option<Box<PcapngFallback>>,
    /// The input can be opened a second time from the start (a regular file).
    rereadable: bool,
    /// Bytes around each record: 16 for pcap, 32 for a pcapng Enhanced Packet Block.
    record_overhead: u64,
    /// pcapng pads packet data to 32 bits (mask 3); pcap does not (0).
    pad_mask: u64,
    packets: u64,
    bytes: u64,
    bytes_read: u64,
    file_size: u64,
}

impl OfflineReader {
    /// Opens `path` (`-` = standard input) as pcap or pcapng.
    pub fn open(path: &str) -> Result<OfflineReader, CaptureError> {
        let open_err = |reason: String| CaptureError::Open { path: path.to_owned(), reason };
        let (file_size, rereadable) = if path == "-" {
            if std::io::stdin().is_terminal() {
                return Err(open_err("standard input is a terminal, not a capture file".to_owned()));
            }
            (0, false)
        } else {
            let meta = std::fs::metadata(path).map_err(|e| open_err(io_reason(&e)))?;
            if meta.is_dir() {
                return Err(open_err("is a directory".to_owned()));
            }
            if meta.is_file() { (meta.len(), true) } else { (0, false) }
        };
        let mut reader = OfflineReader {
            path: path.to_owned(),
            libpcap: None,
            linktype: 0,
            use_fallback: false,
            fallback: None,
            rereadable,
            record_overhead: 16,
            pad_mask: 0,
            packets: 0,
            bytes: 0,
            bytes_read: 0,
            file_size,
        };
        // libpcap itself reads standard input when the name is "-".
        match Capture::from_file_with_precision(path, Precision::Micro) {
            Ok(cap) => {
                reader.linktype = cap.get_datalink().0;
                if cap.major_version() == 1 {
                    reader.record_overhead = 32; // pcapng reports version 1.0
                    reader.pad_mask = 3;
                } else {
                    reader.bytes_read = 24; // pcap file header
                }
                reader.libpcap = Some(cap);
            }
            Err(e) => {
                let reason = pcap_reason(&e);
                if !is_mixed_interfaces(&reason) {
                    return Err(open_err(strip_path(&reason, path).to_owned()));
                }
                reader.fallback = Some(reader.open_fallback(&reason)?);
                reader.use_fallback = true;
            }
        }
        Ok(reader)
    }

    /// The next packet in file order; `Ok(None)` at the clean end of the file. After an error,
    /// every earlier packet has been delivered and the error names the failing packet.
    #[inline]
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.use_fallback {
            self.libpcap = None; // close libpcap's handle once the fallback has taken over
        } else {
            let Some(cap) = self.libpcap.as_mut() else {
                return Ok(None);
            };
            match cap.next_packet() {
                Ok(p) => {
                    self.packets += 1;
                    self.bytes += u64::from(p.header.len);
                    self.bytes_read +=
                        ((u64::from(p.header.caplen) + self.pad_mask) & !self.pad_mask) + self.record_overhead;
                    return Ok(Some(RawPacket {
                        ts: timeval_ts(p.header.ts.tv_sec, p.header.ts.tv_usec),
                        linktype: self.linktype,
                        orig_len: p.header.len,
                        data: p.data,
                    }));
                }
                Err(pcap::Error::NoMorePackets) => return Ok(None),
                Err(e) => {
                    let reason = pcap_reason(&e);
                    if !is_mixed_interfaces(&reason) {
                        return Err(CaptureError::Read {
                            path: self.path.clone(),
                            packet: self.packets + 1,
                            reason: strip_path(&reason, &self.path).to_owned(),
                        });
                    }
                    // The `packets` already delivered are skipped by the fallback.
                    self.fallback = Some(open_fallback(&self.path, self.rereadable, self.packets, &reason)?);
                    self.use_fallback = true;
                }
            }
        }
        let Some(fallback) = self.fallback.as_mut() else {
            return Ok(None);
        };
        match fallback.next_packet() {
            Ok(Some(p)) => {
                self.packets += 1;
                self.bytes += u64::from(p.orig_len);
                Ok(Some(p))
            }
            Ok(None) => Ok(None),
            Err(reason) => Err(CaptureError::Read { path: self.path.clone(), packet: self.packets + 1, reason }),
        }
    }

    fn open_fallback(&self, libpcap_reason: &str) -> Result<Box<PcapngFallback>, CaptureError> {
        open_fallback(&self.path, self.rereadable, self.packets, libpcap_reason)
    }

    /// The path given to [`OfflineReader::open`].
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the file is being read by the built-in pcapng reader (libpcap refused it).
    pub fn used_fallback(&self) -> bool {
        self.use_fallback
    }

    pub fn progress(&self) -> Progress {
        let bytes_read = match &self.fallback {
            Some(fallback) if self.use_fallback => fallback.bytes_read(),
            _ => self.bytes_read,
        };
        Progress { packets: self.packets, bytes_read, total_bytes: self.file_size }
    }

    pub fn stats(&self) -> ReplayStats {
        ReplayStats { packets: self.packets, bytes: self.bytes, fallback_files: u32::from(self.use_fallback) }
    }
}

fn open_fallback(
    path: &str,
    rereadable: bool,
    skip: u64,
    libpcap_reason: &str,
) -> Result<Box<PcapngFallback>, CaptureError> {
    let mixed = |reason: String| CaptureError::MixedLinkTypes {
        path: path.to_owned(),
        libpcap: strip_path(libpcap_reason, path).to_owned(),
        reason,
    };
    if !rereadable {
        return Err(mixed(
            "it has to be read again from the start, which standard input or a pipe cannot do: \
             save it to a regular file first"
                .to_owned(),
        ));
    }
    PcapngFallback::open(path, skip).map(Box::new).map_err(mixed)
}

/// libpcap's refusal of a pcapng file whose interfaces differ (sf-pcapng.c, libpcap 1.10):
/// "an interface has a type 113 different from the type of the first interface" or
/// "an interface has a snapshot length 60 different from the snapshot length of the first interface".
fn is_mixed_interfaces(reason: &str) -> bool {
    reason.contains("different from the type of the first interface")
        || reason.contains("different from the snapshot length of the first interface")
}

/// libpcap sometimes starts its message with the file name; ours already names the file.
fn strip_path<'a>(reason: &'a str, path: &str) -> &'a str {
    reason.strip_prefix(path).and_then(|r| r.strip_prefix(": ")).unwrap_or(reason)
}

/// An I/O error without Rust's " (os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s.get(..i).unwrap_or(&s).to_owned(),
        None => s,
    }
}

/// Replays one capture file (`-` = stdin): `on_packet` for every packet in file order, `progress`
/// every [`PROGRESS_EVERY`] packets and once at the end.
pub fn replay(
    path: &str,
    on_packet: &mut dyn FnMut(&RawPacket<'_>),
    progress: &mut dyn FnMut(Progress),
) -> Result<ReplayStats, CaptureError> {
    let mut reader = OfflineReader::open(path)?;
    let mut next_progress = PROGRESS_EVERY;
    while let Some(packet) = reader.next_packet()? {
        on_packet(&packet);
        if reader.packets >= next_progress {
            next_progress += PROGRESS_EVERY;
            progress(reader.progress());
        }
    }
    progress(reader.progress());
    Ok(reader.stats())
}

/// The packet at the head of one input of [`replay_merged`], copied out of its reader.
struct Head {
    ts: Ts,
    linktype: i32,
    orig_len: u32,
    data: Vec<u8>,
    valid: bool,
}

impl Head {
    fn fill(&mut self, reader: &mut OfflineReader) -> Result<(), CaptureError> {
        match reader.next_packet()? {
            Some(p) => {
                self.ts = p.ts;
                self.linktype = p.linktype;
                self.orig_len = p.orig_len;
                self.data.clear();
                self.data.extend_from_slice(p.data);
                self.valid = true;
            }
            None => self.valid = false,
        }
        Ok(())
    }
}

/// Replays several capture files as one stream in capture-time order (a merge on the packet at
/// the head of each file; ties go to the file named first). One path is the same as [`replay`].
/// At most one path may be `-`. All files are open at the same time.
pub fn replay_merged(
    paths: &[&str],
    on_packet: &mut dyn FnMut(&RawPacket<'_>),
    progress: &mut dyn FnMut(Progress),
) -> Result<ReplayStats, CaptureError> {
    if let [path] = paths {
        return replay(path, on_packet, progress);
    }
    if paths.iter().filter(|p| **p == "-").count() > 1 {
        return Err(CaptureError::Open { path: "-".to_owned(), reason: "standard input named twice".to_owned() });
    }
    let mut readers = paths.iter().map(|p| OfflineReader::open(p)).collect::<Result<Vec<_>, _>>()?;
    let mut heads: Vec<Head> = Vec::with_capacity(readers.len());
    for reader in &mut readers {
        let mut head = Head { ts: Ts(0), linktype: 0, orig_len: 0, data: Vec::new(), valid: false };
        head.fill(reader)?;
        heads.push(head);
    }
    let total_progress = |readers: &[OfflineReader]| {
        readers.iter().fold(Progress::default(), |acc, r| {
            let p = r.progress();
            Progress {
                packets: acc.packets + p.packets,
                bytes_read: acc.bytes_read + p.bytes_read,
                total_bytes: acc.total_bytes + p.total_bytes,
            }
        })
    };
    let mut delivered = 0u64;
    let mut next_progress = PROGRESS_EVERY;
    loop {
        let mut best: Option<(usize, Ts)> = None;
        for (i, head) in heads.iter().enumerate() {
            if head.valid && best.is_none_or(|(_, ts)| head.ts < ts) {
                best = Some((i, head.ts));
            }
        }
        let Some((i, _)) = best else { break };
        let (Some(head), Some(reader)) = (heads.get_mut(i), readers.get_mut(i)) else {
            break;
        };
        on_packet(&RawPacket { ts: head.ts, linktype: head.linktype, orig_len: head.orig_len, data: &head.data });
        head.fill(reader)?;
        delivered += 1;
        if delivered >= next_progress {
            next_progress += PROGRESS_EVERY;
            progress(total_progress(&readers));
        }
    }
    progress(total_progress(&readers));
    Ok(readers.iter().fold(ReplayStats::default(), |acc, r| {
        let s = r.stats();
        ReplayStats {
            packets: acc.packets + s.packets,
            bytes: acc.bytes + s.bytes,
            fallback_files: acc.fallback_files + s.fallback_files,
        }
    }))
}
