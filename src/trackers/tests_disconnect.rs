//! Tests of the Disconnect `services.json` format with a file shaped like the real one (licence
//! member, categories of entity objects, URL keys, property members), written for these tests:
//! the entities and domains are facts (who owns which domain), not an excerpt of the list.

use super::{Builder, Format, ListSpec, detect, disconnect_category};
use crate::model::Category;

/// Line numbers below refer to this text (line 1 is the `{`).
pub(super) const SERVICES: &str = r#"{
  "license": "Example licence text for a test file / not the Disconnect list",
  "categories": {
    "Advertising": [
      {
        "Weborama": {
          "https://weborama.com/": [
            "weborama.com",
            "weborama.fr",
            "adrcdn.com"
          ]
        }
      },
      {
        "Criteo": {
          "https://www.criteo.com/": [
            "criteo.com",
            "criteo.net"
          ],
          "performance": "true"
        }
      },
      {
        "Google": {
          "https://www.google.com/": [
            "doubleclick.net",
            "*.bad-wildcard.example",
            "192.0.2.7"
          ]
        }
      }
    ],
    "Analytics": [
      {
        "AT Internet": {
          "https://www.atinternet.com/": [
            "xiti.com",
            "ati-host.net"
          ],
          "dnt": "eff"
        }
      }
    ],
    "Content": [
      {
        "YouTube": {
          "https://www.youtube.com/": [
            "youtube.com",
            "ytimg.com"
          ]
        }
      }
    ],
    "Social": [
      {
        "Facebook": {
          "https://www.facebook.com/": [
            "facebook.com",
            "fbcdn.net"
          ]
        }
      }
    ],
    "Email": [
      {
        "Mailjet": {
          "https://www.mailjet.com/": [
            "mjt.lu"
          ]
        }
      },
      {
        "Google": {
          "https://www.google.com/": [
            "doubleclick.net"
          ]
        }
      }
    ],
    "EmailAggressive": [
      {
        "Sendinblue": {
          "https://www.brevo.com/": [
            "sendibt2.com",
            "mjt.lu"
          ]
        }
      }
    ],
    "FingerprintingInvasive": [
      {
        "Example Fingerprinter": {
          "https://fp.example/": [
            "fp-collect.example"
          ]
        }
      }
    ],
    "Cryptomining": [
      {
        "Example Miner": {
          "https://miner.example/": [
            "coin-miner.example"
          ]
        }
      }
    ]
  }
}
"#;

fn spec() -> ListSpec {
    ListSpec { path: "services.json".into(), ..ListSpec::default() }
}

#[test]
fn detected_and_loaded_with_entity_as_company_and_mapped_categories() {
    assert_eq!(detect(SERVICES.as_bytes()), Format::Disconnect);
    assert_eq!(detect(format!("\u{feff}\n  {SERVICES}").as_bytes()), Format::Disconnect);
    assert_eq!(ListSpec::parse("disconnect:x.json").format, Some(Format::Disconnect));
    let db = Builder::new().bytes(&spec(), SERVICES.as_bytes()).build();
    let info = &db.lists()[0];
    assert_eq!(info.format, "disconnect");
    assert!(!info.truncated);
    let got = |name: &str| db.lookup(name).map(|e| (&*e.suffix, &*e.company, e.category));
    assert_eq!(got("bouyguestelecom.solution.weborama.fr"), Some(("weborama.fr", "Weborama", Category::Advertising)));
    assert_eq!(got("static.criteo.net"), Some(("criteo.net", "Criteo", Category::Advertising)));
    assert_eq!(got("logc1.xiti.com"), Some(("xiti.com", "AT Internet", Category::Analytics)));
    assert_eq!(got("x5fg.mjt.lu"), Some(("mjt.lu", "Mailjet", Category::Email)));
    assert_eq!(got("r.sendibt2.com"), Some(("sendibt2.com", "Sendinblue", Category::Email)));
    assert_eq!(got("fp-collect.example"), Some(("fp-collect.example", "Example Fingerprinter", Category::Analytics)));
    // Listed as Advertising and Email: the web category wins.
    assert_eq!(got("ad.doubleclick.net"), Some(("doubleclick.net", "Google", Category::Advertising)));
    // Categories that are not loaded.
    for name in ["www.youtube.com", "i.ytimg.com", "www.facebook.com", "fbcdn.net", "coin-miner.example"] {
        assert_eq!(db.lookup(name), None, "{name}");
    }
    let unmapped: Vec<(&str, usize)> = info.ignored.unmapped_categories.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(unmapped, [("Content", 2), ("Cryptomining", 1), ("Social", 2)]);
    // doubleclick.net under Email and mjt.lu under EmailAggressive repeat a loaded domain.
    assert_eq!(info.ignored.duplicates, 2);
    assert_eq!(info.entries, 11);
    // Properties ("performance", "dnt") are not domains; malformed domains name their line.
    assert_eq!(info.skipped_total, 2, "{:?}", info.skipped);
    assert_eq!(info.skipped[0].line, 27);
    assert!(info.skipped[0].reason.contains("*.bad-wildcard.example") && info.skipped[0].reason.contains("Google"));
    assert_eq!(info.skipped[1].line, 28);
    assert!(info.skipped[1].reason.contains("IP address"), "{}", info.skipped[1].reason);
    // Each entry's source is file:line of its domain.
    assert_eq!(&*db.lookup("adrcdn.com").unwrap().source, "services.json:10");
    assert_eq!(&*db.lookup("ati-host.net").unwrap().source, "services.json:38");
    assert_eq!(&*db.lookup("sendibt2.com").unwrap().source, "services.json:84");
}

