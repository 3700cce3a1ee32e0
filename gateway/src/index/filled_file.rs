//! [`FilledFile`]: the index's redb file, with the space it grows into written with zeros
//! before redb's pages land there.
//!
//! redb grows its file with `set_len`, which leaves a hole. The first commit that writes a page
//! into a hole makes the filesystem allocate blocks, and that commit's `fdatasync` must then also
//! write the allocation metadata and the inode: two more synchronous round trips to the disk.
//! Under a stream of small PUTs the index grows all the time (inline bodies live in it), so
//! nearly every group commit paid them: on the benchmark VM (ext4) an fdatasync of four fresh
//! pages took 350 µs, of four pages over written blocks 180 µs. Here a write past the filled
//! part first writes zeros up to [`FILL_AHEAD`] bytes beyond its end, so one commit in many pays
//! for the allocation, of a whole stretch at once: under the 4 KiB PUT benchmark the index
//! writer's mean fdatasync fell from 0.51 to 0.34 ms.
//!
//! Writing zeros is only safe where redb has never written: the backend keeps a watermark,
//! `filled`, and the invariant that no byte at or past it has been written since `set_len`
//! created it, so each still reads as zero and belongs to no page redb knows about. Space that
//! already existed when the file was opened counts as filled (it may hold pages); so holes left
//! by an earlier run stay holes, which costs speed, never data. "Opened" means when redb first
//! writes or resizes, which is after it holds its file lock: a length read any earlier could
//! miss pages another process (a gateway still shutting down) committed meanwhile, and the
//! zeros would then land on them.
//!
//! The watermark belongs to this process, so the backend is only sound while one process
//! writes the file: redb's default `ExclusiveWriter` mode, which the index uses.

use std::fs::OpenOptions;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use redb::backends::FileBackend;
use redb::{BackendError, DatabaseError, StorageBackend};

/// What redb's backend I/O calls fail with (without its `experimental-api-5` feature).
type BackendIoError = std::io::Error;

/// How far past a write's end the zeros go. Larger stretches allocate less often, but the
/// commit that flushes one waits for all of it.
pub(super) const FILL_AHEAD: u64 = 2 * 1024 * 1024;
/// Zeros written per call while filling.
const ZEROS: usize = 256 * 1024;

/// A redb file backend that fills new space with zeros ahead of use (see the module docs).
#[derive(Debug)]
pub(crate) struct FilledFile {
    inner: FileBackend,
    space: Mutex<Space>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Space {
    /// `len` and `filled` have been read from the file: not before redb first writes or
    /// resizes (see the module docs).
    known: bool,
    /// The file's length, as last set.
    len: u64,
    /// Nothing at or past this offset has been written since the file grew over it.
    filled: u64,
}

impl FilledFile {
    /// Opens (creating it if needed) the file at `path`, as `Database::create` would.
    pub fn open(path: &Path) -> Result<Self, DatabaseError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok(Self {
            inner: FileBackend::new(file)?,
            space: Mutex::new(Space::default()),
        })
    }

    /// The space, locked, and read from the file the first time. One lock covers every write
    /// and resize: uncontended but for the rare write that fills.
    fn space(&self) -> Result<MutexGuard<'_, Space>, BackendIoError> {
        // A few integers, each updated in one step: consistent even after a panic elsewhere.
        let mut space = self.space.lock().unwrap_or_else(|e| e.into_inner());
        if !space.known {
            let len = self.inner.len()?;
            *space = Space {
                known: true,
                len,
                filled: len,
            };
        }
        Ok(space)
    }

    /// Makes sure `..end` is filled, writing zeros from the watermark to `FILL_AHEAD` past `end`
    /// (within the file's length).
    fn fill_through(&self, end: u64) -> Result<(), BackendIoError> {
        let mut space = self.space()?;
        if end <= space.filled {
            return Ok(());
        }
        let target = end.max(space.len.min(end.saturating_add(FILL_AHEAD)));
        let zeros = vec![0u8; ZEROS];
        let mut at = space.filled;
        while at < target {
            let n = (target - at).min(ZEROS as u64) as usize;
            self.inner.write(at, &zeros[..n])?;
            at += n as u64;
            // Advanced piece by piece: after a failure, what was written stays filled.
            space.filled = at;
        }
        Ok(())
    }
}

