//! Random-input tests for every decoder of stored index values: the versioned records (buckets,
//! objects, uploads, parts, catalog entries), the manifests next to them, the node copies of
//! the journal (`recovery::record`, read back from storage nodes on a rebuild), and the index
//! operations that read those values back out of a damaged redb file.
//!
//! A value the index cannot understand must surface as an error (`Corrupt`), never as a panic:
//! the gateway keeps serving every other key. Pure random bytes stop at the first length
//! prefix, so most inputs are valid encodings with a few edits (flip, insert, delete,
//! overwrite, truncate, duplicate), which reach much deeper into postcard and the validators.

use floe_codec::{ChunkRef, Manifest};
use proptest::prelude::*;

use super::testkit::*;
use crate::maintenance::recovery::record as node_record;
use floe_testkit::mutation::{self, Edit, apply, wild_bytes};

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    mutation::edits(wild_bytes())
}

// ---- valid records with arbitrary contents ----

fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,12}", "[a-z/]{0,24}", Just(String::new())]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((text(), text()), 0..4)
}

fn algorithm() -> impl Strategy<Value = ChecksumAlgorithm> {
    prop::sample::select(vec![
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ])
}

fn checksum_type() -> impl Strategy<Value = ChecksumType> {
    prop::sample::select(vec![ChecksumType::FullObject, ChecksumType::Composite])
}

fn headers() -> impl Strategy<Value = ContentHeaders> {
    prop::collection::vec(proptest::option::of(text()), 6).prop_map(|mut v| ContentHeaders {
        content_type: v.pop().flatten(),
        content_encoding: v.pop().flatten(),
        cache_control: v.pop().flatten(),
        content_disposition: v.pop().flatten(),
        content_language: v.pop().flatten(),
        expires: v.pop().flatten(),
    })
}

fn object() -> impl Strategy<Value = ObjectRecord> {
    let checksum = proptest::option::of((algorithm(), checksum_type(), text())).prop_map(|c| {
        c.map(|(algorithm, kind, value)| StoredChecksum {
            algorithm,
            kind,
            value,
        })
    });
    let parts = prop::collection::vec(
        (any::<u64>(), proptest::option::of(text()))
            .prop_map(|(size, checksum)| PartSummary { size, checksum }),
        0..3,
    );
    (
        (any::<u64>(), text(), any::<i64>(), headers()),
        (pairs(), checksum, parts, pairs()),
    )
        .prop_map(
            |((size, etag, modified, headers), (metadata, checksum, parts, tags))| ObjectRecord {
                size,
                etag,
                modified,
                headers,
                metadata,
                checksum,
                parts,
                tags,
            },
        )
}

fn upload() -> impl Strategy<Value = UploadRecord> {
    (
        (text(), text(), any::<i64>(), headers()),
        (
            pairs(),
            pairs(),
            proptest::option::of(algorithm()),
            proptest::option::of(checksum_type()),
        ),
    )
        .prop_map(
            |(
                (bucket, key, initiated, headers),
                (metadata, tags, checksum_algorithm, checksum_type),
            )| {
                UploadRecord {
                    bucket,
                    key,
                    initiated,
                    headers,
                    metadata,
                    tags,
                    checksum_algorithm,
                    checksum_type,
                }
            },
        )
}

/// Manifests built from real (id-consistent) chunks, or inline.
fn any_manifest() -> impl Strategy<Value = Manifest> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4).prop_map(|seeds| manifest(&seeds)),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|d| Manifest::inline(d, 4096)),
    ]
}

fn part() -> impl Strategy<Value = PartRecord> {
    (
        any::<u64>(),
        text(),
        any::<i64>(),
        proptest::option::of(text()),
        any_manifest(),
    )
        .prop_map(|(size, etag, modified, checksum, manifest)| PartRecord {
            size,
            etag,
            modified,
            checksum,
            manifest,
        })
}

fn bucket() -> impl Strategy<Value = BucketRecord> {
    (any::<i64>(), text()).prop_map(|(created, region)| BucketRecord { created, region })
}

fn chunk_ref() -> impl Strategy<Value = ChunkRef> {
    (any::<u8>(), 1..200usize).prop_map(|(seed, len)| chunk(seed, len))
}

/// The encoding of one valid stored value, of any of the index's kinds.
fn stored_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bucket().prop_map(|r| encode_record(&r)),
        object().prop_map(|r| encode_record(&r)),
        upload().prop_map(|r| encode_record(&r)),
        part().prop_map(|r| encode_record(&r)),
        chunk_ref().prop_map(|r| encode_record(&r)),
        any_manifest().prop_map(|m| m.encode()),
    ]
}

/// Stored bytes as the index might find them: damaged valid values, or noise.
fn damaged_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (stored_value(), edits()).prop_map(|(mut bytes, edits)| {
            apply(&mut bytes, &edits);
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..4096),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
            b.insert(0, RECORD_FORMAT);
            b
        }),
    ]
}

/// Decodes `bytes` as a `T`; whatever is accepted must survive its own round trip.
fn decodes_cleanly<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = decode_record::<T>(bytes) {
        prop_assert_eq!(decode_record::<T>(&encode_record(&value)).unwrap(), value);
    }
    Ok(())
}

// ---- node copies of the journal ----

