//! Skipping a chunked message body (RFC 9112 §7.1) without buffering it, so a stream parser can
//! find the next pipelined request.

use crate::extract::Outcome;

use super::MAX_HEAD_LEN;

/// A chunk-size line (with its chunk extensions) or a trailer line longer than this is refused.
pub const MAX_CHUNK_LINE: usize = 4096;

/// The body is not valid chunked coding (or exceeds the line limits): it cannot be delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In chunk-size (`1*HEXDIG`).
    Size {
        value: u64,
        digits: u8,
    },
    /// After chunk-size: chunk extensions up to the end of the line.
    SizeLine {
        size: u64,
        len: usize,
    },
    /// In chunk-data.
    Data {
        remaining: u64,
    },
    /// The CRLF after chunk-data.
    DataEnd {
        seen_cr: bool,
    },
    /// In the trailer section; `len` bytes of the current field line seen.
    Trailer {
        len: usize,
    },
    Done,
}

/// Incremental walker over a chunked body (RFC 9112 §7.1):
///
/// ```text
/// chunked-body = *chunk last-chunk trailer-section CRLF
/// chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// last-chunk   = 1*("0") [ chunk-ext ] CRLF
/// ```
///
/// Feed it the bytes after the request head, in as many pieces as they arrive; chunk data is
/// stepped over in O(1), every other byte is looked at once, lines are bounded, so hostile input
/// costs linear time and no memory. Bare LF is accepted for CRLF (RFC 9112 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedBody {
    state: State,
    /// Bytes of trailer section seen (bounded by [`MAX_HEAD_LEN`]).
    trailer_total: usize,
}

impl Default for ChunkedBody {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedBody {
    pub fn new() -> Self {
        ChunkedBody { state: State::Size { value: 0, digits: 0 }, trailer_total: 0 }
    }

    /// The final CRLF has been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// A lower bound of the bytes still needed to finish the body (0 once done).
    pub fn needed(&self) -> usize {
        let n: u64 = match self.state {
            State::Size { digits: 0, .. } => 3,                                  // "0\n\n"
            State::Size { value: 0, .. } | State::SizeLine { size: 0, .. } => 2, // "\n\n"
            State::Size { value: size, .. } | State::SizeLine { size, .. } => size.saturating_add(5),
            State::Data { remaining } => remaining.saturating_add(4), // data "\n0\n\n"
            State::DataEnd { .. } => 4,
            State::Trailer { len: 0 } => 1,
            State::Trailer { .. } => 2,
            State::Done => 0,
        };
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    /// Consumes bytes of the body from `buf`; returns how many were used (all of them unless
    /// the body ended inside `buf`).
    pub fn feed(&mut self, buf: &[u8]) -> Result<usize, ChunkedError> {
        let mut pos = 0;
        while pos < buf.len() {
            if let State::Data { remaining } = self.state {
                let avail = buf.len() - pos;
                let step = usize::try_from(remaining).map_or(avail, |r| r.min(avail));
                pos += step;
                let left = remaining - step as u64;
                self.state =
                    if left == 0 { State::DataEnd { seen_cr: false } } else { State::Data { remaining: left } };
                continue;
            }
            let Some(&b) = buf.get(pos) else { break };
            pos += 1;
            self.state = self.step(b)?;
            if self.state == State::Done {
                break;
            }
        }
        Ok(pos)
    }

    fn step(&mut self, b: u8) -> Result<State, ChunkedError> {
        Ok(match self.state {
            State::Size { value, digits } => match hex_value(b) {
                Some(d) => {
                    let value = value.checked_mul(16).and_then(|v| v.checked_add(d)).ok_or(ChunkedError)?;
                    State::Size { value, digits: digits.saturating_add(1) }
                }
                None if digits == 0 => return Err(ChunkedError),
                None => match b {
                    b'\n' => self.after_size_line(value),
                    b';' | b' ' | b'\t' | b'\r' => State::SizeLine { size: value, len: 1 },
                    _ => return Err(ChunkedError),
                },
            },
            State::SizeLine { size, len } => match b {
                b'\n' => self.after_size_line(size),
                _ if len >= MAX_CHUNK_LINE => return Err(ChunkedError),
                _ => State::SizeLine { size, len: len + 1 },
            },
            State::DataEnd { seen_cr } => match b {
                b'\n' => State::Size { value: 0, digits: 0 },
                b'\r' if !seen_cr => State::DataEnd { seen_cr: true },
                _ => return Err(ChunkedError),
            },
            State::Trailer { len } => {
                self.trailer_total += 1;
                if self.trailer_total > MAX_HEAD_LEN {
                    return Err(ChunkedError);
                }
                match b {
                    b'\n' if len == 0 => State::Done,
                    b'\n' => State::Trailer { len: 0 },
                    b'\r' => State::Trailer { len },
                    _ => State::Trailer { len: len + 1 },
                }
            }
            // Handled in `feed`; nothing follows the end.
            State::Data { .. } | State::Done => self.state,
        })
    }

    fn after_size_line(&self, size: u64) -> State {
        if size == 0 { State::Trailer { len: 0 } } else { State::Data { remaining: size } }
    }
}

fn hex_value(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

/// Length of the complete chunked body at the start of `buf`, trailer section and final CRLF
/// included (RFC 9112 §7.1). `Incomplete` with a lower bound of the missing bytes while it has
/// not ended; `Malformed` when it is not chunked coding.
pub fn chunked_body_len(buf: &[u8]) -> Outcome<usize> {
    let mut body = ChunkedBody::new();
    match body.feed(buf) {
        Err(ChunkedError) => Outcome::Malformed,
        Ok(n) if body.is_done() => Outcome::Found(n),
        Ok(_) => Outcome::Incomplete { needed: body.needed() },
    }
}
