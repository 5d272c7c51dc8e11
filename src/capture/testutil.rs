//! Test helpers for the capture layer: corpus location, pcap/pcapng byte builders, owned packets,
//! and re-running one test of this binary in a child process.

use std::path::{Path, PathBuf};

use super::{CaptureError, OfflineReader, RawPacket, ReplayStats, replay};
use crate::model::Ts;

/// A packet copied out of a callback.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct OwnedPacket {
    pub ts: Ts,
    pub linktype: i32,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

impl OwnedPacket {
    pub fn from_raw(p: &RawPacket<'_>) -> OwnedPacket {
        OwnedPacket { ts: p.ts, linktype: p.linktype, orig_len: p.orig_len, data: p.data.to_vec() }
    }
}

/// Replays `path`, keeping every delivered packet and the result.
pub(crate) fn collect(path: &Path) -> (Vec<OwnedPacket>, Result<ReplayStats, CaptureError>) {
    let mut packets = Vec::new();
    let result = replay(path.to_str().unwrap_or("?"), &mut |p| packets.push(OwnedPacket::from_raw(p)), &mut |_| {});
    (packets, result)
}

/// Reads `path` with [`OfflineReader`] until the end or the first error.
pub(crate) fn collect_reader(reader: &mut OfflineReader) -> (Vec<OwnedPacket>, Option<CaptureError>) {
    let mut packets = Vec::new();
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => packets.push(OwnedPacket::from_raw(&p)),
            Ok(None) => return (packets, None),
            Err(e) => return (packets, Some(e)),
        }
    }
}

/// `$PIXELWATCH_CORPUS`, else `<crate>/../shared/corpus`, else `/work/shared/corpus`, if it has `pcaps/`.
pub(crate) fn corpus_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PIXELWATCH_CORPUS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    candidates.into_iter().flatten().find(|d| d.join("pcaps").is_dir())
}

/// `src/capture/testdata/<name>`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/capture/testdata").join(name)
}

/// One classic pcap record: header fields as written (caplen may lie) and the bytes that follow.
pub(crate) struct Record<'a> {
    pub ts_sec: u32,
    pub ts_frac: u32,
    pub caplen: u32,
    pub orig_len: u32,
    pub data: &'a [u8],
}

impl<'a> Record<'a> {
    /// An honest record: caplen = orig_len = data length.
    pub fn new(ts_sec: u32, ts_frac: u32, data: &'a [u8]) -> Record<'a> {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        Record { ts_sec, ts_frac, caplen: len, orig_len: len, data }
    }
}

/// A little-endian classic pcap file (magic a1b2c3d4, or a1b23c4d when `nanos`).
pub(crate) fn pcap_file(nanos: bool, linktype: u32, snaplen: u32, records: &[Record<'_>]) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut out = Vec::new();
    out.extend_from_slice(&magic.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&snaplen.to_le_bytes());
    out.extend_from_slice(&linktype.to_le_bytes());
    for r in records {
        out.extend_from_slice(&r.ts_sec.to_le_bytes());
        out.extend_from_slice(&r.ts_frac.to_le_bytes());
        out.extend_from_slice(&r.caplen.to_le_bytes());
        out.extend_from_slice(&r.orig_len.to_le_bytes());
        out.extend_from_slice(r.data);
    }
    out
}

/// Little-endian pcapng blocks (pcapng §3.1: type, total length, body padded to 32 bits, length).
pub(crate) struct PcapngBuilder {
    pub bytes: Vec<u8>,
}

impl PcapngBuilder {
    /// Starts with a Section Header Block (§4.1), section length unknown (-1).
    pub fn new() -> PcapngBuilder {
        let mut b = PcapngBuilder { bytes: Vec::new() };
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        b.block(0x0a0d_0d0a, &body);
        b
    }

    pub fn block(&mut self, block_type: u32, body: &[u8]) -> &mut PcapngBuilder {
        let mut padded = body.to_vec();
        padded.resize(body.len().div_ceil(4) * 4, 0);
        let total = u32::try_from(padded.len() + 12).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&block_type.to_le_bytes());
        self.bytes.extend_from_slice(&total.to_le_bytes());
        self.bytes.extend_from_slice(&padded);
        self.bytes.extend_from_slice(&total.to_le_bytes());
        self
    }

    /// Interface Description Block (§4.2) with optional if_tsresol (code 9) and if_tsoffset (code 14).
    pub fn idb(&mut self, linktype: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&snaplen.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            body.extend_from_slice(&14u16.to_le_bytes());
            body.extend_from_slice(&8u16.to_le_bytes());
            body.extend_from_slice(&o.to_le_bytes());
        }
        if tsresol.is_some() || tsoffset.is_some() {
            body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        }
        self.block(1, &body)
    }

    /// Enhanced Packet Block (§4.3) with a 64-bit timestamp in the interface's units.
    pub fn epb(&mut self, if_id: u32, ts: u64, orig_len: u32, data: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&if_id.to_le_bytes());
        body.extend_from_slice(&u32::try_from(ts >> 32).unwrap_or(0).to_le_bytes());
        body.extend_from_slice(&u32::try_from(ts & 0xffff_ffff).unwrap_or(0).to_le_bytes());
        body.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_le_bytes());
        body.extend_from_slice(&orig_len.to_le_bytes());
        body.extend_from_slice(data);
        self.block(6, &body)
    }

    /// Simple Packet Block (§4.4).
    pub fn spb(&mut self, orig_len: u32, data: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        body.extend_from_slice(&orig_len.to_le_bytes());
        body.extend_from_slice(data);
        self.block(3, &body)
    }
}

/// Runs `test` (a full test path such as `capture::privileges::tests::child`) of this test binary
/// in a child process with `env` set and `stdin` fed, and returns its output.
pub(crate) fn run_child_test(test: &str, env: &[(&str, String)], stdin: Option<Vec<u8>>) -> std::process::Output {
    run_child_test_wrapped(&[], test, env, stdin)
}

/// Like [`run_child_test`], started through `wrapper` (for example `["unshare", "--net"]`).
pub(crate) fn run_child_test_wrapped(
    wrapper: &[&str],
    test: &str,
    env: &[(&str, String)],
    stdin: Option<Vec<u8>>,
) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn test binary");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
        let out = child.wait_with_output().expect("wait child");
        let _ = writer.join();
        return out;
    }
    child.wait_with_output().expect("wait child")
}

/// Frame 1 of `sv__llmnr__llmnr-udp.pcap` (Ethernet, IPv4, UDP 5355, LLMNR query), 66 bytes.
pub(crate) fn llmnr_frame() -> Vec<u8> {
    let (packets, result) = collect(&fixture("eth.pcap"));
    assert!(result.is_ok(), "{result:?}");
    packets.first().map(|p| p.data.clone()).expect("eth.pcap has packets")
}

pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

pub(crate) fn read_error(result: Result<ReplayStats, CaptureError>) -> (String, u64, String) {
    match result {
        Err(CaptureError::Read { path, packet, reason }) => (path, packet, reason),
        other => panic!("expected a Read error, got {other:?}"),
    }
}

/// A single-interface pcapng that libpcap reads, so its result can be compared with the fallback.
pub(crate) fn single_interface(tsresol: Option<u8>, tsoffset: Option<i64>, ts: &[u64]) -> Vec<u8> {
    let eth = llmnr_frame();
    let mut b = PcapngBuilder::new();
    b.idb(1, 65535, tsresol, tsoffset);
    for &t in ts {
        b.epb(0, t, 66, &eth);
    }
    b.bytes
}
