//! `NodeClient`: the typed, signing, retrying HTTP client the gateway uses to talk to one node.
//!
//! Every node operation is idempotent (puts are content-addressed, deletes report rather than
//! require existence), so transient failures — connect errors, timeouts, 5xx — are retried a
//! bounded number of times with doubling backoff. A 4xx is an answer and is never retried.
//! Response bodies are collected whole: shards are a few MiB at most.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use floe_codec::{ChunkId, ShardHash};
use http::header::CONTENT_LENGTH;
use http::{Method, StatusCode};

use crate::auth::ClusterSecret;
use crate::protocol::{
    CLUSTER_PATH, ClusterInfo, HEADER_EXISTED, HEADER_SHARD_HASH, HEALTH_PATH, HOLDS_PATH,
    HoldInfo, HoldItem, LIST_MAX_LIMIT, ListQuery, MAX_BATCH_SHARDS, MOVED_QUERY, NodeStats,
    SHARDS_PATH, STATS_PATH, ScrubQuery, ScrubReport, ShardBatchReply, ShardInfo, ShardItem,
    ShardKey, ShardOutcome, ShardPage, encode_shard_batch,
};
use crate::tls::NodeTrust;
use crate::transport::Transport;

mod records;

pub use records::RecordStored;

/// Timeouts and retry policy of a [`NodeClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Limit on one attempt: connect, send, and read the whole response.
    pub timeout: Duration,
    /// Extra attempts after a transient failure.
    pub retries: u32,
    /// Pause before the first retry; doubled before each further one.
    pub retry_backoff: Duration,
    /// The largest shard or record body a node may send back (the nodes' `max_shard_bytes`).
    pub max_body_bytes: usize,
}

/// Replies that carry no data, only a status or a short error (PUT, HEAD, DELETE, health).
pub(crate) const SMALL_REPLY: usize = 64 * 1024;
/// JSON pages of up to [`LIST_MAX_LIMIT`] entries (listings, scrub reports, stats).
pub(crate) const LIST_REPLY: usize = 32 * 1024 * 1024;

/// A range read returns at most the range, and an error body at most [`SMALL_REPLY`].
fn range_reply(start: u64, end_inclusive: u64) -> usize {
    let len = end_inclusive.saturating_sub(start).saturating_add(1);
    usize::try_from(len).unwrap_or(usize::MAX).max(SMALL_REPLY)
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            retries: 2,
            retry_backoff: Duration::from_millis(50),
            max_body_bytes: crate::config::DEFAULT_MAX_SHARD_BYTES as usize,
        }
    }
}

/// What went wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("shard not found")]
    NotFound,
    #[error("node reports the shard corrupt (quarantined)")]
    Corrupt,
    #[error("node refused the shard: body does not match its hash")]
    HashMismatch,
    #[error("node refused our credentials ({0})")]
    Unauthorized(StatusCode),
    /// The shard's chunk is under a retention hold (423): it stays until the hold's date.
    #[error("node keeps the shard: {0}")]
    Held(String),
    #[error("node did not answer in time")]
    Timeout,
    #[error("node unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected answer from node: {0}")]
    Protocol(String),
    #[error("invalid node url: {0}")]
    InvalidUrl(String),
    #[error("bad JSON from {what}: {source}")]
    Json {
        what: String,
        source: serde_json::Error,
    },
}

impl ClientError {
    /// Whether trying again (here or on another node) may succeed without anything changing.
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Timeout | ClientError::Unavailable(_))
    }

    /// The same failure, for another item of the batch it failed (errors are not `Clone`).
    pub fn for_another(&self) -> ClientError {
        match self {
            ClientError::NotFound => ClientError::NotFound,
            ClientError::Corrupt => ClientError::Corrupt,
            ClientError::HashMismatch => ClientError::HashMismatch,
            ClientError::Unauthorized(status) => ClientError::Unauthorized(*status),
            ClientError::Held(why) => ClientError::Held(why.clone()),
            ClientError::Timeout => ClientError::Timeout,
            ClientError::Unavailable(why) => ClientError::Unavailable(why.clone()),
            ClientError::Protocol(why) => ClientError::Protocol(why.clone()),
            ClientError::InvalidUrl(why) => ClientError::InvalidUrl(why.clone()),
            ClientError::Json { .. } => ClientError::Protocol(self.to_string()),
        }
    }
}

