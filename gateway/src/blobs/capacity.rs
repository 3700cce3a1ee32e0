//! The cluster's capacity as the data sees it: what the nodes' filesystems hold and have free,
//! scaled by the code's rate (k of every k+m shard bytes are data), so a client planning
//! placement (Veeam's capacity report) sees bytes it can actually write.

use std::time::Duration;

use futures::future::join_all;

use super::BlobStore;

/// How long one node may take to report its figures; a silent node counts as nothing.
const STATS_TIMEOUT: Duration = Duration::from_secs(3);

/// Usable bytes: raw bytes times k / (k + m).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub total: u64,
    pub free: u64,
}

impl Capacity {
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.free)
    }
}

impl BlobStore {
    /// The usable capacity of the nodes that answer now.
    pub async fn capacity(&self) -> Capacity {
        let asks = self
            .nodes()
            .iter()
            .map(|node| tokio::time::timeout(STATS_TIMEOUT, node.stats()));
        let (mut total, mut free) = (0u128, 0u128);
        for stats in join_all(asks).await.into_iter().flatten().flatten() {
            total += u128::from(stats.total_bytes);
            free += u128::from(stats.free_bytes);
        }
        let params = self.config().params;
        let usable = |raw: u128| {
            u64::try_from(raw * params.k() as u128 / params.total() as u128).unwrap_or(u64::MAX)
        };
        Capacity {
            total: usable(total),
            free: usable(free),
        }
    }
}
