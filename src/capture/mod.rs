//! libpcap live capture and pcap/pcapng replay: the only code that needs privileges.
//!
//! Output of this layer: a stream of [`RawPacket`]s (capture time, link type, wire length and the
//! captured bytes, borrowed for the duration of one callback). Nothing from the `pcap` or
//! `pcap-parser` crates leaks out of this module.
//!
//! * Offline ([`offline`]): [`replay`] / [`replay_merged`] / [`OfflineReader`] read pcap and pcapng
//!   through libpcap (`-` = stdin). pcapng files that libpcap refuses because their interfaces
//!   differ in link type or snapshot length are read with `pcap-parser` instead
//!   (`pcapng_fallback`), each packet with its own interface's link type.
//! * Live ([`live`]): [`open_live`] opens a TPACKET_V3 capture (never immediate mode), and
//!   [`LiveCapture::run`] polls its non-blocking descriptor until a stop flag is set.
//! * [`drop_privileges`] switches to an unprivileged user once every capture is open.
//!
//! Link types are libpcap's DLT values: a file written with LINKTYPE_RAW (101) is reported as
//! DLT_RAW = 12 on Linux, by libpcap and by the pcapng fallback alike.

pub mod keylog_file;
pub mod live;
pub mod offline;
mod pcapng_fallback;
pub mod privileges;
pub mod savefile;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod offline_tests;
#[cfg(test)]
mod pcapng_tests;
#[cfg(test)]
mod testutil;

pub use live::{CaptureStats, InterfaceInfo, LiveCapture, LiveOptions, interfaces, open_live};
pub use offline::{OfflineReader, Progress, ReplayStats, replay, replay_merged};
pub use privileges::{PrivilegeError, drop_privileges};

use crate::model::Ts;

/// One captured frame. `data` is valid only during the callback that receives it (it borrows
/// libpcap's buffer); copy what must outlive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// Capture time from the packet header (microseconds; nanosecond files are truncated).
    pub ts: Ts,
    /// libpcap DLT value of the link layer of `data` (1 Ethernet, 113 SLL, 276 SLL2, 12 raw IP…).
    pub linktype: i32,
    /// Length of the packet on the wire; `data.len()` is smaller when the snapshot length cut it.
    pub orig_len: u32,
    /// The captured bytes (caplen of them), starting with the link-layer header.
    pub data: &'a [u8],
}

/// Why capturing or replaying failed. `Display` is one line naming the file, interface or filter.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The capture file could not be opened or is not a pcap/pcapng file.
    #[error("{path}: cannot open capture: {reason}")]
    Open { path: String, reason: String },
    /// Packet number `packet` (1-based) could not be read; every packet before it was delivered.
    #[error("{path}: packet {packet}: {reason}")]
    Read { path: String, packet: u64, reason: String },
    /// A pcapng file whose interfaces differ in link type or snapshot length, which libpcap
    /// refuses, and which the built-in pcapng reader could not read either.
    #[error(
        "{path}: pcapng interfaces with different link types or snapshot lengths (libpcap: {libpcap}); \
         the built-in pcapng reader could not read it either: {reason}"
    )]
    MixedLinkTypes { path: String, libpcap: String, reason: String },
    /// Not allowed to open a live capture (not root, no CAP_NET_RAW).
    #[error(
        "cannot capture on {interface}: permission denied ({reason}) — run as root or grant the binary \
         capabilities: sudo setcap cap_net_raw,cap_net_admin+ep {exe}"
    )]
    Permission { interface: String, reason: String, exe: String },
    /// The interface does not exist, is down, or libpcap could not set it up.
    #[error("cannot capture on {interface}: {reason} (list capture devices with `pixelwatch interfaces`)")]
    Device { interface: String, reason: String },
    /// The BPF filter expression does not compile for this interface.
    #[error("invalid capture filter \"{filter}\": {reason}")]
    Filter { filter: String, reason: String },
    /// A live capture failed while running (interface went down or was removed…).
    #[error("capture on {interface} failed: {reason}")]
    Capture { interface: String, reason: String },
    /// The list of capture devices could not be obtained.
    #[error("cannot list capture devices: {reason}")]
    Interfaces { reason: String },
}

/// libpcap's LINKTYPE_ values (file headers) that differ from its DLT_ values on Linux; libpcap
/// reports the DLT, and so does the pcapng fallback.
fn linktype_to_dlt(linktype: i32) -> i32 {
    match linktype {
        100 => 11, // LINKTYPE_ATM_RFC1483 → DLT_ATM_RFC1483
        101 => 12, // LINKTYPE_RAW → DLT_RAW
        102 => 15, // LINKTYPE_SLIP_BSDOS → DLT_SLIP_BSDOS
        103 => 16, // LINKTYPE_PPP_BSDOS → DLT_PPP_BSDOS
        other => other,
    }
}

/// Capture time from libpcap's `struct timeval` (`time_t`/`suseconds_t` are i64 on 64-bit Linux,
/// i32 on some 32-bit targets).
#[inline]
fn timeval_ts(tv_sec: impl Into<i64>, tv_usec: impl Into<i64>) -> Ts {
    Ts::from_secs_micros(tv_sec.into(), tv_usec.into())
}

/// The message libpcap attached to an error (the `pcap` crate's errors are strings).
fn pcap_reason(err: &pcap::Error) -> String {
    match err {
        pcap::Error::PcapError(msg) if !msg.is_empty() => msg.clone(),
        pcap::Error::PcapError(_) => "unknown libpcap error".to_owned(),
        other => other.to_string(),
    }
}
