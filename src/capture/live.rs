//! Live capture through libpcap: TPACKET_V3 ring (never immediate mode), non-blocking descriptor
//! polled with a short timeout so a stop flag is honoured quickly, and cumulative drop counters.

use std::net::IpAddr;
use std::os::fd::AsFd as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use pcap::{Active, Capture, Device};

use super::{CaptureError, RawPacket, pcap_reason, timeval_ts};

/// Longest wait in `poll`: [`LiveCapture::run`] returns at most this long after `stop` is set.
const POLL_MS: u16 = 200;
/// Packets handled between two looks at the stop flag and the clock.
const BATCH: usize = 4096;
/// Interval between two `on_tick` calls.
const TICK: Duration = Duration::from_secs(1);

/// How to open a live capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// Device name; `None` = libpcap's default device (the first one `pixelwatch interfaces` lists).
    pub interface: Option<String>,
    /// BPF filter expression (tcpdump syntax).
    pub filter: Option<String>,
    /// Bytes kept per packet. Default 65535: with TPACKET_V3 the ring holds packets back to back,
    /// so a large snaplen costs only the bytes actually captured, and GRO/TSO-merged segments on
    /// a gateway (several MTUs in one "packet") keep their ClientHello or HTTP head intact.
    pub snaplen: i32,
    /// Kernel ring size in bytes. Default 32 MiB (bursts of about 20 k full-size packets).
    pub buffer_bytes: i32,
    /// TPACKET_V3 block timeout: packets reach us in batches at most this late. Default 100 ms.
    pub timeout_ms: i32,
    /// Promiscuous mode. Default false: on a gateway or a laptop the traffic of interest is
    /// addressed to this host anyway; only a mirror/SPAN port needs it (libpcap ignores it on `any`).
    pub promisc: bool,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            interface: None,
            filter: None,
            snaplen: 65_535,
            buffer_bytes: 32 << 20,
            timeout_ms: 100,
            promisc: false,
        }
    }
}

/// Cumulative pcap statistics since the capture was opened (libpcap's 32-bit counters, widened).
/// On `lo`, `received` counts both directions, so it is about twice the packets delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaptureStats {
    /// Packets that passed the filter (libpcap `ps_recv`).
    pub received: u64,
    /// Dropped because the ring was full (`ps_drop`).
    pub dropped_kernel: u64,
    /// Dropped by the interface or its driver (`ps_ifdrop`).
    pub dropped_interface: u64,
}

/// Widens libpcap's wrapping `u_int` counters.
#[derive(Debug, Default)]
struct StatsAccumulator {
    last: [u32; 3],
    total: CaptureStats,
}

impl StatsAccumulator {
    fn update(&mut self, now: [u32; 3]) -> CaptureStats {
        let delta = |i: usize| {
            let prev = self.last.get(i).copied().unwrap_or(0);
            let cur = now.get(i).copied().unwrap_or(0);
            u64::from(cur.wrapping_sub(prev))
        };
        self.total.received += delta(0);
        self.total.dropped_kernel += delta(1);
        self.total.dropped_interface += delta(2);
        self.last = now;
        self.total
    }
}

/// An open live capture. `Send`: open it, drop privileges, then move it to its own thread.
pub struct LiveCapture {
    cap: Capture<Active>,
    interface: String,
    linktype: i32,
    stats: StatsAccumulator,
}

/// Opens a live capture as described by `opts`: activate, apply the filter, switch to non-blocking.
pub fn open_live(opts: &LiveOptions) -> Result<LiveCapture, CaptureError> {
    let interface = match &opts.interface {
        Some(name) => name.clone(),
        None => default_device()?,
    };
    let device_err = |reason: String| CaptureError::Device { interface: interface.clone(), reason };
    if opts.snaplen <= 0 || opts.buffer_bytes <= 0 || opts.timeout_ms < 0 {
        return Err(device_err(format!(
            "invalid options: snaplen {}, buffer {} bytes, timeout {} ms",
            opts.snaplen, opts.buffer_bytes, opts.timeout_ms
        )));
    }
    let inactive = Capture::from_device(interface.as_str()).map_err(|e| classify_open_error(&interface, &e))?;
    let cap = inactive
        .promisc(opts.promisc)
        .snaplen(opts.snaplen)
        .buffer_size(opts.buffer_bytes)
        .timeout(opts.timeout_ms)
        .immediate_mode(false) // immediate mode selects TPACKET_V2, which drops (crates.md pitfall 2)
        .open()
        .map_err(|e| classify_open_error(&interface, &e))?;
    let mut cap = cap;
    if let Some(filter) = &opts.filter {
        cap.filter(filter, true)
            .map_err(|e| CaptureError::Filter { filter: filter.clone(), reason: pcap_reason(&e) })?;
    }
    let cap = cap.setnonblock().map_err(|e| device_err(pcap_reason(&e)))?;
    let linktype = cap.get_datalink().0;
    Ok(LiveCapture { cap, interface, linktype, stats: StatsAccumulator::default() })
}

