//! The Grafana dashboard and the alert rules against a REAL Prometheus: pixelwatch replays a
//! capture fed slowly through its standard input (so counters grow between scrapes, as live),
//! Prometheus scrapes it every second, then every PromQL expression of every panel, variable and
//! rule is evaluated through the HTTP API. Also: the dashboard's structure (importable and
//! provisionable), promtool checks and rule unit tests, and two instances adding up.
//! Skips with a message when prometheus/promtool are not installed.

mod common;
mod service;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use service::{Prometheus, start_pixelwatch, value_of, wait_for, which};

fn dashboard() -> Value {
    let text = std::fs::read_to_string(common::root().join("grafana/dashboards/pixelwatch.json")).unwrap();
    serde_json::from_str(&text).expect("dashboard JSON")
}

fn yaml(path: &str) -> serde_norway::Value {
    let text = std::fs::read_to_string(common::root().join(path)).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (panel title, panel type, expression, instant?) for every target of every panel.
fn targets(d: &Value) -> Vec<(String, String, String, bool)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                p["title"].as_str().unwrap().to_owned(),
                p["type"].as_str().unwrap().to_owned(),
                t["expr"].as_str().unwrap().to_owned(),
                t["instant"].as_bool().unwrap_or(false),
            ));
        }
    }
    out
}

/// Grafana's variables replaced by what Grafana would send (All = `.*`, as the variables' allValue).
fn substitute(expr: &str, instance: &str) -> String {
    let s = expr
        .replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$__interval", "15s")
        .replace("$topn", "10")
        .replace("$instance", instance)
        .replace("$job", ".*")
        .replace("$company", ".*")
        .replace("$client", ".*");
    assert!(!s.contains('$'), "unknown variable left in {s}");
    s
}

/// Panels the slowly fed `captures/email/mail-opens-gateway.pcap` (replayed with `--per-client` and
/// its test address watched) must fill: two opens and a proxied open, a cloaked tracker, two
/// clients, the Weborama MD5 leak. Every other panel is
/// about a family this capture cannot fill (live-only drops, encrypted DNS, unsupported QUIC
/// versions, list reloads, the label overflow): those are
/// checked for "no error" only.
const FILLED: [&str; 23] = [
    "E-mail opens",
    "Address leaks",
    "Address leaks by tracker and encoding",
    "Proxied image fetches",
    "Cloaked tracker contacts",
    "E-mail opens by confidence",
    "E-mail opens by client",
    "Trackers contacted during e-mail opens",
    "Cloaked tracker contacts by company",
    "Proxied image fetches by proxy",
    "Tracker contacts",
    "Tracker companies",
    "Tracker contacts by company",
    "Tracker contacts by category",
    "Contacts by company",
    "Top trackers",
    "Tracker contacts by channel",
    "Names observed by kind",
    "Packets per second",
    "Decode errors by layer",
    "Tracked flows",
    "Tracker list entries",
    "Instances",
];
const NOT_FILLED: [&str; 5] = [
    "Capture drops (% of packets)",
    "Unsupported QUIC versions",
    "Encrypted-DNS flows by resolver",
    "Tracker list reloads",
    "Tracker label overflow",
];