impl StorageBackend for FilledFile {
    fn len(&self) -> Result<u64, BackendIoError> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), BackendIoError> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), BackendIoError> {
        let mut space = self.space()?;
        self.inner.set_len(len)?;
        // Growing adds zeros past the old length, which keeps the invariant; shrinking drops
        // whatever lay past the new length.
        space.len = len;
        space.filled = space.filled.min(len);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), BackendIoError> {
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), BackendIoError> {
        self.fill_through(offset.saturating_add(data.len() as u64))?;
        self.inner.write(offset, data)
    }

    fn close(&self) -> Result<(), BackendIoError> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn backend(dir: &Path) -> (FilledFile, std::path::PathBuf) {
        let path = dir.join("file");
        (FilledFile::open(&path).unwrap(), path)
    }

    fn read(file: &FilledFile, offset: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0xAA; len];
        file.read(offset, &mut out).unwrap();
        out
    }

    #[test]
    fn new_space_is_written_ahead_of_use_and_reads_back_right() {
        let dir = tempfile::tempdir().unwrap();
        let (file, path) = backend(dir.path());
        let len = 16 * FILL_AHEAD;
        file.set_len(len).unwrap();
        // A hole: nothing allocated yet.
        assert_eq!(std::fs::metadata(&path).unwrap().blocks(), 0);

        file.write(4096, &[7u8; 4096]).unwrap();
        let allocated = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(
            allocated >= 4096 + 4096 + FILL_AHEAD,
            "only {allocated} bytes allocated"
        );
        assert!(allocated < len, "the whole file was filled at once");
        assert_eq!(read(&file, 0, 4096), vec![0u8; 4096]);
        assert_eq!(read(&file, 4096, 4096), vec![7u8; 4096]);
        assert_eq!(read(&file, 8192, 4096), vec![0u8; 4096]);

        // A write inside the filled stretch does not disturb what is there.
        file.write(8192, &[9u8; 100]).unwrap();
        assert_eq!(read(&file, 4096, 4096), vec![7u8; 4096]);
        assert_eq!(read(&file, 8192, 100), vec![9u8; 100]);
    }

    #[test]
    fn filling_never_overwrites_what_was_written_before() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _) = backend(dir.path());
        file.set_len(8 * FILL_AHEAD).unwrap();
        // Far past the watermark, then below it again, then past both.
        let far = 5 * FILL_AHEAD;
        file.write(far, &[1u8; 10]).unwrap();
        file.write(100, &[2u8; 10]).unwrap();
        file.write(far + FILL_AHEAD + 10, &[3u8; 10]).unwrap();
        assert_eq!(read(&file, far, 10), vec![1u8; 10]);
        assert_eq!(read(&file, 100, 10), vec![2u8; 10]);
        assert_eq!(read(&file, far + FILL_AHEAD + 10, 10), vec![3u8; 10]);
    }

    #[test]
    fn what_the_file_held_when_opened_is_never_filled_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let (file, path) = backend(dir.path());
            file.set_len(4 * FILL_AHEAD).unwrap();
            file.write(3 * FILL_AHEAD, &[5u8; 10]).unwrap();
            path
        };
        let file = FilledFile::open(&path).unwrap();
        file.write(0, &[6u8; 10]).unwrap();
        assert_eq!(read(&file, 3 * FILL_AHEAD, 10), vec![5u8; 10]);
        // Shrunk, then grown again: the new space is zeros, and filling it is safe.
        file.set_len(FILL_AHEAD).unwrap();
        file.set_len(4 * FILL_AHEAD).unwrap();
        file.write(2 * FILL_AHEAD, &[8u8; 10]).unwrap();
        assert_eq!(read(&file, 3 * FILL_AHEAD, 10), vec![0u8; 10]);
        assert_eq!(read(&file, 2 * FILL_AHEAD, 10), vec![8u8; 10]);
        assert_eq!(read(&file, 0, 10), vec![6u8; 10]);
    }

    #[test]
    fn the_length_is_read_at_the_first_write_not_at_open() {
        // Another process (a gateway shutting down) may commit between this open and the
        // moment redb holds its lock: what it wrote must count as filled.
        let dir = tempfile::tempdir().unwrap();
        let (late, path) = backend(dir.path());
        {
            let other = FilledFile::open(&path).unwrap();
            other.set_len(4 * FILL_AHEAD).unwrap();
            other.write(FILL_AHEAD, &[4u8; 10]).unwrap();
        }
        late.write(3 * FILL_AHEAD, &[1u8; 10]).unwrap();
        assert_eq!(read(&late, FILL_AHEAD, 10), vec![4u8; 10]);
        assert_eq!(read(&late, 3 * FILL_AHEAD, 10), vec![1u8; 10]);
    }

    #[test]
    fn a_database_on_it_keeps_its_data_across_reopens() {
        use redb::{Database, ReadableDatabase, TableDefinition};
        const T: TableDefinition<u64, &[u8]> = TableDefinition::new("t");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.redb");
        for round in 0..3u64 {
            let db = Database::builder()
                .create_with_backend(FilledFile::open(&path).unwrap())
                .unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn.open_table(T).unwrap();
                for i in 0..2000u64 {
                    t.insert(round * 10_000 + i, &[round as u8; 3000][..])
                        .unwrap();
                }
            }
            txn.commit().unwrap();
            drop(db);
        }
        let db = Database::builder()
            .create_with_backend(FilledFile::open(&path).unwrap())
            .unwrap();
        let txn = db.begin_read().unwrap();
        let t = txn.open_table(T).unwrap();
        for round in 0..3u64 {
            for i in [0u64, 999, 1999] {
                let v = t.get(round * 10_000 + i).unwrap().unwrap();
                assert_eq!(v.value(), &[round as u8; 3000][..]);
            }
        }
    }
}
