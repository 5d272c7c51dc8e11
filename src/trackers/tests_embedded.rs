//! Tests of the embedded default list: every row is well-formed and cited, nothing is listed twice,
//! no shared platform is listed whole, and the hosts of the research notes map where they should.

use std::collections::HashSet;

use super::{DEFAULT_LIST, TrackerDb, canonical_name};
use crate::model::Category;

/// Data rows of the embedded file, read independently of the parser: (line, columns).
fn rows() -> Vec<(usize, Vec<&'static str>)> {
    DEFAULT_LIST
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
        .collect()
}

#[test]
fn every_row_is_well_formed_and_cited() {
    let rows = rows();
    assert!(rows.len() >= 300, "only {} rows", rows.len());
    for (line, cols) in &rows {
        assert!(cols.len() == 4 || cols.len() == 5, "line {line}: {cols:?}");
        let (suffix, company, category, source) = (&cols[0], &cols[1], &cols[2], &cols[3]);
        if let Some(paths) = cols.get(4) {
            // A pixel path column parses, and the source says where its paths come from.
            assert!(crate::trackers::paths::parse_rules(paths).unwrap().is_some(), "line {line}: {paths:?}");
            assert!(source.contains("paths: "), "line {line}: cite the paths in the source column");
        }
        assert_eq!(canonical_name(suffix).as_deref(), Ok(*suffix), "line {line}: suffix not canonical");
        assert!(!company.trim().is_empty() && company.trim() == *company, "line {line}: company {company:?}");
        assert!(Category::parse(category).is_some(), "line {line}: category {category:?}");
        assert_eq!(Category::parse(category).unwrap().as_str(), *category, "line {line}");
        assert!(source.trim().len() >= 3 && source.trim() == *source, "line {line}: source {source:?}");
        assert!(!source.contains("esp-platform") || source.contains("mapped"), "line {line}");
    }
    let db = TrackerDb::builder().embedded().expect("embedded list loads without malformed lines").build();
    let info = &db.lists()[0];
    assert_eq!((info.name.as_str(), info.format), ("embedded", "tsv"));
    assert_eq!(info.entries, rows.len());
    assert_eq!(info.skipped_total, 0, "{:?}", info.skipped);
    assert_eq!(info.ignored.total(), 0);
    assert_eq!(db.entries().len(), rows.len());
    assert_eq!(TrackerDb::embedded().entries(), db.entries());
    // The source column is carried as-is for the embedded list.
    let ga = db.lookup("google-analytics.com").unwrap();
    assert!(ga.source.contains("developers.google.com/analytics"), "{}", ga.source);
}

#[test]
fn no_duplicate_suffixes() {
    let mut seen = HashSet::new();
    for (line, cols) in rows() {
        assert!(seen.insert(cols[0]), "line {line}: {} listed twice", cols[0]);
    }
}

#[test]
fn no_shared_platform_is_listed_whole() {
    const SHARED: [&str; 40] = [
        "appspot.com",
        "amazonaws.com",
        "s3.amazonaws.com",
        "compute.amazonaws.com",
        "elb.amazonaws.com",
        "cloudfront.net",
        "herokuapp.com",
        "googleusercontent.com",
        "azurewebsites.net",
        "azureedge.net",
        "blob.core.windows.net",
        "windows.net",
        "github.io",
        "githubusercontent.com",
        "firebaseapp.com",
        "web.app",
        "cloudflare.net",
        "workers.dev",
        "pages.dev",
        "netlify.app",
        "vercel.app",
        "blogspot.com",
        "akamaihd.net",
        "akamaized.net",
        "edgesuite.net",
        "edgekey.net",
        "fastly.net",
        "b-cdn.net",
        "ggpht.com",
        "gstatic.com",
        "googleapis.com",
        "fbcdn.net",
        "ondemand.com",
        "dynect.net",
        "secureserver.net",
        "wp.com",
        "substackcdn.com",
        "shopify.com",
        "myshopify.com",
        "hubspotusercontent-na1.net",
    ];
    // Whole domains of big services whose users would all look tracked.
    const SERVICES: [&str; 16] = [
        "google.com",
        "facebook.com",
        "www.facebook.com",
        "apple.com",
        "icloud.com",
        "microsoft.com",
        "live.com",
        "office.com",
        "office365.com",
        "yahoo.com",
        "gmail.com",
        "outlook.com",
        "substack.com",
        "mailchimp.com",
        "sendgrid.com",
        "mailjet.com",
    ];
    for (line, cols) in rows() {
        let s = cols[0];
        assert!(!SHARED.contains(&s) && !SERVICES.contains(&s), "line {line}: {s} must not be listed whole");
    }
    // Platform hosts are only listed as specific hosts.
    let db = TrackerDb::embedded();
    assert_eq!(db.lookup("someapp.appspot.com"), None);
    assert_eq!(db.lookup("lh3.googleusercontent.com"), None);
    assert_eq!(db.lookup("d1234.cloudfront.net"), None);
    assert_eq!(db.lookup("www.facebook.com"), None);
}

