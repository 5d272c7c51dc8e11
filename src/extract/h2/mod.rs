//! HTTP/2 client → server frames (RFC 9113 §3.4 preface, §4.1 frame format, §6.2 HEADERS,
//! §6.10 CONTINUATION, §6.5 SETTINGS) and the requests in their header blocks (HPACK, RFC 7541):
//! `:method`, `:authority`, `:path`, `referer`, `cookie` per stream. DATA and other frames are
//! stepped over without buffering.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

pub mod hpack;
pub mod huffman;

#[cfg(test)]
mod tests;

pub use hpack::{Decoder, HpackError};

/// RFC 9113 §3.4: the client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Longest frame payload buffered (HEADERS, CONTINUATION, SETTINGS). RFC 9113 §4.2 allows frames
/// up to 2^24-1 bytes when the server raises SETTINGS_MAX_FRAME_SIZE; request headers never need it.
pub const MAX_FRAME_BUFFER: usize = 64 * 1024;
/// Longest header block (HEADERS + CONTINUATION fragments) assembled.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;

const FRAME_HEADER_LEN: usize = 9;
const TYPE_HEADERS: u8 = 0x1;
const TYPE_SETTINGS: u8 = 0x4;
const TYPE_CONTINUATION: u8 = 0x9;
const FLAG_END_STREAM: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;
const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;

/// The request fields of one HEADERS block (`None` where the field was absent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct H2Request {
    pub stream_id: u32,
    pub method: Vec<u8>,
    /// `:authority`, else a `host` field (RFC 9113 §8.3.1).
    pub authority: Option<Vec<u8>>,
    pub path: Vec<u8>,
    pub referer: Option<Vec<u8>>,
    /// All `cookie` fields joined with "; " (RFC 9113 §8.2.3).
    pub cookie: Option<Vec<u8>>,
    /// The HEADERS frame had END_STREAM (no request body).
    pub end_stream: bool,
}

/// Why the connection is no longer read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum H2Error {
    /// The stream does not start with the preface.
    NoPreface,
    /// A frame or header block over our limits.
    TooLarge,
    /// A frame breaking RFC 9113 §6.2/§6.10 (CONTINUATION out of place, padding past the end…).
    Protocol,
    Hpack(HpackError),
}

/// The client side of one HTTP/2 connection, fed its plaintext bytes in order in any split.
#[derive(Debug)]
pub struct H2Connection {
    /// Preface bytes matched so far (PREFACE.len() once past it).
    preface_seen: usize,
    decoder: Decoder,
    /// The current frame: its header, then (for frames we read) its payload.
    buf: Vec<u8>,
    /// Payload bytes of the current frame still to step over.
    skip: usize,
    /// A header block waiting for CONTINUATION: (stream, END_STREAM, fragments so far).
    block: Option<(u32, bool, Vec<u8>)>,
    failed: Option<H2Error>,
    /// The client's own SETTINGS_HEADER_TABLE_SIZE (it bounds the *server's* encoder: informational).
    pub client_header_table_size: Option<u32>,
    /// Frames read.
    pub frames: u64,
}

impl Default for H2Connection {
    fn default() -> Self {
        Self::new()
    }
}

impl H2Connection {
    /// A connection whose first bytes must be the preface.
    pub fn new() -> Self {
        H2Connection {
            preface_seen: 0,
            decoder: Decoder::default(),
            buf: Vec::new(),
            skip: 0,
            block: None,
            failed: None,
            client_header_table_size: None,
            frames: 0,
        }
    }

    /// A connection whose preface was already consumed by the caller.
    pub fn after_preface() -> Self {
        H2Connection { preface_seen: PREFACE.len(), ..Self::new() }
    }

    pub fn is_failed(&self) -> bool {
        self.failed.is_some()
    }

    pub fn error(&self) -> Option<H2Error> {
        self.failed
    }