#[test]
fn dashboard_is_importable_and_provisionable() {
    let d = dashboard();
    let inputs = d["__inputs"].as_array().unwrap();
    assert!(inputs.iter().any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"), "{inputs:?}");
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(
        vars.iter().any(|v| v["name"] == "DS_PROMETHEUS" && v["type"] == "datasource" && v["query"] == "prometheus")
    );
    let mut ids = std::collections::BTreeSet::new();
    let mut cells = std::collections::BTreeSet::new();
    let mut titles = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate id {}", p["id"]);
        let g = &p["gridPos"];
        let (x, y, w, h) =
            (g["x"].as_u64().unwrap(), g["y"].as_u64().unwrap(), g["w"].as_u64().unwrap(), g["h"].as_u64().unwrap());
        assert!(x + w <= 24 && w > 0 && h > 0, "{}: {g}", p["title"]);
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "{} overlaps another panel at {cx},{cy}", p["title"]);
            }
        }
        if p["type"] == "row" {
            continue;
        }
        titles.push(p["title"].as_str().unwrap().to_owned());
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        for t in p["targets"].as_array().unwrap() {
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        }
    }
    // Every panel is classified for the Prometheus test below, and only panels that exist.
    let mut classified: Vec<String> = FILLED.iter().chain(NOT_FILLED.iter()).map(|s| s.to_string()).collect();
    classified.sort();
    titles.sort();
    assert_eq!(titles, classified);
    for (title, kind, expr, _) in targets(&d) {
        assert!(
            expr.contains("job=~\"$job\", instance=~\"$instance\""),
            "{title}: not filtered by $job/$instance: {expr}"
        );
        // Range selectors use Grafana's intervals, never a fixed window.
        for window in expr.split('[').skip(1).map(|s| s.split(']').next().unwrap_or("")) {
            assert!(window == "$__rate_interval" || window == "$__range", "{title}: fixed window [{window}] in {expr}");
        }
        // Unbounded label sets (companies, trackers, clients, resolvers, versions) are capped.
        let wide = ["by (company", "by (client)", "by (resolver)", "by (version)"].iter().any(|b| expr.contains(b));
        if wide && kind != "stat" {
            assert!(expr.starts_with("topk($topn,"), "{title}: no topk in {expr}");
        }
    }
    // Provisioning: a Prometheus datasource (the default one, which the variable picks) and a
    // file provider whose folder the README tells to copy the JSON into.
    let ds = yaml("grafana/provisioning/datasources/pixelwatch-prometheus.yaml");
    assert_eq!(ds["apiVersion"].as_u64(), Some(1));
    let ds = &ds["datasources"][0];
    assert_eq!(ds["type"].as_str(), Some("prometheus"));
    assert_eq!(ds["isDefault"].as_bool(), Some(true));
    assert!(ds["jsonData"]["timeInterval"].as_str().is_some());
    let prov = yaml("grafana/provisioning/dashboards/pixelwatch.yaml");
    let prov = &prov["providers"][0];
    assert_eq!(prov["type"].as_str(), Some("file"));
    let path = prov["options"]["path"].as_str().unwrap();
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    assert!(readme.contains(path), "README does not say to copy the dashboard into {path}");
}

#[test]
fn promtool_checks_rules_config_and_runs_the_rule_unit_tests() {
    let Some(promtool) = which("promtool") else {
        eprintln!("skipping: promtool is not installed (Debian: apt-get install prometheus)");
        return;
    };
    let dir = common::root().join("grafana/prometheus");
    let run = |args: &[&str], cwd: &Path| {
        let out = Command::new(&promtool).args(args).current_dir(cwd).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "promtool {args:?}: {text}");
        text
    };
    let out = run(&["check", "rules", "rules.yml"], &dir);
    assert!(out.contains("SUCCESS: 5 rules found"), "{out}");
    let out = run(&["test", "rules", "rules_test.yml"], &dir);
    assert!(out.contains("SUCCESS"), "{out}");
    // The example scrape configuration, with the rules where it expects them.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("prometheus.yml"), tmp.path().join("prometheus.yml")).unwrap();
    std::fs::copy(dir.join("rules.yml"), tmp.path().join("pixelwatch-rules.yml")).unwrap();
    let out = run(&["check", "config", "prometheus.yml"], tmp.path());
    assert!(out.contains("SUCCESS: 5 rules found"), "{out}");
}

