//! Unit tests of multipart uploads: parts, listing markers, abort, completion, expiry, reopen.

use floe_codec::Manifest;

use crate::index::testkit::*;

fn ids(listed: Vec<(String, UploadRecord)>) -> Vec<String> {
    listed.into_iter().map(|(id, _)| id).collect()
}

#[test]
fn create_needs_bucket_and_reads_back() {
    let (_dir, index) = index_with_bucket();
    assert!(matches!(
        index.create_upload("u", &upload_record("nope", "k", 1)),
        Err(IndexError::NoSuchBucket)
    ));
    assert_eq!(index.upload("u").unwrap(), None);
    index
        .create_upload("u", &upload_record("b", "k", 1))
        .unwrap();
    assert_eq!(index.upload("u").unwrap(), Some(upload_record("b", "k", 1)));
}

#[test]
fn put_part_replaces_and_moves_refcounts() {
    let (_dir, index) = index_with_bucket();
    assert!(matches!(
        index.put_part("u", 1, &part_record("p", manifest(&[1]))),
        Err(IndexError::NoSuchUpload)
    ));
    index
        .create_upload("u", &upload_record("b", "k", 1))
        .unwrap();
    index
        .put_part("u", 1, &part_record("p1", manifest(&[1, 2])))
        .unwrap();
    assert_eq!((refs(&index, 1), refs(&index, 2)), (1, 1));
    index
        .put_part("u", 1, &part_record("p1b", manifest(&[2, 3])))
        .unwrap();
    assert_eq!(
        (refs(&index, 1), refs(&index, 2), refs(&index, 3)),
        (0, 1, 1)
    );
    assert_eq!(garbage_ids(&index), [chunk(1, 32).id]);
    assert_eq!(
        index.part("u", 1).unwrap(),
        Some(part_record("p1b", manifest(&[2, 3])))
    );
    assert_eq!(index.part("u", 2).unwrap(), None);
}

#[test]
fn list_parts_pages_in_number_order() {
    let (_dir, index) = index_with_bucket();
    index
        .create_upload("u", &upload_record("b", "k", 1))
        .unwrap();
    index
        .create_upload("v", &upload_record("b", "k", 1))
        .unwrap();
    for n in [5u32, 1, 10_000, 3, 2] {
        let part = part_record(&n.to_string(), manifest(&[n as u8]));
        index.put_part("u", n, &part).unwrap();
    }
    // Another upload's parts never show up.
    index
        .put_part("v", 4, &part_record("v4", manifest(&[9])))
        .unwrap();
    let numbers = |after, limit| -> Vec<u32> {
        let parts = index.list_parts("u", after, limit).unwrap();
        parts.into_iter().map(|(n, _)| n).collect()
    };
    assert_eq!(numbers(0, 100), [1, 2, 3, 5, 10_000]);
    assert_eq!(numbers(0, 2), [1, 2]);
    assert_eq!(numbers(2, 2), [3, 5]);
    assert_eq!(numbers(5, 2), [10_000]);
    assert_eq!(numbers(10_000, 2), Vec::<u32>::new());
    assert_eq!(numbers(u32::MAX, 2), Vec::<u32>::new());
    assert_eq!(index.list_parts("u", 0, 1).unwrap()[0].1.etag, "1");
    assert!(index.list_parts("missing", 0, 10).unwrap().is_empty());
}

