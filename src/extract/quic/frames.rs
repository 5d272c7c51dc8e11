//! The frames of a decrypted Initial packet (RFC 9000 §19; §12.4 lists those allowed in Initial
//! packets): PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE.

use super::header::read_varint;

/// One frame of an Initial packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A run of PADDING frames (type 0x00, RFC 9000 §19.1), counted in bytes.
    Padding(usize),
    /// PING (0x01, §19.2).
    Ping,
    /// ACK or ACK with ECN counts (0x02/0x03, §19.3), skipped.
    Ack,
    /// CRYPTO (0x06, §19.6): bytes of the handshake stream at `offset`.
    Crypto { offset: u64, data: &'a [u8] },
    /// CONNECTION_CLOSE (0x1c/0x1d, §19.19).
    ConnectionClose { error_code: u64 },
}

/// Why a frame walk stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A frame type not allowed in Initial packets (RFC 9000 §12.4): we stop there.
    Unexpected(u64),
    /// A frame that runs past the end of the payload.
    Truncated,
}

/// Iterator over the frames of a decrypted Initial payload. After an `Err` it yields nothing.
pub struct Frames<'a> {
    rest: &'a [u8],
}

/// The frames of a decrypted Initial payload, in order.
pub fn frames(payload: &[u8]) -> Frames<'_> {
    Frames { rest: payload }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = parse_frame(self.rest);
        match item {
            Ok((frame, rest)) => {
                self.rest = rest;
                Some(Ok(frame))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

fn varint(buf: &[u8]) -> Result<(u64, &[u8]), FrameError> {
    read_varint(buf).ok_or(FrameError::Truncated)
}

/// A byte string whose length is a varint already read.
fn take(buf: &[u8], len: u64) -> Result<(&[u8], &[u8]), FrameError> {
    usize::try_from(len).ok().and_then(|n| buf.split_at_checked(n)).ok_or(FrameError::Truncated)
}

/// Parses the frame at the start of `buf` (RFC 9000 §12.4 frame encoding: a varint type, then
/// type-specific fields).
fn parse_frame(buf: &[u8]) -> Result<(Frame<'_>, &[u8]), FrameError> {
    let (frame_type, rest) = varint(buf)?;
    match frame_type {
        0x00 => {
            // §19.1: a run of zero bytes (Chromium scatters long runs between CRYPTO frames).
            let zeros = rest.iter().take_while(|&&b| b == 0).count();
            Ok((Frame::Padding(zeros + 1), rest.get(zeros..).unwrap_or_default()))
        }
        0x01 => Ok((Frame::Ping, rest)),
        0x02 | 0x03 => {
            // §19.3: Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range, then
            // ACK Range Count × (Gap, ACK Range Length), then for 0x03 ECT0, ECT1, ECN-CE counts.
            let (_largest, rest) = varint(rest)?;
            let (_delay, rest) = varint(rest)?;
            let (range_count, rest) = varint(rest)?;
            let (_first_range, mut rest) = varint(rest)?;
            // Each range takes at least two bytes: a count larger than the payload is malformed.
            if range_count > (rest.len() / 2) as u64 {
                return Err(FrameError::Truncated);
            }
            for _ in 0..range_count {
                let (_gap, r) = varint(rest)?;
                let (_len, r) = varint(r)?;
                rest = r;
            }
            if frame_type == 0x03 {
                for _ in 0..3 {
                    rest = varint(rest)?.1;
                }
            }
            Ok((Frame::Ack, rest))
        }
        0x06 => {
            // §19.6: Offset, Length, Crypto Data.
            let (offset, rest) = varint(rest)?;
            let (len, rest) = varint(rest)?;
            let (data, rest) = take(rest, len)?;
            Ok((Frame::Crypto { offset, data }, rest))
        }
        0x1c | 0x1d => {
            // §19.19: Error Code, Frame Type (0x1c only), Reason Phrase Length, Reason Phrase.
            let (error_code, mut rest) = varint(rest)?;
            if frame_type == 0x1c {
                rest = varint(rest)?.1;
            }
            let (reason_len, rest) = varint(rest)?;
            let (_reason, rest) = take(rest, reason_len)?;
            Ok((Frame::ConnectionClose { error_code }, rest))
        }
        other => Err(FrameError::Unexpected(other)),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn walks_padding_ping_ack_ecn_crypto_and_close() {
        let payload = [
            0x00, 0x00, 0x00, // PADDING ×3
            0x01, // PING
            0x03, 0x05, 0x00, 0x01, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, // ACK_ECN, one extra range
            0x06, 0x40, 0x10, 0x02, 0xaa, 0xbb, // CRYPTO offset 16, 2 bytes
            0x1c, 0x0a, 0x06, 0x01, b'x', // CONNECTION_CLOSE
            0x00, // PADDING
        ];
        let got: Vec<_> = frames(&payload).collect();
        assert_eq!(
            got,
            vec![
                Ok(Frame::Padding(3)),
                Ok(Frame::Ping),
                Ok(Frame::Ack),
                Ok(Frame::Crypto { offset: 16, data: &[0xaa, 0xbb] }),
                Ok(Frame::ConnectionClose { error_code: 10 }),
                Ok(Frame::Padding(1)),
            ]
        );
    }

    #[test]
    fn stops_at_stream_frames_and_truncation() {
        let got: Vec<_> = frames(&[0x01, 0x08, 0x00]).collect();
        assert_eq!(got, vec![Ok(Frame::Ping), Err(FrameError::Unexpected(0x08))]);
        let got: Vec<_> = frames(&[0x06, 0x00, 0x05, 1, 2]).collect();
        assert_eq!(got, vec![Err(FrameError::Truncated)]);
        // An ACK claiming 2^62 ranges in a few bytes is rejected without looping.
        let got: Vec<_> = frames(&[0x02, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]).collect();
        assert_eq!(got, vec![Err(FrameError::Truncated)]);
    }
}
