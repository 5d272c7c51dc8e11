//! pcapng reader built on `pcap-parser`, for files libpcap refuses because their interfaces
//! differ in link type or snapshot length. Each packet keeps its own interface's link type and
//! time resolution.

use std::fs::File;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use pcap_parser::traits::PcapReaderIterator as _;
use pcap_parser::{Block, InterfaceDescriptionBlock, PcapBlockOwned, PcapError, PcapNGReader};

use super::{RawPacket, linktype_to_dlt};
use crate::model::Ts;

/// Holds any block of a 256 KiB snaplen after one doubling; grown on demand.
const INITIAL_BUFFER: usize = 256 << 10;
/// No legitimate block is larger (libpcap's own limit is 16 MiB too).
const MAX_BUFFER: usize = 16 << 20;
/// Bound on Interface Description Blocks per section (state grows with each).
const MAX_INTERFACES: usize = 65_536;
/// Offset of the packet data in an Enhanced Packet Block (RFC-draft pcapng §4.3): block type,
/// block total length, interface id, timestamp (2 × 32 bits), captured length, original length.
const EPB_DATA_OFFSET: usize = 28;
/// Offset of the packet data in a Simple Packet Block (§4.4): type, length, original length.
const SPB_DATA_OFFSET: usize = 12;

/// What we keep of an Interface Description Block (pcapng §4.2).
struct Interface {
    /// DLT value (LINKTYPE_RAW 101 → 12, as libpcap reports it).
    linktype: i32,
    /// Timestamp units per second, from if_tsresol (default 10^6).
    units_per_sec: u64,
    /// if_tsoffset: seconds added to every timestamp.
    offset_secs: i64,
    /// SnapLen; 0 = no limit.
    snaplen: u32,
}

impl Interface {
    fn from_idb(idb: &InterfaceDescriptionBlock<'_>, index: usize) -> Result<Interface, String> {
        Ok(Interface {
            linktype: linktype_to_dlt(idb.linktype.0),
            units_per_sec: units_per_sec(idb.if_tsresol)
                .ok_or_else(|| format!("interface {index} has an invalid if_tsresol {:#04x}", idb.if_tsresol))?,
            offset_secs: idb.if_tsoffset,
            snaplen: idb.snaplen,
        })
    }

    /// Timestamp of an Enhanced Packet Block: a 64-bit count of if_tsresol units since
    /// 1970-01-01 plus if_tsoffset seconds (pcapng §4.3, §4.2 if_tsresol/if_tsoffset); truncated
    /// to microseconds, as libpcap does.
    fn ts(&self, high: u32, low: u32) -> Ts {
        let units = (u64::from(high) << 32) | u64::from(low);
        let secs = i64::try_from(units / self.units_per_sec).unwrap_or(i64::MAX);
        let frac = u128::from(units % self.units_per_sec);
        let micros = i64::try_from(frac * 1_000_000 / u128::from(self.units_per_sec)).unwrap_or(0);
        Ts::from_secs_micros(secs.saturating_add(self.offset_secs), micros)
    }
}

/// if_tsresol (pcapng §4.2): most significant bit clear → 10^-n seconds, set → 2^-n seconds.
fn units_per_sec(tsresol: u8) -> Option<u64> {
    let n = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 { 10u64.checked_pow(n) } else { 1u64.checked_shl(n).filter(|_| n < 64) }
}

/// A `File` that remembers the last I/O error (pcap-parser only says "ReadError").
struct Source {
    file: File,
    last_error: Arc<Mutex<Option<io::Error>>>,
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let kind = e.kind();
                    if let Ok(mut slot) = self.last_error.lock() {
                        *slot = Some(e);
                    }
                    return Err(io::Error::from(kind));
                }
                Ok(n) => return Ok(n),
            }
        }
    }
}

/// Location of the next packet inside the reader's buffer.
struct Found {
    ts: Ts,
    linktype: i32,
    orig_len: u32,
    start: usize,
    len: usize,
}

pub(super) struct PcapngFallback {
    reader: PcapNGReader<Source>,
    last_error: Arc<Mutex<Option<io::Error>>>,
    interfaces: Vec<Interface>,
    /// Length of the block returned last; consumed at the next call.
    pending: usize,
    /// Packet blocks still to skip (libpcap delivered them before it gave up).
    skip: u64,
    buffer_size: usize,
}