/// Per-company contact totals and the packet count from `replay --summary json` of `captures`.
fn summary(captures: &[&str]) -> (BTreeMap<String, f64>, f64) {
    let mut args = vec!["replay", "--summary", "json"];
    args.extend_from_slice(captures);
    let (code, out, err) = common::run(&args);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let mut by_company = BTreeMap::new();
    for c in v["tracker_contacts"].as_array().unwrap() {
        *by_company.entry(c["company"].as_str().unwrap().to_owned()).or_insert(0.0) += c["total"].as_f64().unwrap();
    }
    (by_company, v["packets"].as_f64().unwrap())
}

/// The records of a classic pcap file, each with its 16-byte header.
fn pcap_records(bytes: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let (header, mut rest) = bytes.split_at(24);
    let big_endian = header[..4] == [0xa1, 0xb2, 0xc3, 0xd4] || header[..4] == [0xa1, 0xb2, 0x3c, 0x4d];
    let mut records = Vec::new();
    while rest.len() >= 16 {
        let len: [u8; 4] = rest[8..12].try_into().unwrap();
        let len = if big_endian { u32::from_be_bytes(len) } else { u32::from_le_bytes(len) } as usize;
        let (record, tail) = rest.split_at(16 + len);
        records.push(record);
        rest = tail;
    }
    (header, records)
}

/// {company: value} of an instant-vector result summed by company.
fn by_company(result: &[Value]) -> BTreeMap<String, f64> {
    result.iter().map(|s| (s["metric"]["company"].as_str().unwrap_or("").to_owned(), value_of(s).unwrap())).collect()
}

fn find_expr(d: &Value, title: &str) -> String {
    targets(d).into_iter().find(|t| t.0 == title).map(|t| t.2).unwrap_or_else(|| panic!("no panel {title}"))
}

