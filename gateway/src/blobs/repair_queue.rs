//! Shards known to be missing or rotten, waiting for the repair loop.
//!
//! Writers report shards that missed their node, readers report shards that were missing, slow to
//! fail or failed verification. The queue deduplicates by (chunk, shard) so a hot object read many
//! times while a node is down does not flood it, and it is bounded so a long outage cannot grow it
//! without limit (the scrubber finds whatever falls off).

use std::collections::{BTreeMap, btree_map::Entry};
use std::sync::Mutex;

use floe_codec::ChunkId;

/// Why a shard needs repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairReason {
    /// A write could not store it.
    WriteFailed,
    /// The node did not have it.
    Missing,
    /// The node (or the gateway) found its bytes did not match the hash.
    Corrupt,
    /// The node could not be reached or answered with an error.
    Unreachable,
}

/// One shard that needs repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardFault {
    pub chunk: ChunkId,
    pub shard: u16,
    pub node: String,
    pub reason: RepairReason,
}

/// Bounded, deduplicated set of shard faults.
#[derive(Debug)]
pub struct RepairQueue {
    capacity: usize,
    faults: Mutex<BTreeMap<(ChunkId, u16), ShardFault>>,
}

impl RepairQueue {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            faults: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records a fault; returns false when the queue is full and the fault was dropped.
    pub fn report(&self, fault: ShardFault) -> bool {
        tracing::warn!(
            chunk = %fault.chunk, shard = fault.shard, node = %fault.node, reason = ?fault.reason,
            "shard needs repair"
        );
        let mut faults = self.lock();
        let len = faults.len();
        match faults.entry((fault.chunk, fault.shard)) {
            Entry::Occupied(mut e) => {
                // Corruption is the most urgent reason: never downgrade it.
                if e.get().reason != RepairReason::Corrupt {
                    e.insert(fault);
                }
                true
            }
            Entry::Vacant(e) if len < self.capacity => {
                e.insert(fault);
                true
            }
            Entry::Vacant(_) => false,
        }
    }

    /// Puts faults taken with [`take`](Self::take) back, quietly (they were logged when first
    /// reported): the repair loop does this for chunks it cannot handle yet.
    pub fn requeue(&self, faults: impl IntoIterator<Item = ShardFault>) {
        let mut faults_map = self.lock();
        for fault in faults {
            if faults_map.len() >= self.capacity {
                break;
            }
            faults_map
                .entry((fault.chunk, fault.shard))
                .or_insert(fault);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the current faults, ordered by chunk and shard.
    pub fn snapshot(&self) -> Vec<ShardFault> {
        self.lock().values().cloned().collect()
    }

    /// Removes and returns up to `max` faults for a repair pass.
    pub fn take(&self, max: usize) -> Vec<ShardFault> {
        let mut faults = self.lock();
        let keys: Vec<_> = faults.keys().take(max).copied().collect();
        keys.iter().filter_map(|k| faults.remove(k)).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(ChunkId, u16), ShardFault>> {
        // A poisoned lock only means another thread panicked mid-report; the map is still valid.
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(byte: u8, shard: u16, reason: RepairReason) -> ShardFault {
        ShardFault {
            chunk: ChunkId::from_bytes([byte; 32]),
            shard,
            node: "n".into(),
            reason,
        }
    }

    #[test]
    fn dedups_and_bounds() {
        let q = RepairQueue::new(2);
        assert!(q.report(fault(1, 0, RepairReason::Corrupt)));
        assert!(q.report(fault(1, 0, RepairReason::Missing)));
        assert_eq!(q.snapshot()[0].reason, RepairReason::Corrupt);
        assert!(q.report(fault(1, 1, RepairReason::Missing)));
        assert!(!q.report(fault(2, 0, RepairReason::Missing)));
        assert_eq!(q.len(), 2);
        assert_eq!(q.take(1).len(), 1);
        assert_eq!(q.len(), 1);
    }
}
