//! Tracker lists through the real binary: every user-list format with a real-world-shaped file,
//! forced formats, `pixelwatch lists`, the hosts of the research notes (email-tracking.md §3) via
//! `check --json`, the label-set cap, SIGHUP in replay, and list reload in a live capture on
//! loopback (root only: file change, SIGHUP, broken file; /metrics shows each step).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use common::{bin, capture, json_lines, run};

/// A StevenBlack-style hosts file: housekeeping block, inline comments, several names per line,
/// one bad name.
const HOSTS: &str = "# Title: my blocklist\n#\n127.0.0.1 localhost\n::1 localhost ip6-localhost\n\
255.255.255.255 broadcasthost\n\n# trackers\n0.0.0.0 pixel.tracker-one.example # open pixel\n\
0.0.0.0 a.tracker-two.example b.tracker-two.example\n:: v6.tracker-three.example\n0.0.0.0 bad..name.example\n";

/// EasyPrivacy-shaped adblock list: header, host rules with options, and rules that are skipped.
const ADBLOCK: &str = "[Adblock Plus 2.0]\n! Title: My privacy list\n! Expires: 4 days\n\
||collect.tracker-one.example^\n||img.tracker-two.example^$image,third-party\n\
||only-on.example^$domain=shop.example\n||tracker-three.example/pixel.gif\n/analytics/track?\n\
@@||tracker-one.example^$document\nexample.com##.newsletter-pixel\n";

/// Disconnect services.json shape (written for this test).
const DISCONNECT: &str = r#"{
  "license": "test file",
  "categories": {
    "Advertising": [
      {"Tracker One Inc": {"https://tracker-one.example/": ["tracker-one.example", "t1cdn.example"], "performance": "true"}}
    ],
    "Email": [
      {"Mailer Two": {"https://mailer-two.example/": ["open.mailer-two.example"]}}
    ],
    "Social": [
      {"Social Three": {"https://social-three.example/": ["social-three.example"]}}
    ]
  }
}
"#;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// `check --json` over `names` with the given list arguments: (tracker, company, category, list) per name.
fn check(lists: &[&str], names: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["check", "--json"];
    args.extend_from_slice(lists);
    args.extend_from_slice(names);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let v = json_lines(&out);
    assert_eq!(v.len(), names.len(), "{out}");
    v
}

