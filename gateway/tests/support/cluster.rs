//! Real `floe node` processes on 127.0.0.1 with ports chosen at run time, for tests and benches.

#![allow(dead_code)] // each test binary uses a different part of this file

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use floe_codec::CodecParams;
use floe_gateway::blobs::{BlobStore, ClusterConfig};
use floe_node::{ClientOptions, ClusterSecret, NodeClient};

pub const SECRET: &str = "floe-test-cluster-secret-0123456789abcdef";

/// One storage node process. Killed (SIGKILL) when dropped.
pub struct NodeProcess {
    child: Option<Child>,
    pub dir: PathBuf,
    pub addr: String,
}

impl NodeProcess {
    /// Starts a node on `listen` (use "127.0.0.1:0" for a fresh port) storing into `dir`.
    pub fn start(dir: &Path, listen: &str) -> Self {
        std::fs::create_dir_all(dir).expect("create node dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))
            .expect("open node log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_floe"))
            .args(["node", "--listen", listen, "--data"])
            .arg(dir.join("data"))
            .env("FLOE_CLUSTER_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn floe node");
        let stdout = child.stdout.take().expect("node stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the node never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("node in {} did not start", dir.display()));
        let addr = line
            .rsplit("http://")
            .next()
            .expect("listening line carries an address")
            .trim()
            .to_string();
        Self {
            child: Some(child),
            dir: dir.to_path_buf(),
            addr,
        }
    }

    /// The cluster this node has joined, read from its data directory.
    pub fn cluster_id(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("data").join("cluster-id"))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// kill -9: no chance to flush or clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node again on the same address and data.
    pub fn restart(&mut self) {
        self.kill();
        let addr = self.addr.clone();
        let mut last = None;
        // The port may linger briefly after the kill (up to 30 s of attempts, for a loaded machine).
        for _ in 0..300 {
            let attempt = std::panic::catch_unwind(|| Self::start(&self.dir, &addr));
            match attempt {
                Ok(node) => {
                    *self = node;
                    return;
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        std::panic::resume_unwind(last.expect("at least one attempt"));
    }

    /// Replaces the node with an empty one on the same address: kill -9, delete its data, start.
    pub fn replace_with_empty(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(self.data_dir());
        self.restart();
    }

    /// Every shard file this node holds.
    pub fn shard_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let root = self.data_dir().join("shards");
        let Ok(prefixes) = std::fs::read_dir(&root) else {
            return out;
        };
        for prefix in prefixes.flatten() {
            if let Ok(files) = std::fs::read_dir(prefix.path()) {
                out.extend(files.flatten().map(|f| f.path()));
            }
        }
        out.sort();
        out
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A set of node processes in one temporary directory.
pub struct LocalCluster {
    pub nodes: Vec<NodeProcess>,
    _tmp: tempfile::TempDir,
}

impl LocalCluster {
    pub fn start(count: usize) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let nodes = (0..count)
            .map(|i| NodeProcess::start(&tmp.path().join(format!("node{i}")), "127.0.0.1:0"))
            .collect();
        Self { nodes, _tmp: tmp }
    }

    /// Starts one more node in the cluster's directory.
    pub fn add_node(&mut self) {
        let dir = self._tmp.path().join(format!("node{}", self.nodes.len()));
        self.nodes.push(NodeProcess::start(&dir, "127.0.0.1:0"));
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

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
