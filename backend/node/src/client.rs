//! `NodeClient`: the typed, signing, retrying HTTP client the gateway uses to talk to one node.
//!
//! Every node operation is idempotent (puts are content-addressed, deletes report rather than
//! require existence), so transient failures — connect errors, timeouts, 5xx — are retried a
//! bounded number of times with doubling backoff. A 4xx is an answer and is never retried.
//! Response bodies are collected whole: shards are a few MiB at most.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use floe_codec::{ChunkId, ShardHash};
use http::header::{CONTENT_LENGTH, RANGE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::auth::{ClusterSecret, sign, unix_now};
use crate::protocol::{
    HEADER_DATE, HEADER_EXISTED, HEADER_SHARD_HASH, HEADER_SIGNATURE, HEALTH_PATH, LIST_MAX_LIMIT,
    ListQuery, NodeStats, STATS_PATH, STATUS_CORRUPT, ShardInfo, ShardKey, ShardPage,
};

/// Idle pooled connections are dropped before the node's 30 s header timeout would close them,
/// so a request rarely lands on a connection the node is about to hang up.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

// Evaluated at compile time, so a bad name fails the build rather than a request.
const DATE: HeaderName = HeaderName::from_static(HEADER_DATE);
const SIGNATURE: HeaderName = HeaderName::from_static(HEADER_SIGNATURE);
const SHARD_HASH: HeaderName = HeaderName::from_static(HEADER_SHARD_HASH);

/// Timeouts and retry policy of a [`NodeClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Limit on one attempt: connect, send, and read the whole response.
    pub timeout: Duration,
    /// Extra attempts after a transient failure.
    pub retries: u32,
    /// Pause before the first retry; doubled before each further one.
    pub retry_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            retries: 2,
            retry_backoff: Duration::from_millis(50),
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
    #[error("node did not answer in time")]
    Timeout,
    #[error("node unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected answer from node: {0}")]
    Protocol(String),
    #[error("invalid node url: {0}")]
    InvalidUrl(String),
}

impl ClientError {
    /// Whether trying again (here or on another node) may succeed without anything changing.
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Timeout | ClientError::Unavailable(_))
    }
}

