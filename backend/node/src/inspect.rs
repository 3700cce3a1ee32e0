//! Read-only views of a node's data directory, safe while its node runs: no lock is taken and
//! nothing is verified, cut or moved. For forensics, and for drills that count the shards on
//! disk or damage one where it lies.

use std::path::Path;

use crate::layout::Layout;
use crate::packs::PACK_DIR;
use crate::protocol::{LIST_MAX_LIMIT, ShardKey};
use crate::segments::reader::peek;
use crate::store::{OnDisk, StoreError};
use crate::walk;

/// One shard found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundShard {
    pub key: ShardKey,
    /// Payload bytes.
    pub len: u64,
    pub place: OnDisk,
}

/// Every shard under data directory `root`, packed or a file, in key order. A key held both
/// ways is listed once, with the packed copy, which is the one reads are served from.
pub fn shards(root: &Path) -> Result<Vec<FoundShard>, StoreError> {
    let mut found: std::collections::BTreeMap<ShardKey, FoundShard> = Default::default();
    let layout = Layout::new(root);
    if layout.shards_dir().is_dir() {
        let mut after = None;
        loop {
            let page = walk::list_page(&layout, after.as_ref(), LIST_MAX_LIMIT)?;
            for entry in page.shards {
                let place = OnDisk::file(layout.shard_path(&entry.key));
                found.insert(
                    entry.key,
                    FoundShard {
                        key: entry.key,
                        len: entry.len,
                        place,
                    },
                );
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    for (key, (path, loc)) in peek::<ShardKey>(&root.join(PACK_DIR))? {
        let len = u64::from(loc.len);
        let place = OnDisk::packed(path, &loc);
        found.insert(key, FoundShard { key, len, place });
    }
    Ok(found.into_values().collect())
}

/// Where shard `key` lies under data directory `root`, if it is there.
pub fn shard(root: &Path, key: &ShardKey) -> Result<Option<OnDisk>, StoreError> {
    if let Some((path, loc)) = peek::<ShardKey>(&root.join(PACK_DIR))?.remove(key) {
        return Ok(Some(OnDisk::packed(path, &loc)));
    }
    let path = Layout::new(root).shard_path(key);
    Ok(path.is_file().then(|| OnDisk::file(path)))
}