fn default_device() -> Result<String, CaptureError> {
    match Device::lookup() {
        Ok(Some(dev)) => Ok(dev.name),
        Ok(None) => Err(CaptureError::Device {
            interface: "(default device)".to_owned(),
            reason: "libpcap found no capture device; choose one with -i".to_owned(),
        }),
        Err(e) => Err(classify_open_error("(default device)", &e)),
    }
}

/// Maps libpcap's activation errors: "You don't have permission to perform this capture on that
/// device (socket: Operation not permitted)", "No such device exists", "That device is not up"…
fn classify_open_error(interface: &str, err: &pcap::Error) -> CaptureError {
    let reason = pcap_reason(err);
    let stripped = reason.strip_prefix(interface).and_then(|r| r.strip_prefix(": ")).unwrap_or(&reason).to_owned();
    let lower = reason.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "/path/to/pixelwatch".to_owned());
        CaptureError::Permission { interface: interface.to_owned(), reason: stripped, exe }
    } else {
        CaptureError::Device { interface: interface.to_owned(), reason: stripped }
    }
}

impl LiveCapture {
    /// libpcap DLT of the packets (1 Ethernet, 113 SLL on `any`, 276 SLL2…).
    pub fn linktype(&self) -> i32 {
        self.linktype
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Cumulative statistics now.
    pub fn stats(&mut self) -> Result<CaptureStats, CaptureError> {
        let s = self
            .cap
            .stats()
            .map_err(|e| CaptureError::Capture { interface: self.interface.clone(), reason: pcap_reason(&e) })?;
        Ok(self.stats.update([s.received, s.dropped, s.if_dropped]))
    }

    /// Delivers packets until `stop` is set (returns within about 200 ms), calling `on_tick` with
    /// the cumulative statistics about once per second of wall time. Packets arrive in batches up
    /// to `timeout_ms` late (TPACKET_V3 block timeout).
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        on_packet: &mut dyn FnMut(&RawPacket<'_>),
        on_tick: &mut dyn FnMut(CaptureStats),
    ) -> Result<(), CaptureError> {
        let mut next_tick = Instant::now() + TICK;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let mut handled = 0;
            let ring_empty = loop {
                match self.cap.next_packet() {
                    Ok(p) => {
                        on_packet(&RawPacket {
                            ts: timeval_ts(p.header.ts.tv_sec, p.header.ts.tv_usec),
                            linktype: self.linktype,
                            orig_len: p.header.len,
                            data: p.data,
                        });
                        handled += 1;
                        if handled == BATCH {
                            break false;
                        }
                    }
                    // Non-blocking mode: nothing left in the ring.
                    Err(pcap::Error::TimeoutExpired) => break true,
                    // pcap_breakloop() was called on this handle.
                    Err(pcap::Error::NoMorePackets) => return Ok(()),
                    Err(e) => {
                        return Err(CaptureError::Capture {
                            interface: self.interface.clone(),
                            reason: pcap_reason(&e),
                        });
                    }
                }
            };
            let now = Instant::now();
            if now >= next_tick {
                on_tick(self.stats()?);
                next_tick = now + TICK;
            }
            if ring_empty {
                self.wait(next_tick.saturating_duration_since(now))?;
            }
        }
    }

    /// Waits until the ring has a block for us, at most `POLL_MS` and at most `until_tick`.
    fn wait(&self, until_tick: Duration) -> Result<(), CaptureError> {
        let ms = until_tick.as_millis().clamp(1, u128::from(POLL_MS));
        let timeout = PollTimeout::from(u16::try_from(ms).unwrap_or(POLL_MS));
        let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(e) => Err(CaptureError::Capture { interface: self.interface.clone(), reason: format!("poll: {e}") }),
        }
    }
}

/// A capture device, for `pixelwatch interfaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
    pub wireless: bool,
    /// The device `pixelwatch live` uses without `-i`.
    pub default: bool,
}

/// The capture devices libpcap knows (pcap_findalldevs), default device first as libpcap orders them.
pub fn interfaces() -> Result<Vec<InterfaceInfo>, CaptureError> {
    let devices = Device::list().map_err(|e| CaptureError::Interfaces { reason: pcap_reason(&e) })?;
    let default = Device::lookup().ok().flatten().map(|d| d.name);
    Ok(devices
        .into_iter()
        .map(|d| InterfaceInfo {
            default: default.as_deref() == Some(d.name.as_str()),
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            wireless: d.flags.is_wireless(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
