//! List file formats: detection and the line parsers for pixelwatch TSV, hosts files, adblock host
//! rules and plain domain lists (Disconnect's JSON is read as a whole: `disconnect.rs`).
//!
//! Each parser looks at one line and reports what it found through a callback: entries (a canonical
//! name, plus company/category/source for TSV), malformed parts (a reason, later a `file:line`
//! warning) and lines deliberately not loaded (counted in [`Ignored`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::name::canonical_name;
use crate::model::Category;

/// A list file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `suffix<TAB>company<TAB>category<TAB>source`, `#` comments.
    Tsv,
    /// `/etc/hosts` style: `0.0.0.0 name [name…]`, `#` comments.
    Hosts,
    /// Adblock Plus / uBlock Origin filters; only `||host^` rules are loaded.
    Adblock,
    /// One name per line, `#` comments.
    Domains,
    /// Disconnect `services.json`: categories → entities → domains (entity = company).
    Disconnect,
}

impl Format {
    pub const ALL: [Format; 5] = [Format::Tsv, Format::Hosts, Format::Adblock, Format::Domains, Format::Disconnect];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Tsv => "tsv",
            Format::Hosts => "hosts",
            Format::Adblock => "adblock",
            Format::Domains => "domains",
            Format::Disconnect => "disconnect",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ();

    fn from_str(s: &str) -> Result<Format, ()> {
        Format::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(s)).ok_or(())
    }
}

/// Lines of a list that were deliberately not loaded (not errors), by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignored {
    /// Hosts-file housekeeping names: `localhost`, `broadcasthost`, `ip6-allnodes`, `*.local`…
    pub local_names: usize,
    /// A suffix already loaded from the same list (the first one is kept).
    pub duplicates: usize,
    /// TSV header rows and `[Adblock Plus …]` headers.
    pub headers: usize,
    /// Adblock rules that need more than a host name: paths, wildcards, URL prefixes, substrings.
    pub path_rules: usize,
    /// Adblock exception rules (`@@…`).
    pub exceptions: usize,
    /// Adblock cosmetic and scriptlet rules (`##`, `#@#`, `#$#`, `#?#`, `#%#`, `$$`…).
    pub cosmetic: usize,
    /// Adblock regular-expression rules (`/…/`).
    pub regex: usize,
    /// `||host^$options` rules whose options limit them to some sites or to non-network actions
    /// (`$domain=`, `$popup`, `$elemhide`, `$csp=`, `$removeparam`, `$badfilter`…).
    pub restricted: usize,
    /// Disconnect lists: domains of categories that are not loaded, by Disconnect category
    /// (`Social`, `Content`, `Cryptomining`…; see [`super::disconnect::map_category`]).
    pub unmapped_categories: BTreeMap<String, usize>,
}

impl Ignored {
    pub fn total(&self) -> usize {
        self.local_names
            + self.duplicates
            + self.headers
            + self.path_rules
            + self.exceptions
            + self.cosmetic
            + self.regex
            + self.restricted
            + self.unmapped_categories.values().sum::<usize>()
    }
}

