//! The `--tls-keylog` file: read once before a replay, followed as it grows during a live capture.
//!
//! Only bytes are read here; parsing and the bounded store of secrets are
//! [`crate::extract::tls::keylog::KeyLog`]. The bytes read are wiped once handed over. The file is
//! followed by polling its size (at most every [`POLL_EVERY`] of capture time, and on the capture
//! loop's one-second tick): simpler and sturdier than a directory watch for one file that only
//! grows, and nothing happens between two polls that a decryption would need sooner (connections
//! wait up to [`crate::flow::tls_session::SECRETS_WAIT`] for their secrets).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroize;

use crate::model::Ts;

/// Least capture time between two polls of a followed key log.
pub const POLL_EVERY: i64 = 200_000;
/// Most bytes read per poll (a key log grows by ~500 bytes per connection).
pub const MAX_READ: u64 = 1 << 20;

/// The whole key log, for a replay. The caller feeds it to a `KeyLog` and wipes it.
pub fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let mut buf = Vec::new();
    if let Err(e) = f.read_to_end(&mut buf) {
        buf.zeroize();
        return Err(e);
    }
    Ok(buf)
}

/// The file's permission bits when group or others may read it (mode & 0o044).
pub fn readable_by_others(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o044 != 0).then_some(mode & 0o777)
}

/// A key log followed as it grows (live).
#[derive(Debug)]
pub struct KeyLogFile {
    path: PathBuf,
    /// The open file and its (device, inode): a replaced file is reopened from its start.
    file: Option<(File, (u64, u64))>,
    offset: u64,
    last_poll: Option<Ts>,
    /// A reopen failed (permissions after --user): said once.
    pub reopen_failed: bool,
}

impl KeyLogFile {
    /// Opens `path` when it exists (it may appear later: a browser creates it when it starts).
    pub fn open(path: &Path) -> io::Result<KeyLogFile> {
        let mut k = KeyLogFile { path: path.to_owned(), file: None, offset: 0, last_poll: None, reopen_failed: false };
        match File::open(path) {
            Ok(f) => {
                let m = f.metadata()?;
                k.file = Some((f, (m.dev(), m.ino())));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(k)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn exists(&self) -> bool {
        self.file.is_some()
    }

    /// True at most once per [`POLL_EVERY`] of capture time.
    pub fn due(&mut self, now: Ts) -> bool {
        if self.last_poll.is_some_and(|last| now.since(last) < POLL_EVERY && now >= last) {
            return false;
        }
        self.last_poll = Some(now);
        true
    }

    /// Appends the bytes added since the last poll to `out` (from the start again when the file
    /// was replaced or truncated).
    pub fn poll(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let id = (meta.dev(), meta.ino());
        if self.file.as_ref().is_none_or(|(_, open_id)| *open_id != id) {
            match File::open(&self.path) {
                Ok(f) => {
                    self.file = Some((f, id));
                    self.offset = 0;
                }
                Err(e) => {
                    self.reopen_failed = true;
                    return Err(e);
                }
            }
        }
        let Some((file, _)) = self.file.as_mut() else { return Ok(()) };
        if meta.len() < self.offset {
            file.seek(SeekFrom::Start(0))?;
            self.offset = 0;
        }
        if meta.len() == self.offset {
            return Ok(());
        }
        let n = file.by_ref().take(MAX_READ).read_to_end(out)?;
        self.offset += n as u64;
        Ok(())
    }
}
