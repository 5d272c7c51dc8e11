//! QUIC versions whose Initial packets can be read: initial salts, HKDF labels and long-header
//! packet type bits per version (RFC 9001 §5.2, RFC 9369 §3.2–3.3, drafts, mvfst).

/// The kind of a long-header packet (RFC 9000 §17.2, table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// HKDF-Expand-Label labels of the packet protection keys (RFC 9001 §5.1; RFC 9369 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// "quic key", "quic iv", "quic hp": v1 and every draft.
    V1,
    /// "quicv2 key", "quicv2 iv", "quicv2 hp".
    V2,
}

impl Labels {
    pub(super) fn key(self) -> &'static [u8] {
        match self {
            Labels::V1 => b"quic key",
            Labels::V2 => b"quicv2 key",
        }
    }
    pub(super) fn iv(self) -> &'static [u8] {
        match self {
            Labels::V1 => b"quic iv",
            Labels::V2 => b"quicv2 iv",
        }
    }
    pub(super) fn hp(self) -> &'static [u8] {
        match self {
            Labels::V1 => b"quic hp",
            Labels::V2 => b"quicv2 hp",
        }
    }
}

/// What a reader needs to know about one QUIC version to open its client Initial packets.
#[derive(Debug, PartialEq, Eq)]
pub struct VersionParams {
    /// Short name, e.g. "v1", "v2", "draft-29", "mvfst-draft-27".
    pub name: &'static str,
    /// initial_salt of HKDF-Extract (RFC 9001 §5.2).
    pub salt: [u8; 20],
    pub labels: Labels,
    /// Packet type of each value of the two type bits of the first byte.
    pub types: [LongType; 4],
}

impl VersionParams {
    /// The packet type encoded in a long header's first byte.
    pub fn long_type(&self, first: u8) -> LongType {
        match (first >> 4) & 0b11 {
            0 => self.types[0],
            1 => self.types[1],
            2 => self.types[2],
            _ => self.types[3],
        }
    }
}

/// RFC 9000 §17.2 table 5.
const V1_TYPES: [LongType; 4] = [LongType::Initial, LongType::ZeroRtt, LongType::Handshake, LongType::Retry];
/// RFC 9369 §3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
const V2_TYPES: [LongType; 4] = [LongType::Retry, LongType::Initial, LongType::ZeroRtt, LongType::Handshake];

/// RFC 9001 §5.2.
const SALT_V1: [u8; 20] = hex20(*b"38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
/// RFC 9369 §3.3.1.
const SALT_V2: [u8; 20] = hex20(*b"0dede3def700a6db819381be6e269dcbf9bd2ed9");
/// draft-ietf-quic-tls-29 §5.2 (drafts 29 to 32).
const SALT_DRAFT29: [u8; 20] = hex20(*b"afbfec289993d24c9e9786f19c6111e04390a899");
/// draft-ietf-quic-tls-23 §5.2 (drafts 23 to 28; mvfst's own versions).
const SALT_DRAFT23: [u8; 20] = hex20(*b"c3eef712c72ebb5a11a7d2432bb46365bef9f502");
/// draft-ietf-quic-tls-22 §5.2 (draft 22 and mvfst 0xfaceb001).
const SALT_DRAFT22: [u8; 20] = hex20(*b"7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a");

static V1: VersionParams = VersionParams { name: "v1", salt: SALT_V1, labels: Labels::V1, types: V1_TYPES };
static V2: VersionParams = VersionParams { name: "v2", salt: SALT_V2, labels: Labels::V2, types: V2_TYPES };
static DRAFT_33_34: VersionParams =
    VersionParams { name: "draft-33/34", salt: SALT_V1, labels: Labels::V1, types: V1_TYPES };
static DRAFT_29_32: VersionParams =
    VersionParams { name: "draft-29", salt: SALT_DRAFT29, labels: Labels::V1, types: V1_TYPES };
static DRAFT_23_28: VersionParams =
    VersionParams { name: "draft-23..28", salt: SALT_DRAFT23, labels: Labels::V1, types: V1_TYPES };
static DRAFT_22: VersionParams =
    VersionParams { name: "draft-22", salt: SALT_DRAFT22, labels: Labels::V1, types: V1_TYPES };
static MVFST_22: VersionParams =
    VersionParams { name: "mvfst-draft-22", salt: SALT_DRAFT22, labels: Labels::V1, types: V1_TYPES };
static MVFST: VersionParams = VersionParams { name: "mvfst", salt: SALT_DRAFT23, labels: Labels::V1, types: V1_TYPES };
static MVFST_V1_ALIAS: VersionParams =
    VersionParams { name: "mvfst-v1-alias", salt: SALT_V1, labels: Labels::V1, types: V1_TYPES };

/// QUIC version 1 (RFC 9000).
pub const VERSION_1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369 §3.1).
pub const VERSION_2: u32 = 0x6b33_43cf;

