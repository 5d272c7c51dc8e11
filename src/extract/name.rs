//! Turning raw name bytes (DNS labels, SNI, Host) into the presentation form used in events.
//!
//! RFC 1035 §5.1 / RFC 4343: printable ASCII is kept as is (case preserved), `.` inside a label and
//! `\` are backslash-escaped, every other byte is written `\DDD` (decimal). The root is `.`.

/// Appends one DNS label to `out` in presentation form.
pub fn push_label(out: &mut String, label: &[u8]) {
    let mut rest = label;
    while !rest.is_empty() {
        // Runs of bytes written as they are go in one `push_str`.
        let plain = rest.iter().position(|&b| needs_escape(b)).unwrap_or(rest.len());
        let (run, tail) = rest.split_at_checked(plain).unwrap_or((rest, &[]));
        if let Ok(run) = std::str::from_utf8(run) {
            out.push_str(run);
        }
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        push_escaped(out, b);
        rest = tail;
    }
}

/// Bytes that are not printed as they are: everything outside `!`..=`~`, and `.` and `\`.
fn needs_escape(b: u8) -> bool {
    !(0x21..=0x7e).contains(&b) || b == b'.' || b == b'\\'
}

fn push_escaped(out: &mut String, b: u8) {
    out.push('\\');
    if b == b'.' || b == b'\\' {
        out.push(char::from(b));
    } else {
        out.push(char::from(b'0' + b / 100));
        out.push(char::from(b'0' + (b / 10) % 10));
        out.push(char::from(b'0' + b % 10));
    }
}

/// A host name from SNI or an HTTP Host header (already without port): printable ASCII kept,
/// anything else escaped as `\DDD`. Dots are separators here, not escaped.
pub fn host_presentation(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for part in raw.split(|&b| b == b'.').enumerate() {
        if part.0 > 0 {
            out.push('.');
        }
        push_label(&mut out, part.1);
    }
    out
}

/// The display form of a presentation-form name, as Wireshark/tshark print names (and so as the
/// corpus oracle has them): ASCII control characters as C escapes (`\t`, `\r`…) or three-digit
/// octal (`\000`), every printable ASCII character (space, `.` and `\` inside a label included)
/// as it is, and bytes from 0x80 decoded as UTF-8 the way Wireshark does (see [`push_utf8`]).
/// Lossy for non-printable bytes: events carry the lossless presentation form beside it when
/// the two differ.
pub fn display(presentation: &str) -> std::borrow::Cow<'_, str> {
    if !presentation.contains('\\') {
        return std::borrow::Cow::Borrowed(presentation);
    }
    let bytes = unescape(presentation);
    let mut out = String::with_capacity(bytes.len() + 8);
    let mut rest = bytes.as_slice();
    while let Some((&b, tail)) = rest.split_first() {
        if b < 0x80 {
            push_display_ascii(&mut out, b);
            rest = tail;
        } else {
            rest = push_utf8(&mut out, rest);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Decodes one UTF-8 sequence at the start of `b` (whose first byte is ≥ 0x80) into `out`;
/// returns the rest. Wireshark's rules, measured with tshark 4.0.17: the lead byte gives the
/// length and overlong forms are accepted; a sequence cut short, a stray continuation byte, a
/// surrogate or a value above U+10FFFF is one U+FFFD; decoded control characters print as `\uXXXX`.
fn push_utf8<'a>(out: &mut String, b: &'a [u8]) -> &'a [u8] {
    let Some((&lead, tail)) = b.split_first() else { return b };
    let (need, init) = match lead {
        0xc0..=0xdf => (1, u32::from(lead & 0x1f)),
        0xe0..=0xef => (2, u32::from(lead & 0x0f)),
        0xf0..=0xf7 => (3, u32::from(lead & 0x07)),
        _ => {
            out.push(char::REPLACEMENT_CHARACTER);
            return tail;
        }
    };
    let got = tail.iter().take(need).take_while(|&&c| c & 0xc0 == 0x80).count();
    let (cont, rest) = tail.split_at_checked(got).unwrap_or((tail, &[]));
    if got < need {
        out.push(char::REPLACEMENT_CHARACTER);
        return rest;
    }
    let cp = cont.iter().fold(init, |v, &c| (v << 6) | u32::from(c & 0x3f));
    match char::from_u32(cp) {
        Some(c) if cp < 0x20 || (0x7f..=0x9f).contains(&cp) => {
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
        Some(c) => out.push(c),
        None => out.push(char::REPLACEMENT_CHARACTER),
    }
    rest
}

/// The raw bytes of a presentation-form name (RFC 1035 §5.1: `\DDD` decimal and `\X`).
pub fn unescape(presentation: &str) -> Vec<u8> {
    let b = presentation.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let digits = b.get(i + 1..i + 4).filter(|d| d.iter().all(u8::is_ascii_digit));
        match digits {
            Some(d) => {
                let v = d.iter().fold(0u16, |v, &x| v * 10 + u16::from(x - b'0'));
                out.push(u8::try_from(v).unwrap_or(u8::MAX));
                i += 4;
            }
            None => {
                out.push(b.get(i + 1).copied().unwrap_or(b'\\'));
                i += 2;
            }
        }
    }
    out
}