    /// The next bytes of the client's stream; requests whose header block completed are appended
    /// to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<H2Request>) {
        if self.preface_seen < PREFACE.len() {
            let want = PREFACE.get(self.preface_seen..).unwrap_or_default();
            let n = want.len().min(bytes.len());
            if bytes.get(..n) != want.get(..n) {
                self.failed = Some(H2Error::NoPreface);
            }
            self.preface_seen += n;
            bytes = bytes.get(n..).unwrap_or_default();
        }
        while self.failed.is_none() && !bytes.is_empty() {
            if self.skip > 0 {
                let step = self.skip.min(bytes.len());
                self.skip -= step;
                bytes = bytes.get(step..).unwrap_or_default();
                continue;
            }
            // Gather the 9-byte frame header.
            if self.buf.len() < FRAME_HEADER_LEN {
                let n = (FRAME_HEADER_LEN - self.buf.len()).min(bytes.len());
                self.buf.extend_from_slice(bytes.get(..n).unwrap_or_default());
                bytes = bytes.get(n..).unwrap_or_default();
                if self.buf.len() < FRAME_HEADER_LEN {
                    return;
                }
            }
            let Some(&[l0, l1, l2, frame_type, _, ..]) = self.buf.first_chunk::<FRAME_HEADER_LEN>() else { return };
            let length = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
            if !matches!(frame_type, TYPE_HEADERS | TYPE_CONTINUATION | TYPE_SETTINGS) {
                // RFC 9113 §6.10: nothing may come between HEADERS and its CONTINUATION frames.
                if self.block.is_some() {
                    self.failed = Some(H2Error::Protocol);
                    return;
                }
                self.frames += 1;
                self.buf.clear();
                self.skip = length;
                continue;
            }
            if length > MAX_FRAME_BUFFER {
                self.failed = Some(H2Error::TooLarge);
                return;
            }
            let have = self.buf.len() - FRAME_HEADER_LEN;
            let n = (length - have).min(bytes.len());
            self.buf.extend_from_slice(bytes.get(..n).unwrap_or_default());
            bytes = bytes.get(n..).unwrap_or_default();
            if self.buf.len() < FRAME_HEADER_LEN + length {
                return;
            }
            let frame = std::mem::take(&mut self.buf);
            self.frames += 1;
            if let Err(e) = self.frame(&frame, out) {
                self.failed = Some(e);
            }
            self.buf = frame;
            self.buf.clear();
        }
    }

    /// One complete frame of a type we read. RFC 9113 §4.1: `Length (24), Type (8), Flags (8),
    /// Reserved (1), Stream Identifier (31), Frame Payload`.
    fn frame(&mut self, frame: &[u8], out: &mut Vec<H2Request>) -> Result<(), H2Error> {
        let (&[_, _, _, frame_type, flags, s0, s1, s2, s3], payload) =
            frame.split_first_chunk::<FRAME_HEADER_LEN>().ok_or(H2Error::Protocol)?;
        let stream_id = u32::from_be_bytes([s0 & 0x7f, s1, s2, s3]);
        match frame_type {
            TYPE_SETTINGS => {
                // RFC 9113 §6.5.1: a list of (Identifier (16), Value (32)).
                if self.block.is_some() {
                    return Err(H2Error::Protocol);
                }
                for setting in payload.chunks_exact(6) {
                    if let [i0, i1, v0, v1, v2, v3] = *setting
                        && u16::from_be_bytes([i0, i1]) == SETTINGS_HEADER_TABLE_SIZE
                    {
                        self.client_header_table_size = Some(u32::from_be_bytes([v0, v1, v2, v3]));
                    }
                }
                Ok(())
            }
            TYPE_HEADERS => {
                if self.block.is_some() || stream_id == 0 {
                    return Err(H2Error::Protocol);
                }
                let fragment = headers_fragment(flags, payload).ok_or(H2Error::Protocol)?;
                let end_stream = flags & FLAG_END_STREAM != 0;
                if flags & FLAG_END_HEADERS != 0 {
                    self.header_block(stream_id, end_stream, fragment, out)
                } else {
                    self.block = Some((stream_id, end_stream, fragment.to_vec()));
                    Ok(())
                }
            }
            TYPE_CONTINUATION => {
                // RFC 9113 §6.10: follows HEADERS (or CONTINUATION) of the same stream.
                let Some((id, end_stream, mut block)) = self.block.take() else { return Err(H2Error::Protocol) };
                if id != stream_id {
                    return Err(H2Error::Protocol);
                }
                if block.len() + payload.len() > MAX_HEADER_BLOCK {
                    return Err(H2Error::TooLarge);
                }
                block.extend_from_slice(payload);
                if flags & FLAG_END_HEADERS != 0 {
                    self.header_block(stream_id, end_stream, &block, out)
                } else {
                    self.block = Some((id, end_stream, block));
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// A complete header block: decoded (always, to keep the HPACK table in step), reported when
    /// it carries a `:method` (trailers do not).
    fn header_block(
        &mut self,
        stream_id: u32,
        end_stream: bool,
        block: &[u8],
        out: &mut Vec<H2Request>,
    ) -> Result<(), H2Error> {
        let mut req = H2Request { stream_id, end_stream, ..H2Request::default() };
        let mut has_method = false;
        let mut host: Option<Vec<u8>> = None;
        self.decoder
            .decode(block, &mut |name, value| match name {
                b":method" => {
                    has_method = true;
                    req.method = value.to_vec();
                }
                b":authority" => req.authority = Some(value.to_vec()),
                b":path" => req.path = value.to_vec(),
                b"host" => host = Some(value.to_vec()),
                b"referer" => req.referer = Some(value.to_vec()),
                b"cookie" => match &mut req.cookie {
                    Some(c) => {
                        c.extend_from_slice(b"; ");
                        c.extend_from_slice(value);
                    }
                    None => req.cookie = Some(value.to_vec()),
                },
                _ => {}
            })
            .map_err(H2Error::Hpack)?;
        if has_method {
            if req.authority.is_none() {
                req.authority = host;
            }
            out.push(req);
        }
        Ok(())
    }
}

/// RFC 9113 §6.2: `[Pad Length (8)], [Exclusive (1), Stream Dependency (31), Weight (8)],
/// Field Block Fragment, Padding` — the fragment, or `None` when padding runs past the payload.
fn headers_fragment(flags: u8, payload: &[u8]) -> Option<&[u8]> {
    let (pad, rest) = if flags & FLAG_PADDED != 0 {
        let (&pad, rest) = payload.split_first()?;
        (usize::from(pad), rest)
    } else {
        (0, payload)
    };
    let rest = if flags & FLAG_PRIORITY != 0 { rest.get(5..)? } else { rest };
    rest.get(..rest.len().checked_sub(pad)?)
}
