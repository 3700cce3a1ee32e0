//! The records the gateway keeps on the storage nodes: one per bucket and one per object key,
//! carrying the current state (or a tombstone) at a version, in a versioned binary encoding.
//!
//! To a node a record is opaque bytes under an id; the id is a blake3 hash of what it
//! describes, so the same bucket or key always lands on the same record (and a newer version
//! replaces an older one), while no bucket or key name reaches a node's file names.

use floe_codec::Manifest;
use floe_node::RecordId;
use serde::{Deserialize, Serialize};

use crate::index::{
    BucketRecord, JournalEntry, JournalState, ObjectRecord, RecordError, RecordKind, decode_record,
    encode_record,
};

/// Domain separation for record ids.
const RECORD_ID_TAG: &[u8] = b"floe.record.v1";

/// The wire form. Manifests travel in their own versioned encoding and are fully validated
/// (chunk ids included) when read back.
#[derive(Debug, Serialize, Deserialize)]
enum Wire {
    Bucket {
        name: String,
        version: u64,
        record: BucketRecord,
    },
    BucketDeleted {
        name: String,
        version: u64,
    },
    Object {
        bucket: String,
        key: String,
        version: u64,
        record: Box<ObjectRecord>,
        /// In one piece (see `Body::Inline`): the same bytes as a sequence, without a call per byte.
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
    },
    ObjectDeleted {
        bucket: String,
        key: String,
        version: u64,
    },
}

/// Why bytes from a node are not a usable record.
#[derive(Debug, thiserror::Error)]
pub enum RecordDecodeError {
    #[error(transparent)]
    Format(#[from] RecordError),
    #[error("manifest: {0}")]
    Manifest(#[from] floe_codec::ManifestError),
    #[error("record stored under another id")]
    WrongId,
}

/// The id of the record of a bucket (`key` empty) or object.
pub fn record_id(kind: RecordKind, bucket: &str, key: &str) -> RecordId {
    let mut hasher = blake3::Hasher::new();
    hasher.update(RECORD_ID_TAG);
    hasher.update(&[kind as u8]);
    hasher.update(&(bucket.len() as u64).to_le_bytes());
    hasher.update(bucket.as_bytes());
    hasher.update(key.as_bytes());
    RecordId(*hasher.finalize().as_bytes())
}

/// The id and bytes of the record of `entry`.
pub fn encode(entry: &JournalEntry) -> (RecordId, Vec<u8>) {
    let (bucket, key, version) = (entry.bucket.clone(), entry.key.clone(), entry.version);
    let wire = match (&entry.state, entry.kind) {
        (JournalState::Bucket(record), _) => Wire::Bucket {
            name: bucket,
            version,
            record: record.clone(),
        },
        (JournalState::Object(record, manifest), _) => Wire::Object {
            bucket,
            key,
            version,
            record: record.clone(),
            manifest: manifest.encode(),
        },
        (JournalState::Deleted, RecordKind::Bucket) => Wire::BucketDeleted {
            name: bucket,
            version,
        },
        (JournalState::Deleted, RecordKind::Object) => Wire::ObjectDeleted {
            bucket,
            key,
            version,
        },
    };
    (
        record_id(entry.kind, &entry.bucket, &entry.key),
        encode_record(&wire),
    )
}

/// Reads a record fetched from a node under `id`, checking that it is the record of that id.
pub fn decode(id: &RecordId, bytes: &[u8]) -> Result<JournalEntry, RecordDecodeError> {
    let wire: Wire = decode_record(bytes)?;
    let entry = match wire {
        Wire::Bucket {
            name,
            version,
            record,
        } => entry(
            RecordKind::Bucket,
            name,
            String::new(),
            version,
            JournalState::Bucket(record),
        ),
        Wire::BucketDeleted { name, version } => entry(
            RecordKind::Bucket,
            name,
            String::new(),
            version,
            JournalState::Deleted,
        ),
        Wire::Object {
            bucket,
            key,
            version,
            record,
            manifest,
        } => {
            let manifest = Manifest::decode(&manifest)?;
            let state = JournalState::Object(record, manifest);
            entry(RecordKind::Object, bucket, key, version, state)
        }
        Wire::ObjectDeleted {
            bucket,
            key,
            version,
        } => entry(
            RecordKind::Object,
            bucket,
            key,
            version,
            JournalState::Deleted,
        ),
    };
    if record_id(entry.kind, &entry.bucket, &entry.key) != *id {
        return Err(RecordDecodeError::WrongId);
    }
    Ok(entry)
}

fn entry(
    kind: RecordKind,
    bucket: String,
    key: String,
    version: u64,
    state: JournalState,
) -> JournalEntry {
    JournalEntry {
        kind,
        bucket,
        key,
        version,
        state,
    }
}

#[cfg(test)]
mod tests {
    use floe_codec::{CodecParams, encode_chunk};

    use super::*;
    use crate::index::ContentHeaders;

    fn object() -> JournalEntry {
        let chunk = encode_chunk(CodecParams::new(2, 1).unwrap(), (0..99).collect())
            .unwrap()
            .chunk;
        let record = ObjectRecord {
            size: 99,
            etag: "e".into(),
            modified: 5,
            headers: ContentHeaders {
                content_type: Some("text/plain".into()),
                ..ContentHeaders::default()
            },
            metadata: vec![("k".into(), "v".into())],
            checksum: None,
            parts: Vec::new(),
            tags: Vec::new(),
        };
        entry(
            RecordKind::Object,
            "b".into(),
            "dir/key".into(),
            77,
            JournalState::Object(Box::new(record), Manifest::chunked(vec![chunk], 99)),
        )
    }

    #[test]
    fn records_round_trip_and_ids_separate_kinds() {
        let entries = [
            object(),
            entry(
                RecordKind::Object,
                "b".into(),
                "x".into(),
                3,
                JournalState::Deleted,
            ),
            entry(
                RecordKind::Bucket,
                "b".into(),
                String::new(),
                1,
                JournalState::Bucket(BucketRecord {
                    created: 1,
                    region: String::new(),
                }),
            ),
            entry(
                RecordKind::Bucket,
                "c".into(),
                String::new(),
                9,
                JournalState::Deleted,
            ),
        ];
        for e in &entries {
            let (id, bytes) = encode(e);
            assert_eq!(&decode(&id, &bytes).unwrap(), e);
        }
        // "b" + "ucket/k" and "bucket" + "/k" must not collide, nor buckets with objects.
        assert_ne!(
            record_id(RecordKind::Object, "b", "ucket/k"),
            record_id(RecordKind::Object, "bucket", "/k")
        );
        assert_ne!(
            record_id(RecordKind::Bucket, "b", ""),
            record_id(RecordKind::Object, "b", "")
        );
    }

    #[test]
    fn foreign_or_damaged_bytes_are_refused() {
        let (id, bytes) = encode(&object());
        let other = record_id(RecordKind::Object, "b", "elsewhere");
        assert!(matches!(
            decode(&other, &bytes),
            Err(RecordDecodeError::WrongId)
        ));
        for cut in 0..bytes.len() {
            assert!(decode(&id, &bytes[..cut]).is_err());
        }
    }
}
