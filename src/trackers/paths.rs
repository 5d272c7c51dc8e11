//! Pixel path rules: the optional fifth column of a pixelwatch TSV list. With a full URL in view
//! (plain HTTP, or HTTPS decrypted with the user's key log) they tell an ESP's open pixel from its
//! click redirect; with only a host in view (DNS, SNI) they are never used.
//!
//! Column grammar: comma-separated rules `open:/prefix` or `click:/prefix`; a rule matches a
//! request whose path (the request-target without scheme and authority) starts with the prefix,
//! case-sensitively (RFC 3986 §6.2.2.1: paths are case-sensitive). The first matching rule wins.

use std::sync::Arc;

/// What a request to a list entry's host is, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pixel {
    /// An open pixel: the mail was rendered.
    Open,
    /// A click redirect: a link in the mail was followed.
    Click,
}

impl Pixel {
    pub fn as_str(self) -> &'static str {
        match self {
            Pixel::Open => "open",
            Pixel::Click => "click",
        }
    }
}

/// One rule of the path column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub pixel: Pixel,
    pub prefix: Box<str>,
}

/// Most rules per entry, and longest prefix (a list line is not a place for more).
pub const MAX_RULES: usize = 16;
pub const MAX_PREFIX_LEN: usize = 128;

/// Parses the path column; `Ok(None)` when it is empty.
pub fn parse_rules(column: &str) -> Result<Option<Arc<[PathRule]>>, String> {
    let column = column.trim();
    if column.is_empty() {
        return Ok(None);
    }
    let mut rules = Vec::new();
    for item in column.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (kind, prefix) = item
            .split_once(':')
            .ok_or_else(|| format!("path rule {item:?}: expected open:/PREFIX or click:/PREFIX"))?;
        let pixel = match kind.trim() {
            "open" => Pixel::Open,
            "click" => Pixel::Click,
            other => return Err(format!("path rule {item:?}: unknown kind {other:?} (open or click)")),
        };
        let prefix = prefix.trim();
        if !prefix.starts_with('/')
            || prefix.len() > MAX_PREFIX_LEN
            || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "path rule {item:?}: the prefix must start with / (at most {MAX_PREFIX_LEN} bytes, no spaces)"
            ));
        }
        rules.push(PathRule { pixel, prefix: prefix.into() });
    }
    if rules.len() > MAX_RULES {
        return Err(format!("{} path rules: at most {MAX_RULES}", rules.len()));
    }
    Ok((!rules.is_empty()).then(|| Arc::from(rules)))
}

/// The path of a request-target: origin-form as is; absolute-form (RFC 9112 §3.2.2, to a proxy)
/// without its scheme and authority.
fn path_of(target: &str) -> &str {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = target
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .and_then(|_| target.get(scheme.len()..))
        {
            return rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/");
        }
    }
    target
}

/// What `target` is by the first rule whose prefix it starts with.
pub fn classify(rules: &[PathRule], target: &str) -> Option<Pixel> {
    let path = path_of(target);
    rules.iter().find(|r| path.starts_with(&*r.prefix)).map(|r| r.pixel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_classify() {
        let rules = parse_rules("open:/wf/open, open:/ss/o/ ,click:/wf/click").unwrap().unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(classify(&rules, "/wf/open?upn=abc"), Some(Pixel::Open));
        assert_eq!(classify(&rules, "/wf/click?upn=abc"), Some(Pixel::Click));
        assert_eq!(classify(&rules, "/ss/o/xyz/1.gif"), Some(Pixel::Open));
        assert_eq!(classify(&rules, "/WF/OPEN"), None, "paths are case-sensitive");
        assert_eq!(classify(&rules, "/"), None);
        assert_eq!(classify(&rules, "http://u1.ct.sendgrid.net/wf/open?x"), Some(Pixel::Open));
        assert_eq!(classify(&rules, "HTTPS://u1.ct.sendgrid.net"), None);
        assert_eq!(parse_rules("  ").unwrap(), None);
        for bad in ["open", "view:/x", "open:wf", "open:/a b", "click:"] {
            assert!(parse_rules(bad).is_err(), "{bad}");
        }
        let many = vec!["open:/x"; MAX_RULES + 1].join(",");
        assert!(parse_rules(&many).is_err());
    }
}
