//! Cluster membership as placement sees it: which nodes take new shards, and where a chunk's
//! shards are expected.
//!
//! A node is either active or draining. New shards go to the rendezvous placement over the active
//! nodes only; a draining node keeps serving what it holds until the drain pass has copied it to
//! that placement. Until then, a shard missing at its placement node may still sit where the
//! placement over *every* node puts it, so readers and repair look there too
//! ([`BlobStore::previous_placement`]). Placement stays a pure function of the chunk id and the
//! node keys, so the gateway, repair and drain agree without storing per-chunk locations.

use floe_codec::{ChunkId, place};

use super::cluster::BlobStore;
use super::error::BlobError;

/// Per-node drain flags, indexed like `BlobStore::nodes`.
#[derive(Debug, Clone)]
pub(super) struct Membership {
    draining: Vec<bool>,
}

impl Membership {
    pub(super) fn all_active(nodes: usize) -> Self {
        Self {
            draining: vec![false; nodes],
        }
    }

    fn active(&self) -> Vec<usize> {
        (0..self.draining.len())
            .filter(|&i| !self.draining[i])
            .collect()
    }
}

/// How many nodes hold each metadata record at least (see `recovery`); more with a larger m.
pub const RECORD_COPIES: usize = 3;

impl BlobStore {
    fn membership(&self) -> Membership {
        // Poisoning needs a panic while holding the lock, which only flips a bool.
        self.membership
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The node a name refers to: its placement key or its URL (a trailing slash is ignored).
    pub fn node_by_name(&self, name: &str) -> Option<usize> {
        let name = name.trim_end_matches('/');
        self.keys()
            .iter()
            .position(|k| k == name)
            .or_else(|| self.nodes().iter().position(|n| n.url() == name))
    }

    /// Marks a node draining (or active again). Refuses to drain below k + m active nodes, where
    /// no chunk could be placed any more.
    pub fn set_draining(&self, node: usize, draining: bool) -> Result<(), BlobError> {
        let mut membership = self.membership.write().unwrap_or_else(|e| e.into_inner());
        let Some(flag) = membership.draining.get(node).copied() else {
            return Err(BlobError::Config(format!("no node number {node}")));
        };
        if draining && !flag {
            let active = membership.active().len();
            let total = self.config().params.total();
            if active <= total {
                return Err(BlobError::Config(format!(
                    "cannot drain: {active} active nodes, and erasure code {} needs {total}",
                    self.config().params
                )));
            }
        }
        membership.draining[node] = draining;
        Ok(())
    }

    /// Indices of the nodes being drained.
    pub fn draining_nodes(&self) -> Vec<usize> {
        let membership = self.membership();
        (0..membership.draining.len())
            .filter(|&i| membership.draining[i])
            .collect()
    }

    pub fn is_draining(&self, node: usize) -> bool {
        self.membership()
            .draining
            .get(node)
            .copied()
            .unwrap_or(false)
    }

    /// The node that must hold each shard of `chunk` with `total` shards: entry i serves shard i.
    /// Only active nodes are chosen.
    pub(crate) fn placement(&self, chunk: &ChunkId, total: usize) -> Result<Vec<usize>, BlobError> {
        self.place_among(chunk, &self.membership().active(), total)
    }

    /// Where the shards of `chunk` were placed before the current drains: the placement over
    /// every node. `None` when nothing drains, or when it equals [`placement`](Self::placement).
    pub(crate) fn previous_placement(
        &self,
        chunk: &ChunkId,
        total: usize,
        current: &[usize],
    ) -> Option<Vec<usize>> {
        let membership = self.membership();
        if !membership.draining.contains(&true) {
            return None;
        }
        let all: Vec<usize> = (0..membership.draining.len()).collect();
        let before = self.place_among(chunk, &all, total).ok()?;
        (before != current).then_some(before)
    }

    /// The active nodes holding the metadata record with id `id`: m + 2 of them (at least
    /// [`RECORD_COPIES`]), so that m + 1 copies can be made with one node down.
    pub(crate) fn record_placement(&self, id: &[u8; 32]) -> Vec<usize> {
        let active = self.membership().active();
        let wanted = (self.config().params.m() + 2).max(RECORD_COPIES);
        let count = wanted.min(active.len());
        self.place_among(&ChunkId::from_bytes(*id), &active, count)
            .unwrap_or_default()
    }

    /// Joins to this gateway's cluster every node that answers and has joined none yet: an
    /// empty replacement for a lost disk, at the address of the node it replaces. A node that
    /// belongs to another cluster keeps refusing us; nothing here changes that.
    pub async fn join_new_nodes(&self) {
        for node in self.nodes() {
            let Some(cluster) = node.cluster() else {
                continue;
            };
            if let Ok(info) = node.cluster_info().await
                && info.cluster.is_none()
            {
                match node.join_cluster(cluster).await {
                    Ok(_) => {
                        tracing::info!(node = node.url(), cluster, "new node joined the cluster")
                    }
                    Err(e) => tracing::warn!(node = node.url(), error = %e, "node could not join"),
                }
            }
        }
    }

    /// How many nodes must hold a record before its change is acknowledged: m + 1, so that
    /// losing the gateway's disk and any m nodes together still leaves one.
    pub(crate) fn record_quorum(&self) -> usize {
        self.config().params.m() + 1
    }

    fn place_among(
        &self,
        chunk: &ChunkId,
        nodes: &[usize],
        total: usize,
    ) -> Result<Vec<usize>, BlobError> {
        let keys: Vec<&str> = nodes.iter().map(|&i| self.keys()[i].as_str()).collect();
        let chosen = place(chunk, &keys, total)?;
        Ok(chosen.into_iter().map(|pos| nodes[pos]).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use floe_codec::CodecParams;
    use floe_node::{ClientOptions, ClusterSecret, NodeClient};

    use super::*;
    use crate::blobs::ClusterConfig;

    fn store(nodes: usize) -> BlobStore {
        let secret = ClusterSecret::from_bytes("s").unwrap();
        let options = ClientOptions {
            timeout: Duration::from_millis(10),
            ..ClientOptions::default()
        };
        let clients = (0..nodes)
            .map(|i| {
                NodeClient::new(
                    &format!("http://127.0.0.1:{}", 1000 + i),
                    secret.clone(),
                    options.clone(),
                )
                .unwrap()
            })
            .collect();
        BlobStore::new(clients, ClusterConfig::new(CodecParams::new(4, 2).unwrap())).unwrap()
    }

    #[test]
    fn draining_node_leaves_placement_but_not_previous_placement() {
        let store = store(7);
        assert_eq!(store.node_by_name("http://127.0.0.1:1003/"), Some(3));
        assert_eq!(store.node_by_name("nope"), None);
        store.set_draining(3, true).unwrap();
        assert_eq!(store.draining_nodes(), [3]);
        // Down to k + m active nodes: no second drain.
        assert!(store.set_draining(4, true).is_err());
        let mut moved = 0;
        for n in 0..200u64 {
            let id = ChunkId::from_bytes(*blake3::hash(&n.to_le_bytes()).as_bytes());
            let now = store.placement(&id, 6).unwrap();
            assert!(!now.contains(&3));
            assert!(!store.record_placement(id.as_bytes()).contains(&3));
            if let Some(before) = store.previous_placement(&id, 6, &now) {
                assert!(before.contains(&3));
                moved += 1;
            }
        }
        assert!(moved > 100, "{moved}");
        store.set_draining(3, false).unwrap();
        assert!(store.draining_nodes().is_empty());
    }
}
