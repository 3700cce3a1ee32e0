//! The file-per-record layout of earlier builds, imported into the record database when a
//! node starts, so that no metadata copy is lost on upgrade:
//!
//! ```text
//! DATA/records/<first 2 hex>/<record_hex>     MAGIC + version (u64 BE) + blake3 + payload
//! ```
//!
//! A file that fails its hash is quarantined instead of imported; the directory is removed once
//! its records are durable in the database.

use std::fs;
use std::path::Path;

use bytes::Bytes;
use floe_codec::ShardHash;

use super::RecordStore;
use crate::layout::is_prefix_name;
use crate::protocol::{RecordId, RecordItem};
use crate::store::{StoreError, io_err};
use crate::walk::read_names;

/// File magic; the last two bytes are the format version.
pub const RECORD_MAGIC: [u8; 8] = *b"FLRECD\x00\x01";
/// Bytes before the payload: magic + version + hash.
pub const RECORD_HEADER_LEN: usize = 8 + 8 + 32;
pub const RECORDS_DIR: &str = "records";

/// Records put into the database per transaction while importing.
const IMPORT_BATCH: usize = 4096;

/// Imports every record file under `dir` (if it exists), then removes it.
pub(super) fn import(store: &RecordStore, dir: &Path) -> Result<(), StoreError> {
    if !dir.is_dir() {
        return Ok(());
    }
    let (mut imported, mut damaged) = (0usize, 0usize);
    let mut batch = Vec::new();
    for prefix in read_names(dir)?.into_iter().filter(|n| is_prefix_name(n)) {
        let prefix_dir = dir.join(&prefix);
        for name in read_names(&prefix_dir)? {
            let Ok(id) = name.parse::<RecordId>() else {
                continue;
            };
            let path = prefix_dir.join(&name);
            let bytes = fs::read(&path).map_err(io_err("cannot read record", &path))?;
            match decode(&bytes) {
                Some((version, payload)) => batch.push(RecordItem {
                    id,
                    version,
                    payload,
                }),
                None => {
                    damaged += 1;
                    let dest = store.quarantine.join(format!("record-{id}.legacy"));
                    let _ = fs::rename(&path, dest);
                }
            }
            if batch.len() == IMPORT_BATCH {
                imported += batch.len();
                store.put_batch(&std::mem::take(&mut batch))?;
            }
        }
    }
    imported += batch.len();
    store.put_batch(&batch)?;
    fs::remove_dir_all(dir).map_err(io_err("cannot remove directory", dir))?;
    tracing::info!(
        imported,
        damaged,
        "records of the file layout moved into the database"
    );
    Ok(())
}

/// Parses and verifies a record file: its version and payload.
fn decode(bytes: &[u8]) -> Option<(u64, Bytes)> {
    let header = bytes.get(..RECORD_HEADER_LEN)?;
    if header[..8] != RECORD_MAGIC {
        return None;
    }
    let mut version = [0u8; 8];
    version.copy_from_slice(&header[8..16]);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&header[16..48]);
    let payload = &bytes[RECORD_HEADER_LEN..];
    ShardHash::from_bytes(hash)
        .matches(payload)
        .then(|| (u64::from_be_bytes(version), Bytes::copy_from_slice(payload)))
}

/// Record files come back from disk, where anything can happen to them: `decode` must refuse
/// every damaged file without panicking and accept only bytes whose payload matches its hash.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    fn file(version: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = RECORD_MAGIC.to_vec();
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(ShardHash::of(payload).as_bytes());
        out.extend_from_slice(payload);
        out
    }

    proptest! {
        #[test]
        fn random_record_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
            if let Some((_, payload)) = decode(&bytes) {
                prop_assert!(ShardHash::of(&payload).as_bytes() == &bytes[16..48]);
            }
        }

        #[test]
        fn damaged_record_files_are_refused(
            version in any::<u64>(),
            payload in prop::collection::vec(any::<u8>(), 0..2048),
            at in any::<prop::sample::Index>(),
            xor in 1..=255u8,
            cut in any::<prop::sample::Index>(),
            extra in prop::collection::vec(any::<u8>(), 0..16),
            how in 0..4u8,
        ) {
            let good = file(version, &payload);
            let decoded = decode(&good).unwrap();
            prop_assert_eq!((decoded.0, decoded.1.as_ref()), (version, &payload[..]));
            let mut bad = good.clone();
            match how {
                // A flip in the version field is the one damage the hash cannot see, and the
                // version only orders copies of the same record.
                0 => { let i = at.index(bad.len()); bad[i] ^= xor; }
                1 => bad.truncate(cut.index(bad.len())),
                2 => bad.extend_from_slice(&extra),
                _ => { let i = at.index(bad.len() + 1); bad.splice(i..i, extra.iter().copied()); }
            }
            match decode(&bad) {
                Some((_, record)) => {
                    prop_assert!(bad == good || (how == 0 && (8..16).contains(&at.index(good.len())))
                        || ((how == 2 || how == 3) && extra.is_empty()));
                    prop_assert!(ShardHash::of(&record).as_bytes() == &bad[16..48]);
                }
                None => prop_assert!(bad != good),
            }
        }
    }
}
