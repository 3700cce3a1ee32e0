//! Shared write transactions: object PUTs and DELETEs, which come as streams of small writes,
//! join one durable transaction run by the index's writer thread instead of each committing
//! their own.
//!
//! A commit costs a fixed price however little it changed (for redb: every modified table root,
//! the allocator state and, for a durable commit, page writes plus an fsync, all under its single
//! write lock; for PostgreSQL: a round trip and a WAL flush). With one transaction per PUT, small PUTs spent most of their time there and
//! queued behind each other's commits. Here a caller hands its operation to the writer thread
//! and waits for the outcome, blocking ([`Index::write_batched`]) or awaiting
//! ([`Index::write_batched_async`]). The writer takes everything queued, runs it on one
//! transaction, takes whatever arrived meanwhile, and commits once, durably, for all of it.
//! Operations that arrive during that commit form the next batch.
//!
//! One thread owns the transaction, so waiting members never wake each other, and an async
//! caller (the S3 PUT and DELETE) needs no blocking thread of its own. Before, each member ran
//! on its own blocking thread and the transaction was handed from thread to thread; the
//! wake-ups cost more CPU than the writes themselves.
//!
//! An operation ([`BatchOp`]) comes in two halves, so that one member can never leave another's
//! batch half-written: `check` sees the tables read-only and may refuse (`PreconditionFailed`,
//! `NoSuchBucket`, ...) without having changed anything, while any failure (or panic) in
//! `apply`, which writes, rolls the whole batch back. The members of a rolled-back batch then
//! run again alone, each in its own transaction, where a failure is only their own. Nothing is
//! acknowledged before the batch it belongs to is durable, and a batch commits durably even if
//! every member refused: a refusal may rest on a commit another writer has not yet made durable
//! (see `group_commit`), and a 412 must not be answered on the strength of what a crash could
//! undo. The tables are opened once per batch and stay open with the transaction.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::kv::KvStore;
use super::store::{Tables, with_tables};
use super::{Index, IndexError};

/// Most operations in one transaction: the writer commits once it has run this many, so a
/// steady stream of writers cannot postpone a commit forever.
const MAX_MEMBERS: usize = 256;

/// A write that can share a transaction with others (see the module docs).
pub(super) trait BatchOp: Send + 'static {
    type Output: Send + 'static;

    /// Looks at the tables without writing; an error refuses the operation and changes nothing.
    fn check(&self, tables: &Tables<'_>) -> Result<(), IndexError>;

    /// Writes. An error here rolls the whole batch back, and the operation runs again alone.
    fn apply(&self, tables: &mut Tables<'_>) -> Result<Self::Output, IndexError>;
}

/// The index's writer thread and its queue.
pub(super) struct WriteBatcher {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the idle writer when something arrives or the index closes.
    arrived: Condvar,
}

#[derive(Default)]
struct Queue {
    members: VecDeque<Box<dyn Member>>,
    /// The writer waits for work: a new member must wake it.
    idle: bool,
    /// The index is closing: the writer finishes what is queued, then stops.
    closing: bool,
    /// The writer has stopped: nothing more will run.
    stopped: bool,
    /// Batches begun so far (counted before any member hears back).
    batches: u64,
    /// Members ever queued.
    submitted: u64,
}

impl WriteBatcher {
    /// Starts the writer thread on `db`.
    pub fn start(kv: Arc<dyn KvStore>) -> Result<Self, IndexError> {
        let shared = Arc::new(Shared::default());
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("floe-index-writer".into())
                .spawn(move || {
                    let _stop = StopGuard(&shared);
                    write_batches(kv.as_ref(), &shared);
                })
                .map_err(|e| IndexError::Writer(format!("cannot start the index writer: {e}")))?
        };
        Ok(Self {
            shared,
            writer: Some(writer),
        })
    }

    /// Queues `member` for the writer.
    fn submit(&self, member: Box<dyn Member>) -> Result<(), IndexError> {
        let mut queue = self.shared.lock();
        if queue.stopped || queue.closing {
            return Err(writer_gone());
        }
        queue.members.push_back(member);
        queue.submitted += 1;
        let wake = queue.idle;
        drop(queue);
        if wake {
            self.shared.arrived.notify_one();
        }
        Ok(())
    }

    /// Batches begun so far.
    #[cfg(test)]
    pub fn batches(&self) -> u64 {
        self.shared.lock().batches
    }

    /// Operations ever queued.
    #[cfg(test)]
    pub fn submitted(&self) -> u64 {
        self.shared.lock().submitted
    }
}

