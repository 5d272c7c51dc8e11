//! libpcap live capture and pcap/pcapng replay: the only code that needs privileges.
//! (Provisional minimal version; replaced by the capture branch.)

use std::sync::atomic::AtomicBool;

use crate::model::Ts;

pub struct RawPacket<'a> {
    pub ts: Ts,
    pub linktype: i32,
    pub orig_len: u32,
    pub data: &'a [u8],
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {reason}")]
    Open { path: String, reason: String },
    #[error("{path}: packet {packet}: {reason}")]
    Read { path: String, packet: u64, reason: String },
    #[error("bad filter {filter:?}: {reason}")]
    Filter { filter: String, reason: String },
    #[error("{0}")]
    Other(String),
}

pub struct ReplayStats {
    pub packets: u64,
    pub bytes: u64,
}

pub fn replay(
    path: &str,
    on_packet: &mut dyn FnMut(&RawPacket<'_>) -> bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ReplayStats, CaptureError> {
    let mut cap =
        pcap::Capture::from_file(path).map_err(|e| CaptureError::Open { path: path.into(), reason: e.to_string() })?;
    let linktype = cap.get_datalink().0;
    let mut stats = ReplayStats { packets: 0, bytes: 0 };
    loop {
        match cap.next_packet() {
            Ok(p) => {
                stats.packets += 1;
                let ts = Ts::from_secs_micros(p.header.ts.tv_sec, p.header.ts.tv_usec);
                let raw = RawPacket { ts, linktype, orig_len: p.header.len, data: p.data };
                if !on_packet(&raw) {
                    break;
                }
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => {
                return Err(CaptureError::Read { path: path.into(), packet: stats.packets + 1, reason: e.to_string() });
            }
        }
    }
    progress(0, 0);
    Ok(stats)
}

pub struct LiveOptions {
    pub interface: Option<String>,
    pub filter: Option<String>,
    pub snaplen: i32,
    pub buffer_bytes: i32,
    pub timeout_ms: i32,
    pub promisc: bool,
}

pub struct CaptureStats {
    pub received: u64,
    pub dropped_kernel: u64,
    pub dropped_interface: u64,
}

pub struct LiveCapture;

impl LiveCapture {
    pub fn linktype(&self) -> i32 {
        1
    }
    pub fn interface(&self) -> &str {
        ""
    }
    pub fn run(
        &mut self,
        _stop: &AtomicBool,
        _on_packet: &mut dyn FnMut(&RawPacket<'_>),
        _on_tick: &mut dyn FnMut(CaptureStats),
    ) -> Result<(), CaptureError> {
        Err(CaptureError::Other("not yet".into()))
    }
}

pub fn open_live(_opts: &LiveOptions) -> Result<LiveCapture, CaptureError> {
    Err(CaptureError::Other("not yet".into()))
}

pub fn drop_privileges(_user: &str) -> Result<(), CaptureError> {
    Err(CaptureError::Other("not yet".into()))
}

pub struct InterfaceInfo(pub String);
impl std::fmt::Display for InterfaceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn interfaces() -> Result<Vec<InterfaceInfo>, CaptureError> {
    Ok(vec![])
}