fn push_display_ascii(out: &mut String, b: u8) {
    let c = char::from(b);
    let escape = match c {
        '\u{07}' => "\\a",
        '\u{08}' => "\\b",
        '\t' => "\\t",
        '\n' => "\\n",
        '\u{0b}' => "\\v",
        '\u{0c}' => "\\f",
        '\r' => "\\r",
        _ if b < 0x20 || b == 0x7f => {
            let v = u32::from(b);
            out.push('\\');
            for shift in [6, 3, 0] {
                out.push(char::from(b'0' + ((v >> shift) & 7) as u8));
            }
            return;
        }
        c => {
            out.push(c);
            return;
        }
    };
    out.push_str(escape);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_non_printable_in_decimal() {
        let mut s = String::new();
        push_label(&mut s, b"a\xffb.c\\ d");
        assert_eq!(s, "a\\255b\\.c\\\\\\032d");
        assert_eq!(host_presentation(b"WWW.Example.com"), "WWW.Example.com");
        assert_eq!(host_presentation(b"caf\xc3\xa9.fr"), "caf\\195\\169.fr");
    }

    /// Expected strings are what tshark 4.0.17 printed for these labels (`dns.qry.name` of a
    /// crafted query per label, `tshark -T json`).
    #[test]
    fn display_matches_tshark() {
        let cases: [(&[u8], &str); 12] = [
            (b"a\x00b", "a\\000b"),
            (b"c\x01\x07\x08\x09\x0a\x0b\x0c\x0d\x1a\x1b\x1f", "c\\001\\a\\b\\t\\n\\v\\f\\r\\032\\033\\037"),
            (b"sp ace", "sp ace"),
            (b"back\\slash", "back\\slash"),
            (b"dot.in", "dot.in"),
            (b"del\x7f", "del\\177"),
            (b"lat\xe9in", "lat\u{fffd}in"),
            (b"utf\xc3\xa9ok", "utf\u{e9}ok"),
            (b"bad\xc3\x28x", "bad\u{fffd}(x"),
            (b"cjk\xe5\xb0\x8f\xe4\xbd\x9b", "cjk\u{5c0f}\u{4f5b}"),
            (b"tr\xe5\xb0", "tr\u{fffd}"),
            (b"ff\xff\xfe", "ff\u{fffd}\u{fffd}"),
        ];
        // tshark 4.0.17 on more invalid UTF-8: one U+FFFD per broken sequence, overlongs decoded.
        let more: [(&[u8], &str); 11] = [
            (b"s\xed\xa0\x80x", "s\u{fffd}x"),
            (b"o\xe0\x80\x80x", "o\\u0000x"),
            (b"h\xf4\x90\x80\x80x", "h\u{fffd}x"),
            (b"t\xed\xbfdx", "t\u{fffd}dx"),
            (b"c\xc0\xafx", "c/x"),
            (b"u\xc3x", "u\u{fffd}x"),
            (b"v\xe2\x82x", "v\u{fffd}x"),
            (b"w\xf0\x9f\x98x", "w\u{fffd}x"),
            (b"k\xf0\x9f\x98\x80x", "k\u{1f600}x"),
            (b"m\x80\x80x", "m\u{fffd}\u{fffd}x"),
            (b"n\xc2\x80x", "n\\u0080x"),
        ];
        let cases: Vec<(&[u8], &str)> = cases.into_iter().chain(more).collect();
        for (label, want) in cases {
            let mut p = String::new();
            push_label(&mut p, label);
            p.push_str(".example.com");
            assert_eq!(display(&p), format!("{want}.example.com"), "{p}");
            assert_eq!(unescape(&p), [label, b".example.com"].concat());
        }
        assert!(matches!(display("www.example.com"), std::borrow::Cow::Borrowed(_)));
    }
}
