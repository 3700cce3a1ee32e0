//! The store's running totals and the filesystem's free space, assembled into [`NodeStats`].
//!
//! Totals are counted once by a scan at startup and then kept up to date by the store inside the
//! same critical section that renames or removes the file, so they stay exact under concurrency
//! instead of drifting the way independently updated atomics would.

use std::io;
use std::path::Path;

use crate::layout::HEADER_LEN;
use crate::protocol::NodeStats;

/// Exact totals of what the store holds. Mutated only under the store's lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub shards: u64,
    pub bytes: u64,
    pub quarantined: u64,
    pub corrupt_reads: u64,
}

/// Payload length of a shard file of `file_len` bytes; a truncated file counts as empty.
pub fn payload_len(file_len: u64) -> u64 {
    file_len.saturating_sub(HEADER_LEN as u64)
}

impl Counters {
    /// A shard file of `new_len` bytes was renamed into place over `old_len` (if one existed).
    pub fn stored(&mut self, old_len: Option<u64>, new_len: u64) {
        match old_len {
            Some(old) => self.bytes = self.bytes.saturating_sub(payload_len(old)),
            None => self.shards += 1,
        }
        self.bytes += payload_len(new_len);
    }

    /// A shard file of `len` bytes left the shard tree (deleted or quarantined).
    pub fn removed(&mut self, len: u64) {
        self.shards = self.shards.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(payload_len(len));
    }

    /// A rotten shard was found; `moved` tells whether it now sits in quarantine.
    pub fn corrupt(&mut self, moved: bool) {
        self.corrupt_reads += 1;
        if moved {
            self.quarantined += 1;
        }
    }

    pub fn snapshot(&self, disk: DiskSpace) -> NodeStats {
        NodeStats {
            shards: self.shards,
            bytes: self.bytes,
            free_bytes: disk.free,
            total_bytes: disk.total,
            quarantined: self.quarantined,
            corrupt_reads: self.corrupt_reads,
        }
    }
}

/// Space on the filesystem holding the data directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskSpace {
    /// Bytes an unprivileged writer can still use (`f_bavail`): what the node can actually fill.
    pub free: u64,
    pub total: u64,
}

impl DiskSpace {
    pub fn of(path: &Path) -> io::Result<DiskSpace> {
        let st = rustix::fs::statvfs(path)?;
        // f_frsize is the unit of the block counts; some filesystems leave it 0, then f_bsize is it.
        let unit = if st.f_frsize > 0 {
            st.f_frsize
        } else {
            st.f_bsize
        };
        Ok(DiskSpace {
            free: st.f_bavail.saturating_mul(unit),
            total: st.f_blocks.saturating_mul(unit),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_track_put_overwrite_remove() {
        let h = HEADER_LEN as u64;
        let mut c = Counters::default();
        c.stored(None, h + 10);
        c.stored(None, h + 5);
        assert_eq!((c.shards, c.bytes), (2, 15));
        c.stored(Some(h + 5), h + 7);
        assert_eq!((c.shards, c.bytes), (2, 17));
        c.removed(h + 10);
        c.corrupt(true);
        let stats = c.snapshot(DiskSpace { free: 1, total: 2 });
        assert_eq!(
            stats,
            NodeStats {
                shards: 1,
                bytes: 7,
                free_bytes: 1,
                total_bytes: 2,
                quarantined: 1,
                corrupt_reads: 1,
            }
        );
        // Never underflows, even if the disk was tampered with behind the node's back.
        c.removed(h + 100);
        c.removed(h + 100);
        assert_eq!((c.shards, c.bytes), (0, 0));
    }

    #[test]
    fn disk_space_of_a_real_directory() {
        let dir = tempfile::tempdir().unwrap();
        let space = DiskSpace::of(dir.path()).unwrap();
        assert!(space.total > 0 && space.free <= space.total);
    }
}