impl Drop for WriteBatcher {
    /// Lets the writer finish what is queued, and waits for it: the database (and its file
    /// lock) is released only once the writer is gone.
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.arrived.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A queue and a few flags, each changed in single steps: still consistent after a
        // panic elsewhere.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for work and takes up to `MAX_MEMBERS` members; `None` once closed and drained.
    fn next_batch(&self) -> Option<Vec<Box<dyn Member>>> {
        let mut queue = self.lock();
        while queue.members.is_empty() {
            if queue.closing {
                return None;
            }
            queue.idle = true;
            queue = self
                .arrived
                .wait(queue)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.idle = false;
        }
        let mut batch = Vec::new();
        take(&mut queue, &mut batch);
        queue.batches += 1;
        Some(batch)
    }

    /// Adds whatever is queued to `batch` (up to `MAX_MEMBERS`); false if nothing was.
    fn take_more(&self, batch: &mut Vec<Box<dyn Member>>) -> bool {
        let before = batch.len();
        take(&mut self.lock(), batch);
        batch.len() > before
    }
}

fn take(queue: &mut Queue, batch: &mut Vec<Box<dyn Member>>) {
    let n = queue.members.len().min(MAX_MEMBERS - batch.len());
    batch.extend(queue.members.drain(..n));
}

/// Marks the writer stopped however it ends, a bug's panic included, and drops what is queued,
/// so that every waiting caller gets an error instead of waiting forever.
struct StopGuard<'a>(&'a Shared);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.lock();
        queue.stopped = true;
        queue.members.clear();
    }
}

fn writer_gone() -> IndexError {
    IndexError::Writer("the index writer has stopped".into())
}

/// The writer thread: batch after batch until the index closes.
fn write_batches(kv: &dyn KvStore, shared: &Shared) {
    while let Some(mut batch) = shared.next_batch() {
        // Members' own panics are caught where they run; this catches a bug in the batching
        // itself, so that it fails one batch instead of every later write. The transaction it
        // may have left open was rolled back when it unwound.
        if catch_unwind(AssertUnwindSafe(|| run_batch(kv, shared, &mut batch))).is_err() {
            tracing::error!(
                members = batch.len(),
                "index writer panicked; the batch's writes are refused"
            );
            settle_all(&mut batch, Some("index writer panicked"));
        }
    }
}

/// What rolls a transaction back when a member's `apply` failed (its own error is kept by the
/// member).
fn rolled_back() -> IndexError {
    IndexError::Writer("a member's write failed; the batch was rolled back".into())
}

/// Runs `batch` (and whatever joins it meanwhile) in one transaction and settles every member.
fn run_batch(kv: &dyn KvStore, shared: &Shared, batch: &mut Vec<Box<dyn Member>>) {
    let mut poisoned = false;
    let outcome = kv.transact_batch_dyn(&mut |txn| {
        // Run again from the start after a conflict: every member's result is overwritten.
        poisoned = false;
        with_tables(txn, |tables| {
            let mut ran = 0;
            while !poisoned {
                while ran < batch.len() && !poisoned {
                    poisoned = batch[ran].run(tables);
                    ran += 1;
                }
                // Those that arrived while the others ran join too.
                if poisoned || batch.len() >= MAX_MEMBERS || !shared.take_more(batch) {
                    break;
                }
            }
            if poisoned { Err(rolled_back()) } else { Ok(()) }
        })
    });
    if poisoned {
        for member in batch.drain(..) {
            run_alone(kv, member);
        }
        return;
    }
    let failed = outcome.err().map(|e| e.to_string());
    settle_all(batch, failed.as_deref());
}