impl PcapngFallback {
    /// Opens `path` and skips its first `skip` packets.
    pub(super) fn open(path: &str, skip: u64) -> Result<PcapngFallback, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let last_error = Arc::new(Mutex::new(None));
        let source = Source { file, last_error: Arc::clone(&last_error) };
        let reader = PcapNGReader::new(INITIAL_BUFFER, source).map_err(|e| match e {
            PcapError::ReadError => "read error".to_owned(),
            PcapError::Incomplete(_) | PcapError::UnexpectedEof => "truncated section header block".to_owned(),
            _ => "not a pcapng file (bad section header block)".to_owned(),
        })?;
        Ok(PcapngFallback { reader, last_error, interfaces: Vec::new(), pending: 0, skip, buffer_size: INITIAL_BUFFER })
    }

    /// Bytes of the file consumed so far.
    pub(super) fn bytes_read(&self) -> u64 {
        u64::try_from(self.reader.consumed()).unwrap_or(u64::MAX)
    }

    /// The next Enhanced or Simple Packet Block in file order; `Ok(None)` at a clean end.
    pub(super) fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, String> {
        let found = loop {
            if self.pending > 0 {
                self.reader.consume(self.pending);
                self.pending = 0;
            }
            let before = self.reader.data().len();
            match self.reader.next() {
                Ok((len, block)) => {
                    self.pending = len;
                    match block {
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => self.interfaces.clear(),
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            if self.interfaces.len() >= MAX_INTERFACES {
                                return Err(format!("more than {MAX_INTERFACES} interfaces in one section"));
                            }
                            self.interfaces.push(Interface::from_idb(&idb, self.interfaces.len())?);
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let Some(iface) = usize::try_from(epb.if_id).ok().and_then(|i| self.interfaces.get(i))
                            else {
                                return Err(format!(
                                    "packet refers to interface {} but the section describes {}",
                                    epb.if_id,
                                    self.interfaces.len()
                                ));
                            };
                            if self.skip > 0 {
                                self.skip -= 1;
                                continue;
                            }
                            let caplen = usize::try_from(epb.caplen).unwrap_or(usize::MAX).min(epb.data.len());
                            break Found {
                                ts: iface.ts(epb.ts_high, epb.ts_low),
                                linktype: iface.linktype,
                                orig_len: epb.origlen,
                                start: EPB_DATA_OFFSET,
                                len: caplen,
                            };
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            // §4.4: captured length = min(original length, SnapLen of interface 0).
                            let Some(iface) = self.interfaces.first() else {
                                return Err("simple packet block before any interface description".to_owned());
                            };
                            if self.skip > 0 {
                                self.skip -= 1;
                                continue;
                            }
                            let mut caplen = usize::try_from(spb.origlen).unwrap_or(usize::MAX).min(spb.data.len());
                            if iface.snaplen != 0 {
                                caplen = caplen.min(usize::try_from(iface.snaplen).unwrap_or(usize::MAX));
                            }
                            // A Simple Packet Block has no timestamp; libpcap reports 0 as well.
                            break Found {
                                ts: Ts(0),
                                linktype: iface.linktype,
                                orig_len: spb.origlen,
                                start: SPB_DATA_OFFSET,
                                len: caplen,
                            };
                        }
                        _ => {}
                    }
                }
                Err(PcapError::Eof) => return Ok(None),
                Err(PcapError::Incomplete(_)) => {
                    self.refill()?;
                    if self.reader.data().len() == before && !self.reader.reader_exhausted() {
                        self.grow()?;
                    }
                }
                Err(PcapError::BufferTooSmall) => {
                    self.grow()?;
                    self.refill()?;
                }
                Err(PcapError::UnexpectedEof) => {
                    return Err("truncated pcapng file: it ends inside a block".to_owned());
                }
                Err(PcapError::ReadError) => return Err(self.io_error()),
                Err(PcapError::HeaderNotRecognized) => return Err("not a pcapng block".to_owned()),
                Err(PcapError::NomError(_, kind)) | Err(PcapError::OwnedNomError(_, kind)) => {
                    return Err(format!("malformed pcapng block ({kind:?})"));
                }
            }
        };
        let data = self
            .reader
            .data()
            .get(found.start..found.start.saturating_add(found.len))
            .ok_or_else(|| "packet data outside its block".to_owned())?;
        Ok(Some(RawPacket { ts: found.ts, linktype: found.linktype, orig_len: found.orig_len, data }))
    }

    fn refill(&mut self) -> Result<(), String> {
        if self.reader.refill().is_err() {
            return Err(self.io_error());
        }
        Ok(())
    }

    fn grow(&mut self) -> Result<(), String> {
        let new_size = self.buffer_size.saturating_mul(2);
        if new_size > MAX_BUFFER || !self.reader.grow(new_size) {
            return Err(format!("a pcapng block is larger than {} MiB (corrupt block length?)", MAX_BUFFER >> 20));
        }
        self.buffer_size = new_size;
        Ok(())
    }

    fn io_error(&self) -> String {
        match self.last_error.lock().ok().and_then(|mut e| e.take()) {
            Some(e) => format!("read error: {e}"),
            None => "read error".to_owned(),
        }
    }
}
