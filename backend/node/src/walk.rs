//! Walks of the shard tree: the startup count, the temp-file sweep and the sorted, paginated
//! listing behind `GET /v1/shards`.
//!
//! Directory listings come back in no particular order, so every walk sorts: prefixes by name,
//! shards by parsed key. A page costs at most one `readdir` per prefix directory it touches.

use std::fs;
use std::io;
use std::path::Path;

use crate::layout::{self, Layout};
use crate::protocol::{LIST_MAX_LIMIT, ShardEntry, ShardKey, ShardPage};
use crate::stats::{Counters, payload_len};
use crate::store::{StoreError, io_err, sync_dir};

/// Up to `limit` shards with keys after `after`, in (chunk id, index) order.
pub fn list_page(
    tree: &Layout,
    after: Option<&ShardKey>,
    limit: u32,
) -> Result<ShardPage, StoreError> {
    let limit = limit.clamp(1, LIST_MAX_LIMIT) as usize;
    let start_prefix = after.map(layout::prefix_of);
    let mut prefixes: Vec<String> = read_names(&tree.shards_dir())?
        .into_iter()
        .filter(|n| layout::is_prefix_name(n))
        .filter(|n| start_prefix.as_ref().is_none_or(|s| n >= s))
        .collect();
    prefixes.sort();

    let mut page = ShardPage::default();
    for prefix in prefixes {
        let dir = tree.shards_dir().join(&prefix);
        let mut keys: Vec<ShardKey> = read_names(&dir)?
            .iter()
            .filter_map(|n| n.parse::<ShardKey>().ok())
            .filter(|k| layout::prefix_of(k) == prefix && after.is_none_or(|a| k > a))
            .collect();
        // Sort parsed keys, not names: as text "x.10" would come before "x.2".
        keys.sort();
        for key in keys {
            if page.shards.len() == limit {
                page.next_after = page.shards.last().map(|e| e.key);
                return Ok(page);
            }
            match fs::symlink_metadata(tree.shard_path(&key)) {
                Ok(meta) => page.shards.push(ShardEntry {
                    key,
                    len: payload_len(meta.len()),
                    modified: unix_secs(&meta),
                }),
                // Deleted while we were listing: simply not part of this page.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("cannot stat shard", &dir)(e)),
            }
        }
    }
    Ok(page)
}

/// A file's modification time in unix seconds; 0 when the platform cannot tell.
fn unix_secs(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Removes every file in the temp directory: each is a write that never reached its rename.
pub fn sweep_tmp(dir: &Path) -> Result<usize, StoreError> {
    let mut swept = 0;
    for name in read_names(dir)? {
        let path = dir.join(&name);
        // Debris that cannot be removed is harmless where it is; refusing to start over it
        // would turn a cosmetic problem into an outage.
        match fs::remove_file(&path) {
            Ok(()) => swept += 1,
            Err(e) => tracing::warn!(file = %path.display(), error = %e, "cannot remove temp file"),
        }
    }
    if swept > 0 {
        sync_dir(dir)?;
    }
    Ok(swept)
}

/// Counts the shards and payload bytes under `shards/`, ignoring files that are not shards.
pub fn scan_shards(tree: &Layout) -> Result<Counters, StoreError> {
    let mut counters = Counters::default();
    for prefix in read_names(&tree.shards_dir())? {
        if !layout::is_prefix_name(&prefix) {
            continue;
        }
        let dir = tree.shards_dir().join(&prefix);
        for name in read_names(&dir)? {
            if name.parse::<ShardKey>().is_err() {
                tracing::debug!(file = %dir.join(&name).display(), "ignoring stray file");
                continue;
            }
            if let Ok(meta) = fs::symlink_metadata(dir.join(&name)) {
                counters.stored(None, meta.len());
            }
        }
    }
    Ok(counters)
}

/// Names in a directory (empty if it does not exist). Non-UTF-8 names are skipped: this node
/// never creates them.
pub fn read_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("cannot list directory", dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("cannot list directory", dir))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}