/// Runs one member in a transaction of its own (after its batch was rolled back).
fn run_alone(kv: &dyn KvStore, mut member: Box<dyn Member>) {
    let mut poisons = false;
    let outcome = kv.transact_batch_dyn(&mut |txn| {
        poisons = with_tables(txn, |tables| Ok(member.run(tables)))?;
        if poisons { Err(rolled_back()) } else { Ok(()) }
    });
    // A member that poisoned keeps its own error; nothing it wrote survives.
    let failed = if poisons {
        None
    } else {
        outcome.err().map(|e| e.to_string())
    };
    member.settle(failed.as_deref());
}

fn settle_all(batch: &mut Vec<Box<dyn Member>>, failed: Option<&str>) {
    for member in batch.drain(..) {
        member.settle(failed);
    }
}

/// A queued operation with its caller's reply, its type erased for the queue.
trait Member: Send {
    /// Runs the operation on `tables` and keeps its result; true if it may have left partial
    /// writes, so the transaction must be rolled back.
    fn run(&mut self, tables: &mut Tables<'_>) -> bool;

    /// Hands the caller its result, or `failed` (the commit failed) instead.
    fn settle(self: Box<Self>, failed: Option<&str>);
}

type Outcome<T> = Result<T, IndexError>;

/// Where a member's outcome goes: a blocked thread or an awaiting task.
enum Reply<T> {
    Blocking(mpsc::SyncSender<Outcome<T>>),
    Async(oneshot::Sender<Outcome<T>>),
}

struct Queued<O: BatchOp> {
    op: O,
    /// Set by `run`.
    result: Option<Outcome<O::Output>>,
    reply: Reply<O::Output>,
}

/// An error from `apply`, after which the transaction may hold partial writes.
struct Applied(IndexError);

impl<O: BatchOp> Member for Queued<O> {
    fn run(&mut self, tables: &mut Tables<'_>) -> bool {
        let op = &self.op;
        let run = catch_unwind(AssertUnwindSafe(|| {
            op.check(tables)?;
            // From here on a failure may leave writes behind.
            Ok(op.apply(tables).map_err(Applied))
        }));
        let (result, poisons) = match run {
            Ok(Ok(Ok(value))) => (Ok(value), false),
            Ok(Ok(Err(Applied(e)))) => (Err(e), true),
            // Refused by `check`: nothing written.
            Ok(Err(e)) => (Err(e), false),
            Err(_) => (Err(IndexError::Writer("index write panicked".into())), true),
        };
        self.result = Some(result);
        poisons
    }

    fn settle(self: Box<Self>, failed: Option<&str>) {
        let outcome = match (failed, self.result) {
            (Some(why), _) => Err(IndexError::Writer(format!("index commit failed: {why}"))),
            (None, Some(result)) => result,
            (None, None) => Err(IndexError::Writer("index write never ran".into())),
        };
        // A caller that stopped waiting (a dropped request) no longer needs the answer.
        let _ = match self.reply {
            Reply::Blocking(tx) => tx.send(outcome).map_err(drop),
            Reply::Async(tx) => tx.send(outcome).map_err(drop),
        };
    }
}

impl Index {
    /// Runs `op` in a transaction shared with concurrent writers (see the module docs) and
    /// returns once it is durable. Blocks: async callers use [`Index::write_batched_async`].
    pub(super) fn write_batched<O: BatchOp>(&self, op: O) -> Outcome<O::Output> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.batch.submit(Box::new(Queued {
            op,
            result: None,
            reply: Reply::Blocking(tx),
        }))?;
        rx.recv().unwrap_or_else(|_| Err(writer_gone()))
    }

    /// [`Index::write_batched`] for async callers: the returned future only waits for the
    /// writer thread, and does not borrow the index.
    pub(super) fn write_batched_async<O: BatchOp>(
        &self,
        op: O,
    ) -> impl Future<Output = Outcome<O::Output>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let queued = self.batch.submit(Box::new(Queued {
            op,
            result: None,
            reply: Reply::Async(tx),
        }));
        async move {
            queued?;
            rx.await.unwrap_or_else(|_| Err(writer_gone()))
        }
    }
}

#[cfg(test)]
mod tests;
