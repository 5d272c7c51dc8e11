//! Live capture on `lo` with UDP datagrams sent by the test (needs root or CAP_NET_RAW; skipped
//! with a message otherwise), error mapping, statistics widening, device listing.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::*;
use crate::capture::testutil::OwnedPacket;

fn lo_options(filter: Option<String>) -> LiveOptions {
    LiveOptions { interface: Some("lo".to_owned()), filter, ..LiveOptions::default() }
}

/// Opens `lo`, or `None` (with a message) when this process may not capture.
fn open_lo(filter: Option<String>) -> Option<LiveCapture> {
    match open_live(&lo_options(filter)) {
        Ok(cap) => Some(cap),
        Err(e @ CaptureError::Permission { .. }) => {
            eprintln!("SKIP: {e}");
            None
        }
        Err(e) => panic!("open lo: {e}"),
    }
}

/// CPU time (user + system, clock ticks) of the calling thread, from /proc/thread-self/stat.
fn thread_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[test]
fn loopback_udp_is_captured_stats_grow_and_stop_is_prompt() {
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind receiver");
    let port = receiver.local_addr().expect("addr").port();
    let Some(mut cap) = open_lo(Some(format!("udp port {port}"))) else { return };
    assert_eq!((cap.linktype(), cap.interface()), (1, "lo"));

    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel::<OwnedPacket>();
    let thread_stop = Arc::clone(&stop);
    let started = Instant::now();
    let runner = std::thread::spawn(move || {
        let mut ticks = Vec::new();
        let result = cap.run(
            &thread_stop,
            &mut |p| {
                let _ = tx.send(OwnedPacket::from_raw(p));
            },
            &mut |s| ticks.push(s),
        );
        (result, ticks, cap)
    });

    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
    let payloads: Vec<String> = (0..5).map(|i| format!("pixelwatch-live-test-{port}-{i}")).collect();
    for p in &payloads {
        sender.send_to(p.as_bytes(), ("127.0.0.1", port)).expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut got = Vec::new();
    while got.len() < payloads.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(p) => got.push(p),
            Err(_) => break,
        }
    }
    let wall_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .expect("clock");
    assert_eq!(got.len(), payloads.len(), "all datagrams captured within 2 s");
    for (p, payload) in got.iter().zip(&payloads) {
        // Ethernet (14) + IPv4 (20) + UDP (8) + payload, in send order.
        assert!(p.data.ends_with(payload.as_bytes()), "{:?}", p.data);
        assert_eq!(p.orig_len as usize, 42 + payload.len());
        assert_eq!(p.linktype, 1);
        assert!((wall_now - p.ts.0).abs() < 5_000_000, "timestamp {} near now {wall_now}", p.ts.0);
    }

    // Let on_tick fire at least twice, then stop.
    std::thread::sleep(Duration::from_millis(2300).saturating_sub(started.elapsed()));
    let stop_at = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let (result, ticks, mut cap) = runner.join().expect("capture thread");
    let stop_latency = stop_at.elapsed();
    result.expect("run ends cleanly");
    assert!(stop_latency < Duration::from_secs(1), "run returned {stop_latency:?} after stop");
    assert!(ticks.len() >= 2, "{ticks:?}");
    assert!(ticks.windows(2).all(|w| w[0].received <= w[1].received && w[0].dropped_kernel <= w[1].dropped_kernel));
    let last = ticks.last().copied().unwrap_or_default();
    assert!(last.received >= payloads.len() as u64, "{last:?}");
    let after = cap.stats().expect("stats after run");
    assert!(after.received >= last.received && after.dropped_kernel >= last.dropped_kernel);
    eprintln!("stop latency {stop_latency:?}; stats {after:?}; ticks {}", ticks.len());
}

#[test]
fn idle_capture_sleeps_in_poll() {
    let port = UdpSocket::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let Some(mut cap) = open_lo(Some(format!("udp port {port}"))) else { return };
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = Arc::clone(&stop);
    let runner = std::thread::spawn(move || {
        let before = thread_cpu_ticks();
        let mut packets = 0;
        let result = cap.run(&thread_stop, &mut |_| packets += 1, &mut |_| {});
        (result, packets, before.zip(thread_cpu_ticks()).map(|(a, b)| b - a))
    });
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let (result, packets, cpu) = runner.join().expect("thread");
    result.expect("run");
    assert_eq!(packets, 0);
    // 1.5 s of wall time: a busy loop would burn ~150 ticks; poll sleeps.
    eprintln!("idle run: {cpu:?} clock ticks of CPU in 1.5 s");
    if let Some(ticks) = cpu {
        assert!(ticks <= 10, "idle capture used {ticks} clock ticks of CPU");
    }
}