/// A client for one storage node. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct NodeClient {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    secret: ClusterSecret,
    options: ClientOptions,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeClient")
            .field("url", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// A complete response.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    /// The error for a status the operation did not expect.
    fn into_error(self) -> ClientError {
        match self.status {
            StatusCode::NOT_FOUND => ClientError::NotFound,
            STATUS_CORRUPT => ClientError::Corrupt,
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => ClientError::Unauthorized(s),
            s => ClientError::Protocol(format!("status {s}: {}", snippet(&self.body))),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl NodeClient {
    /// A client for the node at `base_url` (`http://host:port`, trailing slash tolerated).
    pub fn new(
        base_url: &str,
        secret: ClusterSecret,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let invalid = |why: &str| ClientError::InvalidUrl(format!("{base_url:?}: {why}"));
        let uri: Uri = base_url.parse().map_err(|e| invalid(&format!("{e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(invalid("only http:// is supported")),
            None => return Err(invalid("expected http://host:port")),
        }
        let authority = uri.authority().ok_or_else(|| invalid("missing host"))?;
        // Signatures cover the path the node sees, so a path prefix could never verify.
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid("must not have a path or query"));
        }

        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(options.timeout));
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Ok(NodeClient {
            inner: Arc::new(Inner {
                base: format!("http://{authority}"),
                secret,
                options,
                http,
            }),
        })
    }

    /// The normalized base url (`http://host:port`), also the node's identity for placement.
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
            .call(Method::PUT, &path, Some(hash), None, body)
            .await?;
        match reply.status {
            StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT => Ok(()),
            StatusCode::BAD_REQUEST => Err(ClientError::HashMismatch),
            _ => Err(reply.into_error()),
        }
    }

    pub async fn get_shard(&self, chunk: &ChunkId, index: u16) -> Result<Bytes, ClientError> {
        let path = ShardKey::new(*chunk, index).path();
        let reply = self
            .call(Method::GET, &path, None, None, Bytes::new())
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
            .call(Method::GET, &path, None, range, Bytes::new())
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
            .call(Method::HEAD, &path, None, None, Bytes::new())
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
            .call(Method::DELETE, &path, None, None, Bytes::new())
            .await?;
        match reply.status {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                Ok(reply.header(HEADER_EXISTED) == Some("true"))
            }
            _ => Err(reply.into_error()),
        }
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

    pub async fn health(&self) -> Result<(), ClientError> {
        let reply = self
            .call(Method::GET, HEALTH_PATH, None, None, Bytes::new())
            .await?;
        match reply.status {
            StatusCode::OK => Ok(()),
            _ => Err(reply.into_error()),
        }
    }

    pub async fn stats(&self) -> Result<NodeStats, ClientError> {
        self.get_json(STATS_PATH).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let reply = self
            .call(Method::GET, path, None, None, Bytes::new())
            .await?;
        if reply.status != StatusCode::OK {
            return Err(reply.into_error());
        }
        serde_json::from_slice(&reply.body)
            .map_err(|e| ClientError::Protocol(format!("bad JSON from {path}: {e}")))
    }

    /// Sends a request, retrying transient failures per [`ClientOptions`].
    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        hash: Option<&ShardHash>,
        range: Option<(u64, u64)>,
        body: Bytes,
    ) -> Result<Reply, ClientError> {
        let options = &self.inner.options;
        let mut backoff = options.retry_backoff;
        let mut attempt = 0;
        loop {
            let once = self.attempt(&method, path_and_query, hash, range, body.clone());
            let result = match tokio::time::timeout(options.timeout, once).await {
                Ok(Ok(reply)) if reply.status.is_server_error() => {
                    Err(ClientError::Unavailable(format!(
                        "{} answered {}: {}",
                        self.url(),
                        reply.status,
                        snippet(&reply.body)
                    )))
                }
                Ok(result) => result,
                Err(_) => Err(ClientError::Timeout),
            };
            match result {
                Err(e) if e.is_transient() && attempt < options.retries => {
                    tracing::debug!(url = self.url(), %method, path_and_query, error = %e, attempt, "retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        path_and_query: &str,
        hash: Option<&ShardHash>,
        range: Option<(u64, u64)>,
        body: Bytes,
    ) -> Result<Reply, ClientError> {
        let inner = &*self.inner;
        let uri: Uri = format!("{}{path_and_query}", inner.base)
            .parse()
            .map_err(|e| ClientError::InvalidUrl(format!("{path_and_query}: {e}")))?;
        let hash_hex = hash.map(ShardHash::to_hex);
        // Signed per attempt, so a retry after a long backoff is not refused as stale.
        let date = unix_now();
        let signature = sign(
            &inner.secret,
            method.as_str(),
            path_and_query,
            date,
            hash_hex.as_deref(),
        );

        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(DATE, HeaderValue::from(date));
        insert(headers, SIGNATURE, &signature)?;
        if let Some(hex) = &hash_hex {
            insert(headers, SHARD_HASH, hex)?;
        }
        if let Some((start, end)) = range {
            insert(headers, RANGE, &format!("bytes={start}-{end}"))?;
        }

        let response = inner
            .http
            .request(request)
            .await
            .map_err(|e| ClientError::Unavailable(format!("{}: {}", inner.base, chain(&e))))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| ClientError::Unavailable(format!("reading response: {}", chain(&e))))?
            .to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) -> Result<(), ClientError> {
    let value = HeaderValue::from_str(value)
        .map_err(|_| ClientError::Protocol(format!("invalid {name} header value")))?;
    headers.insert(name, value);
    Ok(())
}

/// An error with its causes: hyper's top-level messages ("client error (Connect)") alone do
/// not say what happened.
fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The start of an error body, for messages.
fn snippet(body: &Bytes) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.trim().to_owned()
}
