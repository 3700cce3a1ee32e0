//! Unit tests of the object layout: which manifests go beside their record, that every object
//! keeps its manifest in exactly one place across overwrites, tags and deletes, and the upgrade
//! of a format 2 file.

use floe_codec::Manifest;

use super::*;
use crate::index::legacy::downgrade_for_tests;
use crate::index::store::{INDEX_FORMAT, MANIFESTS, META, OBJECTS};
use crate::index::testkit::*;

/// Manifests stored apart, by key.
fn separate_keys(index: &Index) -> Vec<String> {
    let txn = index.read().unwrap();
    let manifests = txn.open_table(MANIFESTS).unwrap();
    manifests
        .range(..)
        .unwrap()
        .map(|e| e.unwrap().0.value().1.to_owned())
        .collect()
}

#[test]
fn small_manifests_ride_with_the_record_and_large_ones_stay_apart() {
    let record = object_record("e");
    let body = Manifest::inline(vec![7; 16 * 1024], 4096);
    let EncodedObject {
        value, separate, ..
    } = EncodedObject::new(&record, body.clone());
    assert_eq!(separate, None);
    assert_eq!(
        decode_entry("b", "k", &value).unwrap(),
        (record.clone(), Some(body))
    );
    assert_eq!(decode_entry_record("b", "k", &value).unwrap(), record);

    let long = large_manifest(1);
    let EncodedObject {
        value, separate, ..
    } = EncodedObject::new(&record, long.clone());
    assert_eq!(separate, Some(long.encode()));
    assert_eq!(decode_entry("b", "k", &value).unwrap(), (record, None));
}

#[test]
fn replacing_the_record_keeps_the_manifest_bytes() {
    let body = Manifest::inline(b"hello".to_vec(), 4096);
    let value = EncodedObject::new(&object_record("e"), body.clone()).value;
    let mut tagged = object_record("e");
    tagged.tags = vec![("t".into(), "v".into())];
    let value = replace_entry_record("b", "k", &value, &tagged).unwrap();
    assert_eq!(
        decode_entry("b", "k", &value).unwrap(),
        (tagged, Some(body))
    );
}

#[test]
fn damaged_bytes_after_the_record_are_corrupt() {
    let mut value = encode_record(&object_record("e"));
    value.extend_from_slice(b"garbage");
    assert!(matches!(
        decode_entry("b", "k", &value),
        Err(IndexError::Corrupt(_))
    ));
    // The record alone still reads: listing does not depend on the manifest.
    assert_eq!(
        decode_entry_record("b", "k", &value).unwrap(),
        object_record("e")
    );
}

#[test]
fn overwrites_move_the_manifest_and_never_leave_a_stale_copy() {
    let (_dir, index) = index_with_bucket();
    let small = manifest(&[1]);
    let large = large_manifest(10);
    let put = |m: &Manifest| {
        index
            .put_object("b", "k", &object_record("e"), m, always)
            .unwrap()
    };

    put(&small);
    assert!(separate_keys(&index).is_empty());
    put(&large);
    assert_eq!(separate_keys(&index), ["k"]);
    assert_eq!((refs(&index, 1), refs(&index, 10)), (0, 1));
    put(&small);
    assert!(separate_keys(&index).is_empty());
    assert_eq!((refs(&index, 1), refs(&index, 10)), (1, 0));
    assert_eq!(
        index.object_with_manifest("b", "k").unwrap(),
        Some((object_record("e"), small))
    );

    put(&large);
    index
        .set_tags("b", "k", None, vec![("t".into(), "v".into())])
        .unwrap();
    assert_eq!(
        index.object_with_manifest("b", "k").unwrap().unwrap().1,
        large
    );
    index.delete_object("b", "k").unwrap();
    assert!(separate_keys(&index).is_empty());
    assert_eq!(refs(&index, 10), 0);
}

