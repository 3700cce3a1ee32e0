//! `ShardStore`: the node's shards on local disk — atomic durable writes, verify-on-read with
//! quarantine, deletes, sorted paginated listing and exact totals.
//!
//! Shards smaller than the store's pack threshold are appended to the packs (see
//! [`crate::packs`]); larger ones are a file each. Reads, deletes and listings look at both, so
//! a shard written under another threshold (an older node, a changed config) is still found.
//!
//! The API is synchronous and does blocking file I/O; async callers go through
//! `tokio::task::spawn_blocking`, except for the quick puts of `store/quick.rs`, which block
//! their worker only for one uncontended append and sync. Crash safety rests on two rules: a
//! shard file only ever appears under `shards/` by an atomic rename of a fully written and
//! fsynced temp file, and a packed shard counts only once its append is synced (a torn tail is
//! cut off at open). So a kill -9 at any moment leaves either the old state or the new one,
//! plus temp debris that `open` sweeps.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use floe_codec::ShardHash;

use crate::direct_io::DirectIo;
use crate::layout::{self, HEADER_LEN, Layout};
use crate::packs::{DEFAULT_PACK_BELOW, PackFigures, ShardPacks};
use crate::protocol::{LIST_MAX_LIMIT, NodeStats, ShardInfo, ShardItem, ShardKey, ShardPage};
use crate::segments::log::Loc;
use crate::segments::reader::Located;
use crate::stats::{Counters, DiskSpace, payload_len};
use crate::walk::{self, read_names, scan_shards, sweep_tmp};

mod quick;
pub use quick::{QUICK_MAX_BYTES, QuickBatch, SlowBatch};

/// Failures of the shard store. `NotFound`, `Corrupt` and `HashMismatch` are answers about the
/// data; `Io` is the node's own trouble.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("shard not found")]
    NotFound,
    #[error("shard {0} failed verification and was quarantined")]
    Corrupt(ShardKey),
    #[error("shard body hashes to {actual}, not the claimed {claimed}")]
    HashMismatch {
        claimed: ShardHash,
        actual: ShardHash,
    },
    #[error("data directory {0} is locked by another running node")]
    Locked(PathBuf),
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl StoreError {
    /// The same failure, for another shard of the batch it failed (errors are not `Clone`).
    fn for_another(&self) -> StoreError {
        match self {
            StoreError::NotFound => StoreError::NotFound,
            StoreError::Corrupt(key) => StoreError::Corrupt(*key),
            StoreError::HashMismatch { claimed, actual } => StoreError::HashMismatch {
                claimed: *claimed,
                actual: *actual,
            },
            StoreError::Locked(path) => StoreError::Locked(path.clone()),
            StoreError::Io {
                context,
                path,
                source,
            } => StoreError::Io {
                context,
                path: path.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
        }
    }
}

pub(crate) fn io_err(context: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        context,
        path,
        source,
    }
}

/// What a successful put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The shard was written (new, or replacing a different or damaged copy).
    Stored,
    /// An identical, intact copy was already there; nothing was written.
    AlreadyPresent,
}

/// Where a shard's bytes are on disk (see [`ShardStore::on_disk`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDisk {
    /// A pack segment or the shard's own file.
    pub path: PathBuf,
    pub header_at: u64,
    pub payload_at: u64,
}

impl OnDisk {
    /// A packed shard's entry at `loc` of the pack segment at `path`.
    pub(crate) fn packed(path: PathBuf, loc: &Loc) -> OnDisk {
        OnDisk {
            path,
            header_at: loc.offset,
            payload_at: loc.payload_at::<ShardKey>(),
        }
    }

    /// A shard file.
    pub(crate) fn file(path: PathBuf) -> OnDisk {
        OnDisk {
            path,
            header_at: 0,
            payload_at: HEADER_LEN as u64,
        }
    }
}

/// A verified shard as read from disk.
#[derive(Debug, Clone)]
pub struct StoredShard {
    pub hash: ShardHash,
    pub payload: Bytes,
}

