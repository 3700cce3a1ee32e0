//! Unit tests of object storage: refcounts, dedup, conditions, listing order, corruption.

use floe_codec::Manifest;

use crate::index::HeldUntilSettled;
use crate::index::testkit::*;

#[test]
fn put_get_overwrite_delete() {
    let (_dir, index) = index_with_bucket();
    assert_eq!(index.object("b", "k").unwrap(), None);
    assert_eq!(index.object_with_manifest("b", "k").unwrap(), None);

    let first = manifest(&[1, 2]);
    let prev = index
        .put_object("b", "k", &object_record("v1"), &first, always)
        .unwrap();
    assert_eq!(prev.previous, None);
    assert_eq!(
        prev.reported_version(),
        None,
        "unversioned buckets report no version"
    );
    assert_eq!(index.object("b", "k").unwrap(), Some(object_record("v1")));
    assert_eq!(
        index.object_with_manifest("b", "k").unwrap(),
        Some((object_record("v1"), first))
    );
    assert_eq!((refs(&index, 1), refs(&index, 2)), (1, 1));

    // Overwrite keeps chunk 2, drops chunk 1, adds chunk 3.
    let prev = index
        .put_object("b", "k", &object_record("v2"), &manifest(&[2, 3]), always)
        .unwrap();
    assert_eq!(prev.previous, Some(object_record("v1")));
    assert_eq!(
        (refs(&index, 1), refs(&index, 2), refs(&index, 3)),
        (0, 1, 1)
    );
    assert_eq!(garbage_ids(&index), [chunk(1, 32).id]);
    assert_eq!(index.object_count("b").unwrap(), 1);

    let prev = index.delete_object("b", "k").unwrap();
    assert_eq!(prev.record, Some(object_record("v2")));
    assert_eq!(index.object("b", "k").unwrap(), None);
    assert_eq!(index.delete_object("b", "k").unwrap(), Removed::default());
    assert_eq!((refs(&index, 2), refs(&index, 3)), (0, 0));
    assert_eq!(garbage_ids(&index).len(), 3);
    assert_eq!(index.object_count("b").unwrap(), 0);
}

#[test]
fn overwrite_with_same_content_never_touches_garbage() {
    let (_dir, index) = index_with_bucket();
    for etag in ["a", "b"] {
        index
            .put_object("b", "k", &object_record(etag), &manifest(&[1]), always)
            .unwrap();
    }
    assert_eq!(refs(&index, 1), 1);
    assert!(garbage_ids(&index).is_empty());
    assert_eq!(index.object_count("b").unwrap(), 1);
}

#[test]
fn dedup_shares_chunks_and_revives_garbage() {
    let (_dir, index) = index_with_bucket();
    let same = manifest(&[7, 8]);
    for key in ["one", "two"] {
        index
            .put_object("b", key, &object_record("e"), &same, always)
            .unwrap();
    }
    assert_eq!((refs(&index, 7), refs(&index, 8)), (2, 2));

    index.delete_object("b", "one").unwrap();
    assert_eq!((refs(&index, 7), refs(&index, 8)), (1, 1));
    assert!(garbage_ids(&index).is_empty());

    index.delete_object("b", "two").unwrap();
    let mut garbage = garbage_ids(&index);
    garbage.sort();
    let mut expected = vec![chunk(7, 32).id, chunk(8, 32).id];
    expected.sort();
    assert_eq!(garbage, expected);

    // The same bytes uploaded again: the queued chunks are live again, not collectable.
    index
        .put_object("b", "three", &object_record("e"), &manifest(&[7]), always)
        .unwrap();
    assert_eq!(refs(&index, 7), 1);
    assert_eq!(garbage_ids(&index), [chunk(8, 32).id]);
}

#[test]
fn inline_manifests_hold_no_chunks() {
    let (_dir, index) = index_with_bucket();
    let inline = Manifest::inline(b"tiny".to_vec(), 4096);
    index
        .put_object("b", "t", &object_record("e"), &inline, always)
        .unwrap();
    assert_eq!(
        index.object_with_manifest("b", "t").unwrap().unwrap().1,
        inline
    );
    assert!(index.referenced_chunks(None, 10).unwrap().is_empty());
    index.delete_object("b", "t").unwrap();
    assert!(garbage_ids(&index).is_empty());
}

