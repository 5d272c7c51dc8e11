//! Validation of the names a list may contain, and the allocation-free key used by lookups.
//!
//! List names follow the host-name syntax of RFC 1123 §2.1 / RFC 1035 §2.3.4 (labels of 1–63
//! letters, digits and hyphens, at most 253 characters without the trailing dot), relaxed to accept
//! `_` because real tracker names use it. Internationalised names must be in their ASCII `xn--`
//! form (RFC 5890 §2.3.2.1); raw non-ASCII is refused.

use std::fmt;
use std::net::IpAddr;

/// Longest name accepted in a list, without the trailing dot (RFC 1035 §2.3.4: 255 octets on the
/// wire, 253 characters in text form).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a name from a list was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    NonAscii,
    IpAddress,
    EmptyLabel,
    LabelTooLong,
    BadCharacter(char),
    NumericTopLabel,
    SingleLabel,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("empty name"),
            NameError::TooLong => write!(f, "name longer than {MAX_NAME_LEN} characters"),
            NameError::NonAscii => f.write_str("non-ASCII name (internationalised names must use their xn-- form)"),
            NameError::IpAddress => f.write_str("IP address, not a name"),
            NameError::EmptyLabel => f.write_str("empty label (two dots in a row, or a leading dot)"),
            NameError::LabelTooLong => write!(f, "label longer than {MAX_LABEL_LEN} characters"),
            NameError::BadCharacter(c) => write!(f, "character {c:?} not allowed in a name"),
            NameError::NumericTopLabel => f.write_str("all-numeric last label (an IP address?)"),
            NameError::SingleLabel => f.write_str("single-label name (a top-level domain would match too much)"),
        }
    }
}

/// Checks a name from a list and returns its canonical form: lower case, no trailing dot.
///
/// Refuses IP literals, empty or over-long labels, characters outside `[A-Za-z0-9_-]`, raw
/// non-ASCII, an all-numeric last label, and single-label names (a suffix such as `com` would
/// turn every `.com` name into a tracker).
pub fn canonical_name(raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if !name.is_ascii() {
        return Err(NameError::NonAscii);
    }
    if name.parse::<IpAddr>().is_ok() || name.starts_with('[') {
        return Err(NameError::IpAddress);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    let mut labels = 0usize;
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if let Some(c) = label.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            return Err(NameError::BadCharacter(c));
        }
        labels += 1;
        last = label;
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NameError::NumericTopLabel);
    }
    if labels < 2 {
        return Err(NameError::SingleLabel);
    }
    Ok(name.to_ascii_lowercase())
}

/// Number of labels in a canonical name.
pub fn label_count(name: &str) -> usize {
    name.bytes().filter(|&b| b == b'.').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_name("Stats.G.DoubleClick.NET.").as_deref(), Ok("stats.g.doubleclick.net"));
        assert_eq!(canonical_name("  weborama.fr ").as_deref(), Ok("weborama.fr"));
        assert_eq!(canonical_name("_dmarc.example.com").as_deref(), Ok("_dmarc.example.com"));
        assert_eq!(canonical_name("xn--bcher-kva.example").as_deref(), Ok("xn--bcher-kva.example"));
        assert_eq!(canonical_name("mkt4477.com").as_deref(), Ok("mkt4477.com"));
    }

    #[test]
    fn refusals() {
        assert_eq!(canonical_name(""), Err(NameError::Empty));
        assert_eq!(canonical_name("."), Err(NameError::Empty));
        assert_eq!(canonical_name("bücher.example"), Err(NameError::NonAscii));
        assert_eq!(canonical_name("192.0.2.1"), Err(NameError::IpAddress));
        assert_eq!(canonical_name("2001:db8::1"), Err(NameError::IpAddress));
        assert_eq!(canonical_name("10.1.2"), Err(NameError::NumericTopLabel));
        assert_eq!(canonical_name("a..b.com"), Err(NameError::EmptyLabel));
        assert_eq!(canonical_name(".b.com"), Err(NameError::EmptyLabel));
        assert_eq!(canonical_name("*.b.com"), Err(NameError::BadCharacter('*')));
        assert_eq!(canonical_name("ads.example.com/path"), Err(NameError::BadCharacter('/')));
        assert_eq!(canonical_name("com"), Err(NameError::SingleLabel));
        let long_label = format!("{}.com", "a".repeat(64));
        assert_eq!(canonical_name(&long_label), Err(NameError::LabelTooLong));
        let ok_label = format!("{}.com", "a".repeat(63));
        assert!(canonical_name(&ok_label).is_ok());
        let long_name = format!("{}com", "abcdefghi.".repeat(25)); // 253 characters
        assert_eq!(long_name.len(), 253);
        assert!(canonical_name(&long_name).is_ok());
        assert_eq!(canonical_name(&format!("x{long_name}")), Err(NameError::TooLong));
    }
}
