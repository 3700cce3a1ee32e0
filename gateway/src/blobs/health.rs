//! Which nodes recently failed to answer. A node that refused a connection or timed out is
//! skipped for a short while, so reads go straight to parity instead of paying connect errors
//! and client retries on every chunk, and writes do not wait on it. After the pause the node
//! is tried again; one success clears the mark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a failed node is skipped before it is tried again.
pub const DOWN_PAUSE: Duration = Duration::from_secs(2);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Per-node "skip until" marks.
#[derive(Debug)]
pub struct NodeHealth {
    down_until: Vec<AtomicU64>,
}

impl NodeHealth {
    pub fn new(nodes: usize) -> Self {
        Self {
            down_until: (0..nodes).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Whether node `i` failed recently and should be skipped.
    pub fn is_down(&self, i: usize) -> bool {
        self.down_until
            .get(i)
            .is_some_and(|t| t.load(Ordering::Relaxed) > now_ms())
    }

    pub fn mark_down(&self, i: usize) {
        if let Some(t) = self.down_until.get(i) {
            t.store(now_ms() + DOWN_PAUSE.as_millis() as u64, Ordering::Relaxed);
        }
    }

    pub fn mark_up(&self, i: usize) {
        if let Some(t) = self.down_until.get(i) {
            t.store(0, Ordering::Relaxed);
        }
    }

    /// Records the outcome of a request to node `i`: transport failures (refused, reset, timed
    /// out) mark it down, any answer from it marks it up.
    pub fn observe<T>(&self, i: usize, result: &Result<T, floe_node::ClientError>) {
        match result {
            Err(e) if e.is_transient() => self.mark_down(i),
            _ => self.mark_up(i),
        }
    }

    /// Nodes currently marked down.
    pub fn down(&self) -> Vec<usize> {
        (0..self.down_until.len())
            .filter(|&i| self.is_down(i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_expire_and_clear() {
        let h = NodeHealth::new(3);
        assert!(!h.is_down(1));
        h.mark_down(1);
        assert!(h.is_down(1));
        assert_eq!(h.down(), vec![1]);
        h.mark_up(1);
        assert!(!h.is_down(1));
        assert!(!h.is_down(7), "unknown nodes are never down");
    }
}
