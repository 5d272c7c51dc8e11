//! Disconnect's `services.json` (disconnectme/disconnect-tracking-protection): a JSON document
//! (RFC 8259) `{"categories": {CATEGORY: [{ENTITY: {URL: [DOMAIN…], PROPERTY: "…"}}…]…}…}`.
//!
//! The entity becomes the company; Disconnect categories map to ours (see [`map_category`]);
//! categories with no counterpart are not loaded and their domains are counted per category. The
//! document is read in order with serde visitors (no tree is built), so that each domain can be
//! given the line it is on: a forward search for the quoted name from the previous match, which
//! keeps the whole pass linear.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::model::Category;

/// How a Disconnect category is loaded: our category, and its rank when a domain is listed under
/// several categories (the lowest rank wins).
///
/// | Disconnect | pixelwatch | why |
/// |---|---|---|
/// | Advertising | advertising | |
/// | Analytics | analytics | |
/// | FingerprintingInvasive | analytics | identifies browsers across sites without consent |
/// | Email, EmailStrict, EmailAggressive | email | e-mail tracking domains |
/// | Social, Content, Disconnect, Cryptomining, FingerprintingGeneral, ConsentManagers, Anti-fraud, other | not loaded | whole social networks and content hosts (visiting them is not a tracker contact), legacy mixed category, not tracking, or not a tracker |
///
/// A domain that Disconnect lists both as a web tracker and under Email keeps the web category:
/// an `email` tracker makes a burst an e-mail open on its own, and web trackers fire on ordinary
/// pages.
pub fn map_category(disconnect: &str) -> Option<(Category, u8)> {
    const MAP: [(&str, Category); 6] = [
        ("Advertising", Category::Advertising),
        ("Analytics", Category::Analytics),
        ("FingerprintingInvasive", Category::Analytics),
        ("Email", Category::Email),
        ("EmailStrict", Category::Email),
        ("EmailAggressive", Category::Email),
    ];
    let rank = MAP.iter().position(|(name, _)| name.eq_ignore_ascii_case(disconnect.trim()))?;
    MAP.get(rank).map(|&(_, c)| (c, rank as u8))
}

/// A domain of the document, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// The Disconnect category name and its mapping (None: not loaded).
    pub category: Arc<str>,
    pub mapped: Option<(Category, u8)>,
    pub entity: Arc<str>,
    pub domain: String,
    pub line: usize,
}

/// What [`parse`] found: the domains in document order, problems as (line, reason), and whether
/// a syntax error cut the document short.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub items: Vec<Item>,
    pub problems: Vec<(usize, String)>,
    pub truncated: bool,
}

/// Most problems recorded (the rest are counted by the builder as they come, so none is lost).
const MAX_PROBLEMS: usize = 10_000;
/// Searches for a name that fail (the name is not in the text as-is, e.g. escaped) before line
/// numbers stop being searched: each failed search reads to the end of the document.
const MAX_FAILED_SEARCHES: usize = 16;

/// Reads a `services.json` document.
pub(crate) fn parse(data: &[u8]) -> Parsed {
    let mut ctx = Ctx { finder: LineFinder { data, pos: 0, line: 1, failed: 0 }, parsed: Parsed::default() };
    let mut de = serde_json::Deserializer::from_slice(data);
    let result = Root(&mut ctx).deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = result {
        ctx.parsed.truncated = true;
        let line = e.line().max(1);
        ctx.problem(line, format!("JSON: {e}; nothing after it was loaded"));
    }
    ctx.parsed
}

struct Ctx<'a> {
    finder: LineFinder<'a>,
    parsed: Parsed,
}

impl Ctx<'_> {
    fn problem(&mut self, line: usize, reason: String) {
        if self.parsed.problems.len() < MAX_PROBLEMS {
            self.parsed.problems.push((line, reason));
        }
    }
}

/// Finds the line of each string in document order.
struct LineFinder<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
    failed: usize,
}

impl LineFinder<'_> {
    /// Moves past the next occurrence of `"text"` and returns its line; when it cannot be found,
    /// the line of the previous match.
    fn find(&mut self, text: &str) -> usize {
        if self.failed >= MAX_FAILED_SEARCHES || text.contains(['"', '\\']) {
            return self.line;
        }
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let needle_len = text.len() + 2;
        let found = rest.windows(needle_len).position(|w| {
            w.first() == Some(&b'"') && w.last() == Some(&b'"') && w.get(1..needle_len - 1) == Some(text.as_bytes())
        });
        match found {
            Some(at) => {
                let skipped = rest.get(..at).unwrap_or_default();
                self.line += skipped.iter().filter(|&&b| b == b'\n').count();
                self.pos += at + needle_len;
            }
            None => self.failed += 1,
        }
        self.line
    }
}

/// Implements the visitor methods for the JSON types a level does not expect: each records a
/// problem and is skipped.
macro_rules! unexpected_scalars {
    ($what:literal) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.unexpected("true/false")
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            self.unexpected("a number")
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            self.unexpected("a number")
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            self.unexpected("a number")
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.unexpected("null")
        }
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str($what)
        }
    };
}