/// What a parser found on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// A valid entry; TSV rows also carry their own company, category and source.
    Entry { name: String, row: Option<TsvRow<'a>> },
    /// A malformed line (or one malformed name on a hosts line): why.
    Malformed(String),
    /// Deliberately not loaded.
    Ignored(IgnoreKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TsvRow<'a> {
    pub company: &'a str,
    pub category: Category,
    pub source: &'a str,
    /// The optional fifth column: pixel path rules (see [`super::paths`]).
    pub paths: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IgnoreKind {
    LocalName,
    Header,
    PathRule,
    Exception,
    Cosmetic,
    Regex,
    Restricted,
}

impl Ignored {
    pub(crate) fn count(&mut self, kind: IgnoreKind) {
        let counter = match kind {
            IgnoreKind::LocalName => &mut self.local_names,
            IgnoreKind::Header => &mut self.headers,
            IgnoreKind::PathRule => &mut self.path_rules,
            IgnoreKind::Exception => &mut self.exceptions,
            IgnoreKind::Cosmetic => &mut self.cosmetic,
            IgnoreKind::Regex => &mut self.regex,
            IgnoreKind::Restricted => &mut self.restricted,
        };
        *counter += 1;
    }
}

/// Parses one line (without its line terminator) in `format`.
pub(crate) fn parse_line<'a>(format: Format, line: &'a str, emit: &mut dyn FnMut(Found<'a>)) {
    match format {
        Format::Tsv => tsv_line(line, emit),
        Format::Hosts => hosts_line(line, emit),
        Format::Adblock => adblock_line(line, emit),
        Format::Domains => domains_line(line, emit),
        Format::Disconnect => emit(Found::Malformed("a Disconnect list is read as a whole document".to_string())),
    }
}

/// A JSON object with a `"categories"` member: Disconnect's `services.json`.
fn is_disconnect(data: &[u8]) -> bool {
    let start = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let first = start.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && start.windows(12).any(|w| w == b"\"categories\"")
}

/// Guesses the format of a list: a JSON object with `"categories"` is a Disconnect list; otherwise
/// the first 1,000 meaningful lines vote for the formats they are typical of, and ties go to the
/// more specific format (adblock, tsv, hosts, domains).
pub fn detect(data: &[u8]) -> Format {
    if is_disconnect(data) {
        return Format::Disconnect;
    }
    let mut votes = [0usize; 4]; // adblock, tsv, hosts, domains
    let mut seen = 0;
    for raw in data.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(raw) else {
            continue;
        };
        let line = line.trim_start_matches('\u{feff}');
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with("[Adblock") {
            return Format::Adblock;
        }
        if trimmed.starts_with('#') && !is_generic_cosmetic(trimmed) {
            continue;
        }
        seen += 1;
        if seen > 1000 {
            break;
        }
        if trimmed.starts_with('!')
            || trimmed.starts_with("||")
            || trimmed.starts_with("@@")
            || is_cosmetic(trimmed)
            || trimmed.ends_with('^')
            || trimmed.contains("^$")
        {
            votes[0] += 1;
        } else if line.split('\t').count() >= 4 {
            votes[1] += 1;
        } else {
            let mut tokens = trimmed.split_ascii_whitespace();
            let first = tokens.next().unwrap_or("");
            if parse_host_address(first).is_some() && tokens.next().is_some() {
                votes[2] += 1;
            } else {
                votes[3] += 1;
            }
        }
    }
    let order = [Format::Adblock, Format::Tsv, Format::Hosts, Format::Domains];
    let best = votes.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return Format::Domains;
    }
    let i = votes.iter().position(|&v| v == best).unwrap_or(3);
    order.get(i).copied().unwrap_or(Format::Domains)
}

/// pixelwatch TSV: `suffix<TAB>company<TAB>category<TAB>source` (format described in the header
/// of `default-list.tsv`); a row whose category column reads `category` is a header.
fn tsv_line<'a>(line: &'a str, emit: &mut dyn FnMut(Found<'a>)) {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return;
    }
    let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
    let (suffix, company, category, source, paths) = match cols.as_slice() {
        [suffix, company, category, source] => (suffix, company, category, source, ""),
        [suffix, company, category, source, paths] => (suffix, company, category, source, *paths),
        _ => {
            emit(Found::Malformed(format!(
                "expected 4 or 5 tab-separated columns (suffix, company, category, source[, pixel paths]), found {}",
                cols.len()
            )));
            return;
        }
    };
    if category.eq_ignore_ascii_case("category") {
        emit(Found::Ignored(IgnoreKind::Header));
        return;
    }
    let Some(category) = Category::parse(category) else {
        let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        emit(Found::Malformed(format!("unknown category {category:?} (expected one of {})", known.join(", "))));
        return;
    };
    if company.is_empty() {
        emit(Found::Malformed("empty company".to_string()));
        return;
    }
    if source.is_empty() {
        emit(Found::Malformed("empty source".to_string()));
        return;
    }
    if let Err(e) = super::paths::parse_rules(paths) {
        emit(Found::Malformed(e));
        return;
    }
    match canonical_name(suffix) {
        Ok(name) => emit(Found::Entry { name, row: Some(TsvRow { company, category, source, paths }) }),
        Err(e) => emit(Found::Malformed(format!("suffix {suffix:?}: {e}"))),
    }
}

