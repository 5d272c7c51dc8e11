//! Tests of the list formats with realistic snippets: a StevenBlack-style hosts file, an
//! EasyPrivacy-style adblock list, a domains list and a pixelwatch TSV with malformed lines.

use std::io::Write as _;

use super::{Builder, Format, ListError, ListSpec, TrackerDb, detect};
use crate::model::Category;

/// Header and housekeeping block laid out like StevenBlack/hosts, then tracker entries.
const HOSTS: &str = "\
# Title: StevenBlack/hosts
#
# This hosts file is a merged collection of hosts from reputable sources,
# with a dash of crowd sourcing via GitHub
#
# Date: 01 January 2026 00:00:00 (UTC)
# Number of unique domains: 7
#
# ===============================================================

127.0.0.1 localhost
127.0.0.1 localhost.localdomain
127.0.0.1 local
255.255.255.255 broadcasthost
::1 localhost
::1 ip6-localhost ip6-loopback
fe80::1%lo0 localhost
ff00::0 ip6-localnet
ff00::0 ip6-mcastprefix
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
ff02::3 ip6-allhosts
0.0.0.0 0.0.0.0

# Custom host records are listed here.

# End of custom host records.
# Start StevenBlack

#=====================================
# Title: Hosts contributed by Steven Black
# http://stevenblack.com

0.0.0.0 www.google-analytics.com
0.0.0.0 ssl.google-analytics.com   # GA over TLS
0.0.0.0 stats.g.doubleclick.net\r
127.0.0.1 cstatic.weborama.fr ad.weborama.fr
:: pixel.example-tracker.com
0.0.0.0 bad_host..example.com
0.0.0.0 t\u{fc}racker.example.com www.mjt.lu
tracker.example.com
0.0.0.0
0.0.0.0 www.google-analytics.com
0.0.0.0 printer.local
";

/// Shaped like EasyPrivacy: header, comments, host rules with options, and every kind of rule a
/// host list must not load.
const ADBLOCK: &str = "\
[Adblock Plus 2.0]
! Version: 202601010000
! Title: EasyPrivacy
! Homepage: https://easylist.to/
!
! *** easylist:easyprivacy/easyprivacy_trackingservers.txt ***
||google-analytics.com^
||mjt.lu^$image
||weborama.fr^$third-party
||sendgrid.net^$image,third-party
||krxd.net^$script,important,~xmlhttprequest
||list-manage.com^|
||ads.example.com^$domain=example.org|example.net
||popup.example.com^$popup
||cdn.example.com^$csp=script-src 'none'
||shop.example.com^$removeparam=utm_source
||partner.example.com^$badfilter
||awstrack.me/I0/
||*.example.net^
||tracker.example.com:8443^
|https://beacon.example.org/
/track/open.php?
.gif?stat=open
/^https?:\\/\\/[a-z]+\\.tracker\\.example\\/px$/
/pixel[0-9]+\\.gif/$image
@@||consent.example.com^
@@||cdn.example.com^$script
##.ad-banner
example.com##.newsletter-pixel
example.com#@#.sponsor
example.com#$#abort-on-property-read trackEvent
example.com#?#div:has(> img[width=\"1\"])
||192.0.2.7^
||m\u{fc}nchen-tracker.de^
||xn--mnchen-tracker-3ob.de^
";

const DOMAINS: &str = "\
# Personal e-mail tracker list
google-analytics.com
*.doubleclick.net
.weborama.fr
MJT.LU.   # Mailjet, written loudly
two names.example.com
http://bad.example.com/
localhost

";

const TSV: &str = "\
# A user list in pixelwatch format
suffix\tcompany\tcategory\tsource
track.example.fr\tExample Trackers\temail\thttps://example.fr/doc
bad-line-with-two\tcolumns
x.example.fr\tEx\tunknowncat\tdoc
y.example.fr\t\temail\tdoc
z.example.fr\tEx\tanalytics\t
track.example.fr\tDuplicate\tadvertising\tdoc
Mail.Example.FR.\tExample Mail\tmail-access\tISP doc
";

fn load(format: Option<Format>, name: &str, text: &str) -> TrackerDb {
    let spec = ListSpec { path: name.to_string(), format, ..ListSpec::default() };
    Builder::new().bytes(&spec, text.as_bytes()).build()
}

#[test]
fn detects_each_format() {
    assert_eq!(detect(HOSTS.as_bytes()), Format::Hosts);
    assert_eq!(detect(ADBLOCK.as_bytes()), Format::Adblock);
    assert_eq!(detect(DOMAINS.as_bytes()), Format::Domains);
    assert_eq!(detect(TSV.as_bytes()), Format::Tsv);
    assert_eq!(detect(super::DEFAULT_LIST.as_bytes()), Format::Tsv);
    // uBlock-style list without the [Adblock] header, starting with a comment.
    assert_eq!(detect(b"! Title: my filters\n||a.example.com^\n||b.example.com^$3p\n"), Format::Adblock);
    assert_eq!(detect(b""), Format::Domains);
    assert_eq!(detect(b"# only comments\n\n"), Format::Domains);
}

