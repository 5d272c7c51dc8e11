//! Cipher suites we decrypt and their record keys: TLS 1.3 traffic keys from a traffic secret
//! (RFC 8446 §7.1–7.3, HKDF-Expand-Label), TLS 1.2 key_block from the master secret (RFC 5246 §5
//! PRF and §6.3), and AEAD record opening (RFC 8446 §5.2–5.3; RFC 5288 GCM; RFC 7905 ChaCha20).
//! The only file of the session module that touches `ring`.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::{hkdf, hmac};
use zeroize::Zeroize;

use crate::extract::tls::keylog::Secret;

/// The AEAD of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aead {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

/// The hash of a suite (HKDF for TLS 1.3, PRF for TLS 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// A cipher suite we can decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub aead: Aead,
    pub hash: Hash,
    /// A TLS 1.3 suite (RFC 8446 §B.4); otherwise a TLS 1.2 AEAD suite.
    pub tls13: bool,
}

impl Suite {
    /// RFC 8446 §B.4 (TLS 1.3); RFC 5289 §3.2, RFC 5288 §3 (GCM) and RFC 7905 §2 (ChaCha20) for TLS 1.2.
    pub fn from_id(id: u16) -> Option<Suite> {
        use Aead::*;
        use Hash::*;
        let (aead, hash, tls13) = match id {
            0x1301 => (Aes128Gcm, Sha256, true),        // TLS_AES_128_GCM_SHA256
            0x1302 => (Aes256Gcm, Sha384, true),        // TLS_AES_256_GCM_SHA384
            0x1303 => (ChaCha20Poly1305, Sha256, true), // TLS_CHACHA20_POLY1305_SHA256
            // TLS_ECDHE_ECDSA / ECDHE_RSA / DHE_RSA / RSA _WITH_AES_128_GCM_SHA256
            0xc02b | 0xc02f | 0x009e | 0x009c => (Aes128Gcm, Sha256, false),
            // ... _WITH_AES_256_GCM_SHA384
            0xc02c | 0xc030 | 0x009f | 0x009d => (Aes256Gcm, Sha384, false),
            // TLS_ECDHE_RSA / ECDHE_ECDSA / DHE_RSA _WITH_CHACHA20_POLY1305_SHA256
            0xcca8..=0xccaa => (ChaCha20Poly1305, Sha256, false),
            _ => return None,
        };
        Some(Suite { id, aead, hash, tls13 })
    }

    fn key_len(self) -> usize {
        match self.aead {
            Aead::Aes128Gcm => 16,
            Aead::Aes256Gcm | Aead::ChaCha20Poly1305 => 32,
        }
    }

    /// TLS 1.2 write IV bytes in the key_block: 4 (GCM salt, RFC 5288 §3) or 12 (RFC 7905 §2).
    fn tls12_iv_len(self) -> usize {
        match self.aead {
            Aead::ChaCha20Poly1305 => 12,
            _ => 4,
        }
    }

    fn algorithm(self) -> &'static aead::Algorithm {
        match self.aead {
            Aead::Aes128Gcm => &aead::AES_128_GCM,
            Aead::Aes256Gcm => &aead::AES_256_GCM,
            Aead::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }

    fn hkdf(self) -> hkdf::Algorithm {
        match self.hash {
            Hash::Sha256 => hkdf::HKDF_SHA256,
            Hash::Sha384 => hkdf::HKDF_SHA384,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self.hash {
            Hash::Sha256 => hmac::HMAC_SHA256,
            Hash::Sha384 => hmac::HMAC_SHA384,
        }
    }
}

/// AEAD tag length of every suite here.
pub const TAG_LEN: usize = 16;
/// TLS 1.2 GCM explicit nonce (RFC 5288 §3).
pub const EXPLICIT_NONCE_LEN: usize = 8;

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label(Secret, Label, "", Length) (RFC 8446 §7.1):
/// `struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }`.
fn expand_label(suite: Suite, secret: &[u8], label: &[u8], out: &mut [u8]) -> bool {
    let prk = hkdf::Prk::new_less_safe(suite.hkdf(), secret);
    let (Ok(out_len), Ok(label_len)) = (u16::try_from(out.len()), u8::try_from(label.len() + 6)) else {
        return false;
    };
    let len = out_len.to_be_bytes();
    let info: [&[u8]; 5] = [&len, &[label_len], b"tls13 ", label, &[0]];
    prk.expand(&info, Len(out.len())).and_then(|okm| okm.fill(out)).is_ok()
}

/// RFC 8446 §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length).
pub fn next_traffic_secret(suite: Suite, secret: &Secret) -> Option<Secret> {
    let mut out = [0u8; 48];
    let n = suite.hash.output_len();
    let ok = out.get_mut(..n).is_some_and(|o| expand_label(suite, secret.as_bytes(), b"traffic upd", o));
    let next = if ok { out.get(..n).and_then(Secret::new) } else { None };
    out.zeroize();
    next
}

/// How the per-record nonce and additional data are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// RFC 8446 §5.3 (nonce = iv XOR seq) and §5.2 (additional_data = the record header).
    Tls13,
    /// RFC 5288 §3: nonce = salt(4) || explicit nonce(8) from the record; RFC 5246 §6.2.3.3 AAD.
    Tls12Gcm,
    /// RFC 7905 §2: nonce = iv XOR seq; RFC 5246 §6.2.3.3 AAD.
    Tls12ChaCha,
}

/// One direction's record protection key (the client's write key).
pub struct RecordKey {
    key: LessSafeKey,
    iv: [u8; 12],
    framing: Framing,
}

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordKey({:?})", self.framing)
    }
}

impl Drop for RecordKey {
    fn drop(&mut self) {
        self.iv.zeroize();
    }
}