#[test]
fn every_panel_and_rule_evaluates_against_a_real_prometheus() {
    if which("prometheus").is_none() {
        eprintln!("skipping: prometheus is not installed (Debian: apt-get install prometheus)");
        return;
    }
    let capture = common::capture("email/mail-opens-gateway.pcap");
    let (expected, packets) = summary(&[capture.to_str().unwrap()]);
    let mut pw = start_pixelwatch(
        &[
            "replay",
            "--per-client",
            "--watch-address",
            "myemailaddress@example.com",
            "--listen",
            "127.0.0.1:0",
            "--hold",
            "--summary",
            "none",
            "--no-progress",
            "-",
        ],
        true,
    );
    let rules = common::root().join("grafana/prometheus/rules.yml");
    let prom = Prometheus::start(&[&pw.addr], Some(&rules)).unwrap();
    prom.wait_for_scrapes(1, 2);

    // Feed the capture in 6 parts, 1.5 s apart: Prometheus sees the counters grow.
    let bytes = std::fs::read(&capture).unwrap();
    let (header, records) = pcap_records(&bytes);
    let mut stdin = pw.stdin.take().unwrap();
    stdin.write_all(header).unwrap();
    for part in records.chunks(records.len().div_ceil(6)) {
        for r in part {
            stdin.write_all(r).unwrap();
        }
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
    }
    drop(stdin);
    wait_for("all packets scraped", Duration::from_secs(30), || {
        let r = prom.query("pixelwatch_packets_total").ok()?;
        (value_of(r.first()?)? == packets).then_some(())
    });
    // The flow-table gauges are synced at the end of the replay (and every few thousand packets):
    // wait until rate() has samples of them too.
    wait_for("the end-of-replay statistics scraped", Duration::from_secs(30), || {
        let r = prom.query("count_over_time(pixelwatch_flow_evictions_total{reason=\"timeout\"}[1m]) >= 4").ok()?;
        (!r.is_empty()).then_some(())
    });

    // The scraped exposition is clean for promtool too.
    if let Some(promtool) = which("promtool") {
        let (status, _, body) = service::http_get(&pw.addr, "/metrics", &[]).unwrap();
        assert_eq!(status, 200);
        let mut child = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    }

    // The dashboard variables (Grafana's label_values() is the label-values API).
    let d = dashboard();
    let values = |label: &str, matcher: &str| -> Vec<String> {
        let path = format!("/api/v1/label/{label}/values?match[]={}", service::url_encode(matcher));
        let v = prom.api(&path).unwrap_or_else(|e| panic!("{label}: {e}"));
        v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
    };
    for var in d["templating"]["list"].as_array().unwrap().iter().filter(|v| v["type"] == "query") {
        let def = substitute(var["definition"].as_str().unwrap(), ".*");
        let inner = def.strip_prefix("label_values(").and_then(|s| s.strip_suffix(')')).unwrap();
        let (matcher, label) = inner.rsplit_once(", ").unwrap();
        let got = values(label, matcher);
        match var["name"].as_str().unwrap() {
            "job" => assert_eq!(got, ["pixelwatch"]),
            "instance" => assert_eq!(got, [pw.addr.clone()]),
            "company" => assert_eq!(got, expected.keys().cloned().collect::<Vec<_>>()),
            "client" => assert_eq!(got, ["10.99.0.101", "10.99.0.102"]),
            other => panic!("unknown dashboard variable {other}"),
        }
    }

    // Every expression of every panel: no error; data where the capture fills the panel.
    let all = targets(&d);
    let mut filled = 0;
    for (title, _, expr, instant) in &all {
        let q = substitute(expr, ".*");
        let result = if *instant { prom.query(&q) } else { prom.query_range(&q, 120) };
        let result = result.unwrap_or_else(|e| panic!("panel {title:?}: {q}: {e}"));
        if FILLED.contains(&title.as_str()) {
            assert!(!result.is_empty(), "panel {title:?} has no data: {q}");
            filled += 1;
        }
    }
    // Exact values: the range totals count every series born in the range with its value.
    let total = |title: &str| value_of(&prom.query(&substitute(&find_expr(&d, title), ".*")).unwrap()[0]).unwrap();
    assert_eq!(total("Tracker contacts"), expected.values().sum::<f64>());
    assert_eq!(total("Tracker companies"), expected.len() as f64);
    let companies = by_company(&prom.query(&substitute(&find_expr(&d, "Contacts by company"), ".*")).unwrap());
    assert_eq!(companies, expected);
    let pps = prom.query_range(&substitute(&find_expr(&d, "Packets per second"), ".*"), 120).unwrap();
    let max_pps = pps[0]["values"].as_array().unwrap().iter().filter_map(|v| v[1].as_str()?.parse::<f64>().ok());
    assert!(max_pps.fold(0.0, f64::max) > 0.0, "packets/s never above 0: {pps:?}");

    // Every rule: no error; the recording rule has the companies; the address-leak alert holds for
    // the Weborama MD5 leak and no other alert condition does.
    let rules_yaml = yaml("grafana/prometheus/rules.yml");
    let mut rules = 0;
    for group in rules_yaml["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let expr = rule["expr"].as_str().unwrap();
            let result = prom.query(expr).unwrap_or_else(|e| panic!("rule {rule:?}: {e}"));
            rules += 1;
            if rule["record"].is_string() {
                assert_eq!(result.len(), expected.len(), "{expr}: {result:?}");
            } else if rule["alert"] == "PixelwatchAddressLeak" {
                assert_eq!(result.len(), 1, "{expr}: {result:?}");
                assert_eq!(result[0]["metric"]["company"], "Weborama", "{result:?}");
                assert_eq!(result[0]["metric"]["encoding"], "md5", "{result:?}");
            } else {
                assert!(result.is_empty(), "alert {:?} would fire: {result:?}", rule["alert"]);
            }
        }
    }
    // Prometheus loaded and evaluated the same file without error.
    let loaded = prom.api("/api/v1/rules").unwrap();
    let loaded: Vec<&Value> =
        loaded["groups"].as_array().unwrap().iter().flat_map(|g| g["rules"].as_array().unwrap()).collect();
    assert_eq!(loaded.len(), rules);
    assert!(loaded.iter().all(|r| r["health"] != "err"), "{loaded:?}");

    // The exporter-down condition holds once pixelwatch is gone.
    let down = rules_yaml["groups"][1]["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|r| r["alert"].as_str() == Some("PixelwatchExporterDown"))
        .and_then(|r| r["expr"].as_str())
        .unwrap()
        .to_owned();
    let status = pw.proc.terminate(Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "pixelwatch --hold ends with status 0 on SIGTERM");
    let result =
        wait_for("a failed scrape", Duration::from_secs(15), || prom.query(&down).ok().filter(|r| !r.is_empty()));
    assert_eq!(result[0]["metric"]["instance"], pw.addr.as_str());
    eprintln!(
        "evaluated {} expressions of {} panels ({filled} expressions of the {} filled panels with data), 4 variables, {rules} rules",
        all.len(),
        FILLED.len() + NOT_FILLED.len(),
        FILLED.len()
    );
}

