//! The signed HTTP exchange under [`NodeClient`](crate::client::NodeClient): url validation,
//! the pooled hyper client (TCP_NODELAY, keep-alive, TLS for `https://` nodes), request
//! signing, per-attempt timeouts and bounded retries with doubling backoff.
//!
//! It answers with whole responses and leaves their meaning to the typed client; the only
//! statuses it interprets are 5xx, which count as transient and are retried.

use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use floe_codec::ShardHash;
use http::header::RANGE;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::auth::{ClusterSecret, Scope, sign_scoped, unix_now};
use crate::client::{ClientError, ClientOptions};
use crate::protocol::{
    HEADER_CLUSTER, HEADER_DATE, HEADER_NONCE, HEADER_SHARD_HASH, HEADER_SIGNATURE, STATUS_CORRUPT,
};
use crate::tls::NodeTrust;

/// Idle pooled connections are dropped before the node's 30 s header timeout would close them,
/// so a request rarely lands on a connection the node is about to hang up.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

// Evaluated at compile time, so a bad name fails the build rather than a request.
const DATE: HeaderName = HeaderName::from_static(HEADER_DATE);
const SIGNATURE: HeaderName = HeaderName::from_static(HEADER_SIGNATURE);
const SHARD_HASH: HeaderName = HeaderName::from_static(HEADER_SHARD_HASH);
const CLUSTER: HeaderName = HeaderName::from_static(HEADER_CLUSTER);
const NONCE: HeaderName = HeaderName::from_static(HEADER_NONCE);

/// Single-use nonces: a per-process random start and a counter, so no two requests of any
/// client in this process, or of an earlier run, share one.
fn next_nonce() -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{seed:016x}{n:016x}")
}

/// One node's base url, credentials, retry policy and connection pool.
pub(crate) struct Transport {
    pub base: String,
    secret: ClusterSecret,
    /// The cluster every request names, once the gateway has bound this client to one.
    cluster: std::sync::OnceLock<String>,
    options: ClientOptions,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// A complete response.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body of a 200 parsed as JSON (`what` names it in the error); any other status is
    /// that status's error.
    pub fn ok_json<T: serde::de::DeserializeOwned>(self, what: &str) -> Result<T, ClientError> {
        if self.status != StatusCode::OK {
            return Err(self.into_error());
        }
        serde_json::from_slice(&self.body).map_err(|source| ClientError::Json {
            what: what.to_owned(),
            source,
        })
    }

    /// The error for a status the operation did not expect.
    pub fn into_error(self) -> ClientError {
        match self.status {
            StatusCode::NOT_FOUND => ClientError::NotFound,
            STATUS_CORRUPT => ClientError::Corrupt,
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => ClientError::Unauthorized(s),
            StatusCode::LOCKED => ClientError::Held(snippet(&self.body)),
            s => ClientError::Protocol(format!("status {s}: {}", snippet(&self.body))),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Transport {
    /// Validates `base_url` (`http://host:port`, or `https://host:port` with `trust`; trailing
    /// slash tolerated) and builds the pool.
    pub(crate) fn new(
        base_url: &str,
        secret: ClusterSecret,
        options: ClientOptions,
        trust: Option<&NodeTrust>,
    ) -> Result<Transport, ClientError> {
        let invalid = |why: &str| ClientError::InvalidUrl(format!("{base_url:?}: {why}"));
        let uri: Uri = base_url.parse().map_err(|e| invalid(&format!("{e}")))?;
        let scheme = match uri.scheme_str() {
            Some("http") => "http",
            Some("https") if trust.is_some() => "https",
            // Without a CA bundle no node certificate could verify: say so now, not on every
            // request.
            Some("https") => {
                return Err(invalid(
                    "https:// needs a CA bundle to verify the node's certificate (node_ca)",
                ));
            }
            Some(_) => return Err(invalid("only http:// and https:// are supported")),
            None => return Err(invalid("expected http://host:port")),
        };
        let authority = uri.authority().ok_or_else(|| invalid("missing host"))?;
        // Signatures cover the path the node sees, so a path prefix could never verify.
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid("must not have a path or query"));
        }

        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(options.timeout));
        // The TLS layer sees https:// urls, so the TCP connector must let them through.
        connector.enforce_http(false);
        // One connector type for both schemes; pooled connections keep their TLS session, so
        // the handshake is paid once per connection, not per request.
        let tls = match trust {
            Some(trust) => trust.client_config(),
            None => NodeTrust::untrusting_config(),
        };
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Ok(Transport {
            base: format!("{scheme}://{authority}"),
            secret,
            cluster: std::sync::OnceLock::new(),
            options,
            http,
        })
    }

