//! Lifecycle expiration in the index (`lifecycle_due`): what the rules remove, when, and what
//! they must never remove. Writes run on the real clock; the engine's "now" is chosen past
//! it, with 1-second days.

use super::store::now_millis;
use super::testkit::*;

const DAY: i64 = 1_000;

fn rule(id: &str, prefix: &str) -> LifecycleRule {
    LifecycleRule {
        id: id.into(),
        enabled: true,
        filter: LifecycleFilter {
            prefix: prefix.into(),
            ..LifecycleFilter::default()
        },
        ..LifecycleRule::default()
    }
}

fn expire_all(days: u32, keep_newer: u32) -> Vec<LifecycleRule> {
    vec![
        LifecycleRule {
            expiration: Some(Expiration::Days(days)),
            noncurrent: Some(NoncurrentExpiration { days, keep_newer }),
            ..rule("versions", "")
        },
        LifecycleRule {
            expiration: Some(Expiration::ExpiredMarker),
            ..rule("markers", "")
        },
    ]
}

/// An index with versioned bucket `b` (object lock too, with `locked`), 1-second days, and
/// `rules`.
fn bucket_with_rules(locked: bool, rules: Vec<LifecycleRule>) -> (tempfile::TempDir, Index) {
    let (dir, index) = temp_index();
    index
        .set_lifecycle_day(std::time::Duration::from_millis(DAY as u64))
        .unwrap();
    let settings = BucketSettings {
        versioning: Versioning::Enabled,
        lock: locked.then_some(BucketLock {
            default_retention: None,
        }),
        access: None,
        config: None,
    };
    index
        .create_bucket_with("b", &bucket_record(), &settings)
        .unwrap();
    index
        .update_bucket_config("b", |c| c.lifecycle = Some(rules.clone()))
        .unwrap();
    (dir, index)
}

fn put(index: &Index, key: &str, seed: u8, lock: Option<ObjectLock>) -> Written {
    let mut record = object_record(key);
    record.modified = now_millis();
    futures::executor::block_on(index.put_object_async(
        "b".into(),
        key.into(),
        (record, manifest(&[seed]), lock),
        always,
        None,
    ))
    .unwrap()
}

/// Runs the engine's expiration at `now` as `maintenance::lifecycle` does: walks, then every
/// due key, in pages of `page`.
fn run(index: &Index, now: UnixMillis, page: usize) -> LifecycleWork {
    run_within(index, now, page, u64::MAX)
}

/// [`run`], each page removing at most `removals` versions.
fn run_within(index: &Index, now: UnixMillis, page: usize, removals: u64) -> LifecycleWork {
    let mut work = LifecycleWork::default();
    for bucket in index.lifecycle_backfills().unwrap() {
        loop {
            let (done_work, done) = index.lifecycle_backfill(&bucket, now, page).unwrap();
            work += done_work;
            if done {
                break;
            }
        }
    }
    let mut after = None;
    loop {
        let due = index.lifecycle_due(after.as_ref(), now, page).unwrap();
        if due.is_empty() {
            break;
        }
        let (done, taken) = index.lifecycle_apply_within(&due, now, removals).unwrap();
        work += done;
        after = Some(due[taken - 1].clone());
    }
    work
}

/// (is a marker, is latest) of each version of `key`, newest first.
fn chain(index: &Index, key: &str) -> Vec<(bool, bool)> {
    index
        .list_versions("b", key, &VersionCursor::Start, 1000)
        .unwrap()
        .into_iter()
        .filter(|v| v.key == key)
        .map(|v| (matches!(v.version, Version::Marker(..)), v.is_latest))
        .collect()
}

#[test]
fn current_noncurrent_and_lone_markers_expire_in_order_and_release_their_chunks() {
    let (_dir, index) = bucket_with_rules(false, expire_all(1, 0));
    // Seeds apart, so that no two versions share a chunk.
    put(&index, "a", 10, None);
    put(&index, "a", 20, None);
    put(&index, "b", 30, None);
    index.delete_object("b", "b").unwrap();
    let t0 = now_millis();

    // Nothing is a day old yet.
    assert_eq!(run(&index, t0 + 10, 100).expired, 0);
    assert_eq!(chain(&index, "a").len(), 2);

    let work = run(&index, t0 + 2 * DAY, 100);
    // a: its current version expired (a marker on top), its old version went; b: its
    // noncurrent version went, then its marker, alone.
    assert_eq!(work.expired, 1, "{work:?}");
    assert_eq!(work.noncurrent_removed, 2, "{work:?}");
    assert_eq!(work.markers_removed, 1, "{work:?}");
    assert_eq!(chain(&index, "a"), vec![(true, true), (false, false)]);
    assert!(chain(&index, "b").is_empty());
    assert_eq!(refs(&index, 10), 0);
    assert_eq!(refs(&index, 30), 0);
    assert_eq!(refs(&index, 20), 1, "noncurrent for less than a day");

    // A day after the marker was put, the version under it goes, and then the marker.
    let work = run(&index, t0 + 4 * DAY, 100);
    assert_eq!((work.noncurrent_removed, work.markers_removed), (1, 1));
    assert!(chain(&index, "a").is_empty());
    assert_eq!(refs(&index, 20), 0);
    assert!(
        index
            .lifecycle_due(None, i64::MAX - 1, 10)
            .unwrap()
            .is_empty(),
        "nothing left to look at"
    );
}

