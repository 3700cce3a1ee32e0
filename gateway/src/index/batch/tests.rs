//! The writer thread's batches: sharing, refusals, rollbacks, panics and closing.

use std::future::Future;
use std::pin::Pin;

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

/// An operation that creates bucket `name`.
fn create(name: &str) -> impl BatchOp<Output = ()> + use<> {
    let name = name.to_string();
    Op(
        |_: &Tables<'_>| Ok(()),
        move |t: &mut Tables<'_>| insert_bucket(t, &name),
    )
}

/// An operation that refuses in its check.
fn refused() -> impl BatchOp<Output = ()> {
    Op(
        |_: &Tables<'_>| Err(IndexError::NoSuchBucket),
        |t: &mut Tables<'_>| insert_bucket(t, "never"),
    )
}

/// A queued operation's outcome, to wait for.
type Wait = Pin<Box<dyn Future<Output = Result<(), IndexError>> + Send>>;

fn queue(index: &Index, op: impl BatchOp<Output = ()>) -> Wait {
    Box::pin(index.write_batched_async(op))
}

/// Queues operations in order (`submit`) while the test holds redb's write lock, so the writer
/// cannot begin a transaction before all of them are queued; checks they formed one batch and
/// returns their results in order.
fn in_one_batch(
    index: &Index,
    submit: impl FnOnce(&Index) -> Vec<Wait>,
) -> Vec<Result<(), IndexError>> {
    let lock = hold_writes(index);
    let batches = index.batch.batches();
    let waits = submit(index);
    lock.abort().unwrap();
    let results = futures::executor::block_on(futures::future::join_all(waits));
    assert_eq!(index.batch.batches(), batches + 1, "one batch");
    results
}

#[test]
fn concurrent_writers_share_one_commit() {
    let (_dir, index) = file_index_with_bucket();
    let results = in_one_batch(&index, |ix| {
        (0..8)
            .map(|i| queue(ix, create(&format!("w{i}"))))
            .collect()
    });
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    for i in 0..8 {
        assert!(index.bucket(&format!("w{i}")).unwrap().is_some(), "w{i}");
    }
}

#[test]
fn blocking_and_async_writers_share_batches() {
    let (_dir, index) = file_index_with_bucket();
    let index = std::sync::Arc::new(index);
    let lock = hold_writes(&index);
    let batches = index.batch.batches();
    let blocked = {
        let index = index.clone();
        std::thread::spawn(move || index.write_batched(create("blocking")))
    };
    while index.batch.submitted() == 0 {
        std::thread::yield_now();
    }
    let waited = queue(&index, create("async"));
    lock.abort().unwrap();
    futures::executor::block_on(waited).unwrap();
    blocked.join().unwrap().unwrap();
    assert_eq!(index.batch.batches(), batches + 1, "one batch");
    assert!(index.bucket("blocking").unwrap().is_some());
    assert!(index.bucket("async").unwrap().is_some());
}

#[test]
fn a_refusing_check_leaves_its_batch_mates_alone() {
    let (_dir, index) = file_index_with_bucket();
    let results = in_one_batch(&index, |ix| {
        vec![
            queue(ix, create("kept")),
            queue(ix, refused()),
            queue(ix, create("also kept")),
        ]
    });
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(matches!(results[1], Err(IndexError::NoSuchBucket)));
    assert!(index.bucket("kept").unwrap().is_some());
    assert!(index.bucket("also kept").unwrap().is_some());
    assert!(index.bucket("never").unwrap().is_none());
}

#[test]
fn a_failed_apply_rolls_back_the_batch_and_the_others_run_alone() {
    let (_dir, index) = file_index_with_bucket();
    let results = in_one_batch(&index, |ix| {
        vec![
            // Runs first and succeeds; the batch it is in must still not be committed.
            queue(ix, create("good")),
            // Writes, then fails.
            queue(
                ix,
                Op(
                    |_: &Tables<'_>| Ok(()),
                    |t: &mut Tables<'_>| {
                        insert_bucket(t, "half")?;
                        Err(IndexError::Writer("disk said no".into()))
                    },
                ),
            ),
            // Never ran in the batch: runs alone.
            queue(ix, create("later")),
        ]
    });
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(results[1], Err(IndexError::Writer(ref m)) if m.contains("disk said no")),
        "{:?}",
        results[1]
    );
    assert!(results[2].is_ok(), "{:?}", results[2]);
    assert!(index.bucket("good").unwrap().is_some(), "retried alone");
    assert!(index.bucket("later").unwrap().is_some(), "run alone");
    assert!(index.bucket("half").unwrap().is_none(), "rolled back");
}

#[test]
fn a_panicking_apply_leaves_nothing_behind_and_the_index_usable() {
    let (_dir, index) = file_index_with_bucket();
    let results = in_one_batch(&index, |ix| {
        vec![
            queue(ix, create("mate")),
            queue(
                ix,
                Op(
                    |_: &Tables<'_>| Ok(()),
                    |t: &mut Tables<'_>| -> Result<(), IndexError> {
                        insert_bucket(t, "half")?;
                        panic!("bug in an operation")
                    },
                ),
            ),
        ]
    });
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(results[1], Err(IndexError::Writer(ref m)) if m.contains("panicked")),
        "{:?}",
        results[1]
    );
    assert!(index.bucket("half").unwrap().is_none());
    assert!(index.bucket("mate").unwrap().is_some());
    index.write_batched(create("after")).unwrap();
    assert!(index.bucket("after").unwrap().is_some());
}

#[test]
fn a_write_outlives_a_caller_that_stopped_waiting() {
    let (_dir, index) = file_index_with_bucket();
    let lock = hold_writes(&index);
    drop(queue(&index, create("orphan")));
    lock.abort().unwrap();
    // The next write is queued behind it, so once it is done the dropped one is too.
    index.write_batched(create("next")).unwrap();
    assert!(index.bucket("orphan").unwrap().is_some());
}

#[test]
fn closing_the_index_finishes_queued_writes_and_releases_the_file() {
    let (dir, index) = file_index_with_bucket();
    let path = dir.path().join("index.redb");
    let pending: Vec<_> = (0..4)
        .map(|i| queue(&index, create(&format!("c{i}"))))
        .collect();
    drop(index);
    let reopened = Index::open(&path).unwrap();
    for i in 0..4 {
        assert!(reopened.bucket(&format!("c{i}")).unwrap().is_some(), "c{i}");
    }
    for result in futures::executor::block_on(futures::future::join_all(pending)) {
        result.unwrap();
    }
}