#[test]
fn tags_keep_a_small_objects_body() {
    let (_dir, index) = index_with_bucket();
    let body = Manifest::inline(b"small body".to_vec(), 4096);
    index
        .put_object("b", "k", &object_record("e"), &body, always)
        .unwrap();
    index
        .set_tags("b", "k", None, vec![("t".into(), "v".into())])
        .unwrap();
    let (record, manifest) = index.object_with_manifest("b", "k").unwrap().unwrap();
    assert_eq!(record.tags, [("t".to_owned(), "v".to_owned())]);
    assert_eq!(manifest, body);
}

#[test]
fn a_format_2_file_moves_its_small_manifests_beside_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.redb");
    // More objects than one upgrade round, so the rounds' hand-over is exercised.
    let objects = 2500;
    {
        let index = Index::open(&path).unwrap();
        index.create_bucket("b", &bucket_record()).unwrap();
        for i in 0..objects {
            let body = Manifest::inline(format!("body {i}").into_bytes(), 4096);
            index
                .put_object("b", &format!("k{i:05}"), &object_record("e"), &body, always)
                .unwrap();
        }
        index
            .put_object(
                "b",
                "large",
                &object_record("l"),
                &large_manifest(1),
                always,
            )
            .unwrap();
        assert_eq!(separate_keys(&index), ["large"]);
    }
    downgrade_for_tests(&path, 2);
    let index = Index::open(&path).unwrap();
    assert_eq!(separate_keys(&index), ["large"]);
    for i in [0, 1023, 1024, 2047, 2048, objects - 1] {
        let (_, manifest) = index
            .object_with_manifest("b", &format!("k{i:05}"))
            .unwrap()
            .unwrap();
        assert_eq!(
            manifest,
            Manifest::inline(format!("body {i}").into_bytes(), 4096)
        );
    }
    assert_eq!(
        index.object_with_manifest("b", "large").unwrap().unwrap().1,
        large_manifest(1)
    );
    assert_eq!(
        index.list_objects("b", "", None, 10_000).unwrap().len(),
        objects + 1
    );
    let txn = index.read().unwrap();
    assert_eq!(
        txn.open_table(META)
            .unwrap()
            .get("format")
            .unwrap()
            .unwrap()
            .value(),
        INDEX_FORMAT
    );
    assert_eq!(
        txn.open_table(OBJECTS).unwrap().len().unwrap(),
        objects as u64 + 1
    );
}

#[test]
fn a_locked_stamp_round_trips_and_restamping_keeps_record_and_manifest() {
    use crate::index::lock::{ObjectLock, Retention, RetentionMode};
    let body = Manifest::inline(b"hello".to_vec(), 4096);
    let object = EncodedObject::new(&object_record("e"), body.clone());
    let mut stamp = VersionStamp::new(7, false);
    stamp.lock = ObjectLock {
        retention: Some(Retention {
            mode: RetentionMode::Compliance,
            until: 1_800_000_000_123,
        }),
        legal_hold: true,
    };
    let value = object.stamped(stamp);
    let expect = StoredVersion::Object(stamp, object_record("e"), Some(body.clone()));
    assert_eq!(decode_version("v", &value).unwrap(), expect);
    // The record can still be replaced in place (tags) without touching the lock.
    let mut tagged = object_record("e");
    tagged.tags = vec![("t".into(), "v".into())];
    let retagged = replace_entry_record("b", "k", &value, &tagged).unwrap();
    assert_eq!(
        decode_version("v", &retagged).unwrap(),
        StoredVersion::Object(stamp, tagged, Some(body.clone()))
    );
    // Releasing everything goes back to the short stamp.
    let unlocked = VersionStamp::new(7, false);
    let released = restamp(&value, unlocked);
    assert_eq!(released, object.stamped(unlocked));
    assert_eq!(
        decode_version("v", &released).unwrap(),
        StoredVersion::Object(unlocked, object_record("e"), Some(body))
    );
    // A damaged lock is reported, not guessed.
    let mut bad = value.clone();
    bad[10] = 9;
    assert!(matches!(
        decode_version("v", &bad),
        Err(IndexError::Corrupt(_))
    ));
    assert!(matches!(
        decode_version("v", &value[..15]),
        Err(IndexError::Corrupt(_))
    ));
}
