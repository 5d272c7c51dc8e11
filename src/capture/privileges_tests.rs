//! Privilege drop, tested in a child process (never in the test harness itself): open a capture on
//! `lo` as root, drop to `nobody`, check uid/gid/capabilities, check that the old handle still
//! captures and that a new capture is refused with the setcap hint.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::capture::testutil::run_child_test;
use crate::capture::{CaptureError, LiveOptions, open_live};

const CHILD_ENV: &str = "PIXELWATCH_TEST_PRIVDROP_CHILD";

#[test]
fn lookup_failures_change_nothing() {
    let before = nix::unistd::geteuid();
    let err = drop_privileges("pxw-no-such-user").expect_err("unknown user");
    assert!(matches!(err, PrivilegeError::UnknownUser { .. }), "{err:?}");
    assert_eq!(err.to_string(), "--user pxw-no-such-user: no such user");
    let err = drop_privileges("root").expect_err("root is not a drop");
    assert!(matches!(err, PrivilegeError::TargetIsRoot { .. }), "{err:?}");
    assert_eq!(nix::unistd::geteuid(), before);
}

#[test]
fn proc_status_fields_parse() {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let uid = proc_status_field(&status, "Uid:").expect("Uid line");
    assert_eq!(uid.parse::<u32>().ok(), Some(nix::unistd::getuid().as_raw()));
    assert!(effective_capabilities().is_some());
    assert_eq!(proc_status_field("Name:\tx\nCapEff:\t000001ffffffffff\n", "CapEff:"), Some("000001ffffffffff"));
}

/// Runs in a child process started by `drop_to_nobody_keeps_the_open_capture`.
#[test]
#[ignore = "helper: run by drop_to_nobody_keeps_the_open_capture in a child process"]
fn privdrop_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        eprintln!("privdrop_child only runs as a child of drop_to_nobody_keeps_the_open_capture");
        return;
    }
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = receiver.local_addr().expect("addr").port();
    let lo = |filter: Option<String>| LiveOptions {
        interface: Some("lo".to_owned()),
        filter,
        timeout_ms: 20,
        ..LiveOptions::default()
    };
    let mut cap = open_live(&lo(Some(format!("udp port {port}")))).expect("open lo as root");

    drop_privileges("nobody").expect("drop to nobody");

    let nobody = nix::unistd::User::from_name("nobody").ok().flatten().expect("nobody exists");
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let uids: Vec<&str> =
        status.lines().find_map(|l| l.strip_prefix("Uid:")).map(|r| r.split_whitespace().collect()).unwrap_or_default();
    let want = nobody.uid.to_string();
    assert_eq!(uids, [want.as_str(); 4], "real, effective, saved, fs uid");
    let cap_eff = proc_status_field(&status, "CapEff:").expect("CapEff");
    assert_eq!(u64::from_str_radix(cap_eff, 16).ok(), Some(0), "CapEff {cap_eff}");
    assert!(nix::unistd::setuid(nix::unistd::Uid::from_raw(0)).is_err());
    let again = drop_privileges("nobody").expect_err("no longer root");
    assert!(matches!(again, PrivilegeError::NotRoot { .. }), "{again:?}");

    // A new capture is refused, with the setcap hint.
    let refused = open_live(&lo(None)).err().expect("nobody cannot open a capture");
    assert!(matches!(refused, CaptureError::Permission { .. }), "{refused:?}");

    // The handle opened as root still captures.
    let payload = format!("pixelwatch-privdrop-{port}");
    UdpSocket::bind("127.0.0.1:0").expect("bind").send_to(payload.as_bytes(), ("127.0.0.1", port)).expect("send");
    let stop = AtomicBool::new(false);
    let mut received = 0;
    let mut ticks = 0;
    cap.run(
        &stop,
        &mut |p| {
            if p.data.ends_with(payload.as_bytes()) {
                received += 1;
                stop.store(true, Ordering::Relaxed);
            }
        },
        &mut |_| {
            ticks += 1;
            if ticks >= 3 {
                stop.store(true, Ordering::Relaxed);
            }
        },
    )
    .expect("run after the drop");
    assert_eq!(received, 1, "packet captured after dropping privileges");
    println!("PRIVDROP-OK uid={} capeff={cap_eff} received={received} refused={refused}", uids.join(","));
}

#[test]
fn drop_to_nobody_keeps_the_open_capture() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP: dropping privileges needs root");
        return;
    }
    let out = run_child_test("capture::privileges::tests::privdrop_child", &[(CHILD_ENV, "1".to_owned())], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find_map(|l| l.find("PRIVDROP-OK").and_then(|i| l.get(i..)))
        .unwrap_or_else(|| panic!("no result:\n{stdout}"));
    assert!(line.contains("capeff=0000000000000000 received=1"), "{line}");
    assert!(line.contains("refused=cannot capture on lo: permission denied"), "{line}");
    assert!(line.contains("sudo setcap cap_net_raw,cap_net_admin+ep"), "{line}");
    eprintln!("{line}");
}