#[test]
fn context_hosts_are_specific_and_never_trackers() {
    for (line, cols) in rows() {
        let category = Category::parse(cols[2]).unwrap();
        if !category.is_tracker() {
            assert!(cols[0].split('.').count() >= 3, "line {line}: context host {} is too broad", cols[0]);
        }
    }
    let db = TrackerDb::embedded();
    for c in Category::ALL {
        assert!(db.entries().iter().any(|e| e.category == c), "no {c} entry");
    }
}

/// The hosts named in the research notes (email-tracking.md §3–§4) and the names the benchmark
/// generator uses: (name, expected suffix, company, category), or None when the name must not match.
/// (suffix, company, category) of the expected match.
type Match = (&'static str, &'static str, Category);

const EXPECTED: [(&str, Option<Match>); 30] = [
    ("www.google-analytics.com", Some(("google-analytics.com", "Google", Category::Analytics))),
    ("region1.google-analytics.com", Some(("region1.google-analytics.com", "Google", Category::Analytics))),
    ("stats.g.doubleclick.net", Some(("stats.g.doubleclick.net", "Google", Category::Analytics))),
    ("ad.doubleclick.net", Some(("doubleclick.net", "Google", Category::Advertising))),
    ("bouyguestelecom.solution.weborama.fr", Some(("solution.weborama.fr", "Weborama", Category::Advertising))),
    ("wcm.solution.weborama.fr", Some(("solution.weborama.fr", "Weborama", Category::Advertising))),
    ("cstatic.weborama.fr", Some(("weborama.fr", "Weborama", Category::Advertising))),
    ("ad.weborama.fr", Some(("weborama.fr", "Weborama", Category::Advertising))),
    ("dx.frontend.weborama.com", Some(("weborama.com", "Weborama", Category::Advertising))),
    ("mandrillapp.com", Some(("mandrillapp.com", "Mailchimp (Intuit)", Category::Email))),
    ("us5.list-manage.com", Some(("list-manage.com", "Mailchimp (Intuit)", Category::Email))),
    ("click.e.example.exacttarget.com", Some(("exacttarget.com", "Salesforce Marketing Cloud", Category::Email))),
    ("u1234.ct.sendgrid.net", Some(("sendgrid.net", "SendGrid (Twilio)", Category::Email))),
    ("t.hubspotemail.net", Some(("hubspotemail.net", "HubSpot", Category::Email))),
    ("r.eu-west-1.awstrack.me", Some(("awstrack.me", "Amazon SES", Category::Email))),
    ("x5fg.mjt.lu", Some(("mjt.lu", "Mailjet (Sinch)", Category::Email))),
    ("pixel.mailtrack.io", Some(("mailtrack.io", "Mailtrack", Category::EmailSales))),
    ("mailfoogae.appspot.com", Some(("mailfoogae.appspot.com", "Streak", Category::EmailSales))),
    ("trk.klclick.com", Some(("klclick.com", "Klaviyo", Category::Email))),
    ("connect.facebook.net", Some(("connect.facebook.net", "Meta", Category::Advertising))),
    ("imap.gmail.com", Some(("imap.gmail.com", "Google", Category::MailAccess))),
    ("outlook.office365.com", Some(("outlook.office365.com", "Microsoft", Category::MailAccess))),
    ("imap.mail.me.com", Some(("imap.mail.me.com", "Apple (iCloud Mail)", Category::MailAccess))),
    ("imap.free.fr", Some(("imap.free.fr", "Free", Category::MailAccess))),
    ("mail.google.com", Some(("mail.google.com", "Google", Category::Webmail))),
    (
        "ci3.googleusercontent.com",
        Some(("ci3.googleusercontent.com", "Google (Gmail image proxy)", Category::ImageProxy)),
    ),
    ("mask.icloud.com", Some(("mask.icloud.com", "Apple (iCloud Private Relay)", Category::PrivacyRelay))),
    // Vendor sites with no pixel evidence (see the list header): no match.
    ("r.sb.mailjet.com", None),
    ("link.sparkpost.com", None),
    ("appspot.com", None),
];