#[test]
fn list_uploads_orders_by_key_then_id_and_honours_markers() {
    let (_dir, index) = index_with_bucket();
    index.create_bucket("c", &bucket_record()).unwrap();
    index
        .create_upload("zz", &upload_record("c", "a/1", 1))
        .unwrap();
    for (id, key) in [
        ("u3", "a/2"),
        ("u1", "a/1"),
        ("u2", "a/1"),
        ("u4", "b"),
        ("u0", "a/1"),
        ("u5", "é"),
    ] {
        index
            .create_upload(id, &upload_record("b", key, 1))
            .unwrap();
    }
    let list = |prefix, key_marker, id_marker, limit| {
        ids(index
            .list_uploads("b", prefix, key_marker, id_marker, limit)
            .unwrap())
    };
    assert_eq!(
        list("", None, None, 100),
        ["u0", "u1", "u2", "u3", "u4", "u5"]
    );
    assert_eq!(list("a/", None, None, 100), ["u0", "u1", "u2", "u3"]);
    assert_eq!(list("", None, None, 2), ["u0", "u1"]);
    // Key marker alone: every upload of that key is skipped.
    assert_eq!(list("", Some("a/1"), None, 100), ["u3", "u4", "u5"]);
    // Key and upload id marker: resume within the key.
    assert_eq!(
        list("", Some("a/1"), Some("u1"), 100),
        ["u2", "u3", "u4", "u5"]
    );
    assert_eq!(list("a/", Some("a/1"), Some("u2"), 1), ["u3"]);
    // Upload id marker without a key marker is ignored, as in S3.
    assert_eq!(list("b", None, Some("u9"), 100), ["u4"]);
    // Markers before the prefix start the scan at the prefix; after it, nothing is left.
    assert_eq!(list("b", Some("a/2"), Some("u3"), 100), ["u4"]);
    assert_eq!(list("a/", Some("b"), None, 100), Vec::<String>::new());
    assert_eq!(list("", None, None, 0), Vec::<String>::new());

    let (id, record) = index
        .list_uploads("b", "é", None, None, 10)
        .unwrap()
        .remove(0);
    assert_eq!((id.as_str(), record), ("u5", upload_record("b", "é", 1)));
}

#[test]
fn abort_releases_every_part() {
    let (_dir, index) = index_with_bucket();
    assert!(matches!(
        index.abort_upload("u"),
        Err(IndexError::NoSuchUpload)
    ));
    index
        .create_upload("u", &upload_record("b", "k", 1))
        .unwrap();
    index
        .put_part("u", 1, &part_record("1", manifest(&[1])))
        .unwrap();
    index
        .put_part("u", 2, &part_record("2", manifest(&[2])))
        .unwrap();
    // A chunk also used by a stored object survives the abort.
    index
        .put_object("b", "other", &object_record("e"), &manifest(&[2]), always)
        .unwrap();
    index.abort_upload("u").unwrap();
    assert_eq!(index.upload("u").unwrap(), None);
    assert_eq!(index.part("u", 1).unwrap(), None);
    assert!(
        index
            .list_uploads("b", "", None, None, 10)
            .unwrap()
            .is_empty()
    );
    assert!(index.stale_uploads(i64::MAX, 10).unwrap().is_empty());
    assert_eq!((refs(&index, 1), refs(&index, 2)), (0, 1));
    assert_eq!(garbage_ids(&index), [chunk(1, 32).id]);
    assert!(matches!(
        index.put_part("u", 3, &part_record("3", manifest(&[3]))),
        Err(IndexError::NoSuchUpload)
    ));
    assert!(matches!(
        index.abort_upload("u"),
        Err(IndexError::NoSuchUpload)
    ));
}

#[test]
fn complete_keeps_used_chunks_and_collects_the_rest() {
    let (_dir, index) = index_with_bucket();
    index
        .put_object("b", "k", &object_record("old"), &manifest(&[9]), always)
        .unwrap();
    index
        .create_upload("u", &upload_record("b", "k", 1))
        .unwrap();
    for (n, seed) in [(1u32, 1u8), (2, 2), (3, 3)] {
        index
            .put_part("u", n, &part_record(&n.to_string(), manifest(&[seed])))
            .unwrap();
    }
    // Parts 1 and 3 make the object; part 2 is left out.
    let chunks = [1u8, 3].iter().map(|&s| chunk(s, 32)).collect();
    let fin = Manifest::chunked(chunks, 32);
    let never = |_: Option<&ObjectRecord>| false;
    assert!(matches!(
        index.complete_upload("u", &object_record("new-2"), &fin, &never),
        Err(IndexError::PreconditionFailed)
    ));
    // A failed condition leaves the upload intact and completable.
    assert!(index.upload("u").unwrap().is_some());
    assert_eq!(refs(&index, 2), 1);

    let prev = index
        .complete_upload("u", &object_record("new-2"), &fin, &always)
        .unwrap();
    assert_eq!(prev.previous, Some(object_record("old")));
    assert_eq!(
        index.object_with_manifest("b", "k").unwrap(),
        Some((object_record("new-2"), fin.clone()))
    );
    assert_eq!(
        (
            refs(&index, 1),
            refs(&index, 2),
            refs(&index, 3),
            refs(&index, 9)
        ),
        (1, 0, 1, 0)
    );
    let mut garbage = garbage_ids(&index);
    garbage.sort();
    let mut expected = vec![chunk(2, 32).id, chunk(9, 32).id];
    expected.sort();
    assert_eq!(garbage, expected);
    assert_eq!(index.upload("u").unwrap(), None);
    assert!(index.list_parts("u", 0, 10).unwrap().is_empty());
    assert_eq!(index.object_count("b").unwrap(), 1);
    assert!(matches!(
        index.complete_upload("u", &object_record("again"), &fin, &always),
        Err(IndexError::NoSuchUpload)
    ));
    // With the upload gone the bucket can be emptied and deleted.
    index.delete_object("b", "k").unwrap();
    index.delete_bucket("b").unwrap();
}