fn journal_entry() -> impl Strategy<Value = JournalEntry> {
    let state = prop_oneof![
        bucket().prop_map(|b| (
            RecordKind::Bucket,
            JournalState::Bucket(b, BucketSettings::default())
        )),
        (object(), any_manifest(), any::<u64>(), any::<bool>()).prop_map(|(o, m, seq, null)| {
            let kind = if null {
                RecordKind::Object
            } else {
                RecordKind::Version
            };
            let state = JournalState::Object(VersionStamp::new(seq, null), Box::new(o), m);
            (kind, state)
        }),
        (any::<u64>(), any::<i64>()).prop_map(|(seq, modified)| (
            RecordKind::Version,
            JournalState::Marker(VersionStamp::new(seq, false), MarkerRecord { modified })
        )),
        Just((RecordKind::Bucket, JournalState::Deleted)),
        Just((RecordKind::Object, JournalState::Deleted)),
        Just((RecordKind::Version, JournalState::Deleted)),
    ];
    (state, text(), text(), any::<u64>()).prop_map(|((kind, state), bucket, key, version)| {
        let seq = match &state {
            JournalState::Object(stamp, ..) | JournalState::Marker(stamp, _) if !stamp.null => {
                stamp.seq
            }
            JournalState::Deleted if kind == RecordKind::Version => version / 2,
            _ => 0,
        };
        JournalEntry {
            kind,
            seq,
            key: if kind == RecordKind::Bucket {
                String::new()
            } else {
                key
            },
            bucket,
            version,
            state,
        }
    })
}

proptest! {
    #[test]
    fn stored_records_never_panic(bytes in damaged_value()) {
        decodes_cleanly::<BucketRecord>(&bytes)?;
        decodes_cleanly::<ObjectRecord>(&bytes)?;
        decodes_cleanly::<UploadRecord>(&bytes)?;
        decodes_cleanly::<PartRecord>(&bytes)?;
        decodes_cleanly::<ChunkRef>(&bytes)?;
        if let Ok(m) = Manifest::decode(&bytes) {
            prop_assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
        }
    }

    /// Records read back from storage nodes during a rebuild: damaged bytes, bytes under the
    /// wrong id, and whatever decodes is fed to `restore` as a rebuild would.
    #[test]
    fn node_records_never_panic(
        entry in journal_entry(),
        edits in edits(),
        damage in any::<bool>(),
        wrong_id in any::<bool>(),
    ) {
        let (id, mut bytes) = node_record::encode(&entry);
        prop_assert_eq!(&node_record::decode(&id, &bytes).unwrap(), &entry);
        if damage {
            apply(&mut bytes, &edits);
        }
        let id = if wrong_id { floe_node::RecordId([0x42; 32]) } else { id };
        if let Ok(decoded) = node_record::decode(&id, &bytes) {
            prop_assert_eq!(node_record::encode(&decoded).0, id);
            let (_dir, index) = temp_index();
            let _ = index.restore(&[decoded]);
            let _ = index.pending_records(10);
        }
    }
}

// ---- a damaged index file, through the index's own operations ----

/// Which stored value of a small, valid index gets replaced.
#[derive(Debug, Clone, Copy)]
enum Target {
    Bucket,
    Object,
    Manifest,
    Upload,
    Part,
    Catalog,
}

proptest! {
    // Each case builds a fresh redb file with fsynced commits: fewer, costlier cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_index_operation_survives_a_damaged_value(
        target in prop::sample::select(vec![
            Target::Bucket, Target::Object, Target::Manifest, Target::Upload, Target::Part, Target::Catalog,
        ]),
        bytes in damaged_value(),
    ) {
        let (_dir, index) = index_with_bucket();
        let stored = manifest(&[1, 2]);
        index.put_object("b", "k", &object_record("e"), &stored, always).unwrap();
        // A manifest too long to sit beside its record: the one `Target::Manifest` damages.
        index.put_object("b", "big", &object_record("e"), &large_manifest(40), always).unwrap();
        index.create_upload("u", &upload_record("b", "k2", 5)).unwrap();
        index.put_part("u", 1, &part_record("p", manifest(&[3]))).unwrap();
        let catalogued = chunk(1, 32).id;
        index
            .write(|t| {
                match target {
                    Target::Bucket => { t.buckets.insert("b", bytes.as_slice())?; }
                    Target::Object => { t.objects.insert(("b", "k"), bytes.as_slice())?; }
                    Target::Manifest => { t.manifests.insert(("b", "big"), bytes.as_slice())?; }
                    Target::Upload => { t.uploads.insert("u", bytes.as_slice())?; }
                    Target::Part => { t.parts.insert(("u", 1), bytes.as_slice())?; }
                    Target::Catalog => { t.chunks.insert(catalogued.as_bytes(), bytes.as_slice())?; }
                }
                Ok(())
            })
            .unwrap();

        // Readers: each answers or reports corruption.
        let _ = index.bucket("b");
        let _ = index.list_buckets();
        let _ = index.object("b", "k");
        let _ = index.object_with_manifest("b", "k");
        let _ = index.object_with_manifest("b", "big");
        let _ = index.list_objects("b", "", None, 10);
        let _ = index.upload("u");
        let _ = index.part("u", 1);
        let _ = index.list_parts("u", 0, 10);
        let _ = index.list_uploads("b", "", None, None, 10);
        let _ = index.chunk(&catalogued);
        let _ = index.chunks(None, 10);
        let pending = index.pending_records(10);
        // Writers: each commits or rolls back whole.
        let _ = index.set_tags("b", "k", None, vec![("t".into(), "v".into())]);
        let _ = index.put_object("b", "k", &object_record("f"), &manifest(&[4]), always);
        let _ = index.complete_upload("u", &object_record("g"), &manifest(&[3]), &always);
        let _ = index.abort_upload("u");
        let _ = index.delete_object("b", "k");
        let _ = index.set_tags("b", "big", None, vec![("t".into(), "v".into())]);
        let _ = index.delete_object("b", "big");
        let _ = index.delete_bucket("b");
        if let Ok(entries) = pending {
            let _ = index.restore(&entries);
        }
    }
}
