//! Tests of the suffix matcher: label boundaries, case, trailing dots, odd input, and the override
//! order of lists.

use super::{Builder, Format, ListSpec, MAX_LOOKUP_LEN, TrackerDb};
use crate::model::Category;

fn tsv(name: &str) -> ListSpec {
    ListSpec { path: name.to_string(), format: Some(Format::Tsv), ..ListSpec::default() }
}

fn small_db() -> TrackerDb {
    let text = "\
weborama.fr\tWeborama\tadvertising\tt
solution.weborama.fr\tWeborama pixels\tadvertising\tt
mjt.lu\tMailjet\temail\tt
imap.gmail.com\tGoogle\tmail-access\tt
";
    Builder::new().bytes(&tsv("small.tsv"), text.as_bytes()).build()
}

fn suffix_of<'a>(db: &'a TrackerDb, name: &str) -> Option<&'a str> {
    db.lookup(name).map(|e| &*e.suffix)
}

#[test]
fn label_boundaries() {
    let db = small_db();
    assert_eq!(suffix_of(&db, "weborama.fr"), Some("weborama.fr"));
    assert_eq!(suffix_of(&db, "cstatic.weborama.fr"), Some("weborama.fr"));
    assert_eq!(suffix_of(&db, "bouyguestelecom.solution.weborama.fr"), Some("solution.weborama.fr"));
    assert_eq!(suffix_of(&db, "solution.weborama.fr"), Some("solution.weborama.fr"));
    assert_eq!(suffix_of(&db, "xsolution.weborama.fr"), Some("weborama.fr"));
    assert_eq!(suffix_of(&db, "notweborama.fr"), None);
    assert_eq!(suffix_of(&db, "weborama.fr.example.com"), None);
    assert_eq!(suffix_of(&db, "mjt.lu.example.net"), None);
    assert_eq!(suffix_of(&db, "eborama.fr"), None);
    assert_eq!(suffix_of(&db, "fr"), None);
    assert_eq!(suffix_of(&db, "gmail.com"), None);
    assert_eq!(suffix_of(&db, "x.imap.gmail.com"), Some("imap.gmail.com"));
}

#[test]
fn case_dots_and_odd_input() {
    let db = small_db();
    assert_eq!(suffix_of(&db, "WWW.WeboRAMA.Fr"), Some("weborama.fr"));
    assert_eq!(suffix_of(&db, "x.mjt.lu."), Some("mjt.lu"));
    assert_eq!(suffix_of(&db, "x.mjt.lu.."), None);
    assert_eq!(suffix_of(&db, ""), None);
    assert_eq!(suffix_of(&db, "."), None);
    assert_eq!(suffix_of(&db, ".mjt.lu"), Some("mjt.lu"));
    assert_eq!(suffix_of(&db, "a..mjt.lu"), Some("mjt.lu"));
    // Presentation-form escapes (extract writes non-printable bytes as \DDD) simply do not match
    // the label that carries them; a clean suffix after them still does.
    assert_eq!(suffix_of(&db, "we\\226borama.fr"), None);
    assert_eq!(suffix_of(&db, "a\\000b.mjt.lu"), Some("mjt.lu"));
    // Non-ASCII: never part of a match, but a suffix after it can match.
    assert_eq!(suffix_of(&db, "wéborama.fr"), None);
    assert_eq!(suffix_of(&db, "é.mjt.lu"), Some("mjt.lu"));
    assert_eq!(db.lookup_bytes(b"\xff\xfe.mjt.lu").map(|e| &*e.suffix), Some("mjt.lu"));
    assert_eq!(db.lookup_bytes(b"x\xffmjt.lu"), None);
    // Length limits: 255 bytes is looked up, 256 is not.
    let at_limit = format!("{}.mjt.lu", "a".repeat(MAX_LOOKUP_LEN - 7));
    assert_eq!(at_limit.len(), MAX_LOOKUP_LEN);
    assert_eq!(suffix_of(&db, &at_limit), Some("mjt.lu"));
    assert_eq!(suffix_of(&db, &format!("a{at_limit}")), None);
    assert_eq!(suffix_of(&db, &format!("{at_limit}.")), Some("mjt.lu"));
    assert_eq!(TrackerDb::empty().lookup("mjt.lu"), None);
}

