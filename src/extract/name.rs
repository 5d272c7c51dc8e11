//! Turning raw name bytes (DNS labels, SNI, Host) into the presentation form used in events.
//!
//! RFC 1035 §5.1 / RFC 4343: printable ASCII is kept as is (case preserved), `.` inside a label and
//! `\` are backslash-escaped, every other byte is written `\DDD` (decimal). The root is `.`.

/// Appends one DNS label to `out` in presentation form.
pub fn push_label(out: &mut String, label: &[u8]) {
    let mut rest = label;
    while !rest.is_empty() {
        // Runs of bytes written as they are go in one `push_str`.
        let plain = rest
            .iter()
            .position(|&b| needs_escape(b))
            .unwrap_or(rest.len());
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
}
