//! One suite for every store: the same checks, model-based property test included, run on the
//! in-memory map, a redb file and a real PostgreSQL server (`floe_testkit::postgres`).

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;

fn memory() -> Arc<dyn KvStore> {
    Arc::new(MemoryKv::new())
}

fn redb() -> (Arc<dyn KvStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbKv::open(&dir.path().join("index.redb")).unwrap();
    (Arc::new(store), dir)
}

fn postgres() -> Arc<dyn KvStore> {
    let table = floe_testkit::postgres::fresh_table("kv_suite");
    Arc::new(PostgresKv::connect_table(&floe_testkit::postgres::url(), &table).unwrap())
}

/// Runs `check` on each store.
fn on_every_store(check: impl Fn(&dyn KvStore)) {
    check(memory().as_ref());
    let (store, _dir) = redb();
    check(store.as_ref());
    check(postgres().as_ref());
}

fn put(store: &dyn KvStore, key: &[u8], value: &[u8]) {
    store.transact(|t| t.put(key, value)).unwrap();
}

fn get(store: &dyn KvStore, key: &[u8]) -> Option<Vec<u8>> {
    store.snapshot(|r| r.get(key)).unwrap()
}

fn keys(pairs: Vec<Pair>) -> Vec<Vec<u8>> {
    pairs.into_iter().map(|(k, _)| k).collect()
}

#[test]
fn put_get_overwrite_delete() {
    on_every_store(|store| {
        assert_eq!(get(store, b"a"), None);
        put(store, b"a", b"1");
        put(store, b"a", b"2");
        put(store, b"", b"empty key");
        assert_eq!(get(store, b"a"), Some(b"2".to_vec()));
        assert_eq!(get(store, b""), Some(b"empty key".to_vec()));
        assert!(store.transact(|t| t.delete(b"a")).unwrap());
        assert!(!store.transact(|t| t.delete(b"a")).unwrap());
        assert_eq!(get(store, b"a"), None);
    });
}

#[test]
fn ranges_are_bytewise_with_limits_both_ways() {
    on_every_store(|store| {
        let all: [&[u8]; 7] = [b"a", b"a\x00", b"ab", b"a\xff", b"b", b"\xff", b"\xff\xff"];
        store
            .transact(|t| {
                for k in all.iter().rev() {
                    t.put(k, k)?;
                }
                Ok(())
            })
            .unwrap();
        let scan = |lo: &[u8], hi: Option<&[u8]>, limit, reverse| {
            keys(store.snapshot(|r| r.range(lo, hi, limit, reverse)).unwrap())
        };
        let owned = |ks: &[&[u8]]| ks.iter().map(|k| k.to_vec()).collect::<Vec<_>>();
        assert_eq!(scan(b"", None, 100, false), owned(&all));
        assert_eq!(scan(b"a", Some(b"b"), 100, false), owned(&all[..4]));
        assert_eq!(scan(b"a", Some(b"b"), 2, false), owned(&all[..2]));
        assert_eq!(scan(b"a", Some(b"b"), 2, true), owned(&[b"a\xff", b"ab"]));
        assert_eq!(scan(b"a\x00", None, 100, true).len(), 6);
        assert_eq!(scan(b"b", Some(b"a"), 100, false), Vec::<Vec<u8>>::new());
        assert_eq!(scan(b"a", Some(b"b"), 0, false), Vec::<Vec<u8>>::new());
    });
}

#[test]
fn a_failed_transaction_writes_nothing() {
    on_every_store(|store| {
        put(store, b"kept", b"1");
        let outcome: Result<(), IndexError> = store.transact(|t| {
            t.put(b"new", b"x")?;
            t.delete(b"kept")?;
            Err(IndexError::PreconditionFailed)
        });
        assert!(matches!(outcome, Err(IndexError::PreconditionFailed)));
        assert_eq!(get(store, b"new"), None);
        assert_eq!(get(store, b"kept"), Some(b"1".to_vec()));
    });
}