#[test]
fn research_and_bench_hosts_map_as_expected() {
    let db = TrackerDb::embedded();
    for (name, expected) in EXPECTED {
        let got = db.lookup(name).map(|e| (&*e.suffix, &*e.company, e.category));
        assert_eq!(got, expected, "{name}");
    }
    for (name, suffix) in [
        ("mask-h2.icloud.com", "mask-h2.icloud.com"),
        ("eu.sendgrid.net", "sendgrid.net"),
        ("nova.collect.igodigital.com", "igodigital.com"),
        ("pixel.inbox.exacttarget.com", "exacttarget.com"),
        ("r.superhuman.com", "r.superhuman.com"),
        ("t.yesware.com", "t.yesware.com"),
        ("email.mixmax.com", "email.mixmax.com"),
        ("x.r.af.d.sendibt2.com", "sendibt2.com"),
        ("condor.slgnt.eu", "slgnt.eu"),
        ("tag.commander1.com", "commander1.com"),
        ("logc1.xiti.com", "xiti.com"),
        ("static.criteo.net", "criteo.net"),
        ("webmail.free.fr", "webmail.free.fr"),
        ("outlook.live.com", "outlook.live.com"),
    ] {
        assert_eq!(db.lookup(name).map(|e| &*e.suffix), Some(suffix), "{name}");
    }
    for name in ["mixmax.com", "app.mixmax.com", "streak.com", "superhuman.com", "mailchimp.com", "sendgrid.com"] {
        assert_eq!(db.lookup(name), None, "{name}: vendor site, not a tracker host");
    }
}

#[test]
fn esp_pixel_paths_tell_opens_from_clicks() {
    use crate::trackers::paths::Pixel;
    let db = TrackerDb::embedded();
    let cases = [
        ("u1234.ct.sendgrid.net", "/wf/open?upn=abc", Some(Pixel::Open)),
        ("u1234.ct.sendgrid.net", "/wf/click?upn=abc", Some(Pixel::Click)),
        ("u1234.ct.sendgrid.net", "/ss/o/abc/1", Some(Pixel::Open)),
        ("u1234.ct.sendgrid.net", "/favicon.ico", None),
        ("brand.us5.list-manage.com", "/track/open.php?u=1&id=2", Some(Pixel::Open)),
        ("brand.us5.list-manage.com", "/track/click?u=1", Some(Pixel::Click)),
        ("mandrillapp.com", "/track/open.php?u=1", Some(Pixel::Open)),
        ("x1ab2.mjt.lu", "/oo/BAAAAA/aBcD1234/e.gif", Some(Pixel::Open)),
        ("s0hu.mj.am", "/oo/BAAAAA/e.gif", Some(Pixel::Open)),
        ("e.customeriomail.com", "/e/o/eyJ0", Some(Pixel::Open)),
        // No rules: the host alone says nothing about the path.
        ("bouyguestelecom.solution.weborama.fr", "/px/open.gif", None),
    ];
    for (host, path, want) in cases {
        let e = db.lookup(host).unwrap_or_else(|| panic!("{host}"));
        assert_eq!(e.pixel(path), want, "{host}{path}");
    }
}