/// A client for one storage node. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct NodeClient {
    inner: Arc<Transport>,
}

impl fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeClient")
            .field("url", &self.inner.base)
            .finish_non_exhaustive()
    }
}

impl NodeClient {
    /// A client for the node at `base_url` (`http://host:port`, trailing slash tolerated).
    pub fn new(
        base_url: &str,
        secret: ClusterSecret,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        Self::with_trust(base_url, secret, options, None)
    }

    /// [`new`](Self::new) that also accepts `https://host:port`, verifying the node's
    /// certificate against `trust` (required for https urls).
    pub fn with_trust(
        base_url: &str,
        secret: ClusterSecret,
        options: ClientOptions,
        trust: Option<&NodeTrust>,
    ) -> Result<Self, ClientError> {
        Ok(NodeClient {
            inner: Arc::new(Transport::new(base_url, secret, options, trust)?),
        })
    }

    /// What the node says of its cluster and records (answered before it has joined one).
    pub async fn cluster_info(&self) -> Result<ClusterInfo, ClientError> {
        self.get_json(CLUSTER_PATH).await
    }

    /// Joins the node to cluster `id` (a no-op if it belongs to it already; refused, as
    /// `Protocol`, if it belongs to another).
    pub async fn join_cluster(&self, id: &str) -> Result<ClusterInfo, ClientError> {
        let path = format!("{CLUSTER_PATH}?join={id}");
        let reply = self
            .inner
            .call(Method::POST, &path, None, None, Bytes::new(), SMALL_REPLY)
            .await?;
        reply.ok_json(&path)
    }

    /// Names cluster `id` in every request from now on, as the node requires once joined.
    /// Returns false if this client is bound to another cluster already.
    pub fn bind_cluster(&self, id: &str) -> bool {
        self.inner.bind_cluster(id)
    }

    /// The cluster this client names in its requests, once bound.
    pub fn cluster(&self) -> Option<&str> {
        self.inner.cluster()
    }

    /// The normalized base url (`http://host:port` or `https://host:port`).
    pub fn url(&self) -> &str {
        &self.inner.base
    }

    pub async fn put_shard(
        &self,
        chunk: &ChunkId,
        index: u16,
        hash: &ShardHash,
        body: Bytes,
    ) -> Result<(), ClientError> {
        let path = ShardKey::new(*chunk, index).path();
        let reply = self
            .inner
            .call(Method::PUT, &path, Some(hash), None, body, SMALL_REPLY)
            .await?;
        match reply.status {
            StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT => Ok(()),
            StatusCode::BAD_REQUEST => Err(ClientError::HashMismatch),
            _ => Err(reply.into_error()),
        }
    }

    /// Stores several shards in one request, the node's group commit making them durable
    /// together; one outcome per shard, in order. An error means none of them can be counted
    /// as stored. A node that cannot take the batch (one that predates batches, or whose body
    /// cap is below the batch's size) gets the shards one by one instead.
    pub async fn put_shards(
        &self,
        items: &[ShardItem],
    ) -> Result<Vec<Result<(), ClientError>>, ClientError> {
        if items.len() > MAX_BATCH_SHARDS
            || items
                .iter()
                .any(|i| u32::try_from(i.payload.len()).is_err())
        {
            return Err(ClientError::Protocol(format!(
                "a shard batch carries at most {MAX_BATCH_SHARDS} shards under 4 GiB each"
            )));
        }
        let (table_hash, body) = encode_shard_batch(items);
        let reply = self
            .inner
            .call(
                Method::POST,
                SHARDS_PATH,
                Some(&table_hash),
                None,
                Bytes::from(body),
                LIST_REPLY,
            )
            .await?;
        if matches!(
            reply.status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED | StatusCode::PAYLOAD_TOO_LARGE
        ) {
            return Ok(self.put_one_by_one(items).await);
        }
        let reply: ShardBatchReply = reply.ok_json("a shard batch")?;
        if reply.outcomes.len() != items.len() {
            return Err(ClientError::Protocol(format!(
                "{} outcomes for {} shards",
                reply.outcomes.len(),
                items.len()
            )));
        }
        Ok(reply
            .outcomes
            .into_iter()
            .map(|outcome| match outcome {
                ShardOutcome::Stored | ShardOutcome::Present => Ok(()),
                ShardOutcome::HashMismatch => Err(ClientError::HashMismatch),
                // As a single put's 500: the node's own trouble, which may pass.
                ShardOutcome::Failed(why) => Err(ClientError::Unavailable(format!(
                    "the node could not store the shard: {why}"
                ))),
            })
            .collect())
    }

