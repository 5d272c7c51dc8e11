//! The needles of one watched address: validation, seeds, and every encoding, hash and nesting of
//! PRODUCT.md "Address leaks" (research/email-tracking.md §5, after LeakDetector).

use super::encoding::{Encoding, HashAlg, NestedHash};

/// Shorter needles are dropped: short strings collide with ordinary URL text (§5 "Short seeds").
pub const MIN_NEEDLE_LEN: usize = 16;

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254.
const MAX_ADDRESS_LEN: usize = 254;

/// One string to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Form {
    pub bytes: Vec<u8>,
    pub encoding: Encoding,
    /// ASCII letter case does not matter (hex digests, the address and its percent-encoding).
    pub case_insensitive: bool,
    /// The bytes around a match must not continue an address (`xme@a.com`, `me@a.community`).
    pub boundary: bool,
}

/// True when `address` (trimmed) looks like `local@domain.tld` (RFC 5322 §3.4.1 addr-spec in its
/// common dot-atom form): one `@`, a non-empty local part of at most 64 octets without spaces or
/// controls, a domain of dot-separated non-empty labels of letters, digits, `-` (or non-ASCII
/// IDN), with at least one dot.
pub(super) fn looks_like_address(address: &str) -> bool {
    let a = address.trim();
    if a.len() > MAX_ADDRESS_LEN {
        return false;
    }
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && local.chars().all(|c| !c.is_whitespace() && !c.is_control() && c != '"');
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    local_ok && domain_ok
}