impl RecordKey {
    /// RFC 8446 §7.3: key = HKDF-Expand-Label(secret, "key", "", key_length),
    /// iv = HKDF-Expand-Label(secret, "iv", "", iv_length).
    pub fn tls13(suite: Suite, traffic_secret: &Secret) -> Option<RecordKey> {
        let mut key = [0u8; 32];
        let mut iv = [0u8; 12];
        let kl = suite.key_len();
        let ok = key.get_mut(..kl).is_some_and(|k| expand_label(suite, traffic_secret.as_bytes(), b"key", k))
            && expand_label(suite, traffic_secret.as_bytes(), b"iv", &mut iv);
        let made = if ok { Self::make(suite, key.get(..kl)?, iv, Framing::Tls13) } else { None };
        key.zeroize();
        iv.zeroize();
        made
    }

    /// RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random),
    /// cut into client_write_MAC_key[0], server_write_MAC_key[0] (AEAD suites have none),
    /// client_write_key, server_write_key, client_write_IV, server_write_IV.
    pub fn tls12_client(
        suite: Suite,
        master_secret: &Secret,
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Option<RecordKey> {
        let (kl, il) = (suite.key_len(), suite.tls12_iv_len());
        let mut seed = [0u8; 64];
        seed.get_mut(..32)?.copy_from_slice(server_random);
        seed.get_mut(32..)?.copy_from_slice(client_random);
        let mut block = [0u8; 2 * 32 + 2 * 12];
        let need = 2 * kl + 2 * il;
        let made = block.get_mut(..need).and_then(|b| {
            prf(suite, master_secret.as_bytes(), b"key expansion", &seed, b);
            let key = b.get(..kl)?;
            let mut iv = [0u8; 12];
            iv.get_mut(..il)?.copy_from_slice(b.get(2 * kl..2 * kl + il)?);
            let framing = if suite.aead == Aead::ChaCha20Poly1305 { Framing::Tls12ChaCha } else { Framing::Tls12Gcm };
            let made = Self::make(suite, key, iv, framing);
            iv.zeroize();
            made
        });
        block.zeroize();
        made
    }

    fn make(suite: Suite, key: &[u8], iv: [u8; 12], framing: Framing) -> Option<RecordKey> {
        let key = LessSafeKey::new(UnboundKey::new(suite.algorithm(), key).ok()?);
        Some(RecordKey { key, iv, framing })
    }

    /// Opens one protected record in place. `header` is its 5-byte record header, `payload` its
    /// fragment (modified), `seq` the record sequence number under this key. Returns the
    /// plaintext (TLS 1.3: TLSInnerPlaintext, still padded), or `None` when the tag fails or the
    /// record is too short.
    pub fn open<'p>(&self, header: &[u8; 5], payload: &'p mut [u8], seq: u64) -> Option<&'p mut [u8]> {
        let seq_bytes = seq.to_be_bytes();
        let mut nonce = self.iv;
        match self.framing {
            Framing::Tls13 => {
                xor_seq(&mut nonce, &seq_bytes);
                let plain = self.key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(*header), payload);
                plain.ok()
            }
            Framing::Tls12Gcm | Framing::Tls12ChaCha => {
                let body = if self.framing == Framing::Tls12Gcm {
                    let (explicit, body) = payload.split_at_mut_checked(EXPLICIT_NONCE_LEN)?;
                    nonce.get_mut(4..)?.copy_from_slice(explicit);
                    body
                } else {
                    xor_seq(&mut nonce, &seq_bytes);
                    payload
                };
                let plain_len = body.len().checked_sub(TAG_LEN)?;
                // RFC 5246 §6.2.3.3: additional_data = seq_num + TLSCompressed.type +
                // TLSCompressed.version + TLSCompressed.length.
                let [content_type, major, minor, ..] = *header;
                let len = u16::try_from(plain_len).ok()?.to_be_bytes();
                let mut aad = [0u8; 13];
                aad.get_mut(..8)?.copy_from_slice(&seq_bytes);
                aad.get_mut(8..)?.copy_from_slice(&[content_type, major, minor, len[0], len[1]]);
                let plain = self.key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body);
                plain.ok()
            }
        }
    }
}

/// nonce[4..12] ^= seq (RFC 8446 §5.3: the 64-bit sequence number, left-padded to iv_length).
fn xor_seq(nonce: &mut [u8; 12], seq: &[u8; 8]) {
    for (n, s) in nonce.iter_mut().skip(4).zip(seq) {
        *n ^= s;
    }
}

/// RFC 5246 §5: PRF(secret, label, seed) = P_<hash>(secret, label + seed), where
/// P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...,
/// A(0) = seed, A(i) = HMAC_hash(secret, A(i-1)).
pub fn prf(suite: Suite, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let key = hmac::Key::new(suite.hmac(), secret);
    let mut a = {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(label);
        ctx.update(seed);
        ctx.sign()
    };
    for chunk in out.chunks_mut(suite.hash.output_len()) {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(a.as_ref());
        ctx.update(label);
        ctx.update(seed);
        let block = ctx.sign();
        for (o, b) in chunk.iter_mut().zip(block.as_ref()) {
            *o = *b;
        }
        a = hmac::sign(&key, a.as_ref());
    }
}

/// Test helper: the raw TLS 1.3 key and iv of a traffic secret (to seal records in tests).
#[cfg(test)]
pub(super) fn tls13_key_iv_for_tests(suite: Suite, secret: &Secret) -> (Vec<u8>, [u8; 12]) {
    let mut key = vec![0u8; suite.key_len()];
    let mut iv = [0u8; 12];
    assert!(expand_label(suite, secret.as_bytes(), b"key", &mut key));
    assert!(expand_label(suite, secret.as_bytes(), b"iv", &mut iv));
    (key, iv)
}
