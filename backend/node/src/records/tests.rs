//! The record store against its own files: versions, replay after a restart, torn tails, rot,
//! compaction and the import of the first format.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use super::legacy::{RECORDS_DIR, encode as legacy_file};
use super::*;
use crate::segments::entry::{self, SegmentKey, header_len};

/// Bytes of a segment's header: magic and key.
const SEGMENT_HEADER_LEN: u64 = 40;
const ENTRY_HEADER_LEN: usize = header_len::<RecordId>();

/// A record put entry, as the log writes it.
fn encode_put(
    out: &mut Vec<u8>,
    key: &SegmentKey,
    id: &RecordId,
    version: u64,
    payload: &[u8],
) -> Option<entry::EntryHeader<RecordId>> {
    entry::encode_put(out, key, id, version, &ShardHash::of(payload), payload)
}

fn layout() -> (tempfile::TempDir, Layout) {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    fs::create_dir_all(layout.quarantine_dir()).unwrap();
    (dir, layout)
}

fn put(store: &RecordStore, id: u8, version: u64, body: &[u8]) -> RecordPut {
    store
        .put(&RecordId([id; 32]), version, &ShardHash::of(body), body)
        .unwrap()
}

fn got(store: &RecordStore, id: u8) -> Option<(u64, Vec<u8>)> {
    match store.get(&RecordId([id; 32])) {
        Ok(r) => Some((r.version, r.payload.to_vec())),
        Err(StoreError::NotFound) => None,
        Err(e) => panic!("{e}"),
    }
}

