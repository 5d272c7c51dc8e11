//! The forms in which a watched address can leave the machine, as a bounded set of metric labels.
//!
//! The label values (`pixelwatch_address_leaks_total{encoding}`, the `encoding` field of
//! `address_leak` events) are exactly the 32 strings of [`Encoding::as_str`]:
//! `plain`, `urlencoded`, `base64`, `base64url`; the hashes `md5`, `sha1`, `sha224`, `sha256`,
//! `sha384`, `sha512`; hash of hash `OUTER(INNER)` with both in {md5, sha1, sha256, sha512}
//! (16 values, e.g. `md5(sha256)`); and `base64(HASH)` for the six hashes.

use std::fmt;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// A digest algorithm applied to the address (RFC 1321, FIPS 180-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlg {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub const ALL: [HashAlg; 6] =
        [HashAlg::Md5, HashAlg::Sha1, HashAlg::Sha224, HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512];

    pub fn as_str(self) -> &'static str {
        match self {
            HashAlg::Md5 => "md5",
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha224 => "sha224",
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }

    /// The raw digest of `data`.
    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Md5 => Md5::digest(data).to_vec(),
            HashAlg::Sha1 => Sha1::digest(data).to_vec(),
            HashAlg::Sha224 => Sha224::digest(data).to_vec(),
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// The hashes nested one level (`OUTER(hex(INNER(address)))`): the ones trackers actually use,
/// as in LeakDetector (Englehardt et al. 2018).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NestedHash {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl NestedHash {
    pub const ALL: [NestedHash; 4] = [NestedHash::Md5, NestedHash::Sha1, NestedHash::Sha256, NestedHash::Sha512];

    pub fn alg(self) -> HashAlg {
        match self {
            NestedHash::Md5 => HashAlg::Md5,
            NestedHash::Sha1 => HashAlg::Sha1,
            NestedHash::Sha256 => HashAlg::Sha256,
            NestedHash::Sha512 => HashAlg::Sha512,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// `NESTED_LABELS[outer][inner]`.
const NESTED_LABELS: [[&str; 4]; 4] = [
    ["md5(md5)", "md5(sha1)", "md5(sha256)", "md5(sha512)"],
    ["sha1(md5)", "sha1(sha1)", "sha1(sha256)", "sha1(sha512)"],
    ["sha256(md5)", "sha256(sha1)", "sha256(sha256)", "sha256(sha512)"],
    ["sha512(md5)", "sha512(sha1)", "sha512(sha256)", "sha512(sha512)"],
];

/// How a watched address appeared. One value per metric label; the transport escaping around a
/// form (percent-encoding of a base64 string, upper- or lower-case hex) does not change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    /// The address itself (any letter case).
    Plain,
    /// The address percent-encoded (`%40`, and `%2B` for a `+` in it), RFC 3986 §2.1.
    UrlEncoded,
    /// Base64 (RFC 4648 §4) of the address, with or without padding; also the address found
    /// inside a base64 token (a JSON blob).
    Base64,
    /// Base64 with the URL and filename safe alphabet (RFC 4648 §5), or the address found inside
    /// such a token.
    Base64Url,
    /// Hex digest of the address (either letter case).
    Hash(HashAlg),
    /// `outer(hex(inner(address)))`, hex in either case.
    HashOfHash { outer: NestedHash, inner: NestedHash },
    /// Base64 (either alphabet, with or without padding) of the raw digest or of its hex string,
    /// or the hex digest found inside a base64 token.
    Base64OfHash(HashAlg),
}

impl Encoding {
    /// The metric label / event value.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::UrlEncoded => "urlencoded",
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Hash(h) => h.as_str(),
            Encoding::HashOfHash { outer, inner } => {
                NESTED_LABELS.get(outer.index()).and_then(|row| row.get(inner.index())).copied().unwrap_or("hash(hash)")
            }
            Encoding::Base64OfHash(h) => match h {
                HashAlg::Md5 => "base64(md5)",
                HashAlg::Sha1 => "base64(sha1)",
                HashAlg::Sha224 => "base64(sha224)",
                HashAlg::Sha256 => "base64(sha256)",
                HashAlg::Sha384 => "base64(sha384)",
                HashAlg::Sha512 => "base64(sha512)",
            },
        }
    }

    /// Every value, in label order (32 of them).
    pub fn all() -> Vec<Encoding> {
        let mut all = vec![Encoding::Plain, Encoding::UrlEncoded, Encoding::Base64, Encoding::Base64Url];
        all.extend(HashAlg::ALL.map(Encoding::Hash));
        for outer in NestedHash::ALL {
            all.extend(NestedHash::ALL.map(|inner| Encoding::HashOfHash { outer, inner }));
        }
        all.extend(HashAlg::ALL.map(Encoding::Base64OfHash));
        all
    }

    /// What a form becomes when it is found inside a decoded base64 token.
    pub(super) fn inside_base64(self, url_safe: bool) -> Encoding {
        match self {
            Encoding::Plain | Encoding::UrlEncoded | Encoding::Base64 | Encoding::Base64Url => {
                if url_safe {
                    Encoding::Base64Url
                } else {
                    Encoding::Base64
                }
            }
            Encoding::Hash(h) => Encoding::Base64OfHash(h),
            other => other,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_bounded() {
        let all = Encoding::all();
        let mut labels: Vec<&str> = all.iter().map(|e| e.as_str()).collect();
        assert_eq!(labels.len(), 32);
        assert!(labels.iter().all(|l| !l.is_empty() && l.len() <= 14 && *l != "hash(hash)"));
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), 32);
        let nested = Encoding::HashOfHash { outer: NestedHash::Md5, inner: NestedHash::Sha256 };
        assert_eq!(nested.as_str(), "md5(sha256)");
        assert_eq!(Encoding::Base64OfHash(HashAlg::Md5).to_string(), "base64(md5)");
    }

    #[test]
    fn digests_match_the_research_vectors() {
        // research/email-tracking.md §5; SHA-256 is Gravatar's documented example.
        let a = b"myemailaddress@example.com";
        let hex = |d: Vec<u8>| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(HashAlg::Md5.digest(a)), "0bc83cb571cd1c50ba6f3e8a78ef1346");
        assert_eq!(hex(HashAlg::Sha1.digest(a)), "6b933a5f1b8864ac6e72157b9c58d45913b6f32c");
        assert_eq!(hex(HashAlg::Sha256.digest(a)), "84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee");
        for alg in HashAlg::ALL {
            let len = alg.digest(b"").len();
            assert_eq!(len, [16, 20, 28, 32, 48, 64][alg as usize], "{alg:?}");
        }
    }
}