#[test]
fn bad_filter_unknown_device_are_clear_errors() {
    if open_lo(None).is_none() {
        return;
    }
    let err = open_live(&lo_options(Some("udp port".to_owned()))).err().expect("bad filter");
    let msg = err.to_string();
    assert!(matches!(err, CaptureError::Filter { .. }), "{err:?}");
    assert!(msg.starts_with("invalid capture filter \"udp port\": ") && msg.contains("syntax error"), "{msg}");

    let opts = LiveOptions { interface: Some("pxw-nosuch0".to_owned()), ..LiveOptions::default() };
    let err = open_live(&opts).err().expect("unknown device");
    let msg = err.to_string();
    assert!(matches!(err, CaptureError::Device { .. }), "{err:?}");
    assert!(msg.starts_with("cannot capture on pxw-nosuch0: ") && msg.contains("pixelwatch interfaces"), "{msg}");
    assert!(msg.contains("No such device"), "{msg}");
    eprintln!("{msg}");

    let opts = LiveOptions { snaplen: 0, ..lo_options(None) };
    assert!(matches!(open_live(&opts), Err(CaptureError::Device { .. })));
}

#[test]
fn permission_errors_carry_the_setcap_hint() {
    let err = pcap::Error::PcapError(
        "lo: You don't have permission to perform this capture on that device (socket: Operation not permitted)"
            .to_owned(),
    );
    let mapped = classify_open_error("lo", &err);
    let msg = mapped.to_string();
    assert!(matches!(mapped, CaptureError::Permission { .. }), "{mapped:?}");
    assert!(msg.starts_with("cannot capture on lo: permission denied (You don't have permission"), "{msg}");
    assert!(msg.contains("sudo setcap cap_net_raw,cap_net_admin+ep /"), "{msg}");
}

#[test]
fn stats_survive_libpcap_counter_wraparound() {
    let mut acc = StatsAccumulator::default();
    assert_eq!(acc.update([10, 1, 0]), CaptureStats { received: 10, dropped_kernel: 1, dropped_interface: 0 });
    acc.update([u32::MAX - 1, 2, 0]);
    // u_int counters wrapped: 3 more packets received.
    let s = acc.update([1, 2, 5]);
    assert_eq!(s, CaptureStats { received: u64::from(u32::MAX) + 2, dropped_kernel: 2, dropped_interface: 5 });
}

#[test]
fn interfaces_lists_loopback() {
    let list = interfaces().expect("pcap_findalldevs");
    let lo = list.iter().find(|i| i.name == "lo").expect("lo is listed");
    assert!(lo.loopback && lo.up, "{lo:?}");
    assert!(lo.addresses.iter().any(|a| a.is_loopback()), "{lo:?}");
    assert!(list.iter().filter(|i| i.default).count() <= 1);
}

#[test]
fn live_capture_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<LiveCapture>();
}

const VANISH_CHILD_ENV: &str = "PIXELWATCH_TEST_VANISH_CHILD";

fn ip(args: &[&str]) {
    let ok = std::process::Command::new("ip").args(args).status().is_ok_and(|s| s.success());
    assert!(ok, "ip {args:?}");
}

