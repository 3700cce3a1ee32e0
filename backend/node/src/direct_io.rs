//! Large shard files written and read around the page cache (`O_DIRECT`).
//!
//! A shard is fsynced before it is acknowledged, and hot chunks are cached by the gateway, so
//! passing shards through the page cache mostly costs CPU: on the benchmark VM the copy into
//! fresh page-cache pages took 60% of a node's CPU during large PUTs (about 2 ms per MiB, against
//! 0.1 ms for a direct write of the same bytes), and reads filling the cache cost the same. A
//! direct write goes from one aligned, zero-padded buffer, and the file is then cut to its real
//! length and fsynced as before; a direct read lands in an aligned buffer that becomes the
//! `Bytes` served. Small files, and filesystems that refuse `O_DIRECT` (tmpfs), take the ordinary
//! buffered path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use rustix::fs::OFlags;

/// Alignment `O_DIRECT` needs for the buffer address, file offset and length: the page size,
/// which covers every logical block size up to 4 KiB.
const ALIGN: usize = 4096;
/// Files below this are written buffered: a direct write of a few KiB saves nothing, and waits
/// for the device.
pub const MIN_DIRECT_BYTES: usize = 64 * 1024;

/// Creates durable files and reads whole files, directly where the filesystem allows it.
#[derive(Debug)]
pub struct DirectIo {
    /// Cleared for good the first time the filesystem refuses `O_DIRECT`.
    direct: AtomicBool,
}

impl Default for DirectIo {
    fn default() -> Self {
        Self::new(true)
    }
}

impl DirectIo {
    /// `direct: false` always writes through the page cache.
    pub fn new(direct: bool) -> Self {
        Self {
            direct: AtomicBool::new(direct),
        }
    }

    /// Creates `path`, which must not exist, holding `parts` concatenated, and fsyncs it. On
    /// error the file may be left behind; the caller removes it.
    pub fn create(&self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
        let len: usize = parts.iter().map(|part| part.len()).sum();
        if len >= MIN_DIRECT_BYTES && self.direct.load(Ordering::Relaxed) {
            match create_direct(path, parts, len) {
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                    // EINVAL: this filesystem (or its block size) does not take our direct
                    // writes. Fall back for this file and every later one.
                    self.refused(path, &e);
                    let _ = fs::remove_file(path);
                }
                done => return done,
            }
        }
        let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
        for part in parts {
            file.write_all(part)?;
        }
        file.sync_all()
    }

    /// The first `len` bytes of `file` (its length when opened; shard files never change once
    /// in place). Fails with `UnexpectedEof` if the file is shorter.
    pub fn read_all(&self, file: &File, path: &Path, len: usize) -> io::Result<Bytes> {
        if len >= MIN_DIRECT_BYTES && self.direct.load(Ordering::Relaxed) {
            let flags = rustix::fs::fcntl_getfl(file)?;
            rustix::fs::fcntl_setfl(file, flags | OFlags::DIRECT)?;
            let read = read_direct(file, len);
            // Back to buffered for whatever the caller or a fallback does with the file next.
            rustix::fs::fcntl_setfl(file, flags)?;
            match read {
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => self.refused(path, &e),
                done => return done,
            }
        }
        let mut buf = Vec::with_capacity(len);
        file.take(len as u64).read_to_end(&mut buf)?;
        if buf.len() < len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Bytes::from(buf))
    }

    /// EINVAL: this filesystem (or its block size) does not take our direct I/O. Every later
    /// file goes through the page cache.
    fn refused(&self, path: &Path, e: &io::Error) {
        if self.direct.swap(false, Ordering::Relaxed) {
            tracing::info!(path = %path.display(), "O_DIRECT refused ({e}); shard files go through the page cache");
        }
    }
}

/// Reads `len` bytes from offset 0 into an aligned buffer. A read ends short only at the end of
/// the file, so after the first short read there is nothing more to get.
fn read_direct(file: &File, len: usize) -> io::Result<Bytes> {
    let padded = len.next_multiple_of(ALIGN);
    let (mut raw, start) = aligned_zeroed(padded);
    let mut done = 0;
    while done < len {
        let n = file.read_at(&mut raw[start + done..start + padded], done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
        if done % ALIGN != 0 {
            break;
        }
    }
    if done < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    raw.truncate(start + len);
    Ok(Bytes::from(raw).slice(start..))
}

/// A zeroed vector with an `ALIGN`-aligned window of `len` bytes starting at the returned
/// offset: an aligned buffer without an unsafe allocation.
fn aligned_zeroed(len: usize) -> (Vec<u8>, usize) {
    let raw = vec![0u8; len + ALIGN];
    let start = raw.as_ptr().align_offset(ALIGN);
    (raw, start)
}

fn create_direct(path: &Path, parts: &[&[u8]], len: usize) -> io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(OFlags::DIRECT.bits() as i32)
        .open(path)?;
    let padded = len.next_multiple_of(ALIGN);
    with_write_buffer(padded, |buf| {
        let mut at = 0;
        for part in parts {
            buf[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        // The padding past `len` reaches the disk before the cut; keep it zero, not stale.
        buf[len..].fill(0);
        file.write_all_at(buf, 0)
    })?;
    file.set_len(len as u64)?;
    file.sync_all()
}

/// Largest write buffer a thread keeps between writes (4 MiB shards and their header fit).
const KEPT_BUFFER: usize = 8 * 1024 * 1024;

/// Runs `f` on an aligned buffer of exactly `len` bytes (contents unspecified). Each blocking
/// thread reuses one buffer, so a write neither zeroes nor page-faults a fresh allocation.
fn with_write_buffer<T>(len: usize, f: impl FnOnce(&mut [u8]) -> T) -> T {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if len + ALIGN > KEPT_BUFFER {
        let (mut raw, start) = aligned_zeroed(len);
        return f(&mut raw[start..start + len]);
    }
    BUFFER.with_borrow_mut(|raw| {
        if raw.len() < len + ALIGN {
            *raw = vec![0u8; len + ALIGN];
        }
        let start = raw.as_ptr().align_offset(ALIGN);
        f(&mut raw[start..start + len])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_of(len: usize) -> (Vec<u8>, Vec<u8>) {
        let header = b"floe-test-header".to_vec();
        let body = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        (header, body)
    }

    #[test]
    fn files_hold_exactly_their_parts_either_way() {
        let dir = tempfile::tempdir().unwrap();
        for direct in [true, false] {
            let writer = DirectIo::new(direct);
            for len in [0, 1, 4095, MIN_DIRECT_BYTES, MIN_DIRECT_BYTES + 1, 1 << 20] {
                let (header, body) = parts_of(len);
                let path = dir.path().join(format!("{direct}-{len}"));
                writer.create(&path, &[&header, &body]).unwrap();
                let stored = fs::read(&path).unwrap();
                assert_eq!(stored.len(), header.len() + body.len());
                let file = File::open(&path).unwrap();
                let read = writer.read_all(&file, &path, stored.len()).unwrap();
                assert_eq!(read, stored);
                let too_long = writer.read_all(&file, &path, stored.len() + 1).unwrap_err();
                assert_eq!(too_long.kind(), io::ErrorKind::UnexpectedEof);
                assert_eq!(&stored[..header.len()], header.as_slice());
                assert_eq!(&stored[header.len()..], body.as_slice());
            }
        }
    }

    #[test]
    fn an_existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        fs::write(&path, b"old").unwrap();
        let (header, body) = parts_of(1 << 20);
        let err = DirectIo::default()
            .create(&path, &[&header, &body])
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"old");
    }
}
