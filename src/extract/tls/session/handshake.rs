//! Handshake message boundaries inside protected records (the client's Finished, KeyUpdate).

const HANDSHAKE_FINISHED: u8 = 20;
const HANDSHAKE_KEY_UPDATE: u8 = 24;

/// Walks handshake messages (RFC 8446 §4: `HandshakeType msg_type; uint24 length; body`) across
/// records, keeping only the 4-byte header: bodies (a client Certificate may be large) are skipped.
#[derive(Debug, Default)]
pub(super) struct HandshakeWalker {
    header: [u8; 4],
    header_len: usize,
    body_left: usize,
}

#[derive(Debug, Default)]
pub(super) struct Completed {
    pub finished: bool,
    pub key_updates: u32,
}

impl HandshakeWalker {
    pub(super) fn feed(&mut self, mut bytes: &[u8]) -> Completed {
        let mut done = Completed::default();
        while !bytes.is_empty() || (self.header_len == 4 && self.body_left == 0) {
            if self.header_len < 4 {
                let take = (4 - self.header_len).min(bytes.len());
                for (slot, &b) in self.header.iter_mut().skip(self.header_len).zip(bytes.iter().take(take)) {
                    *slot = b;
                }
                self.header_len += take;
                bytes = bytes.get(take..).unwrap_or_default();
                if self.header_len < 4 {
                    break;
                }
                let [_, l0, l1, l2] = self.header;
                self.body_left = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
            }
            let step = self.body_left.min(bytes.len());
            self.body_left -= step;
            bytes = bytes.get(step..).unwrap_or_default();
            if self.body_left == 0 {
                match self.header[0] {
                    HANDSHAKE_FINISHED => done.finished = true,
                    HANDSHAKE_KEY_UPDATE => done.key_updates += 1,
                    _ => {}
                }
                self.header_len = 0;
            } else {
                break;
            }
        }
        done
    }
}