#[test]
fn hosts_file() {
    let db = load(None, "lists/steven-black.hosts", HOSTS);
    let info = &db.lists()[0];
    assert_eq!(info.format, "hosts");
    let names: Vec<&str> = db.entries().iter().map(|e| &*e.suffix).collect();
    assert_eq!(
        names,
        [
            "www.google-analytics.com",
            "ssl.google-analytics.com",
            "stats.g.doubleclick.net",
            "cstatic.weborama.fr",
            "ad.weborama.fr",
            "pixel.example-tracker.com",
            "www.mjt.lu",
        ]
    );
    // 14 housekeeping names in 13 lines, plus printer.local; one repeated tracker line.
    assert_eq!(info.ignored.local_names, 15);
    assert_eq!(info.ignored.duplicates, 1);
    let skipped: Vec<(usize, &str)> = info.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert_eq!(skipped[0].0, 39);
    assert!(skipped[0].1.contains("empty label"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, 40);
    assert!(skipped[1].1.contains("non-ASCII"), "{}", skipped[1].1);
    assert_eq!(skipped[2].0, 41);
    assert!(skipped[2].1.contains("expected an IP address"), "{}", skipped[2].1);
    assert_eq!(skipped[3].0, 42);
    assert!(skipped[3].1.contains("no name"), "{}", skipped[3].1);
    // Company = file stem, category = advertising by default, source = file:line.
    let e = db.lookup("www.google-analytics.com").unwrap();
    assert_eq!(&*e.company, "steven-black");
    assert_eq!(e.category, Category::Advertising);
    assert_eq!(&*e.source, "lists/steven-black.hosts:34");
    assert_eq!(&*db.lookup("stats.g.doubleclick.net").unwrap().source, "lists/steven-black.hosts:36");
}

#[test]
fn adblock_list() {
    let db = load(None, "easyprivacy.txt", ADBLOCK);
    let info = &db.lists()[0];
    assert_eq!(info.format, "adblock");
    let names: Vec<&str> = db.entries().iter().map(|e| &*e.suffix).collect();
    assert_eq!(
        names,
        [
            "google-analytics.com",
            "mjt.lu",
            "weborama.fr",
            "sendgrid.net",
            "krxd.net",
            "list-manage.com",
            "xn--mnchen-tracker-3ob.de"
        ]
    );
    let ig = &info.ignored;
    assert_eq!(ig.headers, 1);
    assert_eq!(ig.restricted, 5, "domain=, popup, csp=, removeparam=, badfilter");
    assert_eq!(ig.path_rules, 6, "path, wildcard, port, |url, path-only, substring");
    assert_eq!(ig.regex, 2);
    assert_eq!(ig.exceptions, 2);
    assert_eq!(ig.cosmetic, 5);
    let reasons: Vec<(usize, &str)> = info.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0].0, 33);
    assert!(reasons[0].1.contains("IP address"));
    assert_eq!(reasons[1].0, 34);
    assert!(reasons[1].1.contains("non-ASCII"));
    assert_eq!(db.lookup("r.eu-west-1.awstrack.me"), None, "a path rule is not a host rule");
    assert_eq!(&*db.lookup("cdn.krxd.net").unwrap().suffix, "krxd.net");
}

#[test]
fn domains_list_with_category_override() {
    let spec = ListSpec { path: "/etc/pixelwatch/mine.txt".into(), ..ListSpec::default() }
        .with_category(Category::Email)
        .with_company("My list");
    let db = Builder::new().bytes(&spec, DOMAINS.as_bytes()).build();
    let info = &db.lists()[0];
    assert_eq!(info.format, "domains");
    assert_eq!(info.category, Some(Category::Email));
    let names: Vec<&str> = db.entries().iter().map(|e| &*e.suffix).collect();
    assert_eq!(names, ["google-analytics.com", "doubleclick.net", "weborama.fr", "mjt.lu"]);
    let e = db.lookup("x.mjt.lu").unwrap();
    assert_eq!((e.category, &*e.company), (Category::Email, "My list"));
    let lines: Vec<usize> = info.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, [6, 7, 8]);
    assert!(info.skipped[2].reason.contains("single-label"));
}

