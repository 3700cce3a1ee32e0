//! A cluster of real `floe node` processes (started by `floe_testkit`) on 127.0.0.1 with ports
//! chosen at run time, and clients and blob stores over it.

#![allow(dead_code)] // each test binary uses a different part of this file

use std::sync::Arc;
use std::time::Duration;

use floe_codec::CodecParams;
use floe_gateway::blobs::{BlobStore, ClusterConfig};
use floe_node::{ClientOptions, ClusterSecret, NodeClient};
pub use floe_testkit::{NodeProcess, NodeSpec, pattern};

pub const SECRET: &str = "floe-test-cluster-secret-0123456789abcdef";

/// Client options for drills that kill nodes: a short timeout and no retries, so a request
/// that fails at the kill is reported as failed, never retried into the restarted node.
pub fn no_retry_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        retries: 0,
        retry_backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}

/// Every shard a node's data directory holds, packed or a file (read while it runs).
pub fn shards_on_disk(node: &NodeProcess) -> Vec<floe_node::inspect::FoundShard> {
    floe_node::inspect::shards(&node.data_dir()).expect("read the node's data directory")
}

/// Flips bits `xor` of the byte at `at` of the file at `path` in place, leaving the rest of the
/// file (a pack segment other shards share) as it is.
pub fn flip_byte(path: &std::path::Path, at: u64, xor: u8) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open shard storage");
    let mut byte = [0u8; 1];
    file.read_exact_at(&mut byte, at).expect("read byte");
    byte[0] ^= xor;
    file.write_all_at(&byte, at).expect("write byte");
}

/// A set of node processes in one temporary directory.
pub struct LocalCluster {
    pub nodes: Vec<NodeProcess>,
    _tmp: tempfile::TempDir,
}

impl LocalCluster {
    pub fn start(count: usize) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let spec = NodeSpec::new(SECRET);
        let nodes = (0..count)
            .map(|i| {
                NodeProcess::start(&spec, &tmp.path().join(format!("node{i}")), "127.0.0.1:0")
                    .expect("floe node starts")
            })
            .collect();
        Self { nodes, _tmp: tmp }
    }

    /// Starts one more node in the cluster's directory.
    pub fn add_node(&mut self) {
        let dir = self._tmp.path().join(format!("node{}", self.nodes.len()));
        let node = NodeProcess::start(&NodeSpec::new(SECRET), &dir, "127.0.0.1:0");
        self.nodes.push(node.expect("floe node starts"));
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(NodeProcess::url).collect()
    }

    /// Clients of the nodes, bound to the cluster a gateway joined them to (if it did): a
    /// joined node serves only requests that name its cluster.
    pub fn clients(&self, options: ClientOptions) -> Vec<NodeClient> {
        let secret = ClusterSecret::from_bytes(SECRET).expect("secret");
        self.nodes
            .iter()
            .map(|node| {
                let client =
                    NodeClient::new(&node.url(), secret.clone(), options.clone()).expect("client");
                if let Some(cluster) = node.cluster_id() {
                    client.bind_cluster(&cluster);
                }
                client
            })
            .collect()
    }

    /// A blob store over these nodes with `k+m`: default settings, but no timing tricks (below).
    pub fn blob_store(&self, k: u16, m: u16) -> Arc<BlobStore> {
        let params = CodecParams::new(k, m).expect("params");
        let options = ClientOptions {
            timeout: Duration::from_secs(5),
            retries: 1,
            retry_backoff: Duration::from_millis(20),
            ..ClientOptions::default()
        };
        let mut config = ClusterConfig::new(params);
        // Timing out of the tests' way on a loaded machine: a write waits for every live node
        // (so all shard files exist when it returns; a dead node still fails at once), and a
        // read fetches the shards it picked instead of hedging a slow one with parity.
        config.straggler_grace = Duration::from_secs(30);
        config.hedge_after = Duration::from_secs(30);
        Arc::new(BlobStore::new(self.clients(options), config).expect("store"))
    }
}