/// Lower-case hex (RFC 4648 §8).
pub(super) fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.extend([DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    }
    out
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with `alphabet` (RFC 4648 §4 standard, §5 URL-safe), padded with `=` (§3.2).
pub(super) fn base64(data: &[u8], alphabet: &[u8; 64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| alphabet[((n >> shift) & 63) as usize];
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { b'=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { b'=' });
    }
    out
}

/// Percent-encodes (RFC 3986 §2.1, upper-case hex) every byte for which `escape` is true.
fn percent_encode(data: &[u8], escape: impl Fn(u8) -> bool) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(data.len() * 3);
    for &b in data {
        if escape(b) {
            out.extend([b'%', DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
    out
}

/// RFC 3986 §2.3 unreserved characters, left alone by `encodeURIComponent`-style encoders.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Every form of `address` (which [`looks_like_address`] accepted), at least [`MIN_NEEDLE_LEN`]
/// long, in a fixed order, possibly with duplicates (the automaton builder merges them).
///
/// Seeds (§5): the address as typed, trimmed and lower-cased, trimmed and upper-cased. The plain
/// and percent-encoded forms are matched case-insensitively, so they come from the trimmed
/// address only; base64 and digests depend on the exact bytes, so they come from every seed.
pub(super) fn forms(address: &str) -> Vec<Form> {
    let trimmed = address.trim();
    let mut seeds: Vec<Vec<u8>> = Vec::with_capacity(3);
    for seed in [address.to_owned(), trimmed.to_lowercase(), trimmed.to_uppercase()] {
        if !seeds.iter().any(|s| *s == seed.as_bytes()) {
            seeds.push(seed.into_bytes());
        }
    }
    let mut out = Vec::new();
    let mut push = |bytes: Vec<u8>, encoding: Encoding, case_insensitive: bool| {
        if bytes.len() >= MIN_NEEDLE_LEN {
            let boundary = matches!(encoding, Encoding::Plain | Encoding::UrlEncoded);
            out.push(Form { bytes, encoding, case_insensitive, boundary });
        }
    };

    // The address and its percent-encodings: `@` only, `+` only, everything but unreserved.
    let t = trimmed.as_bytes();
    push(t.to_vec(), Encoding::Plain, true);
    push(percent_encode(t, |b| b == b'@'), Encoding::UrlEncoded, true);
    if t.contains(&b'+') {
        push(percent_encode(t, |b| b == b'+'), Encoding::UrlEncoded, true);
    }
    push(percent_encode(t, |b| !unreserved(b)), Encoding::UrlEncoded, true);

    for seed in &seeds {
        push_base64(&mut push, seed, Encoding::Base64, Encoding::Base64Url);
        for alg in HashAlg::ALL {
            let digest = alg.digest(seed);
            let hex_lower = hex(&digest);
            push(hex_lower.clone(), Encoding::Hash(alg), true);
            let wrapped = Encoding::Base64OfHash(alg);
            push_base64(&mut push, &digest, wrapped, wrapped);
            push_base64(&mut push, &hex_lower, wrapped, wrapped);
            push_base64(&mut push, &hex_lower.to_ascii_uppercase(), wrapped, wrapped);
        }
        for inner in NestedHash::ALL {
            let inner_hex = hex(&inner.alg().digest(seed));
            for outer in NestedHash::ALL {
                push(hex(&outer.alg().digest(&inner_hex)), Encoding::HashOfHash { outer, inner }, true);
            }
        }
    }
    out
}

/// Base64 of `data`: standard and URL-safe alphabets, with and without padding, and the standard
/// form percent-encoded (`+` `/` `=` → `%2B` `%2F` `%3D`) as it appears in a query string.
/// Strings identical in both alphabets are labelled `std`.
fn push_base64(push: &mut impl FnMut(Vec<u8>, Encoding, bool), data: &[u8], std: Encoding, url: Encoding) {
    let padded = base64(data, STD);
    let url_padded = base64(data, URL);
    let unpadded = |v: &[u8]| v.strip_suffix(b"==").or_else(|| v.strip_suffix(b"=")).unwrap_or(v).to_vec();
    let url_label = if url_padded == padded { std } else { url };
    push(percent_encode(&padded, |b| matches!(b, b'+' | b'/' | b'=')), std, false);
    push(unpadded(&padded), std, false);
    push(unpadded(&url_padded), url_label, false);
    push(url_padded, url_label, false);
    push(padded, std, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(forms: &[Form], s: &str, enc: &str) -> bool {
        forms.iter().any(|f| f.bytes == s.as_bytes() && f.encoding.as_str() == enc)
    }

    #[test]
    fn forms_include_the_research_vectors() {
        let f = forms("myemailaddress@example.com");
        assert!(has(&f, "myemailaddress@example.com", "plain"));
        assert!(has(&f, "myemailaddress%40example.com", "urlencoded"));
        assert!(has(&f, "bXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jb20=", "base64"));
        assert!(has(&f, "bXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jb20", "base64"));
        assert!(has(&f, "0bc83cb571cd1c50ba6f3e8a78ef1346", "md5"));
        assert!(has(&f, "6b933a5f1b8864ac6e72157b9c58d45913b6f32c", "sha1"));
        assert!(has(&f, "84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee", "sha256"));
        assert!(has(&f, "67801eca5fc63c4999d5ef4cc3092755", "md5(sha256)"));
        assert!(has(&f, "C8g8tXHNHFC6bz6KeO8TRg==", "base64(md5)"));
        assert!(has(&f, "C8g8tXHNHFC6bz6KeO8TRg%3D%3D", "base64(md5)"));
        // Base64 of the hex MD5 (python3: base64.b64encode(b"0bc83cb5…")).
        assert!(has(&f, "MGJjODNjYjU3MWNkMWM1MGJhNmYzZThhNzhlZjEzNDY=", "base64(md5)"));
        // URL-safe base64 of the raw SHA-256 differs from the standard one ('-' for '+').
        assert!(has(&f, "hAWbB9S-Z7gGOGwKrYBwoj8Yg2u6rjQiddwKg0FMMu4", "base64(sha256)"));
        assert!(f.iter().all(|x| x.bytes.len() >= MIN_NEEDLE_LEN));
        // Lower-case address: the typed seed equals the lower one; the upper seed adds its own digests.
        let upper_md5 = hex(&HashAlg::Md5.digest(b"MYEMAILADDRESS@EXAMPLE.COM"));
        assert!(f.iter().any(|x| x.bytes == upper_md5));
    }

    #[test]
    fn short_addresses_keep_only_long_forms() {
        let f = forms("jo@ab.fr");
        assert!(!f.iter().any(|x| matches!(x.encoding, Encoding::Plain | Encoding::UrlEncoded | Encoding::Base64)));
        assert!(f.iter().any(|x| x.encoding == Encoding::Hash(HashAlg::Md5)));
    }

    #[test]
    fn plus_addresses_get_their_percent_forms() {
        let f = forms("Jane.Doe+news@Example.org");
        assert!(has(&f, "Jane.Doe+news%40Example.org", "urlencoded"));
        assert!(has(&f, "Jane.Doe%2Bnews@Example.org", "urlencoded"));
        assert!(has(&f, "Jane.Doe%2Bnews%40Example.org", "urlencoded"));
        // Digests of the typed, lower-cased and upper-cased seeds are all there.
        for seed in ["Jane.Doe+news@Example.org", "jane.doe+news@example.org", "JANE.DOE+NEWS@EXAMPLE.ORG"] {
            let md5 = hex(&HashAlg::Md5.digest(seed.as_bytes()));
            assert!(f.iter().any(|x| x.bytes == md5), "{seed}");
        }
    }

    #[test]
    fn address_validation() {
        for ok in ["myemailaddress@example.com", " Jane.Doe+x@sub.example.co.uk ", "élise@exemple.fr", "a@b.cd"] {
            assert!(looks_like_address(ok), "{ok}");
        }
        for bad in [
            "",
            "myemailaddress",
            "@example.com",
            "me@",
            "me@localhost",
            "me@exa mple.com",
            "m e@example.com",
            "me@@example.com",
            "me@example..com",
            "me@-example.com",
            "me@example.com\n",
        ] {
            // A trailing newline is trimmed, so that one passes; the others must not.
            assert_eq!(looks_like_address(bad), bad == "me@example.com\n", "{bad:?}");
        }
        assert!(!looks_like_address(&format!("{}@example.com", "a".repeat(65))));
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        // RFC 4648 §10.
        for (input, want) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes(), STD), want.as_bytes());
        }
        assert_eq!(base64(&[0xfb, 0xff], URL), b"-_8=");
        assert_eq!(base64(&[0xfb, 0xff], STD), b"+/8=");
    }
}