#[test]
fn failed_precondition_writes_nothing() {
    let (_dir, index) = index_with_bucket();
    let if_none_match = |current: Option<&ObjectRecord>| current.is_none();
    index
        .put_object(
            "b",
            "k",
            &object_record("v1"),
            &manifest(&[1]),
            if_none_match,
        )
        .unwrap();
    let err = index
        .put_object(
            "b",
            "k",
            &object_record("v2"),
            &manifest(&[2]),
            if_none_match,
        )
        .unwrap_err();
    assert!(matches!(err, IndexError::PreconditionFailed));
    assert_eq!(index.object("b", "k").unwrap(), Some(object_record("v1")));
    assert_eq!((refs(&index, 1), refs(&index, 2)), (1, 0));
    assert!(garbage_ids(&index).is_empty());

    // The precondition sees the current record (If-Match on the ETag).
    let if_match = |current: Option<&ObjectRecord>| current.is_some_and(|r| r.etag == "v1");
    index
        .put_object("b", "k", &object_record("v2"), &manifest(&[2]), if_match)
        .unwrap();
    assert_eq!(index.object("b", "k").unwrap(), Some(object_record("v2")));
}

#[test]
fn missing_bucket_and_key() {
    let (_dir, index) = index_with_bucket();
    let m = manifest(&[1]);
    assert!(matches!(
        index.object("x", "k"),
        Err(IndexError::NoSuchBucket)
    ));
    assert!(matches!(
        index.object_with_manifest("x", "k"),
        Err(IndexError::NoSuchBucket)
    ));
    assert!(matches!(
        index.put_object("x", "k", &object_record("e"), &m, always),
        Err(IndexError::NoSuchBucket)
    ));
    assert!(matches!(
        index.delete_object("x", "k"),
        Err(IndexError::NoSuchBucket)
    ));
    assert!(matches!(
        index.list_objects("x", "", None, 10),
        Err(IndexError::NoSuchBucket)
    ));
    assert!(matches!(
        index.object_count("x"),
        Err(IndexError::NoSuchBucket)
    ));
    assert!(matches!(
        index.set_tags("b", "k", None, Vec::new()),
        Err(IndexError::NoSuchKey)
    ));
    assert_eq!(refs(&index, 1), 0);
}

#[test]
fn set_tags_replaces_only_tags() {
    let (_dir, index) = index_with_bucket();
    index
        .put_object("b", "k", &object_record("e"), &manifest(&[1]), always)
        .unwrap();
    let tags = vec![("env".to_owned(), "prod".to_owned())];
    index.set_tags("b", "k", None, tags.clone()).unwrap();
    let mut expected = object_record("e");
    expected.tags = tags;
    assert_eq!(index.object("b", "k").unwrap(), Some(expected));
    assert_eq!(refs(&index, 1), 1);
}

fn keys(index: &Index, prefix: &str, after: Option<&str>, limit: usize) -> Vec<String> {
    let listed = index.list_objects("b", prefix, after, limit).unwrap();
    listed.into_iter().map(|(k, _)| k).collect()
}

