//! Progress of the long maintenance operation in hand (repair sweep, scrub, GC, drain, index
//! rebuild), for `GET /admin/progress` and the log.
//!
//! One operation runs at a time (the repairer serializes them), so a single slot suffices. Every
//! [`LOG_EVERY`] units of work the progress is also logged at info level, so a long operation run
//! from the admin API is visible in the gateway's log even when nobody polls.

use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Units of work (chunks, shards, records) between two progress lines in the log.
pub const LOG_EVERY: u64 = 1000;

/// What `GET /admin/progress` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressSnapshot {
    /// "repair", "scrub", "gc", "drain", "rebuild-index".
    pub operation: String,
    /// The step within the operation, e.g. "listing node 3" or "repairing".
    pub phase: String,
    pub done: u64,
    /// Units in this phase, when known up front.
    pub total: Option<u64>,
    pub elapsed_ms: u64,
}

#[derive(Debug)]
struct State {
    operation: String,
    phase: String,
    done: u64,
    total: Option<u64>,
    started: Instant,
}

/// The progress slot.
#[derive(Debug, Default)]
pub struct Progress {
    state: Mutex<Option<State>>,
}

impl Progress {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<State>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts reporting `operation`; the report ends when the guard is dropped.
    pub fn begin(&self, operation: &str) -> ProgressGuard<'_> {
        tracing::info!(operation, "maintenance operation started");
        *self.lock() = Some(State {
            operation: operation.to_owned(),
            phase: String::new(),
            done: 0,
            total: None,
            started: Instant::now(),
        });
        ProgressGuard { progress: self }
    }

    /// Enters a new phase, counting from zero.
    pub fn phase(&self, phase: &str, total: Option<u64>) {
        if let Some(state) = self.lock().as_mut() {
            tracing::info!(
                operation = state.operation,
                phase,
                total,
                "maintenance phase"
            );
            state.phase = phase.to_owned();
            state.done = 0;
            state.total = total;
        }
    }

    /// Counts `n` more units done in the current phase.
    pub fn advance(&self, n: u64) {
        if let Some(state) = self.lock().as_mut() {
            let before = state.done;
            state.done += n;
            if before / LOG_EVERY != state.done / LOG_EVERY {
                tracing::info!(
                    operation = state.operation,
                    phase = state.phase,
                    done = state.done,
                    total = state.total,
                    elapsed_ms = state.started.elapsed().as_millis() as u64,
                    "maintenance progress"
                );
            }
        }
    }

    /// The operation in hand, if any.
    pub fn snapshot(&self) -> Option<ProgressSnapshot> {
        self.lock().as_ref().map(|s| ProgressSnapshot {
            operation: s.operation.clone(),
            phase: s.phase.clone(),
            done: s.done,
            total: s.total,
            elapsed_ms: s.started.elapsed().as_millis() as u64,
        })
    }
}

/// Clears the progress slot when the operation ends, however it ends.
#[derive(Debug)]
pub struct ProgressGuard<'a> {
    progress: &'a Progress,
}

impl Drop for ProgressGuard<'_> {
    fn drop(&mut self) {
        if let Some(state) = self.progress.lock().take() {
            tracing::info!(
                operation = state.operation,
                elapsed_ms = state.started.elapsed().as_millis() as u64,
                "maintenance operation finished"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_count_and_guard_clears() {
        let progress = Progress::default();
        assert_eq!(progress.snapshot(), None);
        {
            let _guard = progress.begin("repair");
            progress.phase("repairing", Some(3000));
            progress.advance(1500);
            progress.advance(1);
            let snap = progress.snapshot().unwrap();
            assert_eq!(
                (snap.operation.as_str(), snap.phase.as_str()),
                ("repair", "repairing")
            );
            assert_eq!((snap.done, snap.total), (1501, Some(3000)));
            progress.phase("done", None);
            assert_eq!(progress.snapshot().unwrap().done, 0);
        }
        assert_eq!(progress.snapshot(), None);
    }
}