    async fn put_one_by_one(&self, items: &[ShardItem]) -> Vec<Result<(), ClientError>> {
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let payload = item.payload.clone();
            outcomes.push(
                self.put_shard(&item.key.chunk, item.key.index, &item.hash, payload)
                    .await,
            );
        }
        outcomes
    }

    pub async fn get_shard(&self, chunk: &ChunkId, index: u16) -> Result<Bytes, ClientError> {
        let path = ShardKey::new(*chunk, index).path();
        let max = self.inner.max_body_bytes();
        let reply = self
            .inner
            .call(Method::GET, &path, None, None, Bytes::new(), max)
            .await?;
        match reply.status {
            StatusCode::OK => Ok(reply.body),
            _ => Err(reply.into_error()),
        }
    }

    /// Bytes `start..=end_inclusive` of a shard; an end past the shard is clamped by the node.
    pub async fn get_shard_range(
        &self,
        chunk: &ChunkId,
        index: u16,
        start: u64,
        end_inclusive: u64,
    ) -> Result<Bytes, ClientError> {
        if start > end_inclusive {
            return Err(ClientError::Protocol(format!(
                "invalid range {start}-{end_inclusive}"
            )));
        }
        let path = ShardKey::new(*chunk, index).path();
        let range = Some((start, end_inclusive));
        let reply = self
            .inner
            .call(
                Method::GET,
                &path,
                None,
                range,
                Bytes::new(),
                range_reply(start, end_inclusive),
            )
            .await?;
        match reply.status {
            StatusCode::PARTIAL_CONTENT if reply.body.len() as u64 <= end_inclusive - start + 1 => {
                Ok(reply.body)
            }
            StatusCode::PARTIAL_CONTENT => Err(ClientError::Protocol(format!(
                "asked for {} bytes, got {}",
                end_inclusive - start + 1,
                reply.body.len()
            ))),
            StatusCode::RANGE_NOT_SATISFIABLE => Err(ClientError::Protocol(format!(
                "range {start}-{end_inclusive} lies past the end of the shard"
            ))),
            _ => Err(reply.into_error()),
        }
    }

    /// Length and hash of a stored shard, `None` if the node has none.
    pub async fn head_shard(
        &self,
        chunk: &ChunkId,
        index: u16,
    ) -> Result<Option<ShardInfo>, ClientError> {
        let path = ShardKey::new(*chunk, index).path();
        let reply = self
            .inner
            .call(Method::HEAD, &path, None, None, Bytes::new(), SMALL_REPLY)
            .await?;
        match reply.status {
            StatusCode::OK => {
                let len = reply
                    .header(CONTENT_LENGTH.as_str())
                    .and_then(|v| v.parse().ok());
                let hash = reply
                    .header(HEADER_SHARD_HASH)
                    .and_then(|v| ShardHash::from_hex(v).ok());
                match (len, hash) {
                    (Some(len), Some(hash)) => Ok(Some(ShardInfo { len, hash })),
                    _ => Err(ClientError::Protocol("HEAD without length or hash".into())),
                }
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(reply.into_error()),
        }
    }

    /// Deletes a shard; returns whether it existed.
    pub async fn delete_shard(&self, chunk: &ChunkId, index: u16) -> Result<bool, ClientError> {
        let path = ShardKey::new(*chunk, index).path();
        let reply = self
            .inner
            .call(Method::DELETE, &path, None, None, Bytes::new(), SMALL_REPLY)
            .await?;
        match reply.status {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                Ok(reply.header(HEADER_EXISTED) == Some("true"))
            }
            _ => Err(reply.into_error()),
        }
    }

    /// Deletes a shard that moved to another node (drain): a retention hold on its chunk does
    /// not stop it, since the caller copied the hold to the new node first.
    pub async fn delete_moved_shard(
        &self,
        chunk: &ChunkId,
        index: u16,
    ) -> Result<bool, ClientError> {
        let path = format!("{}?{MOVED_QUERY}", ShardKey::new(*chunk, index).path());
        let reply = self
            .inner
            .call(Method::DELETE, &path, None, None, Bytes::new(), SMALL_REPLY)
            .await?;
        match reply.status {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                Ok(reply.header(HEADER_EXISTED) == Some("true"))
            }
            _ => Err(reply.into_error()),
        }
    }

    /// Raises retention holds: no shard of each chunk may be deleted before its date.
    pub async fn raise_holds(&self, items: &[HoldItem]) -> Result<(), ClientError> {
        let body = Bytes::from(serde_json::to_vec(items).unwrap_or_default());
        let hash = ShardHash::of(&body);
        let reply = self
            .inner
            .call(
                Method::POST,
                HOLDS_PATH,
                Some(&hash),
                None,
                body,
                SMALL_REPLY,
            )
            .await?;
        match reply.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(reply.into_error()),
        }
    }

    /// The hold on `chunk` in force now, if any (its end, ms since the epoch).
    pub async fn hold(&self, chunk: &ChunkId) -> Result<Option<i64>, ClientError> {
        let info: HoldInfo = self
            .get_json(&format!("{HOLDS_PATH}/{}", chunk.to_hex()))
            .await?;
        Ok(info.until)
    }

    /// One page of the node's shards after `after`, at most `limit` (clamped to 1..=10000).
    pub async fn list_shards(
        &self,
        after: Option<&ShardKey>,
        limit: u32,
    ) -> Result<ShardPage, ClientError> {
        let query = ListQuery {
            after: after.copied(),
            limit: limit.clamp(1, LIST_MAX_LIMIT),
        };
        self.get_json(&query.path_and_query()).await
    }

    /// Asks the node to re-verify up to `limit` shards after `after`, reading at most
    /// `max_bytes_per_sec` (0: no cap). Rotten shards are quarantined and listed in the report.
    pub async fn scrub(
        &self,
        after: Option<&ShardKey>,
        limit: u32,
        max_bytes_per_sec: u64,
    ) -> Result<ScrubReport, ClientError> {
        let query = ScrubQuery {
            after: after.copied(),
            limit: limit.clamp(1, LIST_MAX_LIMIT),
            max_bytes_per_sec,
        };
        let path = query.path_and_query();
        let reply = self
            .inner
            .call(Method::POST, &path, None, None, Bytes::new(), LIST_REPLY)
            .await?;
        reply.ok_json(&path)
    }

    /// The node's clock, in whole seconds since the epoch, from the `Date` header of its
    /// health answer; `None` if it sent none.
    pub async fn clock(&self) -> Result<Option<i64>, ClientError> {
        let reply = self
            .inner
            .call(
                Method::GET,
                HEALTH_PATH,
                None,
                None,
                Bytes::new(),
                SMALL_REPLY,
            )
            .await?;
        if reply.status != StatusCode::OK {
            return Err(reply.into_error());
        }
        Ok(reply
            .header("date")
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok()))
    }

    pub async fn health(&self) -> Result<(), ClientError> {
        self.clock().await.map(|_| ())
    }

    pub async fn stats(&self) -> Result<NodeStats, ClientError> {
        self.get_json(STATS_PATH).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let reply = self
            .inner
            .call(Method::GET, path, None, None, Bytes::new(), LIST_REPLY)
            .await?;
        reply.ok_json(path)
    }
}
