//! Client Initial packet protection (RFC 9001 §5): key derivation from the client's Destination
//! Connection ID, header protection removal, packet number recovery and AEAD_AES_128_GCM open.
//! The only module that touches the `ring` crate.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, quic};
use ring::hkdf;

use super::header::LongKind;
use super::header::LongPacket;
use super::version::VersionParams;

/// Bytes of the AEAD tag (RFC 9001 §5.3, AEAD_AES_128_GCM).
const TAG_LEN: usize = 16;
/// Header protection samples 16 bytes, starting 4 bytes after the packet number offset (§5.4.2).
const SAMPLE_LEN: usize = 16;

/// The raw client Initial secrets (RFC 9001 §5.2 and appendix A.1), for tests and for callers
/// that want to keep 44 bytes instead of expanded keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyMaterial {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

/// Output length of one HKDF-Expand-Label call.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label(secret, label, "", out.len()) (RFC 8446 §7.1) with SHA-256.
fn expand_label(secret: &hkdf::Prk, label: &[u8], out: &mut [u8]) -> bool {
    let Ok(out_len) = u16::try_from(out.len()) else { return false };
    let Ok(label_len) = u8::try_from(label.len() + 6) else { return false };
    let len = out_len.to_be_bytes();
    let info: [&[u8]; 5] = [&len, &[label_len], b"tls13 ", label, &[0]];
    secret.expand(&info, Len(out.len())).and_then(|okm| okm.fill(out)).is_ok()
}

impl KeyMaterial {
    /// initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id);
    /// client_initial_secret = HKDF-Expand-Label(initial_secret, "client in", "", 32);
    /// then key, iv and hp with the version's labels (RFC 9001 §5.2, RFC 9369 §3.3).
    pub fn client(params: &VersionParams, dcid: &[u8]) -> Option<KeyMaterial> {
        let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, &params.salt).extract(dcid);
        let mut client = [0u8; 32];
        if !expand_label(&initial, b"client in", &mut client) {
            return None;
        }
        let client = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &client);
        let mut m = KeyMaterial { key: [0; 16], iv: [0; 12], hp: [0; 16] };
        let ok = expand_label(&client, params.labels.key(), &mut m.key)
            && expand_label(&client, params.labels.iv(), &mut m.iv)
            && expand_label(&client, params.labels.hp(), &mut m.hp);
        ok.then_some(m)
    }
}

/// Expanded client Initial keys of one connection. Deriving them costs most of a decryption
/// (HKDF: about 1.5 µs), so a tracker keeps them per connection: later client Initials may carry
/// the server's connection ID but stay protected with keys of the original one (RFC 9001 §5.2).
pub struct InitialKeys {
    packet: LessSafeKey,
    iv: [u8; 12],
    header: quic::HeaderProtectionKey,
}

impl std::fmt::Debug for InitialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitialKeys")
    }
}

/// Why a packet could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not an Initial packet, or too short to hold a sample and a tag.
    Malformed,
    /// The AEAD tag did not verify: other keys (a server packet, a connection whose first packet
    /// was not seen) or corrupted bytes.
    Authentication,
}

/// A decrypted Initial packet.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened<'b> {
    /// Full packet number (RFC 9000 §17.1, appendix A.3).
    pub packet_number: u64,
    /// Plaintext frames.
    pub payload: &'b [u8],
}

impl InitialKeys {
    /// Client Initial keys of a connection whose client chose `dcid` (RFC 9001 §5.2).
    pub fn client(params: &VersionParams, dcid: &[u8]) -> Option<InitialKeys> {
        KeyMaterial::client(params, dcid).and_then(|m| InitialKeys::from_material(&m))
    }

    pub fn from_material(m: &KeyMaterial) -> Option<InitialKeys> {
        let packet = LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &m.key).ok()?);
        let header = quic::HeaderProtectionKey::new(&quic::AES_128, &m.hp).ok()?;
        Some(InitialKeys { packet, iv: m.iv, header })
    }

    /// Removes header protection (RFC 9001 §5.4.1) from an Initial packet, recovers its packet
    /// number (RFC 9000 §A.3, relative to `largest_pn`, the largest packet number opened so far
    /// in this connection) and opens its payload (RFC 9001 §5.3: nonce = iv XOR packet number,
    /// associated data = the unprotected header). `scratch` receives a copy of the packet; the
    /// returned payload borrows it.
    pub fn open<'b>(
        &self,
        packet: &LongPacket<'_>,
        largest_pn: Option<u64>,
        scratch: &'b mut Vec<u8>,
    ) -> Result<Opened<'b>, OpenError> {
        let LongKind::Initial { pn_offset, .. } = packet.kind else { return Err(OpenError::Malformed) };
        let sample_start = pn_offset.checked_add(4).ok_or(OpenError::Malformed)?;
        let sample = packet.bytes.get(sample_start..sample_start + SAMPLE_LEN).ok_or(OpenError::Malformed)?;
        let mask = self.header.new_mask(sample).map_err(|_| OpenError::Malformed)?;
        let [m0, pn_mask @ ..] = mask;
        // Long header: the low four bits of the first byte are protected (§5.4.1).
        let first = packet.first ^ (m0 & 0x0f);
        let pn_len = usize::from(first & 0x03) + 1;
        let payload_start = pn_offset + pn_len;
        if packet.bytes.len() < payload_start + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        scratch.clear();
        scratch.extend_from_slice(packet.bytes);
        let truncated = {
            let pn_bytes = scratch.get_mut(pn_offset..payload_start).ok_or(OpenError::Malformed)?;
            let mut truncated = 0u64;
            for (b, m) in pn_bytes.iter_mut().zip(pn_mask) {
                *b ^= m;
                truncated = (truncated << 8) | u64::from(*b);
            }
            truncated
        };
        if let Some(b) = scratch.first_mut() {
            *b = first;
        }
        let packet_number = decode_packet_number(largest_pn, truncated, pn_len);
        let mut nonce = self.iv;
        for (n, p) in nonce.iter_mut().skip(4).zip(packet_number.to_be_bytes()) {
            *n ^= p;
        }
        let (header, protected) = scratch.split_at_mut_checked(payload_start).ok_or(OpenError::Malformed)?;
        let plaintext = self
            .packet
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&*header), protected)
            .map_err(|_| OpenError::Authentication)?;
        Ok(Opened { packet_number, payload: plaintext })
    }
}

/// Packet number decoding (RFC 9000 §A.3): the value closest to the next expected packet number
/// whose low `pn_len` bytes are `truncated`.
pub fn decode_packet_number(largest_pn: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    let expected = largest_pn.map_or(0, |l| l.saturating_add(1));
    let bits = (pn_len.clamp(1, 4) * 8) as u32;
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | (truncated & mask);
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn packet_numbers_of_rfc9000_appendix_a3() {
        // RFC 9000 §A.3: largest 0xa82f30ea, 2-byte truncated 0x9b32 → 0xa82f9b32.
        assert_eq!(decode_packet_number(Some(0xa82f_30ea), 0x9b32, 2), 0xa82f_9b32);
        assert_eq!(decode_packet_number(None, 2, 4), 2);
        assert_eq!(decode_packet_number(Some(255), 0, 1), 256);
        assert_eq!(decode_packet_number(Some(u64::MAX), 7, 1), !0xff | 7);
    }
}