/// The parameters of `version`, or `None` when its Initial packets cannot be opened here
/// (version negotiation, Google QUIC, drafts before 22 whose header layout differs, reserved
/// versions `?a?a?a?a` (RFC 9000 §15), anything unknown).
///
/// Drafts use the v1 layout and labels with their own salts (draft-ietf-quic-tls-22/23/29/33).
/// mvfst (Facebook) versions: 0xfaceb001 is draft-22; 0xfaceb003 is an alias of v1; its other
/// versions (0xfaceb002 "MVFST", experimental 0xfaceb00e/10/11/13) use the draft-23 salt, as in
/// mvfst's `getQuicVersionSalt`.
pub fn version_params(version: u32) -> Option<&'static VersionParams> {
    match version {
        VERSION_1 => Some(&V1),
        VERSION_2 => Some(&V2),
        0xff00_0021 | 0xff00_0022 => Some(&DRAFT_33_34),
        0xff00_001d..=0xff00_0020 => Some(&DRAFT_29_32),
        0xff00_0017..=0xff00_001c => Some(&DRAFT_23_28),
        0xff00_0016 => Some(&DRAFT_22),
        0xface_b001 => Some(&MVFST_22),
        0xface_b003 => Some(&MVFST_V1_ALIAS),
        0xface_b002 | 0xface_b00e | 0xface_b010 | 0xface_b011 | 0xface_b013 => Some(&MVFST),
        _ => None,
    }
}

/// Versions recognisably QUIC that we do not open: version negotiation (0), other IETF drafts,
/// mvfst, Google QUIC (Q0xx, T0xx), reserved versions (`?a?a?a?a`, RFC 9000 §15), the v2
/// draft version 0x709a50c4.
pub fn is_known_family(version: u32) -> bool {
    version == 0
        || version >> 8 == 0xff_0000
        || version >> 12 == 0xf_aceb
        || version & 0x0f0f_0f0f == 0x0a0a_0a0a
        || version == 0x709a_50c4
        || is_google_quic(version)
}

/// A bounded label for a version we do not open (metrics): its family, never the raw number.
pub fn family_label(version: u32) -> &'static str {
    if version == 0 {
        "negotiation"
    } else if is_google_quic(version) {
        "gquic"
    } else if version & 0x0f0f_0f0f == 0x0a0a_0a0a {
        "reserved"
    } else if version >> 8 == 0xff_0000 {
        "draft"
    } else if version >> 12 == 0xf_aceb {
        "mvfst"
    } else if version == 0x709a_50c4 {
        "v2-draft"
    } else {
        "other"
    }
}

/// Google QUIC versions: "Q0" or "T0" followed by two ASCII digits.
pub fn is_google_quic(version: u32) -> bool {
    let [a, b, c, d] = version.to_be_bytes();
    (a == b'Q' || a == b'T') && b == b'0' && c.is_ascii_digit() && d.is_ascii_digit()
}

/// Decodes 40 hex digits at compile time (only ever evaluated in constants).
#[allow(clippy::indexing_slicing, clippy::panic)]
const fn hex20(s: [u8; 40]) -> [u8; 20] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lower-case hex digit"),
        }
    }
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < 20 {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_to_their_salts_and_type_bits() {
        let v1 = version_params(VERSION_1).map(|p| p.salt);
        assert_eq!(v1.map(|s| s[..4].to_vec()), Some(vec![0x38, 0x76, 0x2c, 0xf7]));
        let v2 = version_params(VERSION_2).map(|p| (p.salt[0], p.labels, p.long_type(0xd3)));
        assert_eq!(v2, Some((0x0d, Labels::V2, LongType::Initial)), "v2 Initial is 0b01 (RFC 9369 §3.2)");
        assert_eq!(version_params(VERSION_1).map(|p| p.long_type(0xc3)), Some(LongType::Initial));
        assert_eq!(version_params(VERSION_2).map(|p| p.long_type(0xc3)), Some(LongType::Retry));
        assert_eq!(version_params(0xff00_001d).map(|p| p.salt[0]), Some(0xaf));
        assert_eq!(version_params(0xff00_001b).map(|p| p.salt[0]), Some(0xc3));
        assert_eq!(version_params(0xface_b001).map(|p| p.salt[0]), Some(0x7f));
        assert_eq!(version_params(0xface_b00e).map(|p| p.salt[0]), Some(0xc3));
        for unsupported in [0, 0x0a0a_0a0a, 0x5130_3530, 0xff00_0015, 0x1234_5678] {
            assert!(version_params(unsupported).is_none(), "{unsupported:#x}");
        }
        assert!(is_known_family(0x5130_3436) && is_known_family(0x1a2a_3a4a) && !is_known_family(0x1234_5678));
    }
}
