//! Writing packets back to a pcap file with libpcap (`pcap_dump`), for `--evidence`.

use std::path::Path;

use crate::model::Ts;

/// One packet to write: capture time, the captured bytes, the length on the wire.
pub struct Frame<'a> {
    pub ts: Ts,
    pub data: &'a [u8],
    pub wire_len: u32,
}

/// Writes `frames` of link type `linktype` to a new pcap file at `path` (microsecond precision).
pub fn write_pcap<'a>(
    path: &Path,
    linktype: i32,
    frames: impl IntoIterator<Item = Frame<'a>>,
) -> Result<usize, String> {
    let dead = pcap::Capture::dead(pcap::Linktype(linktype))
        .map_err(|e| format!("cannot open a libpcap writer for link type {linktype}: {e}"))?;
    let mut out = dead.savefile(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut n = 0;
    for f in frames {
        let secs = f.ts.0.div_euclid(Ts::MICROS_PER_SEC);
        let micros = f.ts.0.rem_euclid(Ts::MICROS_PER_SEC);
        let header = pcap::PacketHeader {
            ts: libc::timeval { tv_sec: secs as libc::time_t, tv_usec: micros as libc::suseconds_t },
            caplen: u32::try_from(f.data.len()).unwrap_or(u32::MAX),
            len: f.wire_len.max(u32::try_from(f.data.len()).unwrap_or(u32::MAX)),
        };
        out.write(&pcap::Packet::new(&header, f.data));
        n += 1;
    }
    out.flush().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_packets_read_back_with_libpcap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pcap");
        let a = [0u8; 60];
        let b = [1u8; 42];
        let frames = [
            Frame { ts: Ts(1_795_821_850_065_774), data: &a, wire_len: 60 },
            Frame { ts: Ts(1_795_821_850_181_490), data: &b, wire_len: 1500 },
        ];
        assert_eq!(write_pcap(&path, 1, frames).unwrap(), 2);
        let mut cap = pcap::Capture::from_file(&path).unwrap();
        assert_eq!(cap.get_datalink(), pcap::Linktype(1));
        let p = cap.next_packet().unwrap();
        assert_eq!((p.header.ts.tv_sec, p.header.ts.tv_usec), (1_795_821_850, 65_774));
        assert_eq!(p.data, &a[..]);
        let p = cap.next_packet().unwrap();
        assert_eq!((p.header.caplen, p.header.len), (42, 1500));
        assert!(cap.next_packet().is_err());
    }
}