#[test]
fn every_format_loads_from_a_file_with_its_own_companies_and_categories() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = write(dir.path(), "blocklist.hosts", HOSTS);
    let adblock = write(dir.path(), "privacy.txt", ADBLOCK);
    let domains = write(dir.path(), "domains.txt", "# one per line\ntracker-four.example\n*.tracker-five.example\n");
    let tsv = write(
        dir.path(),
        "mine.tsv",
        "suffix\tcompany\tcategory\tsource\nnews.sender.example\tSender Co\temail\tmy own capture\n",
    );
    let disconnect = write(dir.path(), "services.json", DISCONNECT);
    let v = check(
        &[
            "--no-default-list",
            "--list",
            &hosts,
            "--list",
            &adblock,
            "--list",
            &domains,
            "--list",
            &tsv,
            "--list",
            &disconnect,
        ],
        &[
            "x.pixel.tracker-one.example",
            "cdn.tracker-one.example",
            "img.tracker-two.example",
            "b.tracker-two.example",
            "v6.tracker-three.example",
            "x.tracker-four.example",
            "tracker-five.example",
            "news.sender.example",
            "open.mailer-two.example",
            "cdn.t1cdn.example",
            "social-three.example",
            "only-on.example",
            "tracker-three.example",
            "localhost",
        ],
    );
    let got: Vec<(String, String, String)> = v
        .iter()
        .map(|o| {
            let s = |k: &str| o[k].as_str().unwrap_or("-").to_string();
            (s("tracker"), s("company"), s("category"))
        })
        .collect();
    let want = |t: &str, c: &str, k: &str| (t.to_string(), c.to_string(), k.to_string());
    let none = || want("-", "-", "-");
    assert_eq!(
        got,
        [
            // Longest suffix wins, whatever the list: the hosts file's entry is longer.
            want("pixel.tracker-one.example", "blocklist", "advertising"),
            // Disconnect: the entity is the company.
            want("tracker-one.example", "Tracker One Inc", "advertising"),
            // Non-TSV lists: the file stem is the company, advertising the category.
            want("img.tracker-two.example", "privacy", "advertising"),
            want("b.tracker-two.example", "blocklist", "advertising"),
            want("v6.tracker-three.example", "blocklist", "advertising"),
            want("tracker-four.example", "domains", "advertising"),
            want("tracker-five.example", "domains", "advertising"),
            want("news.sender.example", "Sender Co", "email"),
            want("open.mailer-two.example", "Mailer Two", "email"),
            want("t1cdn.example", "Tracker One Inc", "advertising"),
            // Disconnect Social is not loaded; a site-restricted rule and a path rule are not
            // host rules; housekeeping names are not trackers.
            none(),
            none(),
            none(),
            none(),
        ]
    );
    let overriding = write(dir.path(), "override.txt", "v6.tracker-three.example\n");
    let (code, out, _) = run(&[
        "lists",
        "--no-default-list",
        "--list",
        &hosts,
        "--list",
        &adblock,
        "--list",
        &disconnect,
        "--list",
        &overriding,
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("blocklist.hosts (hosts, entries are advertising): 4 entries, 1 malformed lines"), "{out}");
    assert!(out.contains(&format!("skipped {hosts}:11: name \"bad..name.example\"")), "{out}");
    assert!(out.contains("4 hosts-file housekeeping names"), "{out}");
    assert!(out.contains("privacy.txt (adblock, entries are advertising): 2 entries, 0 malformed lines"), "{out}");
    for what in
        ["1 header lines", "2 path/URL rules", "1 exception rules", "1 cosmetic rules", "1 site-restricted rules"]
    {
        assert!(out.contains(what), "{what}: {out}");
    }
    assert!(out.contains("services.json (disconnect): 3 entries"), "{out}");
    assert!(out.contains("1 in Disconnect category Social"), "{out}");
    assert!(out.contains(&format!("overrides 1 entries of {hosts}: v6.tracker-three.example (line 1)")), "{out}");
    assert!(out.contains("1 entries overridden by later lists"), "{out}");
}