/// Runs in a child process inside its own network namespace (`unshare --net`), started by
/// `link_down_and_removal`: captures on a veth that is then set down and up again
/// (`PIXELWATCH_TEST_VANISH_CHILD=down`) or deleted (`=del`).
#[test]
#[ignore = "helper: run by link_down_and_removal in a private network namespace"]
fn vanish_child() {
    let Some(how) = std::env::var(VANISH_CHILD_ENV).ok() else {
        eprintln!("vanish_child only runs as a child of link_down_and_removal");
        return;
    };
    ip(&["link", "add", "pxwcap0", "type", "veth", "peer", "name", "pxwcap1"]);
    ip(&["addr", "add", "10.99.0.1/24", "dev", "pxwcap0"]);
    ip(&["link", "set", "pxwcap0", "up"]);
    ip(&["link", "set", "pxwcap1", "up"]);
    let opts = LiveOptions { interface: Some("pxwcap0".to_owned()), timeout_ms: 20, ..LiveOptions::default() };
    let mut cap = open_live(&opts).expect("open veth");
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (thread_stop, thread_seen) = (Arc::clone(&stop), Arc::clone(&seen));
    let runner = std::thread::spawn(move || {
        let before = thread_cpu_ticks();
        let result = cap.run(
            &thread_stop,
            &mut |_| {
                thread_seen.fetch_add(1, Ordering::Relaxed);
            },
            &mut |_| {},
        );
        (result, before.zip(thread_cpu_ticks()).map(|(a, b)| b - a))
    });
    std::thread::sleep(Duration::from_millis(300));
    let changed = Instant::now();
    if how == "down" {
        ip(&["link", "set", "pxwcap0", "down"]);
        std::thread::sleep(Duration::from_millis(300));
        assert!(!runner.is_finished(), "run ended when its link went down");
        ip(&["link", "set", "pxwcap0", "up"]);
        std::thread::sleep(Duration::from_millis(200));
        // A datagram to an unknown neighbour makes the kernel send ARP requests on pxwcap0.
        let before = seen.load(Ordering::Relaxed);
        let sock = UdpSocket::bind("10.99.0.1:0").expect("bind");
        let deadline = Instant::now() + Duration::from_secs(2);
        while seen.load(Ordering::Relaxed) == before && Instant::now() < deadline {
            let _ = sock.send_to(b"pixelwatch", "10.99.0.77:9");
            std::thread::sleep(Duration::from_millis(100));
        }
        let resumed = seen.load(Ordering::Relaxed) > before;
        stop.store(true, Ordering::Relaxed);
        let (result, cpu) = runner.join().expect("thread");
        println!("VANISH down resumed={resumed} cpu={cpu:?} result={result:?}");
        assert!(resumed, "no packet captured after the link came back up");
        result.expect("run survives a link flap");
        assert!(cpu.is_some_and(|t| t <= 20), "cpu {cpu:?}");
        return;
    }
    ip(&["link", "del", "pxwcap0"]);
    // The run must end by itself (not spin): give it 2 s, then stop it.
    while !runner.is_finished() && changed.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let ended_alone = runner.is_finished();
    stop.store(true, Ordering::Relaxed);
    let (result, cpu) = runner.join().expect("thread");
    println!("VANISH del ended_alone={ended_alone} after={:?} cpu={cpu:?} result={result:?}", changed.elapsed());
    assert!(ended_alone, "run kept going after its interface was deleted");
    let err = result.expect_err("interface deleted");
    assert!(matches!(err, CaptureError::Capture { .. }), "{err:?}");
    assert!(err.to_string().starts_with("capture on pxwcap0 failed: "), "{err}");
    assert!(cpu.is_some_and(|t| t <= 20), "cpu {cpu:?}");
}

/// A link flap does not end the capture (it resumes when the link is up again; after a privilege
/// drop it could not be reopened); a deleted interface ends `run` with a Capture error.
#[test]
fn link_down_and_removal() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: needs root for a private network namespace");
        return;
    }
    for how in ["down", "del"] {
        let out = crate::capture::testutil::run_child_test_wrapped(
            &["unshare", "--net"],
            "capture::live::tests::vanish_child",
            &[(VANISH_CHILD_ENV, how.to_owned())],
            None,
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("unshare: ") {
            eprintln!("SKIP: cannot create a network namespace: {stderr}");
            return;
        }
        assert!(out.status.success(), "{how}: child failed:\n{stdout}\n{stderr}");
        let line = stdout.lines().find_map(|l| l.find("VANISH").and_then(|i| l.get(i..))).unwrap_or_default();
        eprintln!("{line}");
    }
}

#[test]
fn any_device_opens_with_promisc_requested() {
    if open_lo(None).is_none() {
        return;
    }
    // libpcap 1.10 ignores promiscuous mode on the "any" pseudo-device; it captures in SLL.
    let opts = LiveOptions { interface: Some("any".to_owned()), promisc: true, ..LiveOptions::default() };
    let cap = open_live(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((cap.interface(), cap.linktype()), ("any", 113));
}