#[test]
fn newer_noncurrent_versions_are_kept_whatever_their_age() {
    let (_dir, index) = bucket_with_rules(false, expire_all(100, 0));
    index
        .update_bucket_config("b", |c| {
            c.lifecycle = Some(vec![LifecycleRule {
                noncurrent: Some(NoncurrentExpiration {
                    days: 1,
                    keep_newer: 2,
                }),
                ..rule("keep-two", "")
            }])
        })
        .unwrap();
    for seed in [10, 20, 30, 40] {
        put(&index, "k", seed, None);
    }
    let t0 = now_millis();
    let work = run(&index, t0 + 3 * DAY, 100);
    assert_eq!(work.noncurrent_removed, 1, "{work:?}");
    assert_eq!(chain(&index, "k").len(), 3, "current and two noncurrent");
    assert_eq!(refs(&index, 10), 0);

    // One more version: the oldest kept one is now third and goes once a day old.
    put(&index, "k", 50, None);
    let t1 = now_millis();
    let work = run(&index, t1 + 3 * DAY, 100);
    assert_eq!(work.noncurrent_removed, 1, "{work:?}");
    assert_eq!(refs(&index, 20), 0);
    assert_eq!(refs(&index, 30), 1);
}

#[test]
fn locked_versions_stay_until_their_lock_ends_and_are_then_removed() {
    let (_dir, index) = bucket_with_rules(true, expire_all(1, 0));
    let t0 = now_millis();
    let until = t0 + 5 * DAY;
    let compliance = ObjectLock {
        retention: Some(Retention {
            mode: RetentionMode::Compliance,
            until,
        }),
        legal_hold: false,
    };
    let hold = ObjectLock {
        retention: None,
        legal_hold: true,
    };
    put(&index, "c", 10, Some(compliance));
    put(&index, "c", 20, None);
    put(&index, "h", 30, Some(hold));
    put(&index, "h", 40, None);

    let work = run(&index, t0 + 3 * DAY, 100);
    // The walk the rules queued looks at each key once.
    assert_eq!((work.examined, work.held), (2, 2), "{work:?}");
    assert_eq!(work.noncurrent_removed, 0, "{work:?}");
    assert_eq!(refs(&index, 10), 1);
    assert_eq!(refs(&index, 30), 1);
    // Just before its retention ends, the retained version is still kept, and its key is
    // looked at again exactly when the retention ends.
    let work = run(&index, until - 1, 100);
    assert!(work.held >= 2, "{work:?}");
    assert_eq!(refs(&index, 10), 1);
    let due: Vec<_> = index.lifecycle_due(None, i64::MAX - 1, 100).unwrap();
    assert!(due.contains(&(until, "b".into(), "c".into())), "{due:?}");

    // Past the retention: it goes. The legal hold still keeps its version, a day at a time.
    let work = run(&index, until + 1, 100);
    assert!(work.noncurrent_removed >= 1, "{work:?}");
    assert_eq!(refs(&index, 10), 0);
    assert_eq!(refs(&index, 30), 1, "legal hold");
    index
        .set_lock(
            "b",
            "h",
            chain_ids(&index, "h").last().copied(),
            LockChange::LegalHold(false),
            until + 1,
        )
        .unwrap();
    run(&index, until + 3 * DAY, 100);
    assert_eq!(refs(&index, 30), 0, "released: removed at its next look");
}

/// The version ids of `key`, newest first.
fn chain_ids(index: &Index, key: &str) -> Vec<VersionId> {
    index
        .list_versions("b", key, &VersionCursor::Start, 1000)
        .unwrap()
        .into_iter()
        .filter(|v| v.key == key)
        .map(|v| v.version.stamp().id())
        .collect()
}

#[test]
fn new_rules_reach_existing_keys_through_a_walk_in_pages() {
    let (_dir, index) = temp_index();
    index
        .set_lifecycle_day(std::time::Duration::from_millis(DAY as u64))
        .unwrap();
    index.create_bucket("b", &bucket_record()).unwrap();
    let mut tagged = object_record("t");
    tagged.tags = vec![("class".into(), "scratch".into())];
    for (i, key) in ["tmp/1", "tmp/2", "tmp/3", "tmp/4", "keep/1"]
        .iter()
        .enumerate()
    {
        let mut record = tagged.clone();
        record.modified = now_millis();
        if i == 3 {
            record.tags.clear();
        }
        index
            .put_object("b", key, &record, &manifest(&[10 * (i as u8 + 1)]), always)
            .unwrap();
    }
    assert!(
        index
            .lifecycle_due(None, i64::MAX - 1, 10)
            .unwrap()
            .is_empty()
    );
    let mut by_tag = rule("scratch", "tmp/");
    by_tag.filter.tags = vec![("class".into(), "scratch".into())];
    by_tag.expiration = Some(Expiration::Days(1));
    index
        .update_bucket_config("b", |c| c.lifecycle = Some(vec![by_tag.clone()]))
        .unwrap();
    assert_eq!(index.lifecycle_backfills().unwrap(), vec!["b".to_string()]);

    let work = run(&index, now_millis() + 3 * DAY, 2);
    // Unversioned: expiring removes. tmp/4 lacks the tag; keep/1 the prefix. Each key is
    // looked at once, over pages of two.
    assert_eq!((work.expired, work.examined), (3, 5), "{work:?}");
    assert!(index.lifecycle_backfills().unwrap().is_empty());
    let left: Vec<String> = index
        .list_objects("b", "", None, 100)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(left, vec!["keep/1".to_string(), "tmp/4".to_string()]);
}

