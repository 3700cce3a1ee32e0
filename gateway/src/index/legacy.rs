//! Upgrading redb index files written before format 4, when every concept had its own typed
//! redb table, to the one ordered keyspace of format 4 (`store.rs`). Formats 1 and 2 are first
//! brought to format 3 as before (catalog filled, small manifests moved beside their records),
//! then every row is copied, re-encoded, into the `kv` table, all in one durable transaction:
//! a crash mid-upgrade leaves the old file as it was.

use std::ops::Bound;

use floe_codec::Manifest;
use redb::{Durability, ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use super::kv::RedbKv;
use super::kv::redb_kv::writable;
use super::object_entry::{MAX_MANIFEST_BESIDE_RECORD, split_entry};
use super::store::{FORMAT_KEY, INDEX_FORMAT, decode, with_tables};
use super::{IndexError, PartRecord, encode_record};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const BUCKETS: TableDefinition<&str, &[u8]> = TableDefinition::new("buckets");
const OBJECT_COUNTS: TableDefinition<&str, u64> = TableDefinition::new("object_counts");
const OBJECTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("objects");
const MANIFESTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("manifests");
const UPLOADS: TableDefinition<&str, &[u8]> = TableDefinition::new("uploads");
const UPLOAD_KEYS: TableDefinition<(&str, &str, &str), ()> = TableDefinition::new("upload_keys");
const UPLOAD_TIMES: TableDefinition<(i64, &str), ()> = TableDefinition::new("upload_times");
const PARTS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("parts");
const CHUNK_REFS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("chunk_refs");
const CHUNKS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("chunks");
const VERSIONS: TableDefinition<(u8, &str, &str), u64> = TableDefinition::new("versions");
const RECORD_OUTBOX: TableDefinition<(u8, &str, &str), u64> = TableDefinition::new("record_outbox");
const NODE_STATES: TableDefinition<&str, u8> = TableDefinition::new("node_states");
const GARBAGE: TableDefinition<&[u8; 32], i64> = TableDefinition::new("garbage");
const GARBAGE_QUEUE: TableDefinition<(i64, &[u8; 32]), (u16, u16)> =
    TableDefinition::new("garbage_queue");

/// Upgrades the file behind `kv` if it holds a format 1 to 3 index; does nothing to a format 4
/// file or a new one. Refuses a redb file that is not a Floe index.
pub(super) fn upgrade(kv: &RedbKv) -> Result<(), IndexError> {
    let mut txn = kv.database().begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    let names: Vec<String> = txn.list_tables()?.map(|t| t.name().to_string()).collect();
    if !names.iter().any(|n| n == META.name()) {
        if names.iter().any(|n| n != super::kv::redb_kv::KV.name()) {
            return Err(IndexError::Corrupt(
                "not a Floe index (tables without a format marker)".into(),
            ));
        }
        return Ok(());
    }
    let format = txn.open_table(META)?.get(FORMAT_KEY)?.map(|v| v.value());
    match format {
        Some(old @ 1..=3) => {
            if old == 1 {
                // Same tables plus the catalog, which is derived from the manifests. Runs
                // first: it reads every manifest from `manifests`, where format 1 kept them all.
                let added = fill_catalog(&txn)?;
                tracing::info!(chunks = added, "index upgraded to format 2 (chunk catalog)");
            }
            if old <= 2 {
                let moved = move_small_manifests(&txn)?;
                tracing::info!(
                    moved,
                    "index upgraded to format 3 (small manifests beside records)"
                );
            }
            let rows = copy_into_keyspace(&txn)?;
            txn.commit()?;
            tracing::info!(
                rows,
                "index upgraded to format {INDEX_FORMAT} (one ordered keyspace)"
            );
            Ok(())
        }
        other => Err(IndexError::Corrupt(format!(
            "index format {}, this build reads format {INDEX_FORMAT}",
            other.map_or("unknown".to_string(), |f| f.to_string())
        ))),
    }
}

/// Copies every row of the format 3 tables into the keyspace, then deletes those tables.
fn copy_into_keyspace(txn: &WriteTransaction) -> Result<u64, IndexError> {
    let mut rows = 0u64;
    let mut target = writable(txn)?;
    with_tables(&mut target, |t| {
        macro_rules! copy {
            ($old:expr, $new:ident, |$k:ident, $v:ident| ($key:expr, $value:expr)) => {{
                let table = txn.open_table($old)?;
                for entry in table.iter()? {
                    let (k, v) = entry?;
                    let ($k, $v) = (k.value(), v.value());
                    t.$new.insert($key, $value)?;
                    rows += 1;
                }
            }};
        }
        copy!(BUCKETS, buckets, |k, v| (k, v));
        copy!(OBJECT_COUNTS, object_counts, |k, v| (k, v));
        copy!(OBJECTS, objects, |k, v| (k, v));
        copy!(MANIFESTS, manifests, |k, v| (k, v));
        copy!(UPLOADS, uploads, |k, v| (k, v));
        copy!(UPLOAD_KEYS, upload_keys, |k, v| (k, v));
        copy!(UPLOAD_TIMES, upload_times, |k, v| (k, v));
        copy!(PARTS, parts, |k, v| (k, v));
        copy!(CHUNK_REFS, chunk_refs, |k, v| (k, v));
        copy!(CHUNKS, chunks, |k, v| (k, v));
        copy!(VERSIONS, versions, |k, v| (k, v));
        copy!(RECORD_OUTBOX, record_outbox, |k, v| (k, v));
        copy!(NODE_STATES, node_states, |k, v| (k, v));
        copy!(GARBAGE, garbage, |k, v| (k, v));
        copy!(GARBAGE_QUEUE, garbage_queue, |k, v| (k, v));
        t.meta.insert(FORMAT_KEY, INDEX_FORMAT)
    })?;
    drop(target);
    for name in [
        BUCKETS.name(),
        OBJECT_COUNTS.name(),
        OBJECTS.name(),
        MANIFESTS.name(),
        UPLOADS.name(),
        UPLOAD_KEYS.name(),
        UPLOAD_TIMES.name(),
        PARTS.name(),
        CHUNK_REFS.name(),
        CHUNKS.name(),
        VERSIONS.name(),
        RECORD_OUTBOX.name(),
        NODE_STATES.name(),
        GARBAGE.name(),
        GARBAGE_QUEUE.name(),
        META.name(),
    ] {
        let _ = txn.delete_table(TableDefinition::<&[u8], &[u8]>::new(name));
    }
    Ok(rows)
}

/// Format 1 → 2: the catalog did not exist yet. Every chunk a stored manifest (object or part)
/// references is entered; chunks only in the garbage queue are deliberately left out, so the
/// collector deletes them without a catalog entry, as format 1 would have.
pub(super) fn fill_catalog(txn: &WriteTransaction) -> Result<u64, IndexError> {
    let mut chunks = txn.open_table(CHUNKS)?;
    let mut added = 0;
    let mut enter = |manifest: &Manifest| -> Result<(), IndexError> {
        for chunk in manifest.chunks() {
            if chunks.get(chunk.id.as_bytes())?.is_none() {
                chunks.insert(chunk.id.as_bytes(), encode_record(chunk).as_slice())?;
                added += 1;
            }
        }
        Ok(())
    };
    let manifests = txn.open_table(MANIFESTS)?;
    for entry in manifests.range::<(&str, &str)>(..)? {
        let (key, value) = entry?;
        let (bucket, object) = key.value();
        let manifest = Manifest::decode(value.value())
            .map_err(|e| IndexError::corrupt(format_args!("manifest {bucket}/{object}"), e))?;
        enter(&manifest)?;
    }
    let parts = txn.open_table(PARTS)?;
    for entry in parts.range::<(&str, u32)>(..)? {
        let (key, value) = entry?;
        let (upload, number) = key.value();
        let part: PartRecord = decode(format_args!("part {number} of {upload}"), value.value())?;
        enter(&part.manifest)?;
    }
    Ok(added)
}

/// Format 2 → 3: every manifest small enough moves from `manifests` to beside its record.
/// Works in rounds of bounded size, so memory stays flat however many objects there are.
/// Returns how many moved.
pub(super) fn move_small_manifests(txn: &WriteTransaction) -> Result<u64, IndexError> {
    const ROUND: usize = 1024;
    let mut objects = txn.open_table(OBJECTS)?;
    let mut manifests = txn.open_table(MANIFESTS)?;
    let mut moved = 0;
    let mut after: Option<(String, String)> = None;
    loop {
        let start = match &after {
            Some((bucket, key)) => Bound::Excluded((bucket.as_str(), key.as_str())),
            None => Bound::Unbounded,
        };
        let mut small = Vec::new();
        let mut scanned = 0;
        for entry in manifests.range::<(&str, &str)>((start, Bound::Unbounded))? {
            let (id, manifest) = entry?;
            let (bucket, key) = id.value();
            if manifest.value().len() <= MAX_MANIFEST_BESIDE_RECORD {
                small.push((bucket.to_owned(), key.to_owned(), manifest.value().to_vec()));
            }
            scanned += 1;
            if scanned == ROUND {
                after = Some((bucket.to_owned(), key.to_owned()));
                break;
            }
        }
        for (bucket, key, manifest) in small {
            let Some(stored) = objects.get((bucket.as_str(), key.as_str()))? else {
                // Unreachable without its record; left where it is rather than guessed at.
                tracing::warn!(%bucket, %key, "manifest without an object record left in place");
                continue;
            };
            let mut value = stored.value().to_vec();
            drop(stored);
            let (_, rest) = split_entry(&bucket, &key, &value)?;
            if !rest.is_empty() {
                return Err(IndexError::Corrupt(format!(
                    "object {bucket}/{key} has two manifests"
                )));
            }
            value.extend_from_slice(&manifest);
            objects.insert((bucket.as_str(), key.as_str()), value.as_slice())?;
            manifests.remove((bucket.as_str(), key.as_str()))?;
            moved += 1;
        }
        if scanned < ROUND {
            return Ok(moved);
        }
    }
}

/// Turns the format 4 file at `path` back into what format `format` (1 to 3) wrote, for the
/// upgrade tests: the inverse of [`copy_into_keyspace`], then of the 2 → 3 and 1 → 2 steps.
#[cfg(test)]
pub(super) fn downgrade_for_tests(path: &std::path::Path, format: u64) {
    use super::object_entry::decode_entry;

    let kv = RedbKv::open(path).unwrap();
    let txn = kv.database().begin_write().unwrap();
    {
        let mut source = writable(&txn).unwrap();
        with_tables(&mut source, |t| {
            macro_rules! back {
                ($new:ident, $old:expr) => {{
                    let mut table = txn.open_table($old)?;
                    for entry in t.$new.iter()? {
                        let (k, v) = entry?;
                        table.insert(k.value(), v.value())?;
                    }
                }};
            }
            back!(buckets, BUCKETS);
            back!(object_counts, OBJECT_COUNTS);
            back!(objects, OBJECTS);
            back!(manifests, MANIFESTS);
            back!(uploads, UPLOADS);
            back!(upload_keys, UPLOAD_KEYS);
            back!(upload_times, UPLOAD_TIMES);
            back!(parts, PARTS);
            back!(chunk_refs, CHUNK_REFS);
            back!(chunks, CHUNKS);
            back!(versions, VERSIONS);
            back!(record_outbox, RECORD_OUTBOX);
            back!(node_states, NODE_STATES);
            back!(garbage, GARBAGE);
            back!(garbage_queue, GARBAGE_QUEUE);
            Ok(())
        })
        .unwrap();
    }
    txn.delete_table(super::kv::redb_kv::KV).unwrap();
    txn.open_table(META)
        .unwrap()
        .insert(FORMAT_KEY, format)
        .unwrap();
    if format <= 2 {
        // Formats 1 and 2 kept every manifest apart from its record.
        let mut objects = txn.open_table(OBJECTS).unwrap();
        let mut manifests = txn.open_table(MANIFESTS).unwrap();
        let entries: Vec<(String, String, Vec<u8>)> = objects
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                let (b, key) = k.value();
                (b.to_owned(), key.to_owned(), v.value().to_vec())
            })
            .collect();
        for (b, key, value) in entries {
            let (record, beside) = decode_entry(&b, &key, &value).unwrap();
            if let Some(manifest) = beside {
                let id = (b.as_str(), key.as_str());
                objects
                    .insert(id, encode_record(&record).as_slice())
                    .unwrap();
                manifests.insert(id, manifest.encode().as_slice()).unwrap();
            }
        }
    }
    if format == 1 {
        txn.delete_table(CHUNKS).unwrap();
    }
    txn.commit().unwrap();
}
