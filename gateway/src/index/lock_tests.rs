//! Object lock in the index: what a lock refuses, through every call that removes or
//! changes a version, and that locks survive a rebuild from the journal's node copies. The
//! rules' arithmetic (and its time travel) is tested in `lock`; here the clock is the real
//! one, with dates far from "now".

use super::store::now_millis;
use super::testkit::*;

const HOUR: i64 = 3_600_000;

fn lock_bucket(index: &Index, default_retention: Option<DefaultRetention>) {
    let settings = BucketSettings {
        versioning: Versioning::Enabled,
        lock: Some(BucketLock { default_retention }),
        access: None,
        config: None,
    };
    index
        .create_bucket_with("b", &bucket_record(), &settings)
        .unwrap();
}

fn retained(mode: RetentionMode, until: UnixMillis) -> ObjectLock {
    ObjectLock {
        retention: Some(Retention { mode, until }),
        legal_hold: false,
    }
}

fn put(index: &Index, key: &str, lock: Option<ObjectLock>) -> VersionId {
    futures::executor::block_on(index.put_object_async(
        "b".into(),
        key.into(),
        (object_record(key), manifest(&[1]), lock),
        always,
        None,
    ))
    .unwrap()
    .version
}

fn delete(
    index: &Index,
    key: &str,
    id: Option<VersionId>,
    bypass: bool,
) -> Result<Removed, IndexError> {
    futures::executor::block_on(index.delete_object_async("b".into(), key.into(), id, None, bypass))
}

fn lock_of(index: &Index, key: &str, id: VersionId) -> ObjectLock {
    match index.object_version("b", key, Some(id), false).unwrap() {
        Some(FoundVersion {
            version: Version::Object(stamp, _),
            ..
        }) => stamp.lock,
        other => panic!("no object version {id}: {other:?}"),
    }
}

#[test]
fn compliance_and_legal_hold_refuse_every_removal_but_not_markers_or_overwrites() {
    let (_dir, index) = temp_index();
    lock_bucket(&index, None);
    let until = now_millis() + HOUR;
    let compliance = put(
        &index,
        "k",
        Some(retained(RetentionMode::Compliance, until)),
    );
    let held = put(
        &index,
        "k",
        Some(ObjectLock {
            retention: None,
            legal_hold: true,
        }),
    );
    for id in [compliance, held] {
        for bypass in [false, true] {
            assert!(
                matches!(
                    delete(&index, "k", Some(id), bypass),
                    Err(IndexError::ObjectLocked(_))
                ),
                "{id} bypass={bypass}"
            );
        }
    }
    // An overwrite is a new version; a delete without a version is a marker; the marker
    // itself is never locked.
    let newer = put(&index, "k", None);
    assert_eq!(lock_of(&index, "k", newer), ObjectLock::NONE);
    let marker = delete(&index, "k", None, false).unwrap();
    assert!(marker.marker);
    delete(&index, "k", marker.version, false).unwrap();
    delete(&index, "k", Some(newer), false).unwrap();
    // Both locked versions are still there, with their locks.
    assert_eq!(
        lock_of(&index, "k", compliance),
        retained(RetentionMode::Compliance, until)
    );
    assert!(lock_of(&index, "k", held).legal_hold);
    // Releasing the hold frees that version, and only it.
    index
        .set_lock(
            "b",
            "k",
            Some(held),
            LockChange::LegalHold(false),
            now_millis(),
        )
        .unwrap();
    delete(&index, "k", Some(held), false).unwrap();
    assert!(delete(&index, "k", Some(compliance), true).is_err());
    // The bucket can never be emptied of it, so never deleted.
    assert!(matches!(
        index.delete_bucket("b"),
        Err(IndexError::BucketNotEmpty)
    ));
}

#[test]
fn governance_goes_only_with_bypass_and_expired_retention_protects_nothing() {
    let (_dir, index) = temp_index();
    lock_bucket(&index, None);
    let governed = put(
        &index,
        "g",
        Some(retained(RetentionMode::Governance, now_millis() + HOUR)),
    );
    assert!(matches!(
        delete(&index, "g", Some(governed), false),
        Err(IndexError::ObjectLocked(LockRefusal::Governance(_)))
    ));
    delete(&index, "g", Some(governed), true).unwrap();
    // A retention that already ended (written long ago, say) protects nothing.
    let ended = put(
        &index,
        "e",
        Some(retained(RetentionMode::Compliance, now_millis() - 1)),
    );
    delete(&index, "e", Some(ended), false).unwrap();
}

