//! pixelwatch as it runs on a gateway, for real: live capture between two network namespaces
//! joined by a veth pair (dnsmasq + dig, openssl s_server/s_client, python http.server + curl),
//! `--user` checked through /proc, the systemd unit verified and its capability set (an
//! unprivileged user with CAP_NET_RAW + CAP_NET_ADMIN ambient, no_new_privs) shown to capture,
//! with the example config file. Traffic stays on loopback and in namespaces made here.
//! Skips with a message where a tool is missing or namespaces cannot be made (not root).

mod common;
mod service;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use service::{Proc, http_get, is_root, self_signed, start_pixelwatch_via, wait_for, which};

/// `NAME: value` of /proc/PID/status.
fn proc_status(pid: i32) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect()
}

/// A DNS query (RFC 1035 §4.1) for `name`, type A.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// The value of the sample `series` (exact name and labels as exposed) in a /metrics text.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The example config file with the settings of a test (`key = value` lines replaced or added).
fn example_config(dir: &Path, settings: &[(&str, String)]) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(common::root().join("dist/pixelwatch.toml")).unwrap();
    for (key, value) in settings {
        let line = format!("{key} = {value}");
        match text.lines().find(|l| l.starts_with(&format!("{key} ="))).map(str::to_owned) {
            Some(old) => text = text.replace(&old, &line),
            None => text = format!("{text}{line}\n"),
        }
    }
    let file = dir.join("pixelwatch.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn systemd_unit_verifies_and_its_capabilities_are_enough_to_capture() {
    let unit = std::fs::read_to_string(common::root().join("dist/pixelwatch.service")).unwrap();
    for needed in [
        "DynamicUser=yes",
        "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN",
        "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_PACKET AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        "SystemCallFilter=@system-service",
        "StateDirectory=pixelwatch",
        "LogsDirectory=pixelwatch",
        "ExecStart=/usr/local/bin/pixelwatch live --config /etc/pixelwatch/pixelwatch.toml",
    ] {
        assert!(unit.lines().any(|l| l == needed), "the unit lacks {needed}");
    }
    // The example config names the events file inside the unit's LogsDirectory.
    let toml = std::fs::read_to_string(common::root().join("dist/pixelwatch.toml")).unwrap();
    assert!(toml.contains("events = \"/var/log/pixelwatch/"), "{toml}");

    match which("systemd-analyze") {
        None => eprintln!("skipping systemd-analyze verify: systemd-analyze is not installed"),
        Some(analyze) => {
            let dir = tempfile::tempdir().unwrap();
            let copy = dir.path().join("pixelwatch.service");
            std::fs::write(&copy, unit.replace("/usr/local/bin/pixelwatch", common::bin())).unwrap();
            let out = Command::new(analyze).arg("verify").arg(&copy).output().unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success() && text.trim().is_empty(), "systemd-analyze verify: {text}");
        }
    }

    // What the unit grants, without systemd: uid 65534, CAP_NET_RAW + CAP_NET_ADMIN ambient and
    // nothing else in the bounding set, no_new_privs; with the example config file.
    if !is_root() {
        eprintln!("skipping the capability run: needs root to start a process as another user");
        return;
    }
    let Some(setpriv) = which("setpriv") else {
        eprintln!("skipping the capability run: setpriv (util-linux) is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let events = dir.path().join("events.jsonl");
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let config = example_config(
        dir.path(),
        &[
            ("interface", "\"lo\"".into()),
            ("listen", "\"127.0.0.1:0\"".into()),
            ("events", format!("\"{}\"", events.display())),
            ("filter", format!("\"udp and dst port 53 and src port {port}\"")),
        ],
    );
    let caps = "-all,+net_raw,+net_admin";
    let setpriv = setpriv.to_str().unwrap().to_owned();
    let prefix = [
        setpriv.as_str(),
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        &format!("--inh-caps={caps}"),
        &format!("--ambient-caps={caps}"),
        &format!("--bounding-set={caps}"),
        "--no-new-privs",
    ];
    let mut pw = start_pixelwatch_via(&prefix, &["live", "--config", config.to_str().unwrap()], false);
    let status = proc_status(pw.proc.pid());
    assert_eq!(status["Uid"], "65534 65534 65534 65534");
    assert_eq!(status["CapEff"], "0000000000003000", "CAP_NET_RAW (13) and CAP_NET_ADMIN (12) only");
    assert_eq!(status["CapBnd"], "0000000000003000");
    assert_eq!(status["NoNewPrivs"], "1");
    for i in 0..3 {
        sink.send_to(&dns_query(i, "www.google-analytics.com"), "127.0.0.1:53").unwrap();
    }
    let text = wait_for("3 DNS questions on /metrics", Duration::from_secs(10), || {
        let (_, _, body) = http_get(&pw.addr, "/metrics", &[]).ok()?;
        (metric(&body, "pixelwatch_observations_total{kind=\"dns_query\"}") == Some(3.0)).then_some(body)
    });
    assert!(text.contains("company=\"Google\""), "{text}");
    let exit = pw.proc.terminate(Duration::from_secs(10));
    assert!(exit.is_some_and(|s| s.success()), "SIGTERM: {exit:?} {}", pw.proc.stderr_text());
    let logged = common::json_lines(&std::fs::read_to_string(&events).unwrap());
    assert_eq!(logged.iter().filter(|e| e["kind"] == "dns_query").count(), 3, "{logged:?}");
}

#[test]
fn user_flag_drops_to_nobody_with_no_capabilities_and_metrics_still_answer() {
    if !is_root() {
        eprintln!("skipping: --user needs root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The web configuration is read before the drop: a root-only file is fine.
    let web = dir.path().join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: '{}'\n", bcrypt::hash("pw", 6).unwrap())).unwrap();
    std::fs::set_permissions(&web, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let filter = format!("udp and dst port 53 and src port {port}");
    let web = web.to_str().unwrap();
    let mut pw = start_pixelwatch_via(
        &[],
        &["live", "-i", "lo", "-f", &filter, "--user", "nobody", "--listen", "127.0.0.1:0", "--web.config.file", web],
        false,
    );
    // The banner comes after the drop.
    wait_for("the capture banner", Duration::from_secs(10), || {
        pw.proc.stderr_text().contains("capturing on lo").then_some(())
    });
    let status = proc_status(pw.proc.pid());
    assert_eq!(status["Uid"], "65534 65534 65534 65534", "{status:?}");
    assert_eq!(status["Gid"], "65534 65534 65534 65534", "{status:?}");
    assert_eq!(status["Groups"], "", "{status:?}");
    for cap in ["CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(status[cap], "0000000000000000", "{cap}: {status:?}");
    }
    // The capture opened as root still delivers packets, and /metrics answers (with auth).
    sink.send_to(&dns_query(7, "www.google-analytics.com"), "127.0.0.1:53").unwrap();
    let (code, head, _) = http_get(&pw.addr, "/metrics", &[]).unwrap();
    assert_eq!(code, 401, "{head}");
    assert!(head.to_ascii_lowercase().contains("www-authenticate: basic"), "{head}");
    let auth = "Basic cHJvbWV0aGV1czpwdw=="; // prometheus:pw
    let body = wait_for("the DNS question on /metrics", Duration::from_secs(10), || {
        let (code, _, body) = http_get(&pw.addr, "/metrics", &[("Authorization", auth)]).ok()?;
        assert_eq!(code, 200);
        (metric(&body, "pixelwatch_observations_total{kind=\"dns_query\"}") == Some(1.0)).then_some(body)
    });
    assert!(body.contains("pixelwatch_packets_total 1"), "{body}");
    let exit = pw.proc.terminate(Duration::from_secs(10));
    assert!(exit.is_some_and(|s| s.success()), "SIGTERM: {exit:?}");
}

static RUN: AtomicU32 = AtomicU32::new(0);

/// Two network namespaces joined by a veth pair; deleted (with every process left in them) on drop.
struct Namespaces {
    client: String,
    server: String,
    veth: String,
}

impl Namespaces {
    fn create() -> Result<Namespaces, String> {
        let n = format!("{}{}", std::process::id(), RUN.fetch_add(1, Ordering::SeqCst));
        let ns = Namespaces { client: format!("pwc{n}"), server: format!("pws{n}"), veth: format!("pwc{n}") };
        let peer = format!("pws{n}");
        let (c, s) = (ns.client.as_str(), ns.server.as_str());
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", c],
            vec!["netns", "add", s],
            vec!["link", "add", &ns.veth, "type", "veth", "peer", "name", &peer],
            vec!["link", "set", &ns.veth, "netns", c],
            vec!["link", "set", &peer, "netns", s],
            vec!["-n", c, "addr", "add", "10.231.0.2/24", "dev", &ns.veth],
            vec!["-n", s, "addr", "add", "10.231.0.1/24", "dev", &peer],
            vec!["-n", c, "link", "set", "lo", "up"],
            vec!["-n", s, "link", "set", "lo", "up"],
            vec!["-n", c, "link", "set", &ns.veth, "up"],
            vec!["-n", s, "link", "set", &peer, "up"],
        ];
        for step in steps {
            let out = Command::new("ip").args(&step).output().map_err(|e| format!("ip: {e}"))?;
            if !out.status.success() {
                return Err(format!("ip {}: {}", step.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
            }
        }
        // IPv6 off: no router solicitations or MLD reports on the link, only the test's traffic.
        for n in [c, s] {
            let _ = ns.run(n, &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        }
        Ok(ns)
    }

    fn cmd(&self, ns: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(args).stdin(Stdio::null());
        c
    }

    /// Runs a command in `ns`: (success, stdout + stderr).
    fn run(&self, ns: &str, args: &[&str]) -> (bool, String) {
        let out = self.cmd(ns, args).output().expect("ip netns exec");
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in [&self.client, &self.server] {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse().ok()) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn live_capture_between_two_network_namespaces() {
    if !is_root() {
        eprintln!("skipping: network namespaces need root (CI runs as root)");
        return;
    }
    let missing: Vec<&str> =
        ["ip", "dnsmasq", "dig", "openssl", "curl", "python3"].into_iter().filter(|t| which(t).is_none()).collect();
    if !missing.is_empty() {
        eprintln!("skipping: not installed: {missing:?} (.ci/run installs them)");
        return;
    }
    let ns = match Namespaces::create() {
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("skipping: cannot make network namespaces here: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    self_signed(d, "server").expect("openssl certificate");
    std::fs::create_dir(d.join("www")).unwrap();
    let (c, s) = (ns.client.as_str(), ns.server.as_str());

    // Servers in the server namespace: DNS for local names, TLS on 443, HTTP on 80.
    let mut servers = Vec::new();
    let dnsmasq = [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=10.231.0.1",
        "--pid-file=",
        "--user=root",
        "--address=/www.google-analytics.com/10.231.0.1",
        "--address=/x1ab2.mjt.lu/10.231.0.1",
        "--address=/www.example.org/10.231.0.1",
    ];
    let (cert, key) = (d.join("server.crt"), d.join("server.key"));
    let s_server = [
        "openssl",
        "s_server",
        "-quiet",
        "-www",
        "-accept",
        "10.231.0.1:443",
        "-cert",
        cert.to_str().unwrap(),
        "-key",
        key.to_str().unwrap(),
    ];
    let www = d.join("www");
    let http = ["python3", "-m", "http.server", "80", "--bind", "10.231.0.1", "--directory", www.to_str().unwrap()];
    for (name, args) in [("dnsmasq", &dnsmasq[..]), ("openssl s_server", &s_server[..]), ("http.server", &http[..])] {
        let mut cmd = ns.cmd(s, args);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        servers.push(Proc::spawn(name, &mut cmd));
    }
    let dig = |name: &str| ns.run(c, &["dig", "+tries=1", "+time=2", "+short", "@10.231.0.1", name, "A"]);
    let s_client = || {
        ns.run(
            c,
            &["openssl", "s_client", "-brief", "-connect", "10.231.0.1:443", "-servername", "www.google-analytics.com"],
        )
    };
    let curl = |host: &str, path: &str| {
        let url = format!("http://10.231.0.1{path}");
        ns.run(c, &["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", &format!("Host: {host}"), &url])
    };
    // Ready before the capture starts (the probes are not counted).
    wait_for("dnsmasq", Duration::from_secs(10), || (dig("www.example.org").1.trim() == "10.231.0.1").then_some(()));
    wait_for("s_server", Duration::from_secs(10), || s_client().0.then_some(()));
    wait_for("http.server", Duration::from_secs(10), || (curl("www.example.org", "/").1 == "200").then_some(()));

    // pixelwatch in the client namespace, with the example config file.
    let events = d.join("events.jsonl");
    let config = example_config(
        d,
        &[
            ("interface", format!("\"{}\"", ns.veth)),
            ("listen", "\"127.0.0.1:0\"".into()),
            ("events", format!("\"{}\"", events.display())),
            ("events-all", "true".into()),
        ],
    );
    let mut pw =
        start_pixelwatch_via(&["ip", "netns", "exec", c], &["live", "--config", config.to_str().unwrap()], false);
    assert!(pw.proc.stderr_text().contains(&format!("capturing on {}", ns.veth)), "{}", pw.proc.stderr_text());

    // Real traffic across the veth: 3 lookups, 2 TLS connections, 3 HTTP requests.
    for name in ["www.google-analytics.com", "x1ab2.mjt.lu", "www.example.org"] {
        assert_eq!(dig(name).1.trim(), "10.231.0.1", "{name}");
    }
    for _ in 0..2 {
        let (ok, out) = s_client();
        assert!(ok, "{out}");
    }
    for (host, path) in
        [("x1ab2.mjt.lu", "/oo/BAAAAA/e.gif"), ("x1ab2.mjt.lu", "/oo/BAAAAB/e.gif"), ("www.example.org", "/")]
    {
        let (ok, code) = curl(host, path);
        assert!(ok && (code == "404" || code == "200"), "{host}{path}: {code}");
    }

    let expected = [("dns_query", 6.0), ("dns_answer", 3.0), ("tls_sni", 2.0), ("quic_sni", 0.0), ("http_host", 3.0)];
    let scrape = || ns.run(c, &["curl", "-s", &format!("http://{}/metrics", pw.addr)]).1;
    let text = wait_for("the observations on /metrics", Duration::from_secs(15), || {
        let text = scrape();
        expected
            .iter()
            .all(|(kind, n)| metric(&text, &format!("pixelwatch_observations_total{{kind=\"{kind}\"}}")) == Some(*n))
            .then_some(text)
    });
    let contacts = |company: &str, tracker: &str, category: &str, via: &str| {
        let series = format!(
            "pixelwatch_tracker_contacts_total{{category=\"{category}\",company=\"{company}\",tracker=\"{tracker}\",via=\"{via}\"}}"
        );
        metric(&text, &series)
    };
    assert_eq!(contacts("Google", "google-analytics.com", "analytics", "dns"), Some(1.0), "{text}");
    assert_eq!(contacts("Google", "google-analytics.com", "analytics", "tls"), Some(2.0), "{text}");
    assert_eq!(contacts("Mailjet (Sinch)", "mjt.lu", "email", "dns"), Some(1.0), "{text}");
    assert_eq!(contacts("Mailjet (Sinch)", "mjt.lu", "email", "http"), Some(2.0), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("pixelwatch_tracker_contacts_total{")).count(), 4, "{text}");
    let packets = metric(&text, "pixelwatch_packets_total").unwrap();
    assert!(packets >= 40.0, "{packets} packets for 3 lookups, 2 TLS and 3 HTTP connections");
    let dropped = wait_for("the capture statistics", Duration::from_secs(5), || {
        metric(&scrape(), "pixelwatch_capture_dropped_packets_total{reason=\"kernel\"}")
    });
    assert_eq!(dropped, 0.0);

    // SIGTERM: exit 0 and an event log with every observation and contact.
    let exit = pw.proc.terminate(Duration::from_secs(10));
    assert!(exit.is_some_and(|s| s.success()), "SIGTERM: {exit:?} {}", pw.proc.stderr_text());
    let raw = std::fs::read_to_string(&events).unwrap();
    assert!(raw.ends_with('\n'), "the last event line is complete");
    let logged = common::json_lines(&raw);
    for (kind, n) in expected {
        assert_eq!(logged.iter().filter(|e| e["kind"] == kind).count() as f64, n, "{kind} events");
    }
    let contacts: Vec<_> = logged.iter().filter(|e| e["kind"] == "tracker_contact").collect();
    assert_eq!(contacts.len(), 6, "{contacts:?}");
    assert!(contacts.iter().all(|e| e["client"] == "10.231.0.2"), "{contacts:?}");
    let http: Vec<_> =
        logged.iter().filter(|e| e["kind"] == "http_host").map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(http, ["/oo/BAAAAA/e.gif", "/oo/BAAAAB/e.gif", "/"]);
    drop(servers);
}