#[test]
fn list_objects_in_byte_order_with_prefix_after_and_limit() {
    let (_dir, index) = index_with_bucket();
    // Neighbouring buckets must never leak into the listing.
    for bucket in ["a", "c"] {
        index.create_bucket(bucket, &bucket_record()).unwrap();
        index
            .put_object(bucket, "a", &object_record("e"), &manifest(&[1]), always)
            .unwrap();
    }
    let all = ["\u{1F600}", "a", "a/b", "a/b/c", "b", "é", "ab", "a/"];
    for key in all {
        index
            .put_object("b", key, &object_record(key), &manifest(&[2]), always)
            .unwrap();
    }
    // Byte order: 'é' (0xC3..) sorts after 'b' but before the emoji (0xF0..), unlike
    // char-wise collation; "a/" (0x2F) before "ab" (0x62).
    let sorted = ["a", "a/", "a/b", "a/b/c", "ab", "b", "é", "\u{1F600}"];
    assert_eq!(keys(&index, "", None, 100), sorted);
    assert_eq!(index.object_count("b").unwrap(), 8);

    assert_eq!(keys(&index, "a/", None, 100), ["a/", "a/b", "a/b/c"]);
    assert_eq!(keys(&index, "a/", Some("a/"), 100), ["a/b", "a/b/c"]);
    // `after` before the prefix: the scan starts at the prefix.
    assert_eq!(keys(&index, "a/", Some("0"), 100), ["a/", "a/b", "a/b/c"]);
    // `after` beyond the prefix range: nothing.
    assert_eq!(keys(&index, "a/", Some("a0"), 100), Vec::<String>::new());
    assert_eq!(keys(&index, "é", None, 100), ["é"]);
    assert_eq!(keys(&index, "zzz", None, 100), Vec::<String>::new());
    assert_eq!(keys(&index, "", Some("é"), 100), ["\u{1F600}"]);
    assert_eq!(keys(&index, "", None, 0), Vec::<String>::new());

    // Paging with limit and after visits every key exactly once.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = keys(&index, "", after.as_deref(), 3);
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        paged.extend(page);
    }
    assert_eq!(paged, sorted);

    let listed = index.list_objects("b", "a/b/", None, 10).unwrap();
    assert_eq!(listed, [("a/b/c".to_owned(), object_record("a/b/c"))]);
}

#[test]
fn undecodable_entries_are_corrupt_not_panics() {
    let (_dir, index) = index_with_bucket();
    index
        .put_object("b", "k", &object_record("e"), &manifest(&[1]), always)
        .unwrap();
    index
        .put_object("b", "big", &object_record("e"), &large_manifest(20), always)
        .unwrap();
    index
        .write(|t| {
            t.objects
                .insert(("b", "bad"), [1u8, 0xff, 0xff, 0xff].as_slice())?;
            t.manifests.insert(("b", "big"), b"garbage".as_slice())?;
            t.manifests.insert(("b", "bad"), [0u8].as_slice())?;
            // The manifest of "k" sits after its record (see `object_entry`).
            let mut damaged = encode_record(&object_record("e"));
            damaged.extend_from_slice(b"garbage");
            t.objects.insert(("b", "k"), damaged.as_slice())?;
            Ok(())
        })
        .unwrap();
    assert!(matches!(
        index.object("b", "bad"),
        Err(IndexError::Corrupt(_))
    ));
    assert!(matches!(
        index.list_objects("b", "", None, 10),
        Err(IndexError::Corrupt(_))
    ));
    assert!(matches!(
        index.object_with_manifest("b", "k"),
        Err(IndexError::Corrupt(_))
    ));
    assert!(matches!(
        index.object_with_manifest("b", "big"),
        Err(IndexError::Corrupt(_))
    ));
    // A write that would have to read the corrupt manifest refuses rather than guess at
    // refcounts, and leaves everything as it was.
    assert!(matches!(
        index.delete_object("b", "k"),
        Err(IndexError::Corrupt(_))
    ));
    assert_eq!(refs(&index, 1), 1);
    assert_eq!(index.object("b", "k").unwrap(), Some(object_record("e")));
}

#[test]
fn an_async_put_holds_its_guard_until_it_has_settled() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let (_dir, index) = file_index_with_bucket();
    let released = Arc::new(AtomicBool::new(false));
    // The writer cannot begin while the test holds redb's write lock.
    let lock = hold_writes(&index);
    let put = index.put_object_async(
        "b".into(),
        "k".into(),
        (object_record("e"), manifest(&[1]), None),
        always,
        Some(HeldUntilSettled::new(Flag(released.clone()))),
    );
    // The caller goes away (a dropped request): the guard stays with the queued write.
    drop(put);
    assert!(
        !released.load(Ordering::SeqCst),
        "released before the commit"
    );
    lock.abort().unwrap();
    // Queued behind the PUT: once it is done, the PUT has settled.
    index.delete_object("b", "other").unwrap();
    assert!(released.load(Ordering::SeqCst));
    assert!(index.object("b", "k").unwrap().is_some());
}