#[test]
fn two_instances_add_up_in_the_dashboard_sums() {
    if which("prometheus").is_none() {
        eprintln!("skipping: prometheus is not installed (Debian: apt-get install prometheus)");
        return;
    }
    let a_files = [common::capture("mail-open-gateway.pcap")];
    let b_files = [common::capture("quic/chromium-ga-silent-sink.pcap"), common::capture("http-pipelined.pcap")];
    let paths = |f: &[std::path::PathBuf]| f.iter().map(|p| p.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    let (a_files, b_files) = (paths(&a_files), paths(&b_files));
    let start = |files: &[String]| {
        let mut args = vec!["replay", "--listen", "127.0.0.1:0", "--hold", "--summary", "none", "--no-progress"];
        args.extend(files.iter().map(String::as_str));
        start_pixelwatch(&args, false)
    };
    let (a, b) = (start(&a_files), start(&b_files));
    let (a_expected, _) = summary(&a_files.iter().map(String::as_str).collect::<Vec<_>>());
    let (b_expected, _) = summary(&b_files.iter().map(String::as_str).collect::<Vec<_>>());
    let prom = Prometheus::start(&[&a.addr, &b.addr], None).unwrap();
    prom.wait_for_scrapes(2, 2);

    let d = dashboard();
    let instance = |addr: &str| addr.replace('.', "\\\\.");
    for title in ["Contacts by company", "Top trackers"] {
        let expr = find_expr(&d, title);
        let sum_company = |inst: &str| {
            let mut m = BTreeMap::new();
            for s in prom.query(&substitute(&expr, inst)).unwrap() {
                *m.entry(s["metric"]["company"].as_str().unwrap().to_owned()).or_insert(0.0) += value_of(&s).unwrap();
            }
            m
        };
        let (both, only_a, only_b) =
            (sum_company(".*"), sum_company(&instance(&a.addr)), sum_company(&instance(&b.addr)));
        assert_eq!(only_a, a_expected, "{title}");
        assert_eq!(only_b, b_expected, "{title}");
        let mut added = only_a.clone();
        for (company, n) in &only_b {
            *added.entry(company.clone()).or_insert(0.0) += n;
        }
        assert_eq!(both, added, "{title}: the sum over both instances");
        assert!(
            both.len() > only_a.len().max(only_b.len()) || both.values().sum::<f64>() > only_a.values().sum::<f64>()
        );
    }
    let total = |inst: &str| value_of(&prom.query(&substitute(&find_expr(&d, "Tracker contacts"), inst)).unwrap()[0]);
    assert_eq!(
        total(".*"),
        Some(a_expected.values().sum::<f64>() + b_expected.values().sum::<f64>()),
        "the total over both instances"
    );
    let instances = prom.query(&substitute(&find_expr(&d, "Instances"), ".*")).unwrap();
    assert_eq!(instances.len(), 2, "{instances:?}");
}
