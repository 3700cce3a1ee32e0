//! Shared write transactions: concurrent small writes (object PUT and DELETE, the publisher's
//! outbox cleanup) join one durable redb transaction instead of each committing their own.
//!
//! A redb commit costs a fixed price however little it changed: every modified table root, the
//! allocator state and, for a durable commit, page writes plus an fsync, all under redb's single
//! write lock. With one transaction per PUT, small PUTs spent most of their time there and
//! queued behind each other's commits. Here the transaction itself is passed from writer to
//! writer: each one runs its own operation on it (on its own thread, so operations may borrow
//! from their caller), parks it, and the last writer in line commits it, durably, for all of
//! them. Writers that arrive during that commit form the next batch.
//!
//! An operation comes in two halves, so that one member can never leave another's batch
//! half-written: `check` sees the tables read-only and may refuse (`PreconditionFailed`,
//! `NoSuchBucket`, ...) without having changed anything, while any failure (or panic) in `apply`,
//! which writes, rolls the whole batch back. The members of a rolled-back batch then run again
//! alone, each in its own transaction ([`Index::write`]), where a failure is only their own.
//! Nothing is acknowledged before the batch it belongs to is durable. The tables are opened
//! once per batch and stay open with the transaction, as opening all of them cost each member
//! about as much as its own writes.
//!
//! [`Index::write`]: super::Index::write

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use redb::{Database, Durability, WriteTransaction};

use super::store::Tables;
use super::{Index, IndexError};

/// Most operations in one transaction: a writer that finds this many before it commits even
/// when others are waiting, so a steady stream of writers cannot postpone a commit forever.
const MAX_MEMBERS: usize = 256;

/// Hands the open transaction from writer to writer (see the module docs).
#[derive(Default)]
pub(super) struct WriteBatcher {
    state: Mutex<BatchState>,
    /// Signalled, one waiter at a time, when the transaction may be taken: parked by a member,
    /// or free again after a commit. Only one writer can take it, so waking all of them would
    /// only send the rest back to sleep.
    turn: Condvar,
    /// Signalled to every member of a batch once it is settled.
    settled: Condvar,
}

#[derive(Default)]
struct BatchState {
    /// The open transaction, between two members' operations.
    parked: Option<OpenBatch>,
    /// A writer holds the open transaction (running its operation) or is beginning one.
    in_use: bool,
    /// A batch is being committed: redb's write lock is taken until it ends.
    committing: bool,
    /// Writers waiting for their turn at the transaction.
    waiting: usize,
    /// Batches settled so far (committed, rolled back or failed).
    settled: u64,
}

self_cell::self_cell!(
    /// A write transaction with its tables open.
    struct OpenTables {
        owner: WriteTransaction,
        #[not_covariant]
        dependent: Tables,
    }
);

/// A transaction being filled.
struct OpenBatch {
    txn: OpenTables,
    members: usize,
    /// An `apply` failed: whatever the transaction holds must not be committed.
    poisoned: bool,
    settlement: Arc<OnceLock<Settlement>>,
}

/// How a batch ended, for every member.
#[derive(Debug, Clone)]
enum Settlement {
    /// Committed durably: every member's result stands.
    Committed,
    /// Rolled back without effect: every member runs again alone.
    RolledBack,
    /// The commit failed: whether it persisted is unknown, so nobody is acknowledged.
    Failed(String),
}

/// What a member learns once its batch is settled.
enum Joined<R> {
    /// Committed durably, with this member's own result.
    Committed(R),
    /// Rolled back without effect: run again alone.
    RolledBack,
    /// Not acknowledged: the batch failed to commit, or could not begin.
    Failed(String),
}