#[test]
fn a_prefix_forces_the_format() {
    let dir = tempfile::tempdir().unwrap();
    // A Disconnect file without the .json name, and a hosts-looking file read as domains.
    let json = write(dir.path(), "disconnect-list", DISCONNECT);
    let odd = write(dir.path(), "odd.txt", "tracker-six.example\n0.0.0.0 tracker-seven.example\n");
    let v = check(
        &["--no-default-list", "--list", &format!("disconnect:{json}"), "--list", &format!("domains:{odd}")],
        &["open.mailer-two.example", "tracker-six.example", "tracker-seven.example"],
    );
    assert_eq!(v[0]["company"], "Mailer Two");
    assert_eq!(v[1]["tracker"], "tracker-six.example");
    assert!(v[2]["tracker"].is_null(), "a hosts line is malformed in a domains list: {}", v[2]);
    let (code, _, err) =
        run(&["check", "--list", &format!("adblock:{}/missing.txt", dir.path().display()), "x.example"]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.txt"), "{err}");
}

/// The hosts named in the research notes' §3 (email-tracking.md: Google Analytics, the Weborama
/// case, the ESP table, French ESPs and ad-tech) with the company and category the notes give
/// them, in the embedded list's naming. `None`: named there but deliberately not listed (the
/// list header says why: vendor apps and per-customer instance hosts).
const RESEARCH_HOSTS: &[(&str, Option<(&str, &str)>)] = &[
    // §3.1 Google Analytics
    ("www.google-analytics.com", Some(("Google", "analytics"))),
    ("region1.google-analytics.com", Some(("Google", "analytics"))),
    ("stats.g.doubleclick.net", Some(("Google", "analytics"))),
    ("googleanalytics.com", Some(("Google", "analytics"))),
    // §3.2 Weborama
    ("bouyguestelecom.solution.weborama.fr", Some(("Weborama", "advertising"))),
    ("wcm.solution.weborama.fr", Some(("Weborama", "advertising"))),
    ("regionsud1.solution.weborama.fr", Some(("Weborama", "advertising"))),
    ("rd.frontend.weborama.fr", Some(("Weborama", "advertising"))),
    ("wcm-ru.frontend.weborama.fr", Some(("Weborama", "advertising"))),
    ("cstatic.weborama.fr", Some(("Weborama", "advertising"))),
    ("dx.frontend.weborama.com", Some(("Weborama", "advertising"))),
    ("dx.bigsea.weborama.com", Some(("Weborama", "advertising"))),
    ("ctx.weborama.com", Some(("Weborama", "advertising"))),
    ("weborama.nl", Some(("Weborama", "advertising"))),
    ("adrcdn.com", Some(("Weborama", "advertising"))),
    ("adrcntr.com", Some(("Weborama", "advertising"))),
    // §3.3 ESPs and marketing clouds
    ("cl.exct.net", Some(("Salesforce Marketing Cloud", "email"))),
    ("pixel.inbox.exacttarget.com", Some(("Salesforce Marketing Cloud", "email"))),
    ("nova.collect.igodigital.com", Some(("Salesforce Marketing Cloud", "email"))),
    ("cdn.krxd.net", Some(("Salesforce (Krux)", "advertising"))),
    ("pi.pardot.com", Some(("Salesforce (Pardot)", "email"))),
    ("us5.list-manage.com", Some(("Mailchimp (Intuit)", "email"))),
    ("list-manage1.com", Some(("Mailchimp (Intuit)", "email"))),
    ("mandrillapp.com", Some(("Mailchimp (Intuit)", "email"))),
    ("u1234.ct.sendgrid.net", Some(("SendGrid (Twilio)", "email"))),
    ("eu.sendgrid.net", Some(("SendGrid (Twilio)", "email"))),
    ("t.hubspotemail.net", Some(("HubSpot", "email"))),
    ("t.hsms06.com", Some(("HubSpot", "email"))),
    ("hs-sales-engage.com", Some(("HubSpot", "email-sales"))),
    ("t.sidekickopen03.com", Some(("HubSpot (Sidekick)", "email-sales"))),
    ("t.signauxdeux.com", Some(("HubSpot (Sidekick)", "email-sales"))),
    ("t.senaldos.com", Some(("HubSpot (Sidekick)", "email-sales"))),
    ("t.signaledue.com", Some(("HubSpot (Sidekick)", "email-sales"))),
    ("t.sigopn02.com", Some(("HubSpot (Sidekick)", "email-sales"))),
    ("d2.strk05.email", Some(("HubSpot (Sidekick)", "email-sales"))),
    ("getsidekick.com", Some(("HubSpot (Sidekick)", "email-sales"))),
    ("t.hubspotlinks.com", Some(("HubSpot", "esp-click"))),
    ("x.r.af.d.sendibt2.com", Some(("Brevo (ex-Sendinblue)", "email"))),
    ("sendibt3.com", Some(("Brevo (ex-Sendinblue)", "email"))),
    ("sendibm1.com", Some(("Brevo (ex-Sendinblue)", "email"))),
    ("sendibtd.com", Some(("Brevo (ex-Sendinblue)", "email"))),
    ("sp1-brevo.net", Some(("Brevo (ex-Sendinblue)", "email"))),
    ("amxe.net", Some(("Brevo (ex-Newsletter2Go)", "email"))),
    ("sibautomation.com", Some(("Brevo (ex-Sendinblue)", "analytics"))),
    ("trk.klaviyomail.com", Some(("Klaviyo", "email"))),
    ("ctrk.klclick1.com", Some(("Klaviyo", "email"))),
    ("ctrk.klclick3.com", Some(("Klaviyo", "email"))),
    ("sdk.braze.com", Some(("Braze", "analytics"))),
    ("js.appboycdn.com", Some(("Braze", "analytics"))),
    ("t.campaign.adobe.com", Some(("Adobe Campaign", "email"))),
    ("app-ab12.marketo.com", Some(("Adobe Marketo Engage", "email"))),
    ("123-abc-456.mktoresp.com", Some(("Adobe Marketo Engage", "analytics"))),
    ("emsecure.net", Some(("Selligent (Marigold)", "email"))),
    ("condor.slgnt.eu", Some(("Selligent (Marigold)", "email"))),
    ("slgnt.us", Some(("Selligent (Marigold)", "email"))),
    ("selligent.com", Some(("Selligent (Marigold)", "email"))),
    ("strongview.com", Some(("Selligent (Marigold)", "email"))),
    ("link.emarsys.com", Some(("Emarsys (SAP)", "email"))),
    ("emarsys.net", Some(("Emarsys (SAP)", "advertising"))),
    ("recommender.scarabresearch.com", Some(("Emarsys (SAP)", "advertising"))),
    ("open.mkt4477.com", Some(("Acoustic (ex-Silverpop)", "email"))),
    ("mkt51.net", Some(("Acoustic (ex-Silverpop)", "email"))),
    ("gw-services.vtrenz.net", Some(("Acoustic (ex-Silverpop)", "analytics"))),
    ("sc.pages04.net", Some(("Acoustic (ex-Silverpop)", "analytics"))),
    ("s1.en25.com", Some(("Oracle Eloqua", "email"))),
    ("eloqua.com", Some(("Oracle Eloqua", "analytics"))),
    ("responsys.com", Some(("Oracle Responsys", "advertising"))),
    ("bm23.com", Some(("Oracle Bronto", "email"))),
    ("bm5150.com", Some(("Oracle Bronto", "email"))),
    ("e.customeriomail.com", Some(("Customer.io", "email"))),
    ("track.customer.io", Some(("Customer.io", "email"))),
    ("x5fg.mjt.lu", Some(("Mailjet (Sinch)", "email"))),
    ("mj.am", Some(("Mailjet (Sinch)", "email"))),
    ("email.mixmax.com", Some(("Mixmax", "email-sales"))),
    ("track.mixmax.com", Some(("Mixmax", "email-sales"))),
    ("links.mixmax.com", Some(("Mixmax", "esp-click"))),
    ("mailtrack.io", Some(("Mailtrack", "email-sales"))),
    ("mltrk.io", Some(("Mailtrack / Hunter", "email-sales"))),
    ("t.yesware.com", Some(("Yesware", "email-sales"))),
    ("mailfoogae.appspot.com", Some(("Streak", "email-sales"))),
    ("r.superhuman.com", Some(("Superhuman", "email-sales"))),
    ("r.us-east-1.awstrack.me", Some(("Amazon SES", "email"))),
    ("sparkpostmail.com", Some(("SparkPost (Bird)", "email"))),
    ("sparkpostmail2.com", Some(("SparkPost (Bird)", "email"))),
    ("spmailtechnol.com", Some(("SparkPost (Bird)", "email"))),
    ("spmailtechnolo.com", Some(("SparkPost (Bird)", "email"))),
    // §3.4 French ESPs and ad-tech
    ("trk-2.net", Some(("Splio", "email"))),
    ("vinc.fr", Some(("Vinc", "email"))),
    ("mmtro.com", Some(("Numberly (1000mercis)", "analytics"))),
    ("tag.email-attitude.com", Some(("Numberly (Email Attitude)", "advertising"))),
    ("ezakus.net", Some(("NP6 (Ezakus)", "advertising"))),
    ("ivitrack.com", Some(("ividence", "advertising"))),
    ("email-reflex.com", Some(("ividence (Eperflex)", "advertising"))),
    ("commander1.com", Some(("Commanders Act", "advertising"))),
    ("tagcommander.com", Some(("Commanders Act", "analytics"))),
    ("eulerian.net", Some(("Eulerian", "analytics"))),
    ("logc1.xiti.com", Some(("Piano (AT Internet)", "analytics"))),
    ("atinternet.com", Some(("Piano (AT Internet)", "analytics"))),
    ("tag.aticdn.net", Some(("Piano (AT Internet)", "analytics"))),
    ("logs.at-o.net", Some(("Piano (AT Internet)", "analytics"))),
    ("y-track.com", Some(("Mediarithmics", "analytics"))),
    ("static.criteo.net", Some(("Criteo", "advertising"))),
    ("criteo.com", Some(("Criteo", "advertising"))),
    ("smartadserver.com", Some(("Equativ (Smart AdServer)", "advertising"))),
    // Named in §3, deliberately not listed (see the list header).
    ("us5.mailchimp.com", None),
    ("mkto-k0023.com", None),
    ("app.yesware.com", None),
    ("streak.com", None),
    ("instance.neolane.net", None),
];

#[test]
fn check_json_gives_the_research_hosts_their_company_and_category() {
    let names: Vec<&str> = RESEARCH_HOSTS.iter().map(|(n, _)| *n).collect();
    let v = check(&[], &names);
    let mut wrong = Vec::new();
    for ((name, want), o) in RESEARCH_HOSTS.iter().zip(&v) {
        assert_eq!(o["name"], *name);
        let got = o["company"].as_str().zip(o["category"].as_str());
        if got != *want {
            wrong.push(format!("{name}: got {got:?}, want {want:?}"));
        }
        if want.is_some() {
            assert_eq!(o["list"], "embedded", "{o}");
            let tracker = o["tracker"].as_str().unwrap();
            assert!(name == &tracker || name.ends_with(&format!(".{tracker}")), "{name} matched {tracker}");
        } else {
            assert!(o["tracker"].is_null() && o["list"].is_null(), "{o}");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Label boundaries.
    let v = check(&[], &["weborama.fr.example.com", "notweborama.fr", "mjt.lu.example.net", "x.weborama.fr."]);
    assert!(v[0]["tracker"].is_null() && v[1]["tracker"].is_null() && v[2]["tracker"].is_null());
    assert_eq!(v[3]["tracker"], "weborama.fr");
}

/// Distinct `tracker` label values of pixelwatch_tracker_contacts_total in a metrics file.
fn tracker_labels(prom: &str) -> Vec<String> {
    let mut v: Vec<String> = prom
        .lines()
        .filter(|l| l.starts_with("pixelwatch_tracker_contacts_total{"))
        .filter_map(|l| l.split("tracker=\"").nth(1).and_then(|r| r.split('"').next()).map(str::to_owned))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l.as_bytes().get(series.len()) == Some(&b' '))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

#[test]
fn max_tracker_series_caps_label_sets_and_counts_the_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = capture("mail-open-gateway.pcap");
    let gateway = gateway.to_str().unwrap();
    let full = dir.path().join("full.prom");
    let (code, _, err) = run(&["replay", "--summary", "none", "--metrics-out", full.to_str().unwrap(), gateway]);
    assert_eq!(code, 0, "{err}");
    let full = std::fs::read_to_string(full).unwrap();
    let all = tracker_labels(&full);
    assert!(all.len() >= 3 && !all.contains(&"other".to_string()), "{all:?}");
    assert_eq!(value(&full, "pixelwatch_tracker_label_overflow_total"), Some(0.0));

    // The flag, and the same setting from a --config file.
    let config = dir.path().join("pw.toml");
    std::fs::write(&config, "max-tracker-series = 2\n").unwrap();
    for args in [vec!["--max-tracker-series", "2"], vec!["--config", config.to_str().unwrap()]] {
        let out = dir.path().join("capped.prom");
        let mut cmd = vec!["replay", "--summary", "none", "--metrics-out", out.to_str().unwrap()];
        cmd.extend(args);
        cmd.push(gateway);
        let (code, _, err) = run(&cmd);
        assert_eq!(code, 0, "{err}");
        let capped = std::fs::read_to_string(&out).unwrap();
        let labels = tracker_labels(&capped);
        assert_eq!(labels.len(), 3, "two label sets and \"other\": {labels:?}");
        assert!(labels.contains(&"other".to_string()));
        assert!(value(&capped, "pixelwatch_tracker_label_overflow_total").unwrap() >= 1.0, "{capped}");
        assert!(capped.contains("company=\"other\""), "{capped}");
    }
    let (code, _, err) = run(&["replay", "--max-tracker-series", "0", gateway]);
    assert_eq!(code, 2, "{err}");
}

/// Lines of a child's standard error, as they come.
fn stderr_lines(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle`; returns it.
fn wait_line(rx: &Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no stderr line with {needle:?}");
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

#[test]
fn sighup_does_not_stop_a_replay() {
    let gateway = capture("mail-open-gateway.pcap");
    let mut child = Command::new(bin())
        .args(["replay", "--summary", "none", "--listen", "127.0.0.1:0", "--hold"])
        .arg(&gateway)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    wait_line(&lines, "replay done");
    signal(&child, nix::sys::signal::Signal::SIGHUP);
    wait_line(&lines, "SIGHUP ignored");
    std::thread::sleep(Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP must not end the process");
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

fn scrape(addr: &str) -> String {
    let mut conn = TcpStream::connect(addr).expect("connect to /metrics");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    resp
}

/// Scrapes until `ok` holds (20 s at most); returns the last scrape.
fn wait_metrics(addr: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(addr);
        if ok(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
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

fn replace_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn live_capture_reloads_lists_on_file_change_and_sighup_and_keeps_them_when_broken() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: live capture needs root (or CAP_NET_RAW); CI runs as root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("x.txt");
    std::fs::write(&list, "0.0.0.0 first.tracker.example\n").unwrap();
    let list_name = list.to_str().unwrap();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let filter = format!("udp and src port {port} and dst port 53");
    let mut child = Command::new(bin())
        .args(["live", "-i", "lo", "-f", &filter, "--no-default-list", "--list", list_name, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let banner = wait_line(&lines, "capturing on lo");
    let addr = banner.split("http://").nth(1).and_then(|s| s.split("/metrics").next()).unwrap().to_owned();
    let entries = format!("pixelwatch_tracker_list_entries{{list=\"{list_name}\"}}");
    let ok = "pixelwatch_tracker_list_reloads_total{result=\"ok\"}";
    let error = "pixelwatch_tracker_list_reloads_total{result=\"error\"}";
    let text = scrape(&addr);
    assert_eq!(
        (value(&text, &entries), value(&text, ok), value(&text, error)),
        (Some(1.0), Some(0.0), Some(0.0)),
        "{text}"
    );

    // 1. The file is replaced atomically: reloaded without a signal.
    replace_atomically(&list, "0.0.0.0 second.tracker.example\n0.0.0.0 third.tracker.example\n");
    wait_line(&lines, "tracker lists reloaded (a list file changed)");
    wait_metrics(&addr, "2 entries, 1 reload", |t| value(t, &entries) == Some(2.0) && value(t, ok) == Some(1.0));
    // The capture thread uses the new list from its next packet on.
    sink.send_to(&dns_query(7, "www.third.tracker.example"), "127.0.0.1:53").unwrap();
    wait_metrics(&addr, "a contact with the new entry", |t| t.contains("tracker=\"third.tracker.example\""));

    // 2. SIGHUP reloads too.
    signal(&child, nix::sys::signal::Signal::SIGHUP);
    wait_line(&lines, "tracker lists reloaded (SIGHUP)");
    wait_metrics(&addr, "a second reload", |t| value(t, ok) == Some(2.0));

    // 3. A broken replacement keeps the old list, says why and counts an error.
    replace_atomically(&list, "<html><body>502 Bad Gateway</body></html>\n");
    let why = wait_line(&lines, "tracker lists not reloaded");
    assert!(why.contains("x.txt") && why.contains("no valid entries"), "{why}");
    let text = wait_metrics(&addr, "an error reload", |t| value(t, error) == Some(1.0));
    assert_eq!(value(&text, &entries), Some(2.0), "the old list stays in force");
    sink.send_to(&dns_query(8, "www.second.tracker.example"), "127.0.0.1:53").unwrap();
    wait_metrics(&addr, "the old list still matching", |t| t.contains("tracker=\"second.tracker.example\""));

    signal(&child, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