#[test]
fn writes_report_the_expiry_their_rule_sets() {
    let (_dir, index) = bucket_with_rules(false, expire_all(3, 0));
    let written = put(&index, "x", 10, None);
    let (at, rule) = written.expiration.expect("a rule expires it");
    assert_eq!(rule, "versions");
    let found = index
        .object_version("b", "x", None, false)
        .unwrap()
        .unwrap();
    assert_eq!(found.expiration, Some((at, rule)));
    assert!(at >= now_millis() + 2 * DAY && at % DAY == 0, "{at}");
    index
        .update_bucket_config("b", |c| c.lifecycle = None)
        .unwrap();
    let found = index
        .object_version("b", "x", None, false)
        .unwrap()
        .unwrap();
    assert_eq!(found.expiration, None);
}

#[test]
fn a_days_rule_removes_a_lone_marker_once_it_is_as_old_as_its_days() {
    let rules = vec![LifecycleRule {
        expiration: Some(Expiration::Days(2)),
        ..rule("days", "")
    }];
    let (_dir, index) = bucket_with_rules(false, rules);
    // A DELETE of a key that never existed leaves a marker alone.
    index.delete_object("b", "gone").unwrap();
    let t0 = now_millis();
    let work = run(&index, t0 + DAY / 2, 100);
    assert_eq!(work.markers_removed, 0, "{work:?}");
    assert_eq!(chain(&index, "gone"), vec![(true, true)]);
    let work = run(&index, t0 + 3 * DAY + 1, 100);
    assert_eq!(work.markers_removed, 1, "{work:?}");
    assert!(chain(&index, "gone").is_empty());
}

#[test]
fn a_tag_put_after_the_write_brings_the_key_under_a_tag_rule() {
    let mut by_tag = LifecycleRule {
        expiration: Some(Expiration::Days(1)),
        ..rule("scratch", "")
    };
    by_tag.filter.tags = vec![("class".into(), "scratch".into())];
    let (_dir, index) = bucket_with_rules(false, vec![by_tag]);
    put(&index, "x", 10, None);
    let t0 = now_millis();
    assert_eq!(run(&index, t0 + 3 * DAY, 100).expired, 0, "untagged");
    index
        .set_tags("b", "x", None, vec![("class".into(), "scratch".into())])
        .unwrap();
    let work = run(&index, t0 + 3 * DAY, 100);
    assert_eq!(work.expired, 1, "{work:?}");
}

#[test]
fn a_key_with_more_due_versions_than_a_page_may_remove_is_finished_over_pages() {
    let (_dir, index) = bucket_with_rules(false, expire_all(1, 0));
    for seed in 0..12u8 {
        put(&index, "many", seed.wrapping_mul(10).wrapping_add(5), None);
    }
    let t0 = now_millis();
    // Pages of at most 3 removals: the 11 noncurrent versions and the current one's expiry
    // take several pages of the same run, and the key is done by its end.
    let work = run_within(&index, t0 + 2 * DAY, 100, 3);
    assert_eq!(work.expired, 1, "{work:?}");
    assert_eq!(work.noncurrent_removed, 11, "{work:?}");
    assert_eq!(
        chain(&index, "many").len(),
        2,
        "the marker and the expired version"
    );
}

#[test]
fn a_walk_finds_keys_of_objects_and_of_markers_alone_interleaved_over_pages() {
    let (_dir, index) = bucket_with_rules(false, Vec::new());
    index
        .update_bucket_config("b", |c| c.lifecycle = None)
        .unwrap();
    for (key, seed) in [("a", 10), ("c", 20), ("e", 30)] {
        put(&index, key, seed, None);
    }
    for key in ["b", "d", "f"] {
        index.delete_object("b", key).unwrap();
    }
    let markers = LifecycleRule {
        expiration: Some(Expiration::ExpiredMarker),
        ..rule("markers", "")
    };
    index
        .update_bucket_config("b", |c| c.lifecycle = Some(vec![markers.clone()]))
        .unwrap();
    let work = run(&index, now_millis(), 2);
    assert_eq!((work.examined, work.markers_removed), (6, 3), "{work:?}");
    for key in ["b", "d", "f"] {
        assert!(chain(&index, key).is_empty(), "{key}");
    }
    for key in ["a", "c", "e"] {
        assert_eq!(chain(&index, key), vec![(false, true)], "{key}");
    }
}
