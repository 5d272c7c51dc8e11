//! E-mail opens in the recorded captures of `captures/email/` against the expected opens written
//! down when they were recorded (`captures/email/expected-opens.json`, from tshark's view of each
//! capture, see `captures/email/EXPECTED.md`): exactly one open per opened mail (window, client,
//! trackers), the proxied open, and no open for ordinary browsing — with the client as an IP
//! address and with `--client-label mac`.

mod common;

use std::collections::BTreeSet;

use common::{root, run};
use serde_json::Value;

fn replay(capture: &str, extra: &[&str]) -> (Value, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let path = root().join("captures/email").join(capture);
    let mut args = vec!["replay", "--summary", "json", "--events", events.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(path.to_str().unwrap());
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{capture}: {err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    let opens = std::fs::read_to_string(events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "email_open")
        .collect();
    (summary, opens)
}

fn expected() -> Value {
    let text = std::fs::read_to_string(root().join("captures/email/expected-opens.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn trackers(list: &Value) -> BTreeSet<String> {
    list.as_array().unwrap().iter().map(|t| t["tracker"].as_str().unwrap().to_owned()).collect()
}

/// Capture times are RFC 3339 with microseconds in both files: equal strings, equal instants.
fn ts(v: &Value) -> &str {
    v["ts"].as_str().unwrap()
}

fn check_capture(capture: &str, want: &Value, by_mac: bool) {
    let mode = if by_mac { "--client-label mac" } else { "client = IP" };
    let extra: &[&str] = if by_mac { &["--client-label", "mac"] } else { &[] };
    let (summary, events) = replay(capture, extra);
    let ours = summary["email_opens"].as_array().unwrap();
    let client_of = |c: &Value| c[if by_mac { "mac" } else { "ipv4" }].as_str().unwrap().to_owned();

    let want_opens = want["opens"].as_array().unwrap();
    let want_proxied = want["proxied_opens"].as_array().unwrap();
    assert_eq!(
        ours.len(),
        want_opens.len() + want_proxied.len(),
        "{capture} ({mode}): opens {ours:#?}\nexpected {want_opens:#?} and proxied {want_proxied:#?}"
    );
    assert_eq!(summary["email_opens_total"].as_u64().unwrap() as usize, ours.len());
    assert_eq!(events.len(), ours.len(), "{capture} ({mode}): one email_open event per open");

    for w in want_opens {
        let found: Vec<_> =
            ours.iter().filter(|o| o["start"] == ts(&w["start"]) && o["end"] == ts(&w["end"])).collect();
        assert_eq!(found.len(), 1, "{capture} ({mode}): no open for {} in {ours:#?}", w["mail"]);
        let o = found[0];
        assert_eq!(o["client"], client_of(&w["client"]), "{capture} ({mode}): {o:#}");
        // Named by the DHCP exchange at the start of the capture (option 12 and option 61).
        assert_eq!(o["client_name"], w["client"]["host_name"], "{capture} ({mode}): {o:#}");
        let mac = w["client"]["mac"].as_str().unwrap();
        assert_eq!(o["client_dhcp_id"], format!("01:{mac}"), "{o:#}");
        assert!(o["confidence"] == "high" || o["confidence"] == "medium", "{o:#}");
        assert_eq!(trackers(&o["trackers"]), trackers(&w["trackers"]), "{capture} ({mode}): {}", w["mail"]);
        // The companies and categories of the list the expectations were derived from.
        for t in w["trackers"].as_array().unwrap() {
            let ours = o["trackers"].as_array().unwrap().iter().find(|x| x["tracker"] == t["tracker"]).unwrap();
            assert_eq!(ours["company"], t["company"]);
            assert_eq!(ours["category"], t["category"]);
        }
        assert!(!o["context"].is_null(), "{capture} ({mode}): an open after IMAP activity names its context");
    }
    for w in want_proxied {
        let found: Vec<_> =
            ours.iter().filter(|o| o["confidence"] == "proxied" && o["start"] == ts(&w["start"])).collect();
        assert_eq!(found.len(), 1, "{capture} ({mode}): no proxied open at {}", ts(&w["start"]));
        let o = found[0];
        assert_eq!(o["client"], client_of(&w["client"]));
        assert_eq!(o["client_name"], w["client"]["host_name"], "{o:#}");
        assert_eq!(o["end"], ts(&w["end"]));
        assert!(o["trackers"].as_array().unwrap().is_empty(), "the tracker behind a proxy is invisible: {o:#}");
        let proxies: Vec<_> = o["proxies"].as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
        assert_eq!(proxies, [w["proxy_company"].as_str().unwrap()], "{o:#}");
    }
    for w in want["not_opens"].as_array().unwrap() {
        assert_eq!(w["must_not_be_an_open"], true);
        let (start, end) = (ts(&w["start"]), ts(&w["end"]));
        // RFC 3339 strings of one format and zone compare like the instants they name.
        let overlapping: Vec<_> = ours
            .iter()
            .filter(|o| o["start"].as_str().unwrap() <= end && o["end"].as_str().unwrap() >= start)
            .collect();
        assert!(overlapping.is_empty(), "{capture} ({mode}): {} became an open: {overlapping:#?}", w["activity"]);
        // …and it is still seen as tracker contacts.
        for t in w["trackers"].as_array().unwrap() {
            let tracker = t["tracker"].as_str().unwrap();
            assert!(
                summary["tracker_contacts"].as_array().unwrap().iter().any(|c| c["tracker"] == tracker),
                "{capture}: {tracker} contact missing"
            );
        }
    }
    // The proxied fetches are counted as such.
    let fetched: u64 =
        summary["proxied_fetches"].as_array().unwrap().iter().map(|p| p["fetches"].as_u64().unwrap()).sum();
    assert_eq!(fetched > 0, !want_proxied.is_empty(), "{capture}: {:#}", summary["proxied_fetches"]);
}

#[test]
fn recorded_opens_match_what_was_written_down() {
    let expected = expected();
    let captures = expected["captures"].as_object().unwrap();
    assert!(captures.len() >= 2, "{captures:?}");
    for (capture, want) in captures {
        assert_eq!(want["params"]["open_gap_s"], 3.0, "the defaults the expectations assume");
        assert_eq!(want["params"]["mail_context_s"], 30.0);
        check_capture(capture, want, false);
        check_capture(capture, want, true);
    }
}

/// Replaying a capture twice gives identical events: correlation runs on capture time only.
#[test]
fn opens_are_deterministic() {
    let (a_summary, a) = replay("mail-opens-gateway.pcap", &[]);
    let (b_summary, b) = replay("mail-opens-gateway.pcap", &[]);
    assert_eq!(a, b);
    assert_eq!(a_summary["email_opens"], b_summary["email_opens"]);
}

/// A shorter mail context than the 2 s between alice's \Seen and her first mail's pixels loses
/// that context, but the SendGrid pixel (an `email`-category tracker) still makes it an open;
/// mail #2 (Klaviyo, Mailjet: both `email`) too. The flags change the inference as documented.
#[test]
fn mail_context_flag_changes_confidence_not_the_email_category_rule() {
    let (summary, _) = replay("mail-opens-gateway.pcap", &["--mail-context", "1"]);
    let opens = summary["email_opens"].as_array().unwrap();
    let alice: Vec<_> = opens.iter().filter(|o| o["client"] == "10.99.0.101").collect();
    assert_eq!(alice.len(), 2, "{opens:#?}");
    assert!(alice.iter().all(|o| o["confidence"] == "medium"), "{alice:#?}");
}

/// `--per-client`: the contact and open metrics get a `client` label; past `--per-client-max`
/// clients the rest share `client="other"`; without the flag there is no such label.
#[test]
fn per_client_labels_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_of = |extra: &[&str]| {
        let out = dir.path().join("metrics.prom");
        let capture = root().join("captures/email/mail-opens-gateway.pcap");
        let mut args = vec!["replay", "--summary", "none", "--metrics-out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(capture.to_str().unwrap());
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        std::fs::read_to_string(out).unwrap()
    };
    let clients = |text: &str, metric: &str| -> BTreeSet<String> {
        text.lines()
            .filter(|l| l.starts_with(metric))
            .filter_map(|l| l.split("client=\"").nth(1))
            .map(|v| v.split('"').next().unwrap().to_owned())
            .collect()
    };
    let plain = metrics_of(&[]);
    assert!(clients(&plain, "pixelwatch_tracker_contacts_total{").is_empty(), "{plain}");
    let all = metrics_of(&["--per-client"]);
    let want: BTreeSet<String> = ["10.99.0.101", "10.99.0.102"].map(String::from).into();
    assert_eq!(clients(&all, "pixelwatch_tracker_contacts_total{"), want, "dual-stack devices are one client each");
    assert!(all.contains("pixelwatch_email_opens_total{client=\"10.99.0.101\",confidence=\"high\"} 2"), "{all}");
    assert!(all.contains("pixelwatch_email_opens_total{client=\"10.99.0.102\",confidence=\"proxied\"} 1"), "{all}");
    let capped = metrics_of(&["--per-client", "--per-client-max", "1"]);
    let got = clients(&capped, "pixelwatch_tracker_contacts_total{");
    assert_eq!(got, ["10.99.0.101", "other"].map(String::from).into(), "{capped}");
    assert!(capped.contains("pixelwatch_email_opens_total{client=\"other\",confidence=\"proxied\"} 1"), "{capped}");
    let by_mac = metrics_of(&["--per-client", "--client-label", "mac"]);
    assert!(
        by_mac.contains("pixelwatch_email_opens_total{client=\"02:99:00:00:01:01\",confidence=\"high\"} 2"),
        "{by_mac}"
    );
    let (code, _, err) = run(&["replay", "--per-client-max", "0", "-"]);
    assert_eq!(code, 2, "{err}");
}

/// `--evidence DIR`: one folder per open with its events, a pcap of its flows that libpcap reads
/// back (and that, replayed alone, shows the same open), and a README naming device and companies.
#[test]
fn evidence_folders_hold_each_open() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    let capture = root().join("captures/email/mail-opens-gateway.pcap");
    let (code, _, err) = run(&[
        "replay",
        "--summary",
        "none",
        "--watch-address",
        "myemailaddress@example.com",
        "--evidence",
        evidence.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 evidence folder(s)"), "{err}");
    let mut folders: Vec<_> = std::fs::read_dir(&evidence).unwrap().flatten().map(|e| e.path()).collect();
    folders.sort();
    assert_eq!(folders.len(), 3, "{folders:?}");
    let want = expected();
    let want = &want["captures"]["mail-opens-gateway.pcap"]["opens"];
    for (folder, w) in folders.iter().zip(want.as_array().unwrap()) {
        let readme = std::fs::read_to_string(folder.join("README.txt")).unwrap();
        assert!(readme.contains(&format!("When:    {}", ts(&w["start"]))), "{readme}");
        assert!(readme.contains("calls itself \"alice-laptop\" (DHCP)"), "{readme}");
        assert!(readme.contains("embedded (tsv, "), "{readme}");
        for t in w["trackers"].as_array().unwrap() {
            let line = format!(
                "  - {} ({}, list entry {})",
                t["company"].as_str().unwrap(),
                t["category"].as_str().unwrap(),
                t["tracker"].as_str().unwrap()
            );
            assert!(readme.contains(&line), "{line} missing from {readme}");
        }
        let events = std::fs::read_to_string(folder.join("events.jsonl")).unwrap();
        let events: Vec<Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let open = events.last().unwrap();
        assert_eq!(open["kind"], "email_open");
        assert_eq!(open["start"], ts(&w["start"]));
        let contacts = events.iter().filter(|e| e["kind"] == "tracker_contact").count();
        assert!(contacts >= w["trackers"].as_array().unwrap().len(), "{events:#?}");
        // The pcap is a real libpcap savefile of the open's flows: replayed alone, the same open.
        let (summary, _) = {
            let out = tempfile::tempdir().unwrap();
            let ev = out.path().join("e.jsonl");
            let pcap = folder.join("packets.pcap");
            let (code, stdout, err) =
                run(&["replay", "--summary", "json", "--events", ev.to_str().unwrap(), pcap.to_str().unwrap()]);
            assert_eq!(code, 0, "{err}");
            (serde_json::from_str::<Value>(&stdout).unwrap(), ())
        };
        let opens = summary["email_opens"].as_array().unwrap();
        assert_eq!(opens.len(), 1, "{}: {opens:#?}", folder.display());
        assert_eq!(trackers(&opens[0]["trackers"]), trackers(&w["trackers"]));
        assert!(summary["packets"].as_u64().unwrap() < 616, "only the open's flows");
    }
    // The Weborama MD5 leak of mail #1 is in its folder (redacted in events and README.txt).
    let first = std::fs::read_to_string(folders[0].join("README.txt")).unwrap();
    assert!(
        first.contains("  - Weborama (list entry solution.weborama.fr): md5 of the address in the http-path"),
        "{first}"
    );
    let md5 = "0bc83cb571cd1c50ba6f3e8a78ef1346";
    for folder in &folders {
        for file in ["README.txt", "events.jsonl"] {
            let text = std::fs::read_to_string(folder.join(file)).unwrap().to_lowercase();
            assert!(!text.contains(md5) && !text.contains("myemailaddress"), "{}/{file}", folder.display());
        }
    }
    let leak_events = std::fs::read_to_string(folders[0].join("events.jsonl")).unwrap();
    assert!(leak_events.contains("\"kind\":\"address_leak\""), "{leak_events}");
    let proxied = std::fs::read_to_string(folders[2].join("README.txt")).unwrap();
    assert!(proxied.contains("Confidence: proxied") && proxied.contains("bob-phone"), "{proxied}");
    assert!(proxied.contains("none visible: the images were fetched through Google (Gmail image proxy)"), "{proxied}");
    // A path that cannot be a folder: a usage error naming it, before anything is read.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let (code, _, err) = run(&["replay", "--evidence", file.to_str().unwrap(), capture.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--evidence") && err.contains("file"), "{err}");
}