/// Records "expected X, found Y" at the current line.
trait Unexpected {
    /// Records a problem at the current line.
    fn report(&mut self, reason: String);
    fn what(&self) -> &'static str;
    fn unexpected<E: de::Error>(mut self, found: &str) -> Result<(), E>
    where
        Self: Sized,
    {
        let reason = format!("expected {}, found {found}", self.what());
        self.report(reason);
        Ok(())
    }
}

impl Ctx<'_> {
    fn problem_here(&mut self, reason: String) {
        let line = self.finder.line;
        self.problem(line, reason);
    }
}

/// The document: an object whose `categories` member is read, the others (`license`…) skipped.
struct Root<'c, 'a>(&'c mut Ctx<'a>);

impl Unexpected for Root<'_, '_> {
    fn report(&mut self, reason: String) {
        self.0.problem_here(reason);
    }
    fn what(&self) -> &'static str {
        "a JSON object with \"categories\""
    }
}

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Root<'_, '_> {
    type Value = ();
    unexpected_scalars!("a JSON object with \"categories\"");

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.unexpected("a string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.unexpected("an array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "categories" {
                seen = true;
                self.0.finder.find(&key);
                map.next_value_seed(Categories(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !seen {
            let line = self.0.finder.line;
            self.0.problem(line, "no \"categories\" member: not a Disconnect services.json".to_string());
        }
        Ok(())
    }
}

/// `{CATEGORY: [ENTITY…]…}`.
struct Categories<'c, 'a>(&'c mut Ctx<'a>);

impl Unexpected for Categories<'_, '_> {
    fn report(&mut self, reason: String) {
        self.0.problem_here(reason);
    }
    fn what(&self) -> &'static str {
        "an object of categories"
    }
}

impl<'de> DeserializeSeed<'de> for Categories<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Categories<'_, '_> {
    type Value = ();
    unexpected_scalars!("an object of categories");

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.unexpected("a string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.unexpected("an array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            self.0.finder.find(&name);
            let mapped = map_category(&name);
            let category: Arc<str> = Arc::from(name.trim());
            map.next_value_seed(Level { ctx: &mut *self.0, category, mapped, entity: None, depth: Depth::Entities })?;
        }
        Ok(())
    }
}

/// Where [`Level`] is in a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// `[ENTITY…]`
    Entities,
    /// `{NAME: MEMBERS}`
    Entity,
    /// `{URL: [DOMAIN…], PROPERTY: "…"}`
    Members,
    /// `[DOMAIN…]`, or the string of a property
    Member,
    /// `"DOMAIN"`
    Domain,
}

/// The levels below a category.
struct Level<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    category: Arc<str>,
    mapped: Option<(Category, u8)>,
    entity: Option<Arc<str>>,
    depth: Depth,
}

impl<'a> Level<'_, 'a> {
    fn below(&mut self, depth: Depth) -> Level<'_, 'a> {
        Level {
            ctx: &mut *self.ctx,
            category: self.category.clone(),
            mapped: self.mapped,
            entity: self.entity.clone(),
            depth,
        }
    }
}

impl Unexpected for Level<'_, '_> {
    fn report(&mut self, reason: String) {
        self.ctx.problem_here(reason);
    }
    fn what(&self) -> &'static str {
        match self.depth {
            Depth::Entities => "an array of entities",
            Depth::Entity => "an object {ENTITY: {URL: [DOMAIN…]}}",
            Depth::Members => "an object {URL: [DOMAIN…]}",
            Depth::Member => "an array of domain names",
            Depth::Domain => "a domain name",
        }
    }
}

impl<'de> DeserializeSeed<'de> for Level<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Level<'_, '_> {
    type Value = ();
    unexpected_scalars!("a Disconnect entity, its URLs and domains");

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        match self.depth {
            // Entity members such as "performance": "true" or "dnt": "eff" are properties.
            Depth::Member => Ok(()),
            Depth::Domain => {
                let line = self.ctx.finder.find(s);
                let entity = self.entity.clone().unwrap_or_else(|| Arc::from(""));
                let item = Item { category: self.category, mapped: self.mapped, entity, domain: s.to_string(), line };
                self.ctx.parsed.items.push(item);
                Ok(())
            }
            Depth::Entities | Depth::Entity | Depth::Members => self.unexpected("a string"),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let next = match self.depth {
            Depth::Entities => Depth::Entity,
            Depth::Member => Depth::Domain,
            Depth::Entity | Depth::Members | Depth::Domain => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return self.unexpected("an array");
            }
        };
        while seq.next_element_seed(self.below(next))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        match self.depth {
            Depth::Entity => {
                while let Some(name) = map.next_key::<String>()? {
                    self.ctx.finder.find(&name);
                    self.entity = Some(Arc::from(name.trim()));
                    map.next_value_seed(self.below(Depth::Members))?;
                }
                Ok(())
            }
            Depth::Members => {
                while let Some(key) = map.next_key::<String>()? {
                    self.ctx.finder.find(&key);
                    map.next_value_seed(self.below(Depth::Member))?;
                }
                Ok(())
            }
            Depth::Entities | Depth::Member | Depth::Domain => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                self.unexpected("an object")
            }
        }
    }
}
