//! The node set a gateway writes to, with the codec parameters, write quorum and placement.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use floe_codec::{ChunkRef, CodecParams, DEFAULT_CHUNK_SIZE, ShardHash};
use floe_node::NodeClient;

use super::error::BlobError;
use super::health::NodeHealth;
use super::membership::Membership;
use super::pins::ChunkPins;
use super::repair_queue::RepairQueue;
use super::shard_batches::ShardBatches;

/// Tunables of the blob layer.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub params: CodecParams,
    /// Shards of each chunk that must be durable before a write is acknowledged (k..=k+m).
    pub write_quorum: usize,
    /// Stripe size: objects are cut into chunks of this many bytes.
    pub chunk_size: usize,
    /// A shard read slower than this is hedged with a parity read.
    pub hedge_after: Duration,
    /// After the quorum is reached, how long a write still waits for the remaining shards before
    /// acknowledging (stragglers keep going in the background and report to repair if they fail).
    pub straggler_grace: Duration,
    /// Chunks encoded and sent concurrently by one writer; bounds a writer's memory.
    pub write_ahead: usize,
    /// Chunks fetched ahead of the consumer by one reader; bounds a reader's memory.
    pub read_ahead: usize,
}

impl ClusterConfig {
    /// Defaults for `k+m`: quorum k+1 (capped at k+m), 4 MiB chunks.
    pub fn new(params: CodecParams) -> Self {
        Self {
            params,
            write_quorum: (params.k() + 1).min(params.total()),
            chunk_size: DEFAULT_CHUNK_SIZE,
            hedge_after: Duration::from_millis(800),
            straggler_grace: Duration::from_millis(200),
            write_ahead: 2,
            read_ahead: 2,
        }
    }
}

/// The blob layer's entry point: a cluster of storage nodes and the rules for using them.
#[derive(Debug)]
pub struct BlobStore {
    nodes: Vec<NodeClient>,
    /// Placement keys, one per node (its URL): placement depends on who a node is, not where it
    /// sits in the list.
    pub(super) keys: Vec<String>,
    /// Which nodes are draining; see `membership`.
    pub(super) membership: RwLock<Membership>,
    config: ClusterConfig,
    repairs: Arc<RepairQueue>,
    pins: Arc<ChunkPins>,
    health: Arc<NodeHealth>,
    /// Small shards on their way to each node, sent together when writes overlap.
    batches: Arc<ShardBatches>,
}

impl BlobStore {
    /// A store whose nodes are known by their URLs.
    pub fn new(nodes: Vec<NodeClient>, config: ClusterConfig) -> Result<Self, BlobError> {
        let keys = nodes.iter().map(|n| n.url().to_string()).collect();
        Self::with_keys(nodes, keys, config)
    }

    /// A store whose nodes have stable names of their own (`keys[i]` names `nodes[i]`), for nodes
    /// whose address changes between runs, like the embedded cluster's.
    pub fn with_keys(
        nodes: Vec<NodeClient>,
        keys: Vec<String>,
        config: ClusterConfig,
    ) -> Result<Self, BlobError> {
        let total = config.params.total();
        if nodes.len() < total {
            return Err(BlobError::Config(format!(
                "erasure code {} needs at least {total} nodes, {} configured",
                config.params,
                nodes.len()
            )));
        }
        if config.write_quorum < config.params.k() || config.write_quorum > total {
            return Err(BlobError::Config(format!(
                "write_quorum {} must be between k={} and k+m={total}",
                config.write_quorum,
                config.params.k()
            )));
        }
        if config.chunk_size < 2 || config.chunk_size > u32::MAX as usize {
            return Err(BlobError::Config(format!(
                "chunk size {} out of range",
                config.chunk_size
            )));
        }
        if keys.len() != nodes.len() {
            return Err(BlobError::Config(
                "one placement key per node is required".into(),
            ));
        }
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != keys.len() {
            return Err(BlobError::Config("a node is listed twice".into()));
        }
        let membership = RwLock::new(Membership::all_active(nodes.len()));
        let health = Arc::new(NodeHealth::new(nodes.len()));
        let batches = Arc::new(ShardBatches::new(nodes.len()));
        Ok(Self {
            nodes,
            keys,
            membership,
            config: ClusterConfig {
                write_ahead: config.write_ahead.max(1),
                read_ahead: config.read_ahead.max(1),
                ..config
            },
            repairs: Arc::new(RepairQueue::new(1_000_000)),
            pins: Arc::new(ChunkPins::default()),
            health,
            batches,
        })
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Every node's client, in configuration order (a node's number is its position).
    pub fn nodes(&self) -> &[NodeClient] {
        &self.nodes
    }

    /// Node number `n`'s client, for maintenance that works on one node's holdings (listing,
    /// draining). `n` comes from this store's own placement or node list.
    pub fn node(&self, n: usize) -> &NodeClient {
        &self.nodes[n]
    }

    /// Whether node `n` holds shard `index` of `chunk` intact: the shard is read back whole and
    /// its bytes hashed here. What the node says of it (a HEAD) is not enough to delete the only
    /// other copy on: the file could be rotten, or the node confused.
    pub async fn holds_intact(&self, n: usize, chunk: &ChunkRef, index: usize) -> bool {
        let (Some(node), Some(expected)) = (self.nodes.get(n), chunk.shard_hashes.get(index))
        else {
            return false;
        };
        match node.get_shard(&chunk.id, index as u16).await {
            Ok(bytes) => bytes.len() == chunk.shard_len() && ShardHash::of(&bytes) == *expected,
            Err(_) => false,
        }
    }

    pub fn repairs(&self) -> &Arc<RepairQueue> {
        &self.repairs
    }

    /// Nodes that failed to answer recently (reads skip them for a moment).
    pub fn health(&self) -> &Arc<NodeHealth> {
        &self.health
    }

    /// Chunks in use by writes and reads, which the garbage collector must leave alone.
    pub fn pins(&self) -> &Arc<ChunkPins> {
        &self.pins
    }

    /// The lanes that batch small shards per node.
    pub(super) fn batches(&self) -> &Arc<ShardBatches> {
        &self.batches
    }

    /// The placement keys, one per node, in node order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }
}