fn segments(layout: &Layout) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(layout.root().join(LOG_DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

/// The key a segment file's header carries (after the 8-byte magic).
fn segment_key(path: &std::path::Path) -> SegmentKey {
    fs::read(path).unwrap()[8..40].try_into().unwrap()
}

/// Appends raw bytes to a segment file, as a crash or a disk might leave them.
fn append(path: &std::path::Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn ids(store: &RecordStore) -> Vec<u8> {
    let page = store.list(None, 1000).unwrap();
    page.records.iter().map(|r| r.id.0[0]).collect()
}

fn record(id: u8, version: u64, body: &[u8]) -> RecordItem {
    RecordItem {
        id: RecordId([id; 32]),
        version,
        payload: Bytes::copy_from_slice(body),
    }
}

#[test]
fn an_idle_batch_commits_on_the_calling_thread_and_a_busy_one_writes_nothing() {
    let (_dir, layout) = layout();
    let store = RecordStore::open(&layout).unwrap();
    put(&store, 1, 5, b"five");
    let outcomes = store
        .put_batch_if_idle(&[record(1, 4, b"four"), record(2, 1, b"new")])
        .expect("idle")
        .unwrap();
    assert_eq!(outcomes, vec![RecordPut::Newer(5), RecordPut::Stored]);
    assert_eq!(got(&store, 1), Some((5, b"five".to_vec())));
    assert_eq!(got(&store, 2), Some((1, b"new".to_vec())));

    // Another commit holds the log.
    let held = store.lock();
    assert!(store.put_batch_if_idle(&[record(3, 1, b"waits")]).is_none());
    drop(held);
    assert_eq!(got(&store, 3), None);
    drop(store);
    let store = RecordStore::open(&layout).unwrap();
    assert_eq!(got(&store, 2), Some((1, b"new".to_vec())), "durable");
}

#[test]
fn a_large_batch_or_a_due_compaction_goes_to_a_blocking_thread() {
    let (_dir, layout) = layout();
    let store = RecordStore::open_with(&layout, 4096).unwrap();
    for id in 0..40u8 {
        put(&store, id, 1, &[id; 200]);
    }
    let big = [record(100, 1, &vec![7; QUICK_MAX_BYTES + 1])];
    assert!(store.put_batch_if_idle(&big).is_none());
    assert_eq!(got(&store, 100), None);

    // Tombstones logged without the compaction a delete runs after its commit.
    let tombstones: Vec<_> = (0..36u8)
        .map(|id| Change::Tombstone {
            id: RecordId([id; 32]),
        })
        .collect();
    store.lock().commit(&tombstones).unwrap();
    assert!(store.lock().compaction_due());
    assert!(store.put_batch_if_idle(&[record(101, 1, b"x")]).is_none());
    assert_eq!(got(&store, 101), None);
    store.put_batch(&[record(101, 1, b"x")]).unwrap();
    assert_eq!(got(&store, 101), Some((1, b"x".to_vec())));
    for id in 36..40u8 {
        assert_eq!(got(&store, id), Some((1, vec![id; 200])), "record {id}");
    }
}

#[test]
fn newest_version_wins_and_lists_in_order() {
    let (_dir, layout) = layout();
    let store = RecordStore::open(&layout).unwrap();
    assert_eq!(put(&store, 9, 5, b"five"), RecordPut::Stored);
    assert_eq!(put(&store, 9, 3, b"three"), RecordPut::Newer(5));
    assert_eq!(put(&store, 9, 5, b"five again"), RecordPut::Stored);
    assert_eq!(put(&store, 1, 1, b"one"), RecordPut::Stored);
    assert_eq!(got(&store, 9), Some((5, b"five again".to_vec())));
    let page = store.list(None, 10).unwrap();
    assert_eq!(ids(&store), [1, 9]);
    assert_eq!(page.records[1].len, 10);
    let first = store.list(None, 1).unwrap();
    assert_eq!(first.next_after, Some(RecordId([1; 32])));
    let second = store.list(Some(&RecordId([1; 32])), 1).unwrap();
    assert_eq!(second.records.len(), 1);
    assert_eq!(second.next_after, None);
    assert!(store.delete(&RecordId([1; 32])).unwrap());
    assert!(!store.delete(&RecordId([1; 32])).unwrap());
    let bad = store.put(&RecordId([2; 32]), 1, &ShardHash::of(b"x"), b"y");
    assert!(matches!(bad, Err(StoreError::HashMismatch { .. })));
}

#[test]
fn a_batch_orders_its_own_duplicates() {
    let (_dir, layout) = layout();
    let store = RecordStore::open(&layout).unwrap();
    let item = |version: u64, body: &'static [u8]| RecordItem {
        id: RecordId([5; 32]),
        version,
        payload: Bytes::from_static(body),
    };
    let outcomes = store
        .put_batch(&[item(4, b"four"), item(2, b"two"), item(4, b"four again")])
        .unwrap();
    assert_eq!(
        outcomes,
        [RecordPut::Stored, RecordPut::Newer(4), RecordPut::Stored]
    );
    assert_eq!(got(&store, 5), Some((4, b"four again".to_vec())));
}

#[test]
fn a_restart_replays_the_log_and_cuts_a_torn_tail() {
    let (_dir, layout) = layout();
    let store = RecordStore::open(&layout).unwrap();
    for n in 0..20u8 {
        put(&store, n, u64::from(n), &[n; 100]);
    }
    assert!(store.delete(&RecordId([3; 32])).unwrap());
    drop(store);
    let segment = segments(&layout).pop().unwrap();
    let intact = fs::metadata(&segment).unwrap().len();
    // A batch the crash cut short: a whole entry header, half its payload.
    let mut torn = Vec::new();
    encode_put(
        &mut torn,
        &segment_key(&segment),
        &RecordId([77; 32]),
        1,
        &[7; 300],
    )
    .unwrap();
    torn.truncate(ENTRY_HEADER_LEN + 150);
    append(&segment, &torn);

    let store = RecordStore::open(&layout).unwrap();
    assert_eq!(fs::metadata(&segment).unwrap().len(), intact);
    assert_eq!(ids(&store).len(), 19);
    assert_eq!(got(&store, 3), None);
    assert_eq!(got(&store, 77), None);
    assert_eq!(got(&store, 12), Some((12, vec![12; 100])));
    put(&store, 77, 2, b"after the tear");
    drop(store);
    let store = RecordStore::open(&layout).unwrap();
    assert_eq!(got(&store, 77), Some((2, b"after the tear".to_vec())));
}

#[test]
fn rot_costs_only_the_entries_it_touches() {
    let (_dir, layout) = layout();
    let store = RecordStore::open(&layout).unwrap();
    for n in 1..=3u8 {
        put(&store, n, 1, &[n; 64]);
    }
    drop(store);
    // A later session appends to a segment of its own: the first one is sealed now.
    put(&RecordStore::open(&layout).unwrap(), 4, 1, b"later");
    let sealed = segments(&layout).remove(0);
    let mut bytes = fs::read(&sealed).unwrap();
    let (head, entry) = (SEGMENT_HEADER_LEN as usize, ENTRY_HEADER_LEN + 64);
    // A bit flip in the second entry's header, and one in the third entry's payload.
    bytes[head + entry + 40] ^= 0x10;
    bytes[head + 2 * entry + ENTRY_HEADER_LEN + 5] ^= 0x01;
    fs::write(&sealed, &bytes).unwrap();

    let store = RecordStore::open(&layout).unwrap();
    assert_eq!(
        ids(&store),
        [1, 3, 4],
        "the rotten header hides record 2 only"
    );
    assert_eq!(got(&store, 1), Some((1, vec![1; 64])));
    assert_eq!(got(&store, 3), None, "a rotten payload is never served");
    assert_eq!(ids(&store), [1, 4]);
    drop(store);
    let store = RecordStore::open(&layout).unwrap();
    assert_eq!(ids(&store), [1, 4], "the drop of record 3 is durable");
    put(&store, 2, 2, b"rewritten by the gateway");
    assert_eq!(ids(&store), [1, 2, 4]);
}

/// Record 5 acknowledged in one segment and record 6 in the next; then what a crash left at the
/// end of that newest segment: a newer put of record 5 with its header on disk and its payload
/// zeroed, followed by an intact entry of the same batch (record 7), so no torn tail is cut
/// off. Returns the newest segment's path.
fn log_with_a_failed_put(layout: &Layout) -> PathBuf {
    let store = RecordStore::open(layout).unwrap();
    put(&store, 5, 1, b"acknowledged");
    drop(store);
    let store = RecordStore::open(layout).unwrap();
    put(&store, 6, 1, b"six");
    drop(store);
    let newest = segments(layout).pop().unwrap();
    let key = segment_key(&newest);
    let mut batch = Vec::new();
    encode_put(&mut batch, &key, &RecordId([5; 32]), 2, b"never written").unwrap();
    let len = batch.len();
    batch[ENTRY_HEADER_LEN..len].fill(0);
    encode_put(&mut batch, &key, &RecordId([7; 32]), 1, b"seven").unwrap();
    append(&newest, &batch);
    newest
}

#[test]
fn a_put_whose_payload_never_reached_the_disk_does_not_shadow_the_older_version() {
    let (_dir, layout) = layout();
    log_with_a_failed_put(&layout);
    for _ in 0..2 {
        let store = RecordStore::open(&layout).unwrap();
        assert_eq!(got(&store, 5), Some((1, b"acknowledged".to_vec())));
        assert_eq!(got(&store, 7), Some((1, b"seven".to_vec())));
        assert_eq!(ids(&store)[..3], [5, 6, 7]);
        // A write makes another segment follow: the doubtful entry must stay out for good.
        put(&store, 8, 1, b"eight");
    }
}

#[test]
fn a_failed_put_stays_out_even_if_the_rewrite_after_it_never_finished() {
    let (dir, layout) = layout();
    let newest = log_with_a_failed_put(&layout);
    // A second name for the file keeps what the open does to it in place, after the open's
    // rewrite removed it from the log.
    let kept = dir.path().join("kept.seg");
    fs::hard_link(&newest, &kept).unwrap();
    drop(RecordStore::open(&layout).unwrap());
    assert!(!newest.exists(), "the doubtful segment was rewritten");

    // Had the rewrite been cut short, the segment would still be there, no longer the newest,
    // and replayed without verification: the failed put must not come back then.
    fs::rename(&kept, &newest).unwrap();
    let store = RecordStore::open(&layout).unwrap();
    assert_eq!(got(&store, 5), Some((1, b"acknowledged".to_vec())));
    assert_eq!(got(&store, 6), Some((1, b"six".to_vec())));
    assert_eq!(got(&store, 7), Some((1, b"seven".to_vec())));
}

#[test]
fn a_segment_without_a_valid_header_is_left_alone() {
    let (_dir, layout) = layout();
    let store = RecordStore::open_with(&layout, 300).unwrap();
    put(&store, 1, 1, &[1; 200]);
    put(&store, 2, 1, &[2; 200]);
    drop(store);
    let newest = segments(&layout).pop().unwrap();
    let name = newest.file_name().unwrap().to_str().unwrap();
    let seq = u64::from_str_radix(&name[..16], 16).unwrap();
    let stranger = newest.with_file_name(format!("{:016x}.seg", seq + 1));
    fs::write(&stranger, [0x5a; 100]).unwrap();

    let store = RecordStore::open_with(&layout, 300).unwrap();
    // Segments are full at 300 bytes: this put starts a new one, past the stranger.
    put(&store, 3, 1, &[3; 200]);
    drop(store);
    let store = RecordStore::open_with(&layout, 300).unwrap();
    assert_eq!(ids(&store), [1, 2, 3]);
    assert_eq!(fs::read(&stranger).unwrap(), [0x5a; 100]);
}

#[test]
fn compaction_reclaims_superseded_segments_and_keeps_deletes() {
    let (_dir, layout) = layout();
    let store = RecordStore::open_with(&layout, 4096).unwrap();
    // Record 0 stays; records 1..=8 are rewritten many times; records 9 and 10 are deleted.
    put(&store, 0, 1, &[0; 500]);
    put(&store, 9, 1, &[9; 500]);
    put(&store, 10, 1, &[10; 500]);
    assert!(store.delete(&RecordId([9; 32])).unwrap());
    for round in 1..=40u64 {
        for n in 1..=8u8 {
            put(&store, n, round, &[n; 500]);
        }
        if round == 20 {
            assert!(store.delete(&RecordId([10; 32])).unwrap());
        }
    }
    let written = 43 * 8 * (ENTRY_HEADER_LEN + 500);
    let on_disk: u64 = segments(&layout)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    assert!(
        on_disk < 10 * 4096 && (on_disk as usize) < written / 8,
        "{on_disk} bytes on disk after {written} written"
    );
    let check = |store: &RecordStore| {
        assert_eq!(ids(store), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(got(store, 0), Some((1, vec![0; 500])));
        for n in 1..=8u8 {
            assert_eq!(got(store, n), Some((40, vec![n; 500])));
        }
    };
    check(&store);
    drop(store);
    check(&RecordStore::open_with(&layout, 4096).unwrap());
}

#[test]
fn the_first_format_is_imported_once() {
    let (_dir, layout) = layout();
    let legacy = layout.root().join(RECORDS_DIR);
    for n in [0x10u8, 0x20, 0x21] {
        let id = RecordId([n; 32]);
        let prefix = legacy.join(hex::encode([n]));
        fs::create_dir_all(&prefix).unwrap();
        fs::write(prefix.join(id.to_hex()), legacy_file(7, &[n; 33])).unwrap();
    }
    let rotten = legacy.join("30").join(RecordId([0x30; 32]).to_hex());
    fs::create_dir_all(rotten.parent().unwrap()).unwrap();
    let mut bytes = legacy_file(1, b"rotten");
    bytes.push(0);
    fs::write(&rotten, bytes).unwrap();

    let store = RecordStore::open(&layout).unwrap();
    assert_eq!(ids(&store), [0x10, 0x20, 0x21]);
    assert_eq!(got(&store, 0x21), Some((7, vec![0x21; 33])));
    assert!(!legacy.exists());
    assert_eq!(fs::read_dir(layout.quarantine_dir()).unwrap().count(), 1);
    drop(store);
    assert_eq!(
        ids(&RecordStore::open(&layout).unwrap()),
        [0x10, 0x20, 0x21]
    );
}

mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever follows the intact entries of a segment (a torn write, noise, rot), opening
        /// it never panics, keeps every entry before the damage and finds the next intact one.
        #[test]
        fn damaged_segments_open_and_keep_intact_entries(
            noise in prop::collection::vec(any::<u8>(), 1..600),
            magic_at in prop::option::of(any::<prop::sample::Index>()),
            then_entry in any::<bool>(),
        ) {
            let (_dir, layout) = layout();
            let store = RecordStore::open(&layout).unwrap();
            for n in 1..=3u8 {
                put(&store, n, 1, &[n; 40]);
            }
            drop(store);
            let mut tail = noise;
            if let Some(at) = magic_at {
                // A stray magic makes the scan try (and refuse) a header in the noise.
                let i = at.index(tail.len());
                tail.splice(i..i, *b"FLRE");
            }
            let segment = segments(&layout).pop().unwrap();
            if then_entry {
                encode_put(&mut tail, &segment_key(&segment), &RecordId([9; 32]), 4, b"after").unwrap();
            }
            append(&segment, &tail);

            let store = RecordStore::open(&layout).unwrap();
            let want: Vec<u8> = if then_entry { vec![1, 2, 3, 9] } else { vec![1, 2, 3] };
            prop_assert_eq!(ids(&store), want.clone());
            for n in 1..=3u8 {
                prop_assert_eq!(got(&store, n), Some((1, vec![n; 40])));
            }
            if then_entry {
                prop_assert_eq!(got(&store, 9), Some((4, b"after".to_vec())));
            }
            put(&store, 10, 1, b"appended after reopening");
            drop(store);
            let store = RecordStore::open(&layout).unwrap();
            let mut want = want;
            want.push(10);
            prop_assert_eq!(ids(&store), want);
        }
    }
}