#[test]
fn fast_and_copying_paths_agree() {
    let db = TrackerDb::builder().embedded().unwrap().build();
    let names = [
        "bouyguestelecom.solution.weborama.fr",
        "www.google-analytics.com",
        "imap.gmail.com",
        "a.b.c.d.e.f.mjt.lu",
        "notweborama.fr",
        "example.org",
        "x.ci3.googleusercontent.com",
    ];
    for name in names {
        let lower = db.lookup(name).map(|e| &*e.suffix);
        assert_eq!(db.lookup(&name.to_ascii_uppercase()).map(|e| &*e.suffix), lower, "{name}");
        assert_eq!(db.lookup(&format!("{name}.")).map(|e| &*e.suffix), lower, "{name}.");
        let mixed: String =
            name.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect();
        assert_eq!(db.lookup(&mixed).map(|e| &*e.suffix), lower, "{mixed}");
    }
}

#[test]
fn many_labels_and_deep_suffixes() {
    let db = small_db();
    let deep = format!("{}solution.weborama.fr", "a.".repeat(100));
    assert_eq!(suffix_of(&db, &deep), Some("solution.weborama.fr"));
    let dots = ".".repeat(MAX_LOOKUP_LEN);
    assert_eq!(suffix_of(&db, &dots), None);
}

#[test]
fn later_lists_override_earlier_ones() {
    let user = "weborama.fr\tWeborama SA (my naming)\tanalytics\tmy notes\n";
    let hosts = "0.0.0.0 weborama.fr mjt.lu new.example.com\n";
    let db = TrackerDb::builder()
        .embedded()
        .unwrap()
        .bytes(&tsv("mine.tsv"), user.as_bytes())
        .bytes(&ListSpec { path: "block.hosts".into(), ..ListSpec::default() }, hosts.as_bytes())
        .build();
    let lists = db.lists();
    assert_eq!(lists.len(), 3);
    // The hosts list came last: it wins for weborama.fr and mjt.lu.
    let e = db.lookup("cstatic.weborama.fr").unwrap();
    assert_eq!((&*e.company, e.category, e.list), ("block", Category::Advertising, 2));
    assert_eq!(&*e.source, "block.hosts:1");
    assert_eq!(db.list_of(e).unwrap().name, "block.hosts");
    assert_eq!(db.lookup("x.mjt.lu").unwrap().list, 2);
    // Embedded entries nobody overrode stay.
    let sol = db.lookup("wcm.solution.weborama.fr").unwrap();
    assert_eq!((&*sol.company, sol.list), ("Weborama", 0));
    // Recorded: mine.tsv replaced embedded once; block.hosts replaced mine.tsv and embedded.
    assert_eq!(lists[1].overrides.len(), 1);
    assert_eq!((&*lists[1].overrides[0].suffix, lists[1].overrides[0].replaced_list), ("weborama.fr", 0));
    let replaced: Vec<(&str, usize)> = lists[2].overrides.iter().map(|o| (&*o.suffix, o.replaced_list)).collect();
    assert_eq!(replaced, [("weborama.fr", 1), ("mjt.lu", 0)]);
    assert_eq!((lists[0].overridden, lists[1].overridden, lists[2].overridden), (2, 1, 0));
    assert_eq!(lists[2].entries, 3);
    // One entry per suffix in force.
    let n = db.entries().iter().filter(|e| &*e.suffix == "weborama.fr").count();
    assert_eq!(n, 1);
}

#[test]
fn user_list_alone_and_empty() {
    let db = Builder::new().build();
    assert!(db.entries().is_empty() && db.lists().is_empty());
    assert_eq!(db.lookup("weborama.fr"), None);
    let text = "# nothing here\n\n";
    let db =
        Builder::new().bytes(&ListSpec { path: "empty.txt".into(), ..ListSpec::default() }, text.as_bytes()).build();
    assert_eq!(db.lists()[0].entries, 0);
    assert_eq!(db.lookup("weborama.fr"), None);
}