/// The address column of a hosts line (`0.0.0.0`, `127.0.0.1`, `::`, `::1`, with an optional
/// IPv6 zone such as `fe80::1%lo0`).
fn parse_host_address(token: &str) -> Option<IpAddr> {
    let token = token.split('%').next().unwrap_or(token);
    token.parse::<IpAddr>().ok()
}

/// Housekeeping names found in every hosts file; they are not trackers.
fn is_local_name(name: &str) -> bool {
    const LOCAL: [&str; 13] = [
        "localhost",
        "localhost.localdomain",
        "localdomain",
        "local",
        "broadcasthost",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
        "0.0.0.0",
    ];
    let name = name.strip_suffix('.').unwrap_or(name);
    LOCAL.iter().any(|l| l.eq_ignore_ascii_case(name))
        || ends_with_label(name, "localhost")
        || ends_with_label(name, "localdomain")
        || ends_with_label(name, "local")
}

fn ends_with_label(name: &str, label: &str) -> bool {
    name.len() > label.len()
        && name.get(name.len() - label.len()..).is_some_and(|t| t.eq_ignore_ascii_case(label))
        && name.as_bytes().get(name.len() - label.len() - 1) == Some(&b'.')
}

/// Hosts file line (hosts(5); RFC 952 "DoD Internet host table specification" for the older
/// table form): an address, then one or more names separated by blanks; `#` starts a comment
/// anywhere on the line.
fn hosts_line<'a>(line: &'a str, emit: &mut dyn FnMut(Found<'a>)) {
    let content = line.split('#').next().unwrap_or("");
    let mut tokens = content.split_ascii_whitespace();
    let Some(first) = tokens.next() else { return };
    if parse_host_address(first).is_none() {
        emit(Found::Malformed(format!("expected an IP address before the names, found {first:?}")));
        return;
    }
    let mut any = false;
    for name in tokens {
        any = true;
        if is_local_name(name) {
            emit(Found::Ignored(IgnoreKind::LocalName));
            continue;
        }
        match canonical_name(name) {
            Ok(name) => emit(Found::Entry { name, row: None }),
            Err(e) => emit(Found::Malformed(format!("name {name:?}: {e}"))),
        }
    }
    if !any {
        emit(Found::Malformed(format!("no name after the address {first}")));
    }
}

/// Plain domain list: one name per line (RFC 1035 §5.1 text form of a name), `#` starts a
/// comment; a leading `*.` or `.` is accepted and dropped, since every entry is a suffix anyway.
fn domains_line<'a>(line: &'a str, emit: &mut dyn FnMut(Found<'a>)) {
    let content = line.split('#').next().unwrap_or("").trim();
    if content.is_empty() {
        return;
    }
    let mut tokens = content.split_ascii_whitespace();
    let first = tokens.next().unwrap_or("");
    if tokens.next().is_some() {
        emit(Found::Malformed("expected one name per line".to_string()));
        return;
    }
    let name = first.strip_prefix("*.").or_else(|| first.strip_prefix('.')).unwrap_or(first);
    match canonical_name(name) {
        Ok(name) => emit(Found::Entry { name, row: None }),
        Err(e) => emit(Found::Malformed(format!("name {first:?}: {e}"))),
    }
}

/// Cosmetic, scriptlet and HTML-filter separators of Adblock Plus, uBlock Origin and AdGuard.
fn is_cosmetic(line: &str) -> bool {
    const SEPARATORS: [&str; 10] = ["##", "#@#", "#?#", "#@?#", "#$#", "#@$#", "#%#", "#@%#", "$$", "$@$"];
    SEPARATORS.iter().any(|s| line.contains(s))
}