#[test]
fn mapping_table() {
    assert_eq!(disconnect_category("Advertising").map(|m| m.0), Some(Category::Advertising));
    assert_eq!(disconnect_category("analytics").map(|m| m.0), Some(Category::Analytics));
    assert_eq!(disconnect_category("EmailAggressive").map(|m| m.0), Some(Category::Email));
    assert_eq!(disconnect_category("EmailStrict").map(|m| m.0), Some(Category::Email));
    assert_eq!(disconnect_category("FingerprintingInvasive").map(|m| m.0), Some(Category::Analytics));
    for skipped in ["Social", "Content", "Disconnect", "Cryptomining", "FingerprintingGeneral", "ConsentManagers"] {
        assert_eq!(disconnect_category(skipped), None, "{skipped}");
    }
    let rank = |c| disconnect_category(c).unwrap().1;
    assert!(rank("Advertising") < rank("Email") && rank("Analytics") < rank("EmailAggressive"));
}

#[test]
fn syntax_error_keeps_what_came_before_and_marks_the_list_truncated() {
    let cut = &SERVICES[..SERVICES.find("\"Content\"").unwrap()];
    let db = Builder::new().bytes(&spec(), cut.as_bytes()).build();
    let info = &db.lists()[0];
    assert!(info.truncated);
    assert!(db.lookup("xiti.com").is_some() && db.lookup("weborama.fr").is_some());
    let last = info.skipped.last().unwrap();
    assert!(last.reason.starts_with("JSON:") && last.reason.contains("nothing after it"), "{}", last.reason);
    assert_eq!(last.line, 44);
}

#[test]
fn unexpected_shapes_are_reported_not_fatal() {
    let text = r#"{"categories": {"Advertising": [
  {"A": {"https://a.example/": ["a-tracker.example", 7, null]}},
  {"B": ["b-tracker.example"]},
  "C",
  {"D": {"https://d.example/": "d-tracker.example", "x": {"y": 1}}}
], "Analytics": {"E": 1}, "Email": [{"F": {"u": ["f-tracker.example"]}}]}}"#;
    let spec = ListSpec { path: "odd.json".into(), format: Some(Format::Disconnect), ..ListSpec::default() };
    let db = Builder::new().bytes(&spec, text.as_bytes()).build();
    let info = &db.lists()[0];
    assert!(!info.truncated);
    assert!(db.lookup("a-tracker.example").is_some());
    assert_eq!(db.lookup("f-tracker.example").map(|e| e.category), Some(Category::Email));
    // Not domains where domains belong: a number, null, an array for an entity body, a string for
    // an entity, an object for a category; a string for a URL is a property.
    assert!(db.lookup("b-tracker.example").is_none() && db.lookup("d-tracker.example").is_none());
    assert_eq!(info.skipped_total, 6, "{:?}", info.skipped);
    // Not a Disconnect document at all.
    for text in ["[1, 2]", "{\"license\": \"x\"}", "\"categories\"", "{\"categories\": 5}"] {
        let db = Builder::new().bytes(&spec, text.as_bytes()).build();
        assert_eq!(db.entries().len(), 0, "{text}");
        assert!(db.lists()[0].skipped_total >= 1, "{text}");
    }
    // Deep nesting where no nesting belongs is skipped (serde_json skips values without
    // recursion), not a stack overflow.
    let deep = format!("{{\"categories\": {{\"Advertising\": [{}{}]}}}}", "[".repeat(100_000), "]".repeat(100_000));
    let db = Builder::new().bytes(&spec, deep.as_bytes()).build();
    assert_eq!((db.entries().len(), db.lists()[0].truncated, db.lists()[0].skipped_total), (0, false, 1));
}
