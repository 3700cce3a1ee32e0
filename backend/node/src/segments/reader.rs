//! Reading a segment log's entries without holding it: [`Located`], one entry's place that a
//! reader uses once the log's lock is released, and [`peek`], a read-only replay of a log that
//! another process may be writing.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use floe_codec::ShardHash;

use super::LogKey;
use super::entry::{EntryKind, SegmentKey, header_len, parse_header};
use super::log::{Loc, SEGMENT_HEADER_LEN, Segment, scan, segment_seq};
use crate::store::{StoreError, io_err};
use crate::walk::read_names;

/// The newest put of every key in the log at `dir`, and the segment file it is in, read
/// without opening the log: nothing is locked, verified, cut or rewritten, so the node that owns
/// the directory may be running. A torn tail ends its segment's scan.
pub fn peek<K: LogKey>(dir: &Path) -> Result<BTreeMap<K, (PathBuf, Loc)>, StoreError> {
    let mut seqs: Vec<u64> = match read_names(dir) {
        Ok(names) => names.iter().filter_map(|n| segment_seq(n)).collect(),
        Err(_) if !dir.exists() => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    seqs.sort_unstable();
    let mut map = BTreeMap::new();
    for seq in seqs {
        let path = dir.join(format!("{seq:016x}.seg"));
        let file = match File::open(&path) {
            Ok(file) => file,
            // Compacted away since the directory was read: its entries moved to a later one.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("cannot open log segment", &path)(e)),
        };
        let size = file
            .metadata()
            .map_err(io_err("cannot stat log segment", &path))?
            .len();
        let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
        if size < SEGMENT_HEADER_LEN
            || file.read_exact_at(&mut header, 0).is_err()
            || header[..K::SEGMENT_MAGIC.len()] != K::SEGMENT_MAGIC
        {
            continue;
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&header[K::SEGMENT_MAGIC.len()..]);
        let segment = Segment {
            file: Arc::new(file),
            key,
            path: path.clone(),
            size,
            allocated: size,
            live: 0,
        };
        scan::<K>(&segment, size, false, |offset, header| {
            match Loc::of_put(seq, offset, &header) {
                Some(loc) => map.insert(header.id, (path.clone(), loc)),
                None => map.remove(&header.id),
            };
        })?;
    }
    Ok(map)
}

/// One entry's place, readable without the log.
#[derive(Debug, Clone)]
pub struct Located<K> {
    pub id: K,
    pub loc: Loc,
    pub(super) file: Arc<File>,
    pub(super) key: SegmentKey,
    pub path: PathBuf,
}

impl<K: LogKey> Located<K> {
    /// The whole entry, header included, as stored; `None` if the file ends before it.
    pub fn raw(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let mut bytes = vec![0u8; self.loc.entry_len::<K>() as usize];
        match self.file.read_exact_at(&mut bytes, self.loc.offset) {
            Ok(()) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(io_err("cannot read log segment", &self.path)(e)),
        }
    }

    /// The payload and its hash, checked against its entry; `Ok(None)` if it is rotten.
    pub fn read(&self) -> Result<Option<(ShardHash, Bytes)>, StoreError> {
        let Some(bytes) = self.raw()? else {
            return Ok(None);
        };
        let start = header_len::<K>();
        Ok(self
            .parse(&bytes)
            .filter(|hash| hash.matches(&bytes[start..]))
            .map(|hash| (hash, Bytes::from(bytes).slice(start..))))
    }

    /// The payload hash the entry's header states, without reading the payload; `Ok(None)` if
    /// the header is rotten.
    pub fn stated_hash(&self) -> Result<Option<ShardHash>, StoreError> {
        let mut bytes = vec![0u8; header_len::<K>()];
        match self.file.read_exact_at(&mut bytes, self.loc.offset) {
            Ok(()) => Ok(self.parse(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(io_err("cannot read log segment", &self.path)(e)),
        }
    }

    /// The stated hash, if `bytes` start with an intact put header of this entry's key.
    fn parse(&self, bytes: &[u8]) -> Option<ShardHash> {
        let header = parse_header::<K>(&self.key, bytes)?;
        match header.kind {
            EntryKind::Put { hash, len, .. } if header.id == self.id && len == self.loc.len => {
                Some(hash)
            }
            _ => None,
        }
    }
}
