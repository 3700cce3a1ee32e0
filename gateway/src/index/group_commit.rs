//! Group commit: many concurrent index writes share one fsync.
//!
//! redb runs one write transaction at a time, and a durable (`Immediate`) commit pays for page
//! writes plus fsync while every other writer waits, which capped small PUTs near 1,000/s. So each
//! write commits without durability (`Durability::None`: applied, visible, not yet synced), takes a
//! sequence number, and then waits here until an `Immediate` commit made after it has returned.
//! Whoever arrives while no flush is running does the flush, for everything committed so far; the
//! writers that commit during that flush are covered by the next one. Under load one fsync
//! acknowledges a whole batch; alone, a writer pays one commit plus one flush. A commit is
//! numbered before it is made, under redb's write lock, so its number exists before anyone can
//! read it.
//!
//! A write is acknowledged only once durable. What a concurrent reader may see early is a commit
//! that a crash could still roll back, so code that destroys data on the strength of what it read
//! (the garbage collector and the orphan sweep delete shards) first calls [`Index::sync`], which
//! makes everything it read durable.
//!
//! [`Index::sync`]: super::Index::sync

use std::sync::{Condvar, Mutex, MutexGuard};

use super::IndexError;

/// Sequence numbers of non-durable commits, and how far they have been made durable.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    flushed: Condvar,
}

#[derive(Default)]
struct State {
    /// Non-durable commits so far (the last one's sequence number).
    committed: u64,
    /// Every commit up to this sequence number is durable.
    durable: u64,
    /// A flush is running; others wait for it instead of starting their own.
    flushing: bool,
    /// The last flush that failed: the sequence it covered and why. Writers at or below it get
    /// the error (their data may or may not survive a crash, so they must not be acknowledged).
    failed: Option<(u64, String)>,
}

impl GroupCommit {
    /// Numbers a non-durable commit about to be made (call it while the write transaction is
    /// still open), and gives its sequence number.
    pub fn committed(&self) -> u64 {
        let mut state = self.lock();
        state.committed += 1;
        state.committed
    }

    /// The sequence number of the newest commit: waiting for it makes everything visible now
    /// durable.
    pub fn latest(&self) -> u64 {
        self.lock().committed
    }

    /// Blocks until commit `seq` is durable. Runs `flush` (a durable commit) itself when no
    /// other thread is flushing.
    pub fn wait_durable(
        &self,
        seq: u64,
        flush: impl Fn() -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        let mut state = self.lock();
        loop {
            if state.durable >= seq {
                return Ok(());
            }
            if let Some((through, why)) = &state.failed
                && *through >= seq
            {
                return Err(IndexError::Writer(format!("index sync failed: {why}")));
            }
            if state.flushing {
                state = self
                    .flushed
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // Everything counted in `committed` has committed or holds the write lock, so a
            // durable commit that begins after this point covers all of it.
            state.flushing = true;
            let target = state.committed;
            drop(state);
            // A panic inside the flush must not leave `flushing` set: every writer would wait
            // for it forever.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&flush))
                .unwrap_or_else(|_| Err(IndexError::Writer("index flush panicked".into())));
            state = self.lock();
            state.flushing = false;
            match outcome {
                Ok(()) => state.durable = state.durable.max(target),
                Err(e) => state.failed = Some((target, e.to_string())),
            }
            self.flushed.notify_all();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a few integers updated in single steps: still consistent after a panic
        // elsewhere, so a poisoned lock is taken over rather than propagated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_lone_writer_flushes_once() {
        let group = GroupCommit::default();
        let flushes = AtomicUsize::new(0);
        let seq = group.committed();
        group
            .wait_durable(seq, || {
                flushes.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .unwrap();
        // Already durable: no second flush.
        group.wait_durable(seq, || panic!("not needed")).unwrap();
        assert_eq!(flushes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn concurrent_writers_share_flushes() {
        let group = Arc::new(GroupCommit::default());
        let flushes = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (group, flushes) = (group.clone(), flushes.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let seq = group.committed();
                        group
                            .wait_durable(seq, || {
                                flushes.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(std::time::Duration::from_millis(1));
                                Ok(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let flushes = flushes.load(Ordering::SeqCst);
        assert!(flushes < 800, "800 commits took {flushes} flushes");
        assert_eq!(group.lock().durable, 800);
    }

    #[test]
    fn a_failed_flush_fails_the_writers_it_covered_only() {
        let group = GroupCommit::default();
        let first = group.committed();
        let err = group
            .wait_durable(first, || Err(IndexError::Writer("disk gone".into())))
            .unwrap_err();
        assert!(err.to_string().contains("disk gone"), "{err}");
        // Asking again does not hide the failure behind a later success...
        let again = group.wait_durable(first, || panic!("must not retry for a failed seq"));
        assert!(again.is_err());
        // ...while a later commit is flushed (and with it the earlier data) normally.
        let second = group.committed();
        group.wait_durable(second, || Ok(())).unwrap();
        assert_eq!(group.lock().durable, 2);
    }
}
