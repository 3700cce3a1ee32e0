//! Shared test fixtures: an in-process node on a random port with a temp data dir, a client for
//! it, sample shards and a raw HTTP/1.1 sender for requests the typed client refuses to make.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use floe_codec::{ChunkId, ShardHash};
use floe_node::auth::unix_now;
use floe_node::{ClientOptions, ClusterSecret, NodeClient, NodeConfig, NodeState, ShardKey, sign};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const SECRET: &str = "test-cluster-secret-0123456789abcdef";

pub fn secret() -> ClusterSecret {
    SECRET.parse().unwrap()
}

pub struct TestNode {
    pub dir: TempDir,
    pub addr: SocketAddr,
    pub url: String,
    pub state: Arc<NodeState>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

pub async fn start() -> TestNode {
    start_in(tempfile::tempdir().unwrap(), u64::MAX).await
}

/// Starts a node on `dir` with a PUT cap of `max_shard_bytes` (`u64::MAX` = default).
pub async fn start_in(dir: TempDir, max_shard_bytes: u64) -> TestNode {
    start_storing(dir, max_shard_bytes, Form::Default).await
}

/// How a test node stores its shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The default: small shards packed, large ones files.
    Default,
    /// Every shard a file of its own.
    Files,
}

/// Starts a node on `dir` storing shards in `form`.
pub async fn start_storing(dir: TempDir, max_shard_bytes: u64, form: Form) -> TestNode {
    let mut config = NodeConfig::new(dir.path().join("data"), secret());
    if max_shard_bytes != u64::MAX {
        config.max_shard_bytes = max_shard_bytes;
    }
    if form == Form::Files {
        config.pack_shards_below = 0;
    }
    let state = Arc::new(NodeState::open(&config).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(floe_node::run(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    TestNode {
        dir,
        addr,
        url: format!("http://{addr}"),
        state,
        stop,
        task,
    }
}

impl TestNode {
    pub fn client(&self) -> NodeClient {
        NodeClient::new(&self.url, secret(), fast_options()).unwrap()
    }

    /// Stops the server gracefully and hands back the data directory for a restart.
    pub async fn stop(self) -> TempDir {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server did not stop")
            .unwrap()
            .unwrap();
        // The store (and its directory lock) goes away with the last reference to the state.
        drop(self.state);
        self.dir
    }
}

pub fn fast_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        retries: 2,
        retry_backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}

/// Flips bits `xor` of the byte `offset` bytes into shard `key`'s payload on disk, wherever
/// the node keeps it.
pub fn damage_payload(node: &TestNode, key: &ShardKey, offset: u64, xor: u8) {
    let place = node.state.store().on_disk(key).expect("shard on disk");
    flip(&place.path, place.payload_at + offset, xor);
}

/// Flips bits `xor` of the byte at `at` of the file at `path`.
pub fn flip(path: &std::path::Path, at: u64, xor: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= xor;
    std::fs::write(path, bytes).unwrap();
}

pub fn chunk(n: u8) -> ChunkId {
    ChunkId::from_bytes([n; 32])
}

/// Deterministic shard bytes and their hash.
pub fn shard(seed: u8, len: usize) -> (Bytes, ShardHash) {
    let bytes = floe_testkit::pattern(len, u64::from(seed));
    let hash = ShardHash::of(&bytes);
    (Bytes::from(bytes), hash)
}

/// Signature headers for a raw request, as `Name: value\r\n` lines.
pub fn auth_lines(secret: &ClusterSecret, method: &str, pq: &str, date: u64) -> String {
    let sig = sign(secret, method, pq, date, None);
    format!("x-floe-date: {date}\r\nx-floe-signature: {sig}\r\n")
}

pub fn signed_lines(method: &str, pq: &str) -> String {
    auth_lines(&secret(), method, pq, unix_now())
}

/// Sends `head` (request line and headers, without the final blank line) plus `body` on a
/// fresh connection and returns the status code and the whole response text.
pub async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{head}Host: test\r\nConnection: close\r\n");
    if !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    // The node may close before reading a refused body; whatever arrived is the answer.
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

/// A raw GET/DELETE/... with valid signature headers.
pub async fn raw_signed(addr: SocketAddr, method: &str, pq: &str) -> (u16, String) {
    let head = format!("{method} {pq} HTTP/1.1\r\n{}", signed_lines(method, pq));
    raw(addr, &head, b"").await
}

pub fn key(n: u8, index: u16) -> ShardKey {
    ShardKey::new(chunk(n), index)
}