#[test]
fn tsv_with_malformed_lines() {
    let db = load(None, "team.tsv", TSV);
    let info = &db.lists()[0];
    assert_eq!(info.format, "tsv");
    assert_eq!(info.category, None);
    assert_eq!(info.entries, 2);
    assert_eq!(info.ignored.headers, 1);
    let skipped: Vec<(usize, &str)> = info.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(skipped.len(), 5, "{skipped:?}");
    assert_eq!(skipped[0].0, 4);
    assert!(skipped[0].1.contains("found 2"));
    assert_eq!(skipped[1].0, 5);
    assert!(skipped[1].1.contains("unknown category \"unknowncat\""));
    assert_eq!(skipped[2], (6, "empty company"));
    assert_eq!(skipped[3], (7, "empty source"));
    assert_eq!(skipped[4].0, 8);
    assert!(skipped[4].1.contains("duplicate suffix track.example.fr (first kept: team.tsv:3)"));
    let e = db.lookup("a.track.example.fr").unwrap();
    assert_eq!((&*e.company, e.category, &*e.source), ("Example Trackers", Category::Email, "team.tsv:3"));
    let m = db.lookup("MAIL.example.fr").unwrap();
    assert_eq!((&*m.suffix, m.category), ("mail.example.fr", Category::MailAccess));
}

#[test]
fn forced_format_and_spec_prefix() {
    assert_eq!(ListSpec::parse("hosts:/tmp/x.txt").format, Some(Format::Hosts));
    assert_eq!(ListSpec::parse("hosts:/tmp/x.txt").path, "/tmp/x.txt");
    assert_eq!(ListSpec::parse("ADBLOCK:rel/x").format, Some(Format::Adblock));
    assert_eq!(ListSpec::parse("tsv:a:b").path, "a:b");
    let plain = ListSpec::parse("C:/lists/x.txt");
    assert_eq!((plain.format, plain.path.as_str()), (None, "C:/lists/x.txt"));
    // The same text read as a domains list: the hosts lines become malformed.
    let db = load(Some(Format::Domains), "forced", "0.0.0.0 a.example.com\nb.example.com\n");
    assert_eq!(db.lists()[0].format, "domains");
    assert_eq!(db.entries().len(), 1);
    assert_eq!(db.lists()[0].skipped[0].line, 1);
}

#[test]
fn crlf_bom_and_invalid_utf8() {
    let mut data = b"\xef\xbb\xbf0.0.0.0 a.example.com\r\n".to_vec();
    data.extend_from_slice(b"0.0.0.0 b.ex\xffample.com\r\n0.0.0.0 c.example.com");
    let spec = ListSpec { path: "x.hosts".into(), ..ListSpec::default() };
    let db = Builder::new().bytes(&spec, &data).build();
    let names: Vec<&str> = db.entries().iter().map(|e| &*e.suffix).collect();
    assert_eq!(names, ["a.example.com", "c.example.com"]);
    assert_eq!(db.lists()[0].skipped[0].line, 2);
    assert!(db.lists()[0].skipped[0].reason.contains("UTF-8"));
}

#[test]
fn files_on_disk_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blocklist.txt");
    std::fs::File::create(&path).unwrap().write_all(HOSTS.as_bytes()).unwrap();
    let spec = format!("hosts:{}", path.display());
    let db = TrackerDb::builder().embedded().unwrap().file(&spec).unwrap().build();
    assert_eq!(db.lists().len(), 2);
    assert_eq!(db.lists()[1].name, path.display().to_string());
    assert_eq!(&*db.lookup("ad.weborama.fr").unwrap().company, "blocklist");

    let missing = dir.path().join("missing.txt");
    let err = TrackerDb::builder().file(&missing.display().to_string()).unwrap_err();
    assert!(matches!(err, ListError::Read { .. }));
    assert!(err.to_string().starts_with(&missing.display().to_string()), "{err}");
}

#[test]
fn skipped_lines_are_capped_but_counted() {
    let text = "not a name!\n".repeat(Builder::MAX_SKIPPED_KEPT + 10);
    let db = load(Some(Format::Domains), "junk", &text);
    let info = &db.lists()[0];
    assert_eq!(info.skipped.len(), Builder::MAX_SKIPPED_KEPT);
    assert_eq!(info.skipped_total, Builder::MAX_SKIPPED_KEPT + 10);
}

#[test]
fn tsv_pixel_path_column_is_optional() {
    use crate::trackers::paths::Pixel;
    let tsv = "suffix\tcompany\tcategory\tsource\tpixel paths\n\
pixels.example.fr\tExample ESP\temail\tour notes\topen:/p/o/,click:/p/c/\n\
old.example.fr\tExample ESP\temail\tour notes\n\
bad.example.fr\tExample ESP\temail\tour notes\tview:/x\n";
    let db = load(None, "paths.tsv", tsv);
    let info = &db.lists()[0];
    assert_eq!((info.format, info.entries), ("tsv", 2));
    assert_eq!(info.skipped.len(), 1);
    assert_eq!(info.skipped[0].line, 4);
    assert!(info.skipped[0].reason.contains("unknown kind"), "{:?}", info.skipped);
    let e = db.lookup("x.pixels.example.fr").unwrap();
    assert_eq!(e.pixel("/p/o/123.gif"), Some(Pixel::Open));
    assert_eq!(e.pixel("/p/c/123"), Some(Pixel::Click));
    assert_eq!(e.pixel("/other"), None);
    assert_eq!(db.lookup("old.example.fr").unwrap().paths, None);
}