#[test]
fn a_transaction_sees_its_own_writes() {
    on_every_store(|store| {
        let seen = store
            .transact(|t| {
                t.put(b"k1", b"v")?;
                t.put(b"k2", b"v")?;
                t.delete(b"k1")?;
                Ok((t.get(b"k1")?, keys(t.range(b"k", None, 10, false)?)))
            })
            .unwrap();
        assert_eq!(seen, (None, vec![b"k2".to_vec()]));
    });
}

/// Read-modify-write from many threads at once: no increment is lost (PostgreSQL retries the
/// losers of each serialization conflict).
#[test]
fn concurrent_increments_are_never_lost() {
    on_every_store(|store| {
        const THREADS: u64 = 6;
        const EACH: u64 = 20;
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..EACH {
                        store
                            .transact(|t| {
                                let n = t.get(b"counter")?.map_or(0, |v| {
                                    u64::from_be_bytes(v.try_into().unwrap_or([0; 8]))
                                });
                                t.put(b"counter", &(n + 1).to_be_bytes())
                            })
                            .unwrap();
                    }
                });
            }
        });
        let n = get(store, b"counter").unwrap();
        assert_eq!(u64::from_be_bytes(n.try_into().unwrap()), THREADS * EACH);
    });
}

/// The `If-None-Match: *` shape: racing creators of one key, exactly one wins.
#[test]
fn racing_creates_have_exactly_one_winner() {
    on_every_store(|store| {
        let wins = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for i in 0..12u8 {
                let wins = &wins;
                s.spawn(move || {
                    let outcome = store.transact(|t| {
                        if t.get(b"object")?.is_some() {
                            return Err(IndexError::PreconditionFailed);
                        }
                        t.put(b"object", &[i])
                    });
                    match outcome {
                        Ok(()) => {
                            wins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(IndexError::PreconditionFailed) => {}
                        Err(e) => panic!("{e}"),
                    }
                });
            }
        });
        assert_eq!(wins.into_inner(), 1);
    });
}

#[derive(Clone, Debug)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Range(Vec<u8>, Option<Vec<u8>>, usize, bool),
    /// A transaction of puts that fails: nothing of it may stay.
    Aborted(Vec<u8>),
}

fn small_key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(b'a'), Just(0xFF)],
        0..4,
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (small_key(), small_key()).prop_map(|(k, v)| Op::Put(k, v)),
        small_key().prop_map(Op::Delete),
        (
            small_key(),
            proptest::option::of(small_key()),
            0..6usize,
            any::<bool>()
        )
            .prop_map(|(lo, hi, n, rev)| Op::Range(lo, hi, n, rev)),
        small_key().prop_map(Op::Aborted),
    ]
}

/// Applies `ops` to `store` and to a `BTreeMap`, comparing every answer.
fn against_model(store: &dyn KvStore, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Put(k, v) => {
                put(store, k, v);
                model.insert(k.clone(), v.clone());
            }
            Op::Delete(k) => {
                let was = store.transact(|t| t.delete(k)).unwrap();
                prop_assert_eq!(was, model.remove(k).is_some());
            }
            Op::Range(lo, hi, limit, reverse) => {
                let got = store
                    .snapshot(|r| r.range(lo, hi.as_deref(), *limit, *reverse))
                    .unwrap();
                let inside = |k: &Vec<u8>| k >= lo && hi.as_ref().is_none_or(|hi| k < hi);
                let mut want: Vec<Pair> = model
                    .iter()
                    .filter(|(k, _)| inside(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if *reverse {
                    want.reverse();
                }
                want.truncate(*limit);
                prop_assert_eq!(got, want);
            }
            Op::Aborted(k) => {
                let _ = store.transact(|t| {
                    t.put(k, b"never")?;
                    Err::<(), _>(IndexError::PreconditionFailed)
                });
                prop_assert_eq!(get(store, k), model.get(k).cloned());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_store_behaves_as_an_ordered_map(ops in proptest::collection::vec(op(), 1..40)) {
        against_model(memory().as_ref(), &ops)?;
        let (store, _dir) = redb();
        against_model(store.as_ref(), &ops)?;
        against_model(postgres().as_ref(), &ops)?;
    }
}