#[test]
fn retention_changes_follow_the_rules_and_need_a_lock_bucket() {
    let (_dir, index) = temp_index();
    lock_bucket(&index, None);
    let now = now_millis();
    let id = put(&index, "k", None);
    let change = |retention, bypass| LockChange::Retention {
        retention,
        bypass_governance: bypass,
    };
    let compliance = Retention {
        mode: RetentionMode::Compliance,
        until: now + HOUR,
    };
    index
        .set_lock("b", "k", Some(id), change(Some(compliance), false), now)
        .unwrap();
    let shorter = Retention {
        until: now + 1000,
        ..compliance
    };
    assert!(matches!(
        index.set_lock("b", "k", Some(id), change(Some(shorter), true), now),
        Err(IndexError::ObjectLocked(_))
    ));
    assert!(matches!(
        index.set_lock("b", "k", None, change(None, true), now),
        Err(IndexError::ObjectLocked(_))
    ));
    let longer = Retention {
        until: now + 2 * HOUR,
        ..compliance
    };
    index
        .set_lock("b", "k", None, change(Some(longer), false), now)
        .unwrap();
    assert_eq!(lock_of(&index, "k", id).retention, Some(longer));

    // A bucket without object lock takes no lock, by header or afterwards.
    index.create_bucket("plain", &bucket_record()).unwrap();
    index
        .put_object("plain", "k", &object_record("e"), &manifest(&[2]), always)
        .unwrap();
    assert!(matches!(
        index.set_lock("plain", "k", None, LockChange::LegalHold(true), now),
        Err(IndexError::LockNotEnabled)
    ));
    let asked = futures::executor::block_on(index.put_object_async(
        "plain".into(),
        "k".into(),
        (object_record("e"), manifest(&[2]), Some(ObjectLock::NONE)),
        always,
        None,
    ));
    assert!(matches!(asked, Err(IndexError::LockNotEnabled)));
    // Lock needs versioning enabled; once on, versioning cannot be suspended.
    assert!(matches!(
        index.set_object_lock("plain", BucketLock::default()),
        Err(IndexError::InvalidBucketState(_))
    ));
    assert!(matches!(
        index.set_versioning("b", Versioning::Suspended),
        Err(IndexError::InvalidBucketState(_))
    ));
    index.set_versioning("plain", Versioning::Enabled).unwrap();
    index
        .set_object_lock("plain", BucketLock::default())
        .unwrap();
    assert!(index.bucket_settings("plain").unwrap().lock.is_some());
}

#[test]
fn default_retention_applies_to_puts_and_completed_uploads() {
    let (_dir, index) = temp_index();
    lock_bucket(
        &index,
        Some(DefaultRetention {
            mode: RetentionMode::Governance,
            period: RetentionPeriod::Days(3),
        }),
    );
    let before = now_millis();
    let id = put(&index, "k", None);
    let until = lock_of(&index, "k", id).retention.unwrap().until;
    let day = 86_400_000;
    assert!(until >= before + 3 * day && until <= now_millis() + 3 * day);

    // An upload's asked-for lock (here: a legal hold) is kept until completion, and the
    // default retention still applies beside it.
    let held = ObjectLock {
        retention: None,
        legal_hold: true,
    };
    index
        .create_upload_locked("u", &upload_record("b", "m", 1), Some(held))
        .unwrap();
    let written = index
        .complete_upload("u", &object_record("m"), &manifest(&[3]), &always)
        .unwrap();
    let lock = lock_of(&index, "m", written.version);
    assert!(lock.legal_hold);
    assert_eq!(lock.retention.unwrap().mode, RetentionMode::Governance);
}

#[test]
fn a_rebuilt_index_keeps_every_lock() {
    let (_dir, index) = temp_index();
    lock_bucket(
        &index,
        Some(DefaultRetention {
            mode: RetentionMode::Compliance,
            period: RetentionPeriod::Years(1),
        }),
    );
    let until = now_millis() + HOUR;
    let explicit = put(
        &index,
        "k",
        Some(retained(RetentionMode::Governance, until)),
    );
    let defaulted = put(&index, "k", None);
    index
        .set_lock(
            "b",
            "k",
            Some(explicit),
            LockChange::LegalHold(true),
            now_millis(),
        )
        .unwrap();

    let entries = index.pending_records(usize::MAX).unwrap();
    let (_dir2, rebuilt) = temp_index();
    rebuilt.restore(&entries).unwrap();
    assert_eq!(
        rebuilt.bucket_settings("b").unwrap(),
        index.bucket_settings("b").unwrap()
    );
    for id in [explicit, defaulted] {
        assert_eq!(lock_of(&rebuilt, "k", id), lock_of(&index, "k", id));
    }
    assert!(lock_of(&rebuilt, "k", explicit).legal_hold);
    for bypass in [false, true] {
        for id in [explicit, defaulted] {
            assert!(delete(&rebuilt, "k", Some(id), bypass).is_err());
        }
    }
}

/// A bucket record lost to damage comes back from a rebuild as a stand-in without settings
/// (unversioned, no lock); the versions keep their locks, and a plain DELETE, which in an
/// unversioned bucket would remove the current object for good, is refused.
#[test]
fn a_stand_in_bucket_still_honours_its_versions_locks() {
    let (_dir, index) = temp_index();
    lock_bucket(&index, None);
    let until = now_millis() + HOUR;
    put(
        &index,
        "k",
        Some(retained(RetentionMode::Compliance, until)),
    );
    let entries: Vec<_> = index
        .pending_records(usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind != RecordKind::Bucket)
        .collect();
    let (_dir2, rebuilt) = temp_index();
    rebuilt.restore(&entries).unwrap();
    assert_eq!(
        rebuilt.bucket_settings("b").unwrap().versioning,
        Versioning::Unversioned
    );
    assert!(matches!(
        rebuilt.delete_object("b", "k"),
        Err(IndexError::ObjectLocked(_))
    ));
    assert!(rebuilt.object("b", "k").unwrap().is_some());
}

/// A chunk the nodes would not let go (held, or a node down) goes to the back of the garbage
/// queue, so it never keeps the others from their turn.
#[test]
fn a_deferred_garbage_chunk_goes_to_the_back_of_the_queue() {
    let (_dir, index) = temp_index();
    index.create_bucket("g", &bucket_record()).unwrap();
    for (key, seed) in [("a", 11), ("b", 12)] {
        index
            .put_object("g", key, &object_record(key), &manifest(&[seed]), always)
            .unwrap();
        index.delete_object("g", key).unwrap();
    }
    let first = index.garbage(10).unwrap();
    assert_eq!(first.len(), 2);
    index
        .defer_garbage(&first[0].id, first[1].since + 1)
        .unwrap();
    let after = index.garbage(10).unwrap();
    assert_eq!(
        after.iter().map(|g| g.id).collect::<Vec<_>>(),
        [first[1].id, first[0].id]
    );
}