impl WriteBatcher {
    /// Runs `op` on the shared transaction and waits until its batch is settled. `op` returns
    /// its result and whether the transaction must be rolled back.
    fn join<R>(&self, db: &Database, op: impl FnOnce(&mut Tables<'_>) -> (R, bool)) -> Joined<R> {
        let mut state = self.lock();
        state.waiting += 1;
        while state.in_use || (state.parked.is_none() && state.committing) {
            state = self.wait(&self.turn, state);
        }
        state.waiting -= 1;
        state.in_use = true;
        let parked = state.parked.take();
        drop(state);

        let mut batch = match parked {
            Some(batch) => batch,
            None => match begin(db) {
                Ok(txn) => OpenBatch {
                    txn,
                    members: 0,
                    poisoned: false,
                    settlement: Arc::default(),
                },
                Err(e) => {
                    self.lock().in_use = false;
                    self.turn.notify_one();
                    return Joined::Failed(e.to_string());
                }
            },
        };
        batch.members += 1;
        let (result, poisons) = batch.txn.with_dependent_mut(|_, tables| op(tables));
        batch.poisoned |= poisons;
        let settlement = batch.settlement.clone();

        let mut state = self.lock();
        state.in_use = false;
        if state.waiting > 0 && !batch.poisoned && batch.members < MAX_MEMBERS {
            // Someone is next in line; the last of them commits for all.
            state.parked = Some(batch);
            self.turn.notify_one();
            while settlement.get().is_none() {
                state = self.wait(&self.settled, state);
            }
            drop(state);
        } else {
            state.committing = true;
            drop(state);
            let outcome = settle(batch);
            // Set before the lock is taken: a member checks under the lock and then waits for
            // the notification below, so none can miss it.
            let _ = settlement.set(outcome);
            let mut state = self.lock();
            state.committing = false;
            state.settled += 1;
            drop(state);
            self.settled.notify_all();
            self.turn.notify_one();
        }
        match settlement.get() {
            Some(Settlement::Committed) => Joined::Committed(result),
            Some(Settlement::RolledBack) => Joined::RolledBack,
            Some(Settlement::Failed(why)) => Joined::Failed(why.clone()),
            None => Joined::Failed("batch left unsettled".into()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BatchState> {
        // A few flags changed in single steps, and every operation runs outside the lock:
        // still consistent after a panic elsewhere.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait<'a>(
        &self,
        signal: &Condvar,
        state: MutexGuard<'a, BatchState>,
    ) -> MutexGuard<'a, BatchState> {
        signal
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A new transaction that commits durably (acknowledging its members needs nothing more),
/// with its tables open.
fn begin(db: &Database) -> Result<OpenTables, IndexError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    OpenTables::try_new(txn, |txn| Tables::open(txn))
}

/// Commits the batch, or rolls it back if a member's write failed.
fn settle(batch: OpenBatch) -> Settlement {
    // The tables close (writing back their roots) before the transaction ends.
    let txn = batch.txn.into_owner();
    if batch.poisoned {
        let _ = txn.abort();
        return Settlement::RolledBack;
    }
    // A panicking commit must still settle the batch, or every member would wait forever.
    match catch_unwind(AssertUnwindSafe(|| txn.commit())) {
        Ok(Ok(())) => Settlement::Committed,
        Ok(Err(e)) => Settlement::Failed(e.to_string()),
        Err(_) => Settlement::Failed("index commit panicked".into()),
    }
}

impl Index {
    /// Runs `check` then `apply` in a transaction shared with concurrent writers (see the
    /// module docs) and returns once it is durable. `check` may refuse with any error; an
    /// error from `apply` is reported only after it ran again alone.
    pub(super) fn write_batched<T>(
        &self,
        check: impl Fn(&Tables<'_>) -> Result<(), IndexError>,
        apply: impl Fn(&mut Tables<'_>) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let joined = self.batch.join(&self.db, |tables| {
            let run = catch_unwind(AssertUnwindSafe(|| {
                check(tables)?;
                // From here on a failure may leave writes behind.
                Ok(apply(tables).map_err(Applied))
            }));
            match run {
                Ok(Ok(Ok(value))) => (Ok(value), false),
                Ok(Ok(Err(Applied(e)))) => (Err(e), true),
                // Refused by `check`: nothing written.
                Ok(Err(e)) => (Err(e), false),
                Err(_) => (
                    Err(IndexError::Storage("index write panicked".into())),
                    true,
                ),
            }
        });
        match joined {
            Joined::Committed(Err(IndexError::PreconditionFailed)) => {
                // The record that failed the check may be a commit not yet durable (from a
                // writer outside the batches); a 412 must not rest on what a crash could undo.
                self.sync()?;
                Err(IndexError::PreconditionFailed)
            }
            Joined::Committed(result) => result,
            Joined::RolledBack => self.write(|t| {
                check(t)?;
                apply(t)
            }),
            Joined::Failed(why) => Err(IndexError::Storage(format!("index commit failed: {why}"))),
        }
    }
}

/// An error from `apply`, after which the transaction may hold partial writes.
struct Applied(IndexError);

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    use super::Tables;
    use crate::index::testkit::*;

    /// Blocks until `n` writers wait for the transaction: the caller, holding it, then hands
    /// it on to all of them.
    fn until_waiting(index: &Index, n: usize) {
        while index.batch.lock().waiting < n {
            thread::yield_now();
        }
    }

    /// Blocks until a writer holds the transaction.
    fn until_in_use(index: &Index) {
        while !index.batch.lock().in_use {
            thread::yield_now();
        }
    }

    /// Starts a writer that holds the transaction until `company` others wait for it, then
    /// inserts bucket `name`; returns once it holds the transaction. Only its batched run waits:
    /// run again alone after a rollback, it must not.
    fn first_member(
        index: &Arc<Index>,
        company: usize,
        name: &'static str,
    ) -> thread::JoinHandle<Result<(), IndexError>> {
        let index = index.clone();
        let waited = AtomicBool::new(false);
        let handle = {
            let index = index.clone();
            thread::spawn(move || {
                index.write_batched(
                    |_| {
                        if !waited.swap(true, Ordering::SeqCst) {
                            until_waiting(&index, company);
                        }
                        Ok(())
                    },
                    |t| insert_bucket(t, name),
                )
            })
        };
        until_in_use(&index);
        handle
    }

    fn insert_bucket(t: &mut Tables<'_>, name: &str) -> Result<(), IndexError> {
        t.buckets
            .insert(name, encode_record(&bucket_record()).as_slice())?;
        Ok(())
    }

    #[test]
    fn concurrent_writers_share_one_commit() {
        let (_dir, index) = index_with_bucket();
        let index = Arc::new(index);
        let writers = 8;
        let first = first_member(&index, writers - 1, "w0");
        let others: Vec<_> = (1..writers)
            .map(|i| {
                let index = index.clone();
                thread::spawn(move || {
                    index.write_batched(|_| Ok(()), |t| insert_bucket(t, &format!("w{i}")))
                })
            })
            .collect();
        first.join().unwrap().unwrap();
        for w in others {
            w.join().unwrap().unwrap();
        }
        assert_eq!(index.batch.lock().settled, 1, "one commit for all");
        for i in 0..writers {
            assert!(index.bucket(&format!("w{i}")).unwrap().is_some(), "w{i}");
        }
    }

    #[test]
    fn a_refusing_check_leaves_its_batch_mates_alone() {
        let (_dir, index) = index_with_bucket();
        let index = Arc::new(index);
        let first = first_member(&index, 1, "kept");
        let refused = index.write_batched(
            |_| Err(IndexError::NoSuchBucket),
            |t| insert_bucket(t, "never"),
        );
        assert!(matches!(refused, Err(IndexError::NoSuchBucket)));
        first.join().unwrap().unwrap();
        assert_eq!(index.batch.lock().settled, 1);
        assert!(index.bucket("kept").unwrap().is_some());
        assert!(index.bucket("never").unwrap().is_none());
    }

    #[test]
    fn a_failed_apply_rolls_back_the_batch_and_the_others_run_alone() {
        let (_dir, index) = index_with_bucket();
        let index = Arc::new(index);
        let first = first_member(&index, 1, "good");
        // Writes, then fails: the batch (with "good" in it) must not be committed.
        let failed = index.write_batched(
            |_| Ok(()),
            |t| {
                insert_bucket(t, "half")?;
                Err::<(), _>(IndexError::Storage("disk said no".into()))
            },
        );
        assert!(
            matches!(failed, Err(IndexError::Storage(ref m)) if m.contains("disk said no")),
            "{failed:?}"
        );
        first.join().unwrap().unwrap();
        assert!(index.bucket("good").unwrap().is_some(), "retried alone");
        assert!(index.bucket("half").unwrap().is_none(), "rolled back");
    }

    #[test]
    fn a_panicking_apply_leaves_nothing_behind_and_the_index_usable() {
        let (_dir, index) = index_with_bucket();
        // Run again alone after the batch's rollback, the operation panics there too, which
        // reaches its own caller only.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            index.write_batched(
                |_| Ok(()),
                |t| -> Result<(), IndexError> {
                    insert_bucket(t, "half")?;
                    panic!("bug in an operation")
                },
            )
        }));
        assert!(panicked.is_err());
        assert!(index.bucket("half").unwrap().is_none());
        index
            .write_batched(|_| Ok(()), |t| insert_bucket(t, "after"))
            .unwrap();
        assert!(index.bucket("after").unwrap().is_some());
    }
}