/// The shards of one data directory. Holds an exclusive lock on the directory while alive.
#[derive(Debug)]
pub struct ShardStore {
    layout: Layout,
    /// Serialises every change to the shard tree together with its counter update.
    counters: Mutex<Counters>,
    seq: AtomicU64,
    /// Shard file I/O, around the page cache for large shards.
    io: DirectIo,
    /// Shards of fewer payload bytes than `pack_below`.
    packs: ShardPacks,
    pack_below: u64,
    /// Held only for its flock: a second node on the same directory would sweep our temp files.
    _lock: File,
}

impl ShardStore {
    /// Opens (creating if needed) the store under `root`, sweeps temp debris from a previous
    /// run and counts what is stored.
    pub fn open(root: &Path) -> Result<ShardStore, StoreError> {
        Self::open_with(root, DEFAULT_PACK_BELOW)
    }

    /// Opens the store packing shards of fewer than `pack_below` payload bytes (0: none).
    pub fn open_with(root: &Path, pack_below: u64) -> Result<ShardStore, StoreError> {
        let layout = Layout::new(root);
        for dir in [
            layout.root().to_path_buf(),
            layout.shards_dir(),
            layout.tmp_dir(),
            layout.quarantine_dir(),
        ] {
            fs::create_dir_all(&dir).map_err(io_err("cannot create directory", &dir))?;
        }
        sync_dir(layout.root())?;
        let lock = lock_dir(&layout)?;

        let swept = sweep_tmp(&layout.tmp_dir())?;
        if swept > 0 {
            tracing::info!(swept, "removed temp files left by an interrupted write");
        }
        let mut counters = scan_shards(&layout)?;
        counters.quarantined = read_names(&layout.quarantine_dir())?.len() as u64;
        let packs = ShardPacks::open(root)?;
        let packed = packs.figures();
        tracing::info!(
            root = %root.display(),
            shard_files = counters.shards,
            file_bytes = counters.bytes,
            packed_shards = packed.shards,
            packed_bytes = packed.payload_bytes,
            quarantined = counters.quarantined,
            "shard store opened"
        );
        Ok(ShardStore {
            io: DirectIo::default(),
            packs,
            pack_below,
            layout,
            counters: Mutex::new(counters),
            seq: AtomicU64::new(0),
            _lock: lock,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Where the shard file for `key` lives (whether or not it exists; a packed shard has none).
    pub fn shard_path(&self, key: &ShardKey) -> PathBuf {
        self.layout.shard_path(key)
    }

    /// Where the copy of `key` that reads are served from sits on disk: its pack segment or its
    /// file, and the offsets of its header and payload there. For forensics, and for tests
    /// that damage a copy.
    pub fn on_disk(&self, key: &ShardKey) -> Option<OnDisk> {
        if let Some(located) = self.packs.locate(key) {
            return Some(OnDisk::packed(located.path, &located.loc));
        }
        let path = self.layout.shard_path(key);
        path.is_file().then(|| OnDisk::file(path))
    }

    fn counters(&self) -> MutexGuard<'_, Counters> {
        // A panic elsewhere while holding the lock cannot leave the counters torn (each update
        // is a few integer ops), so a poisoned lock is still safe to use.
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`put_bytes`](Self::put_bytes) of a borrowed payload (a copy of it is made).
    pub fn put(
        &self,
        key: &ShardKey,
        claimed: &ShardHash,
        payload: &[u8],
    ) -> Result<PutOutcome, StoreError> {
        self.put_bytes(key, claimed, Bytes::copy_from_slice(payload))
    }

    /// Stores `payload` as shard `key` after checking it hashes to `claimed`; a packed shard
    /// keeps the payload without a copy.
    pub fn put_bytes(
        &self,
        key: &ShardKey,
        claimed: &ShardHash,
        payload: Bytes,
    ) -> Result<PutOutcome, StoreError> {
        check_hash(claimed, &payload)?;
        match self.plan_checked(key, claimed, &payload)? {
            PutPlan::Present => Ok(PutOutcome::AlreadyPresent),
            PutPlan::File => self.put_file(key, claimed, &payload),
            PutPlan::Pack { stale_file } => {
                self.packs.put(key, claimed, payload)?;
                self.packed(key, stale_file)
            }
        }
    }

    /// Stores every shard of a batch, each checked against its own hash, so a damaged payload
    /// fails alone; the packed ones share one group commit. One outcome per shard, in order.
    pub fn put_batch(&self, items: &[ShardItem]) -> Vec<Result<PutOutcome, StoreError>> {
        let checks = items
            .iter()
            .map(|item| check_hash(&item.hash, &item.payload))
            .collect();
        self.put_batch_checked(items, checks)
    }

    /// [`put_batch`](Self::put_batch) with each item's hash check done: `checks[i]` for
    /// `items[i]`.
    fn put_batch_checked(
        &self,
        items: &[ShardItem],
        checks: Vec<Result<(), StoreError>>,
    ) -> Vec<Result<PutOutcome, StoreError>> {
        let mut outcomes = Vec::with_capacity(items.len());
        // Shards to pack: their place in `items`, and whether a stale file of theirs goes.
        let mut to_pack = Vec::new();
        for (i, (item, check)) in items.iter().zip(checks).enumerate() {
            let plan = check.and_then(|()| self.plan_checked(&item.key, &item.hash, &item.payload));
            outcomes.push(match plan {
                Ok(PutPlan::Present) => Ok(PutOutcome::AlreadyPresent),
                Ok(PutPlan::File) => self.put_file(&item.key, &item.hash, &item.payload),
                Ok(PutPlan::Pack { stale_file }) => {
                    to_pack.push((i, stale_file));
                    // Replaced below by what the commit did.
                    Ok(PutOutcome::Stored)
                }
                Err(e) => Err(e),
            });
        }
        if to_pack.is_empty() {
            return outcomes;
        }
        let shards = to_pack
            .iter()
            .map(|&(i, _)| (items[i].key, items[i].hash, items[i].payload.clone()))
            .collect();
        match self.packs.put_many(shards) {
            Ok(()) => {
                for (i, stale_file) in to_pack {
                    outcomes[i] = self.packed(&items[i].key, stale_file);
                }
            }
            Err(e) => {
                for (i, _) in to_pack {
                    outcomes[i] = Err(e.for_another());
                }
            }
        }
        outcomes
    }

    /// Decides, from what is on disk, how a shard whose payload hashes to `claimed` is stored.
    fn plan_checked(
        &self,
        key: &ShardKey,
        claimed: &ShardHash,
        payload: &[u8],
    ) -> Result<PutPlan, StoreError> {
        // The packed copy first: it is the one reads are served from.
        if self.packs_identical(key, claimed)? {
            return Ok(PutPlan::Present);
        }
        let file = file_copy(&self.layout.shard_path(key), claimed, payload);
        if file == FileCopy::Identical {
            return Ok(PutPlan::Present);
        }
        if (payload.len() as u64) < self.pack_below {
            return Ok(PutPlan::Pack {
                stale_file: file == FileCopy::Other,
            });
        }
        Ok(PutPlan::File)
    }

    /// After shard `key` was packed: a file of the key (damaged, or written under another
    /// threshold) would be listed and counted beside the packed copy, so it goes.
    fn packed(&self, key: &ShardKey, stale_file: bool) -> Result<PutOutcome, StoreError> {
        if stale_file {
            self.delete_file(key)?;
        }
        Ok(PutOutcome::Stored)
    }

    /// Writes shard `key` as a file of its own.
    fn put_file(
        &self,
        key: &ShardKey,
        claimed: &ShardHash,
        payload: &[u8],
    ) -> Result<PutOutcome, StoreError> {
        let path = self.layout.shard_path(key);
        let tmp = self
            .layout
            .tmp_path(key, self.seq.fetch_add(1, Ordering::Relaxed));
        let result = self.install(key, &tmp, &path, claimed, payload);
        if result.is_err() {
            // Best effort: whatever is left is swept at the next start.
            let _ = fs::remove_file(&tmp);
        }
        result?;
        // A packed copy (damaged, or written under another threshold) would shadow the file.
        self.packs.delete(key)?;
        Ok(PutOutcome::Stored)
    }

    fn install(
        &self,
        key: &ShardKey,
        tmp: &Path,
        path: &Path,
        hash: &ShardHash,
        payload: &[u8],
    ) -> Result<(), StoreError> {
        self.io
            .create(tmp, &[&layout::encode_header(hash), payload])
            .map_err(io_err("cannot write temp file", tmp))?;

        let prefix = self.layout.prefix_dir(key);
        if !prefix.is_dir() {
            match fs::create_dir(&prefix) {
                Ok(()) => sync_dir(&self.layout.shards_dir())?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_err("cannot create directory", &prefix)(e)),
            }
        }
        {
            let mut counters = self.counters();
            let old_len = fs::metadata(path).ok().map(|m| m.len());
            fs::rename(tmp, path).map_err(io_err("cannot rename into place", path))?;
            counters.stored(old_len, (HEADER_LEN + payload.len()) as u64);
        }
        // The rename is only durable once the directory entry is.
        sync_dir(&prefix)
    }

    /// Whether the packs hold an intact copy of shard `key` hashing to `hash`. Anything
    /// unreadable counts as "no", so the put appends a good copy that supersedes it (as a
    /// file put overwrites a damaged file).
    fn packs_identical(&self, key: &ShardKey, hash: &ShardHash) -> Result<bool, StoreError> {
        let Some(located) = self.packs.locate(key) else {
            return Ok(false);
        };
        Ok(located.read()?.is_some_and(|(stored, _)| stored == *hash))
    }

    /// Reads and fully verifies shard `key`. A rotten shard is quarantined and reported as
    /// `Corrupt`, so it is never served and never reported twice.
    pub fn get(&self, key: &ShardKey) -> Result<StoredShard, StoreError> {
        let mut rotten = false;
        if let Some(located) = self.packs.locate(key) {
            if let Some((hash, payload)) = located.read()? {
                return Ok(StoredShard { hash, payload });
            }
            self.quarantine_packed(&located, "payload does not match its stored hash")?;
            // A file of the key, if there is one, may still be good.
            rotten = true;
        }
        let path = self.layout.shard_path(key);
        let Some((file, meta)) = open_shard(&path)? else {
            return Err(if rotten {
                StoreError::Corrupt(*key)
            } else {
                StoreError::NotFound
            });
        };
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        let buf = self
            .io
            .read_all(&file, &path, len)
            .map_err(io_err("cannot read shard", &path))?;
        let problem = match layout::decode_header(&buf) {
            Ok(hash) if hash.matches(&buf[HEADER_LEN..]) => {
                let payload = buf.slice(HEADER_LEN..);
                return Ok(StoredShard { hash, payload });
            }
            Ok(_) => "payload does not match its stored hash".to_owned(),
            Err(e) => e.to_string(),
        };
        self.quarantine(key, &path, &meta, &problem);
        Err(StoreError::Corrupt(*key))
    }

    /// Length and stored hash of shard `key`, from its header only: cheap, so the payload is
    /// not verified; a damaged header is still caught and quarantined.
    pub fn head(&self, key: &ShardKey) -> Result<Option<ShardInfo>, StoreError> {
        if let Some(located) = self.packs.locate(key) {
            if let Some(hash) = located.stated_hash()? {
                let len = u64::from(located.loc.len);
                return Ok(Some(ShardInfo { len, hash }));
            }
            self.quarantine_packed(&located, "entry header is damaged")?;
            return Err(StoreError::Corrupt(*key));
        }
        let path = self.layout.shard_path(key);
        let Some((file, meta)) = open_shard(&path)? else {
            return Ok(None);
        };
        let mut header = Vec::with_capacity(HEADER_LEN);
        file.take(HEADER_LEN as u64)
            .read_to_end(&mut header)
            .map_err(io_err("cannot read shard", &path))?;
        match layout::decode_header(&header) {
            Ok(hash) => Ok(Some(ShardInfo {
                len: payload_len(meta.len()),
                hash,
            })),
            Err(e) => {
                self.quarantine(key, &path, &meta, &e.to_string());
                Err(StoreError::Corrupt(*key))
            }
        }
    }

    /// Removes shard `key`, packed, a file or both; returns whether it existed.
    pub fn delete(&self, key: &ShardKey) -> Result<bool, StoreError> {
        let packed = self.packs.delete(key)?;
        Ok(self.delete_file(key)? || packed)
    }

    fn delete_file(&self, key: &ShardKey) -> Result<bool, StoreError> {
        let path = self.layout.shard_path(key);
        let mut counters = self.counters();
        let len = match fs::symlink_metadata(&path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err("cannot stat shard", &path)(e)),
        };
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err("cannot delete shard", &path)(e)),
        }
        counters.removed(len);
        // No directory fsync: a delete lost to a crash leaves an unreferenced shard, which the
        // garbage collector deletes again; paying an fsync per delete is not worth that.
        Ok(true)
    }

    /// Moves the file just read (and only that file: a concurrent put may already have replaced
    /// it with a good copy) into quarantine, counting and logging it.
    fn quarantine(&self, key: &ShardKey, path: &Path, read: &fs::Metadata, problem: &str) {
        let mut counters = self.counters();
        let same_file = fs::symlink_metadata(path)
            .is_ok_and(|now| now.dev() == read.dev() && now.ino() == read.ino());
        if !same_file {
            counters.corrupt(false);
            tracing::warn!(%key, problem, "corrupt shard was already replaced");
            return;
        }
        // Nanoseconds, so evidence from before a restart (when `seq` starts over) is not overwritten.
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let dest = self.layout.quarantine_path(key, stamp, seq);
        let moved = match fs::rename(path, &dest) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(%key, error = %e, "cannot quarantine corrupt shard, deleting it");
                false
            }
        };
        // Rotten bytes must never be served again, even if keeping the evidence failed.
        if moved || fs::remove_file(path).is_ok() {
            counters.removed(read.len());
        }
        counters.corrupt(moved);
        tracing::warn!(%key, problem, quarantined = moved, "corrupt shard detected");
    }

    /// Keeps the rotten entry's bytes in quarantine as evidence and drops the entry, unless a
    /// put has replaced it meanwhile; counts and logs it.
    fn quarantine_packed(
        &self,
        rotten: &Located<ShardKey>,
        problem: &str,
    ) -> Result<(), StoreError> {
        let key = rotten.id;
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let dest =
            self.layout
                .quarantine_path(&key, stamp, self.seq.fetch_add(1, Ordering::Relaxed));
        let kept = match rotten.raw() {
            Ok(Some(bytes)) => fs::write(&dest, bytes).is_ok(),
            _ => false,
        };
        let dropped = self.packs.drop_rotten(rotten)?;
        let mut counters = self.counters();
        if !dropped {
            counters.corrupt(false);
            if kept {
                let _ = fs::remove_file(&dest);
            }
            tracing::warn!(%key, problem, "corrupt packed shard was already replaced");
            return Ok(());
        }
        counters.corrupt(kept);
        tracing::warn!(%key, problem, quarantined = kept, pack = %rotten.path.display(), "corrupt packed shard detected");
        Ok(())
    }

    /// Up to `limit` shards with keys after `after`, in (chunk id, index) order: the packed
    /// ones and the files, merged (a key in both is listed once, with its packed copy).
    pub fn list(&self, after: Option<&ShardKey>, limit: u32) -> Result<ShardPage, StoreError> {
        let files = walk::list_page(&self.layout, after, limit)?;
        let limit = limit.clamp(1, LIST_MAX_LIMIT) as usize;
        // One more than a page, to tell whether the packs go on past it.
        let packed = self.packs.page(after, limit + 1);
        let files_go_on = files.next_after.is_some();
        let mut shards = Vec::with_capacity(limit);
        let mut files = files.shards.into_iter().peekable();
        let mut packed = packed.into_iter().peekable();
        while shards.len() < limit {
            let next = match (files.peek(), packed.peek()) {
                (Some(f), Some(p)) if f.key == p.key => {
                    files.next();
                    packed.next()
                }
                (Some(f), Some(p)) if f.key < p.key => files.next(),
                (Some(_), Some(_)) | (None, Some(_)) => packed.next(),
                (Some(_), None) => files.next(),
                (None, None) => None,
            };
            let Some(next) = next else { break };
            shards.push(next);
        }
        let more = files_go_on || files.peek().is_some() || packed.peek().is_some();
        let next_after = more.then(|| shards.last().map(|s| s.key)).flatten();
        Ok(ShardPage { shards, next_after })
    }

    /// What the packs hold and how their commits were batched.
    pub fn pack_figures(&self) -> PackFigures {
        self.packs.figures()
    }

    /// Current totals plus the filesystem's free and total space.
    pub fn stats(&self) -> Result<NodeStats, StoreError> {
        let disk = DiskSpace::of(self.layout.root())
            .map_err(io_err("cannot statvfs", self.layout.root()))?;
        let packed = self.packs.figures();
        let mut stats = self.counters().snapshot(disk);
        stats.shards += packed.shards;
        stats.bytes += packed.payload_bytes;
        Ok(stats)
    }
}