#[test]
fn stale_uploads_are_those_initiated_before_cutoff() {
    let (_dir, index) = index_with_bucket();
    for (id, initiated) in [("late", 300), ("early", 100), ("mid", 200), ("mid2", 200)] {
        index
            .create_upload(id, &upload_record("b", "k", initiated))
            .unwrap();
    }
    assert_eq!(index.stale_uploads(100, 10).unwrap(), Vec::<String>::new());
    assert_eq!(
        index.stale_uploads(201, 10).unwrap(),
        ["early", "mid", "mid2"]
    );
    assert_eq!(index.stale_uploads(201, 2).unwrap(), ["early", "mid"]);
    index.abort_upload("mid").unwrap();
    assert_eq!(
        index.stale_uploads(i64::MAX, 10).unwrap(),
        ["early", "mid2", "late"]
    );
}

#[test]
fn corrupt_part_is_reported() {
    let (_dir, index) = index_with_bucket();
    index
        .create_upload("u", &upload_record("b", "k", 1))
        .unwrap();
    index
        .write(|t| {
            t.parts.insert(("u", 1), [7u8, 7, 7].as_slice())?;
            Ok(())
        })
        .unwrap();
    assert!(matches!(index.part("u", 1), Err(IndexError::Corrupt(_))));
    assert!(matches!(
        index.list_parts("u", 0, 10),
        Err(IndexError::Corrupt(_))
    ));
    assert!(matches!(
        index.abort_upload("u"),
        Err(IndexError::Corrupt(_))
    ));
    assert!(index.upload("u").unwrap().is_some());
}

/// Everything written before the file is closed is there after reopening it.
#[test]
fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.redb");
    {
        let index = Index::open(&path).unwrap();
        index.create_bucket("b", &bucket_record()).unwrap();
        index
            .put_object("b", "k", &object_record("e"), &manifest(&[1, 2]), always)
            .unwrap();
        index
            .put_object("b", "gone", &object_record("e"), &manifest(&[3]), always)
            .unwrap();
        index.delete_object("b", "gone").unwrap();
        index
            .create_upload("u", &upload_record("b", "m", 5))
            .unwrap();
        index
            .put_part("u", 1, &part_record("p", manifest(&[4])))
            .unwrap();
    }
    let index = Index::open(&path).unwrap();
    assert_eq!(index.bucket("b").unwrap(), Some(bucket_record()));
    assert_eq!(
        index.object_with_manifest("b", "k").unwrap(),
        Some((object_record("e"), manifest(&[1, 2])))
    );
    assert_eq!(index.object("b", "gone").unwrap(), None);
    assert_eq!(index.object_count("b").unwrap(), 1);
    assert_eq!(index.upload("u").unwrap(), Some(upload_record("b", "m", 5)));
    assert_eq!(
        index.part("u", 1).unwrap(),
        Some(part_record("p", manifest(&[4])))
    );
    assert_eq!(
        ids(index.list_uploads("b", "", None, None, 10).unwrap()),
        ["u"]
    );
    assert_eq!(index.stale_uploads(6, 10).unwrap(), ["u"]);
    assert_eq!(
        (
            refs(&index, 1),
            refs(&index, 2),
            refs(&index, 3),
            refs(&index, 4)
        ),
        (1, 1, 0, 1)
    );
    assert_eq!(garbage_ids(&index), [chunk(3, 32).id]);
}