    /// Names `cluster` in every request from now on; false if bound to another one already.
    pub(crate) fn bind_cluster(&self, cluster: &str) -> bool {
        self.cluster.get_or_init(|| cluster.to_owned()) == cluster
    }

    pub(crate) fn cluster(&self) -> Option<&str> {
        self.cluster.get().map(String::as_str)
    }

    /// The largest shard or record body a reply may carry.
    pub(crate) fn max_body_bytes(&self) -> usize {
        self.options.max_body_bytes
    }

    /// Sends a request, retrying transient failures per [`ClientOptions`]; a reply body over
    /// `max_reply` bytes is refused unread.
    pub(crate) async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        hash: Option<&ShardHash>,
        range: Option<(u64, u64)>,
        body: Bytes,
        max_reply: usize,
    ) -> Result<Reply, ClientError> {
        let options = &self.options;
        let mut backoff = options.retry_backoff;
        let mut attempt = 0;
        loop {
            let once = self.attempt(
                &method,
                path_and_query,
                hash,
                range,
                body.clone(),
                max_reply,
            );
            let result = match tokio::time::timeout(options.timeout, once).await {
                Ok(Ok(reply)) if reply.status.is_server_error() => {
                    Err(ClientError::Unavailable(format!(
                        "{} answered {}: {}",
                        self.base.as_str(),
                        reply.status,
                        snippet(&reply.body)
                    )))
                }
                Ok(result) => result,
                Err(_) => Err(ClientError::Timeout),
            };
            match result {
                Err(e) if e.is_transient() && attempt < options.retries => {
                    tracing::debug!(
                        url = self.base.as_str(),
                        %method,
                        path_and_query,
                        error = %e,
                        attempt,
                        "retrying"
                    );
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
        max_reply: usize,
    ) -> Result<Reply, ClientError> {
        let uri: Uri = format!("{}{path_and_query}", self.base)
            .parse()
            .map_err(|e| ClientError::InvalidUrl(format!("{path_and_query}: {e}")))?;
        let hash_hex = hash.map(ShardHash::to_hex);
        // Signed per attempt, so a retry after a long backoff is not refused as stale, and a
        // fresh nonce per attempt, so a retry is not refused as a replay.
        let date = unix_now();
        let cluster = self.cluster();
        let mutating = !matches!(*method, Method::GET | Method::HEAD);
        let nonce = (cluster.is_some() && mutating).then(next_nonce);
        let signature = sign_scoped(
            &self.secret,
            method.as_str(),
            path_and_query,
            date,
            hash_hex.as_deref(),
            Scope {
                cluster,
                nonce: nonce.as_deref(),
            },
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
        if let Some(cluster) = cluster {
            insert(headers, CLUSTER, cluster)?;
        }
        if let Some(nonce) = &nonce {
            insert(headers, NONCE, nonce)?;
        }
        if let Some((start, end)) = range {
            insert(headers, RANGE, &format!("bytes={start}-{end}"))?;
        }

        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| ClientError::Unavailable(format!("{}: {}", self.base, chain(&e))))?;
        let (parts, body) = response.into_parts();
        // No more than the request can legitimately get back: a confused or hostile node cannot
        // make the gateway buffer without bound.
        let announced = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        // A HEAD's Content-Length is the size of what a GET would return; it has no body.
        let has_body = *method != Method::HEAD;
        if has_body && announced.is_some_and(|n| n > max_reply as u64) && parts.status.is_success()
        {
            return Err(too_large(&self.base, max_reply));
        }
        let body = match Limited::new(body, max_reply).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(too_large(&self.base, max_reply));
            }
            Err(e) => {
                return Err(ClientError::Unavailable(format!(
                    "reading response: {}",
                    chain(e.as_ref())
                )));
            }
        };
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

fn too_large(base: &str, max_reply: usize) -> ClientError {
    ClientError::Protocol(format!(
        "{base} sent a response body over the {max_reply} bytes this request can return"
    ))
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