/// Opens a shard file; `None` if there is none.
fn open_shard(path: &Path) -> Result<Option<(File, fs::Metadata)>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("cannot open shard", path)(e)),
    };
    let meta = file.metadata().map_err(io_err("cannot stat shard", path))?;
    Ok(Some((file, meta)))
}

/// Refuses a payload that does not hash to what its writer claimed.
fn check_hash(claimed: &ShardHash, payload: &[u8]) -> Result<(), StoreError> {
    let actual = ShardHash::of(payload);
    if actual != *claimed {
        return Err(StoreError::HashMismatch {
            claimed: *claimed,
            actual,
        });
    }
    Ok(())
}

/// What `path` holds against this shard. Anything unreadable counts as another copy, so the
/// put replaces it with a good one.
fn file_copy(path: &Path, hash: &ShardHash, payload: &[u8]) -> FileCopy {
    let (mut file, meta) = match open_shard(path) {
        Ok(Some(opened)) => opened,
        Ok(None) => return FileCopy::Absent,
        Err(_) => return FileCopy::Other,
    };
    if meta.len() != (HEADER_LEN + payload.len()) as u64 {
        return FileCopy::Other;
    }
    let mut buf = Vec::with_capacity(HEADER_LEN + payload.len());
    let identical = file.read_to_end(&mut buf).is_ok()
        && layout::decode_header(&buf).is_ok_and(|stored| stored == *hash)
        && buf[HEADER_LEN..] == *payload;
    if identical {
        FileCopy::Identical
    } else {
        FileCopy::Other
    }
}

/// How a put stores its shard, decided before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PutPlan {
    /// An identical, intact copy is there already.
    Present,
    /// Appended to the packs; `stale_file`: a file of the key goes once the append is durable.
    Pack { stale_file: bool },
    /// A file of its own.
    File,
}

/// What a shard's file holds, against the shard being put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileCopy {
    /// No file.
    Absent,
    /// Exactly this shard, intact.
    Identical,
    /// Something else: damaged, or unreadable in part.
    Other,
}

fn lock_dir(layout: &Layout) -> Result<File, StoreError> {
    let path = layout.lock_file();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("cannot open lock file", &path))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            Err(StoreError::Locked(layout.root().to_path_buf()))
        }
        Err(e) => Err(io_err("cannot lock", &path)(e.into())),
    }
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("cannot fsync directory", dir))
}