/// A cosmetic rule for every site (`##.ad`, `#@#.ad`, `#?#div:has(…)`), as opposed to a `#` comment
/// such as `## section` or `#### title`.
fn is_generic_cosmetic(line: &str) -> bool {
    const SEPARATORS: [&str; 8] = ["#@?#", "#@$#", "#@%#", "#@#", "#?#", "#$#", "#%#", "##"];
    SEPARATORS.iter().any(|s| {
        line.strip_prefix(s).and_then(|rest| rest.chars().next()).is_some_and(|c| !c.is_whitespace() && c != '#')
    })
}

/// `/regex/` or `/regex/$options` (the regex itself may contain `$`).
fn is_regex_rule(line: &str) -> bool {
    let Some(body) = line.strip_prefix('/') else {
        return false;
    };
    match body.rfind('/') {
        Some(end) => body.get(end + 1..).is_some_and(|after| after.is_empty() || after.starts_with('$')) && end > 0,
        None => false,
    }
}

/// Options that make a `||host^` rule something other than "requests to this host are tracking":
/// limited to some sites or apps, or acting on the page rather than on the request.
fn is_restricting_option(option: &str) -> bool {
    const RESTRICTING: [&str; 35] = [
        "domain",
        "from",
        "to",
        "app",
        "denyallow",
        "elemhide",
        "ehide",
        "generichide",
        "ghide",
        "specifichide",
        "shide",
        "genericblock",
        "content",
        "jsinject",
        "urlblock",
        "extension",
        "stealth",
        "cookie",
        "csp",
        "removeparam",
        "queryprune",
        "removeheader",
        "header",
        "permissions",
        "replace",
        "hls",
        "jsonprune",
        "xmlprune",
        "badfilter",
        "urltransform",
        "uritransform",
        "dnsrewrite",
        "client",
        "ctag",
        "popup",
    ];
    let option = option.trim();
    if option.starts_with('~') {
        return false; // a negated resource type narrows nothing about the host
    }
    let key = option.split('=').next().unwrap_or(option);
    RESTRICTING.iter().any(|r| r.eq_ignore_ascii_case(key)) || key.eq_ignore_ascii_case("popunder")
}

/// Adblock Plus / uBlock Origin filter line. Only `||host^` (optionally `|` after `^`, optionally
/// `$options`) is loaded; see <https://help.adblockplus.org/hc/en-us/articles/360062733293>.
fn adblock_line<'a>(line: &'a str, emit: &mut dyn FnMut(Found<'a>)) {
    let line = line.trim();
    if line.is_empty() || line.starts_with('!') {
        return;
    }
    if line.starts_with('[') && line.ends_with(']') {
        emit(Found::Ignored(IgnoreKind::Header));
        return;
    }
    if line.starts_with('#') && !is_generic_cosmetic(line) {
        return; // a `#` comment (hosts-style), tolerated by uBlock Origin
    }
    if is_cosmetic(line) {
        emit(Found::Ignored(IgnoreKind::Cosmetic));
        return;
    }
    if line.starts_with("@@") {
        emit(Found::Ignored(IgnoreKind::Exception));
        return;
    }
    if is_regex_rule(line) {
        emit(Found::Ignored(IgnoreKind::Regex));
        return;
    }
    let (pattern, options) = match line.find('$') {
        Some(i) => (line.get(..i).unwrap_or(""), line.get(i + 1..)),
        None => (line, None),
    };
    let Some(rest) = pattern.strip_prefix("||") else {
        emit(Found::Ignored(IgnoreKind::PathRule));
        return;
    };
    let end = rest.find(['^', '/', '*', '|', '?', ':', '=', '&']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(end);
    if !(tail.is_empty() || tail == "^" || tail == "^|") {
        emit(Found::Ignored(IgnoreKind::PathRule));
        return;
    }
    if options.is_some_and(|o| o.split(',').any(is_restricting_option)) {
        emit(Found::Ignored(IgnoreKind::Restricted));
        return;
    }
    match canonical_name(host) {
        Ok(name) => emit(Found::Entry { name, row: None }),
        Err(e) => emit(Found::Malformed(format!("host {host:?}: {e}"))),
    }
}
