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

/// What a shard request to a node was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardOp {
    Read,
    Write,
}

/// Shard requests to one node that succeeded and failed, by kind (for metrics).
#[derive(Debug, Default)]
struct Traffic {
    reads_ok: AtomicU64,
    reads_failed: AtomicU64,
    writes_ok: AtomicU64,
    writes_failed: AtomicU64,
}

/// A copy of one node's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficSnapshot {
    pub reads_ok: u64,
    pub reads_failed: u64,
    pub writes_ok: u64,
    pub writes_failed: u64,
}

/// Per-node "skip until" marks and traffic counters.
#[derive(Debug)]
pub struct NodeHealth {
    down_until: Vec<AtomicU64>,
    traffic: Vec<Traffic>,
}

impl NodeHealth {
    pub fn new(nodes: usize) -> Self {
        Self {
            down_until: (0..nodes).map(|_| AtomicU64::new(0)).collect(),
            traffic: (0..nodes).map(|_| Traffic::default()).collect(),
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

    /// Records the outcome of a shard request to node `i`: transport failures (refused, reset,
    /// timed out) mark it down, any answer from it marks it up.
    pub fn observe<T>(&self, i: usize, op: ShardOp, result: &Result<T, floe_node::ClientError>) {
        match result {
            Err(e) if e.is_transient() => self.mark_down(i),
            _ => self.mark_up(i),
        }
        if let Some(t) = self.traffic.get(i) {
            let counter = match (op, result.is_ok()) {
                (ShardOp::Read, true) => &t.reads_ok,
                (ShardOp::Read, false) => &t.reads_failed,
                (ShardOp::Write, true) => &t.writes_ok,
                (ShardOp::Write, false) => &t.writes_failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Node `i`'s shard request counters.
    pub fn traffic(&self, i: usize) -> TrafficSnapshot {
        self.traffic
            .get(i)
            .map(|t| TrafficSnapshot {
                reads_ok: t.reads_ok.load(Ordering::Relaxed),
                reads_failed: t.reads_failed.load(Ordering::Relaxed),
                writes_ok: t.writes_ok.load(Ordering::Relaxed),
                writes_failed: t.writes_failed.load(Ordering::Relaxed),
            })
            .unwrap_or_default()
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
