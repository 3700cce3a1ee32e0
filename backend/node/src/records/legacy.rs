//! The first record format, one file per record, and its one-way import into the log.
//!
//! ```text
//! DATA/records/<first 2 hex>/<record_hex>   MAGIC (8) | version u64 BE | payload blake3 (32) | payload
//! ```
//!
//! A node that finds this directory at startup copies every intact record into the log, makes
//! the log durable, and only then removes the directory; a crash on the way repeats the import.
//! Rotten files go to the quarantine directory.

use std::fs;
use std::path::Path;

use bytes::Bytes;
use floe_codec::ShardHash;

use crate::layout::is_prefix_name;
use crate::protocol::RecordId;
use crate::segments::log::{Change, Log};
use crate::store::{StoreError, io_err, sync_dir};
use crate::walk::read_names;

/// File magic of the first format; the last two bytes are its version.
pub const RECORD_MAGIC: [u8; 8] = *b"FLRECD\x00\x01";
/// Bytes before the payload: magic + version + hash.
pub const RECORD_HEADER_LEN: usize = 8 + 8 + 32;
pub const RECORDS_DIR: &str = "records";
/// Payload bytes per append while importing.
const IMPORT_BYTES: usize = 8 << 20;

/// Imports `DATA/records` into `log` if it exists; returns how many records were imported.
pub fn import(
    root: &Path,
    quarantine: &Path,
    log: &mut Log<RecordId>,
) -> Result<usize, StoreError> {
    let dir = root.join(RECORDS_DIR);
    if !dir.exists() {
        return Ok(0);
    }
    let mut changes = Vec::new();
    let mut pending = 0;
    let mut imported = 0;
    for prefix in read_names(&dir)?.into_iter().filter(|n| is_prefix_name(n)) {
        let prefix = dir.join(prefix);
        for name in read_names(&prefix)? {
            let path = prefix.join(&name);
            let Ok(id) = name.parse::<RecordId>() else {
                continue;
            };
            let bytes = fs::read(&path).map_err(io_err("cannot read record", &path))?;
            let Some((version, payload)) = decode(&bytes) else {
                let dest = quarantine.join(format!("record-{id}.legacy"));
                fs::rename(&path, &dest).map_err(io_err("cannot quarantine record", &path))?;
                tracing::warn!(record = %id, "corrupt record quarantined while importing");
                continue;
            };
            // An earlier, interrupted import may have stored it (or a newer put) already.
            if log.get(&id).is_some_and(|loc| loc.version > version) {
                continue;
            }
            pending += payload.len();
            imported += 1;
            changes.push(Change::Put {
                id,
                version,
                hash: ShardHash::of(&payload),
                payload,
            });
            if pending >= IMPORT_BYTES {
                log.commit(&changes)?;
                changes.clear();
                pending = 0;
            }
        }
    }
    log.commit(&changes)?;
    fs::remove_dir_all(&dir).map_err(io_err("cannot remove directory", &dir))?;
    sync_dir(root)?;
    tracing::info!(records = imported, "records imported into the record log");
    Ok(imported)
}

/// Parses and verifies a record file: its version and payload.
fn decode(bytes: &[u8]) -> Option<(u64, Bytes)> {
    let header = bytes.get(..RECORD_HEADER_LEN)?;
    if header[..8] != RECORD_MAGIC {
        return None;
    }
    let version = u64::from_be_bytes(header[8..16].try_into().ok()?);
    let hash = ShardHash::from_bytes(header[16..48].try_into().ok()?);
    let payload = &bytes[RECORD_HEADER_LEN..];
    hash.matches(payload)
        .then(|| (version, Bytes::copy_from_slice(payload)))
}

/// Writes a record file in the first format (tests of the import).
#[cfg(test)]
pub fn encode(version: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = RECORD_MAGIC.to_vec();
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(ShardHash::of(payload).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Record files come back from disk, where anything can happen to them: `decode` must refuse
/// every damaged file without panicking and accept only bytes whose payload matches its hash.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

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
            let good = encode(version, &payload);
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
                Some((_, payload)) => {
                    prop_assert!(bad == good || (how == 0 && (8..16).contains(&at.index(good.len())))
                        || ((how == 2 || how == 3) && extra.is_empty()));
                    prop_assert!(ShardHash::of(&payload).as_bytes() == &bad[16..48]);
                }
                None => prop_assert!(bad != good),
            }
        }
    }
}
