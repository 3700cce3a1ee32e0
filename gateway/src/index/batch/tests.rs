//! The writer thread's batches: sharing, refusals, rollbacks, panics and closing.

use std::sync::Arc;
use std::thread;

use super::{BatchOp, Tables};
use crate::index::testkit::*;

/// A test operation from two closures.
struct Op<C, A>(C, A);

impl<C, A> BatchOp for Op<C, A>
where
    C: Fn(&Tables<'_>) -> Result<(), IndexError> + Send + 'static,
    A: Fn(&mut Tables<'_>) -> Result<(), IndexError> + Send + 'static,
{
    type Output = ();

    fn check(&self, tables: &Tables<'_>) -> Result<(), IndexError> {
        (self.0)(tables)
    }

    fn apply(&self, tables: &mut Tables<'_>) -> Result<(), IndexError> {
        (self.1)(tables)
    }
}

fn insert_bucket(t: &mut Tables<'_>, name: &str) -> Result<(), IndexError> {
    t.buckets
        .insert(name, encode_record(&bucket_record()).as_slice())?;
    Ok(())
}

/// A thread's call into the index.
type Caller = Box<dyn FnOnce(&Index) -> Result<(), IndexError> + Send>;

/// An operation that creates bucket `name`.
fn create(name: &str) -> impl BatchOp<Output = ()> + use<> {
    let name = name.to_string();
    Op(
        |_: &Tables<'_>| Ok(()),
        move |t: &mut Tables<'_>| insert_bucket(t, &name),
    )
}

/// Runs `ops` from one thread each, all queued before the writer can begin a transaction
/// (the test holds redb's write lock until they are), so they form one batch. Returns their
/// results in order.
fn in_one_batch(index: &Arc<Index>, ops: Vec<Caller>) -> Vec<Result<(), IndexError>> {
    let lock = index.db.begin_write().unwrap();
    let before = index.batch.submitted();
    let n = ops.len() as u64;
    let threads: Vec<_> = ops
        .into_iter()
        .map(|op| {
            let index = index.clone();
            thread::spawn(move || op(&index))
        })
        .collect();
    while index.batch.submitted() < before + n {
        thread::yield_now();
    }
    lock.abort().unwrap();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn batch_of(ops: Vec<impl BatchOp<Output = ()>>) -> Vec<Caller> {
    ops.into_iter()
        .map(|op| Box::new(move |ix: &Index| ix.write_batched(op)) as Box<_>)
        .collect()
}

#[test]
fn concurrent_writers_share_one_commit() {
    let (_dir, index) = index_with_bucket();
    let index = Arc::new(index);
    let settled = index.batch.settled();
    let results = in_one_batch(
        &index,
        batch_of((0..8).map(|i| create(&format!("w{i}"))).collect()),
    );
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(index.batch.settled(), settled + 1, "one commit for all");
    for i in 0..8 {
        assert!(index.bucket(&format!("w{i}")).unwrap().is_some(), "w{i}");
    }
}

#[test]
fn a_refusing_check_leaves_its_batch_mates_alone() {
    let (_dir, index) = index_with_bucket();
    let index = Arc::new(index);
    let settled = index.batch.settled();
    let results = in_one_batch(
        &index,
        vec![
            Box::new(|ix: &Index| ix.write_batched(create("kept"))),
            Box::new(|ix: &Index| {
                ix.write_batched(Op(
                    |_: &Tables<'_>| Err(IndexError::NoSuchBucket),
                    |t: &mut Tables<'_>| insert_bucket(t, "never"),
                ))
            }),
        ],
    );
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(IndexError::NoSuchBucket)));
    assert_eq!(index.batch.settled(), settled + 1);
    assert!(index.bucket("kept").unwrap().is_some());
    assert!(index.bucket("never").unwrap().is_none());
}

#[test]
fn a_failed_apply_rolls_back_the_batch_and_the_others_run_alone() {
    let (_dir, index) = index_with_bucket();
    let index = Arc::new(index);
    let results = in_one_batch(
        &index,
        vec![
            Box::new(|ix: &Index| ix.write_batched(create("good"))),
            // Writes, then fails: the batch (perhaps with "good" in it) must not be committed.
            Box::new(|ix: &Index| {
                ix.write_batched(Op(
                    |_: &Tables<'_>| Ok(()),
                    |t: &mut Tables<'_>| {
                        insert_bucket(t, "half")?;
                        Err(IndexError::Storage("disk said no".into()))
                    },
                ))
            }),
        ],
    );
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(results[1], Err(IndexError::Storage(ref m)) if m.contains("disk said no")),
        "{:?}",
        results[1]
    );
    assert!(index.bucket("good").unwrap().is_some(), "retried alone");
    assert!(index.bucket("half").unwrap().is_none(), "rolled back");
}

#[test]
fn a_panicking_apply_leaves_nothing_behind_and_the_index_usable() {
    let (_dir, index) = index_with_bucket();
    let index = Arc::new(index);
    let results = in_one_batch(
        &index,
        vec![
            Box::new(|ix: &Index| ix.write_batched(create("mate"))),
            Box::new(|ix: &Index| {
                ix.write_batched(Op(
                    |_: &Tables<'_>| Ok(()),
                    |t: &mut Tables<'_>| -> Result<(), IndexError> {
                        insert_bucket(t, "half")?;
                        panic!("bug in an operation")
                    },
                ))
            }),
        ],
    );
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(results[1], Err(IndexError::Storage(ref m)) if m.contains("panicked")),
        "{:?}",
        results[1]
    );
    assert!(index.bucket("half").unwrap().is_none());
    index.write_batched(create("after")).unwrap();
    assert!(index.bucket("after").unwrap().is_some());
    assert!(index.bucket("mate").unwrap().is_some());
}

#[tokio::test]
async fn async_writers_wait_without_a_blocking_thread() {
    let (_dir, index) = index_with_bucket();
    let waits: Vec<_> = (0..16)
        .map(|i| index.write_batched_async(create(&format!("a{i}"))))
        .collect();
    for wait in futures::future::join_all(waits).await {
        wait.unwrap();
    }
    for i in 0..16 {
        assert!(index.bucket(&format!("a{i}")).unwrap().is_some(), "a{i}");
    }
}

#[test]
fn closing_the_index_finishes_queued_writes_and_releases_the_file() {
    let (dir, index) = index_with_bucket();
    let path = dir.path().join("index.redb");
    let pending: Vec<_> = (0..4)
        .map(|i| index.write_batched_async(create(&format!("c{i}"))))
        .collect();
    drop(index);
    let reopened = Index::open(&path).unwrap();
    for i in 0..4 {
        assert!(reopened.bucket(&format!("c{i}")).unwrap().is_some(), "c{i}");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for wait in pending {
        rt.block_on(wait).unwrap();
    }
}
