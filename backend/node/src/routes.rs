//! Request handling: authentication, routing, and the mapping of each route onto the
//! [`ShardStore`](crate::store::ShardStore) and of store errors onto status codes.
//!
//! Every response body is a complete `Full<Bytes>`: with a known length hyper writes headers and
//! body together, which avoids the headers-then-body stall the design notes warn about.

use std::time::Instant;

use bytes::Bytes;
use http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;

use crate::auth::{self, AuthError};
use crate::metrics::{self, RouteKind};
use crate::protocol::{
    HEADER_EXISTED, HEADER_SHARD_HASH, HEALTH_PATH, ListQuery, METRICS_PATH, MOVED_QUERY,
    ProtocolError, Route, STATUS_CORRUPT, ScrubQuery, ShardBatchReply, ShardItem, ShardKey,
    ShardOutcome, decode_shard_batch, parse_range,
};
use crate::server::NodeState;
use crate::store::{PutOutcome, QuickBatch, StoreError};
use floe_codec::ShardHash;

mod holds;
mod records;

type Body = Full<Bytes>;

// Evaluated at compile time, so a bad name fails the build rather than a request.
const SHARD_HASH: HeaderName = HeaderName::from_static(HEADER_SHARD_HASH);
const EXISTED: HeaderName = HeaderName::from_static(HEADER_EXISTED);

/// A request that ends in an error status with a short text explanation.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    fn into_response(self) -> Response<Body> {
        text(self.status, self.message)
    }
}

impl From<AuthError> for Failure {
    fn from(e: AuthError) -> Failure {
        Failure::new(e.status(), e.to_string())
    }
}

impl From<ProtocolError> for Failure {
    fn from(e: ProtocolError) -> Failure {
        let status = match e {
            ProtocolError::UnknownRoute => StatusCode::NOT_FOUND,
            ProtocolError::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        let status = match e {
            StoreError::NotFound => StatusCode::NOT_FOUND,
            StoreError::Corrupt(_) => STATUS_CORRUPT,
            StoreError::HashMismatch { .. } => StatusCode::BAD_REQUEST,
            StoreError::Locked(_) | StoreError::Io { .. } => {
                tracing::error!(error = %e, "store failure");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Failure::new(status, e.to_string())
    }
}

/// Handles one request; never fails, since every error is an HTTP answer.
pub(crate) async fn handle(state: &NodeState, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let kind = RouteKind::of(&method, &path);
    let response = dispatch(state, req)
        .await
        .unwrap_or_else(Failure::into_response);
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics().observe_request(kind, status, elapsed);
    tracing::debug!(
        %method,
        path,
        status,
        micros = elapsed.as_micros() as u64,
        "request"
    );
    response
}

async fn cluster_info(state: &NodeState) -> Result<Response<Body>, Failure> {
    let records = state.records().clone();
    let (count, newest) = blocking(move || {
        Ok::<_, StoreError>((records.figures().records, records.newest_version()))
    })
    .await?;
    json(&crate::protocol::ClusterInfo {
        cluster: state.membership().cluster(),
        records: count,
        newest_record_version: newest,
    })
}

async fn join_cluster(state: &NodeState, query: Option<&str>) -> Result<Response<Body>, Failure> {
    let id = query
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("join=")))
        .ok_or_else(|| Failure::new(StatusCode::BAD_REQUEST, "expected ?join=CLUSTER_ID"))?;
    match state.membership().join(id)? {
        Ok(_) => cluster_info(state).await,
        Err(e) => Err(Failure::new(StatusCode::CONFLICT, e.to_string())),
    }
}

async fn dispatch(state: &NodeState, req: Request<Incoming>) -> Result<Response<Body>, Failure> {
    // Health is the one route a load balancer or orchestrator must reach without the secret.
    if req.uri().path() == HEALTH_PATH {
        return match *req.method() {
            Method::GET | Method::HEAD => Ok(text(StatusCode::OK, "ok")),
            _ => Err(not_allowed()),
        };
    }
    // Unsigned as well: Prometheus cannot sign requests, and the exposition holds only counts
    // and sizes, never shard or record contents, keys or ids.
    if req.uri().path() == METRICS_PATH {
        return match *req.method() {
            Method::GET | Method::HEAD => render_metrics(state).await,
            _ => Err(not_allowed()),
        };
    }
    let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let now = auth::unix_now();
    let signed = auth::verify(
        state.secret(),
        req.method().as_str(),
        path_and_query,
        req.headers(),
        now,
    )?;
    let route = Route::parse(req.uri().path())?;
    // Joining is how a node learns its cluster, so it is the one route a request for a cluster
    // may take before the node has one.
    if !matches!(route, Route::Cluster) {
        state
            .membership()
            .admit(signed.cluster.as_deref())
            .map_err(|e| Failure::new(StatusCode::CONFLICT, e.to_string()))?;
    }
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD);
    match (&signed.nonce, &signed.cluster) {
        (Some(nonce), _) if mutating => {
            let nonce = crate::replay::parse_nonce(nonce)
                .ok_or_else(|| Failure::new(StatusCode::BAD_REQUEST, "malformed nonce"))?;
            if !state.replay().first_use(nonce, signed.date, now) {
                return Err(Failure::new(
                    StatusCode::CONFLICT,
                    "this request was already served (replayed nonce)",
                ));
            }
        }
        // A cluster's mutating requests are single-use; a bare node's (tests, tools) may omit it.
        (None, Some(_)) if mutating => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "a mutating request for a cluster needs a nonce",
            ));
        }
        _ => {}
    }

    match (route, req.method().clone()) {
        (Route::Cluster, Method::GET) => cluster_info(state).await,
        (Route::Cluster, Method::POST) => join_cluster(state, req.uri().query()).await,
        (Route::Stats, Method::GET) => stats(state).await,
        (Route::List, Method::GET) => list(state, ListQuery::parse(req.uri().query())?).await,
        (Route::List, Method::POST) => put_batch(state, req).await,
        (Route::Scrub, Method::POST) => scrub(state, ScrubQuery::parse(req.uri().query())?).await,
        (Route::Records, Method::GET) => records::list(state, req.uri().query()).await,
        (Route::Records, Method::POST) => records::put_batch(state, req).await,
        (Route::Record(id), Method::PUT) => records::put(state, id, req).await,
        (Route::Record(id), Method::GET) => records::get(state, id).await,
        (Route::Record(id), Method::DELETE) => records::delete(state, id).await,
        (Route::Shard(key), Method::PUT) => put(state, key, req).await,
        (Route::Shard(key), Method::GET) => get(state, key, &req).await,
        (Route::Shard(key), Method::HEAD) => head(state, key).await,
        (Route::Shard(key), Method::DELETE) => delete(state, key, req.uri().query()).await,
        (Route::Holds, Method::POST) => holds::raise(state, req).await,
        (Route::Hold(chunk), Method::GET) => holds::get(state, chunk).await,
        _ => Err(not_allowed()),
    }
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Failure> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(Failure::from),
        Err(e) => {
            tracing::error!(error = %e, "store task failed");
            Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "store task failed",
            ))
        }
    }
}

async fn put(
    state: &NodeState,
    key: ShardKey,
    req: Request<Incoming>,
) -> Result<Response<Body>, Failure> {
    let (hash, body) = hashed_body(state, req).await?;
    let len = body.len() as u64;
    let item = ShardItem {
        key,
        hash,
        payload: body,
    };
    let outcome = store_shards(state, vec![item])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the store gave no outcome",
            )
        })??;
    let status = match outcome {
        PutOutcome::Stored => {
            state.metrics().add_shard_bytes_written(len);
            StatusCode::CREATED
        }
        PutOutcome::AlreadyPresent => StatusCode::OK,
    };
    let mut response = text(status, "");
    set(&mut response, SHARD_HASH, &hash.to_hex());
    Ok(response)
}

/// A batch put (`POST /v1/shards`): the table must match its signed hash; then every shard is
/// checked against its own hash and stored, the packed ones in one group commit. One outcome
/// per shard, in order.
async fn put_batch(state: &NodeState, req: Request<Incoming>) -> Result<Response<Body>, Failure> {
    let (signed, body) = hashed_body(state, req).await?;
    let (table, items) = decode_shard_batch(&body)?;
    if table != signed {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "the shard table does not hash to its signed x-floe-shard-hash",
        ));
    }
    let lens: Vec<u64> = items.iter().map(|i| i.payload.len() as u64).collect();
    let results = store_shards(state, items).await?;
    let outcomes = results
        .into_iter()
        .zip(lens)
        .map(|(result, len)| match result {
            Ok(PutOutcome::Stored) => {
                state.metrics().add_shard_bytes_written(len);
                ShardOutcome::Stored
            }
            Ok(PutOutcome::AlreadyPresent) => ShardOutcome::Present,
            Err(StoreError::HashMismatch { .. }) => ShardOutcome::HashMismatch,
            Err(e) => {
                tracing::error!(error = %e, "shard batch: store failure");
                ShardOutcome::Failed(e.to_string())
            }
        })
        .collect();
    json(&ShardBatchReply { outcomes })
}

/// Stores shards, on this worker when that is quick (`store/quick.rs`), else on a blocking
/// thread. One outcome per shard, in order.
async fn store_shards(
    state: &NodeState,
    items: Vec<ShardItem>,
) -> Result<Vec<Result<PutOutcome, StoreError>>, Failure> {
    let store = state.store().clone();
    match store.put_batch_quick(items) {
        QuickBatch::Done(results) => Ok(results),
        QuickBatch::Slow(rest) => blocking(move || Ok(store.put_batch_slow(rest))).await,
    }
}

/// The whole body of a batch request (records, holds), checked against the blake3 hash its
/// `x-floe-shard-hash` claims: a damaged batch is refused whole.
async fn verified_body(state: &NodeState, req: Request<Incoming>) -> Result<Bytes, Failure> {
    let (hash, body) = hashed_body(state, req).await?;
    let actual = ShardHash::of(&body);
    if actual != hash {
        return Err(StoreError::HashMismatch {
            claimed: hash,
            actual,
        }
        .into());
    }
    Ok(body)
}

/// The claimed blake3 hash (`x-floe-shard-hash`) and the whole body of a PUT, refusing a body
/// over the node's size cap before reading it when its length is announced.
async fn hashed_body(
    state: &NodeState,
    req: Request<Incoming>,
) -> Result<(ShardHash, Bytes), Failure> {
    let hash = req
        .headers()
        .get(HEADER_SHARD_HASH)
        .ok_or_else(|| Failure::new(StatusCode::BAD_REQUEST, "missing x-floe-shard-hash header"))?;
    let hash = hash
        .to_str()
        .ok()
        .and_then(|h| ShardHash::from_hex(h).ok())
        .ok_or_else(|| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                "malformed x-floe-shard-hash header",
            )
        })?;

    let max = state.max_shard_bytes();
    let too_large = || {
        Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body larger than {max} bytes"),
        )
    };
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok((hash, collected.to_bytes())),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(Failure::new(
            StatusCode::BAD_REQUEST,
            format!("cannot read body: {e}"),
        )),
    }
}

async fn get(
    state: &NodeState,
    key: ShardKey,
    req: &Request<Incoming>,
) -> Result<Response<Body>, Failure> {
    // Read the Range header before the store work so a malformed one costs no disk I/O.
    let range = match req.headers().get(RANGE) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Failure::from(ProtocolError::BadRange))?
                .to_owned(),
        ),
        None => None,
    };
    let store = state.store().clone();
    let shard = blocking(move || store.get(&key)).await?;
    let len = shard.payload.len() as u64;
    // Counted once the bytes have passed verification; a refused range reads nothing out.
    let served = |body: &Bytes| state.metrics().add_shard_bytes_read(body.len() as u64);

    let mut response = match range {
        None => {
            served(&shard.payload);
            bytes_response(StatusCode::OK, shard.payload)
        }
        Some(range) => match parse_range(&range, len) {
            Ok((start, end)) => {
                // Both ends are below `len`, the length of an in-memory buffer, so they fit usize.
                let body = shard.payload.slice(start as usize..=end as usize);
                served(&body);
                let mut r = bytes_response(StatusCode::PARTIAL_CONTENT, body);
                set(&mut r, CONTENT_RANGE, &format!("bytes {start}-{end}/{len}"));
                r
            }
            Err(ProtocolError::RangeNotSatisfiable) => {
                let mut r = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
                set(&mut r, CONTENT_RANGE, &format!("bytes */{len}"));
                return Ok(r);
            }
            Err(e) => return Err(e.into()),
        },
    };
    set(&mut response, SHARD_HASH, &shard.hash.to_hex());
    set(&mut response, ACCEPT_RANGES, "bytes");
    Ok(response)
}

async fn head(state: &NodeState, key: ShardKey) -> Result<Response<Body>, Failure> {
    let store = state.store().clone();
    let info = blocking(move || store.head(&key))
        .await?
        .ok_or_else(|| Failure::from(StoreError::NotFound))?;
    let mut response = bytes_response(StatusCode::OK, Bytes::new());
    // Set explicitly: the (empty) body of a HEAD answer would otherwise make it 0.
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(info.len));
    set(&mut response, SHARD_HASH, &info.hash.to_hex());
    set(&mut response, ACCEPT_RANGES, "bytes");
    Ok(response)
}

/// Deletes a shard, unless a retention hold keeps its chunk: then 423, whoever asks, except
/// for a shard that moved to another node (`?moved=true`), whose hold moved with it.
async fn delete(
    state: &NodeState,
    key: ShardKey,
    query: Option<&str>,
) -> Result<Response<Body>, Failure> {
    let moved = query.is_some_and(|q| q.split('&').any(|p| p == MOVED_QUERY));
    if !moved && let Some(until) = state.holds().until(&key.chunk, crate::holds::now_millis()) {
        return Err(Failure::new(
            StatusCode::LOCKED,
            format!(
                "chunk {} is under a retention hold until {until} (ms since the epoch)",
                key.chunk.to_hex()
            ),
        ));
    }
    let store = state.store().clone();
    let existed = blocking(move || store.delete(&key)).await?;
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    set(
        &mut response,
        EXISTED,
        if existed { "true" } else { "false" },
    );
    Ok(response)
}

async fn list(state: &NodeState, query: ListQuery) -> Result<Response<Body>, Failure> {
    let store = state.store().clone();
    let page = blocking(move || store.list(query.after.as_ref(), query.limit)).await?;
    json(&page)
}

async fn scrub(state: &NodeState, query: ScrubQuery) -> Result<Response<Body>, Failure> {
    let store = state.store().clone();
    let report = blocking(move || crate::scrub::scrub_page(&store, &query)).await?;
    state.metrics().add_scrubbed(report.checked, report.bytes);
    json(&report)
}

/// The Prometheus exposition; on a blocking thread, as it reads the store and the filesystem.
async fn render_metrics(state: &NodeState) -> Result<Response<Body>, Failure> {
    let metrics = state.metrics().clone();
    let text = tokio::task::spawn_blocking(move || metrics.render())
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut response = Response::new(Full::new(Bytes::from(text)));
    set(&mut response, CONTENT_TYPE, metrics::CONTENT_TYPE);
    Ok(response)
}

async fn stats(state: &NodeState) -> Result<Response<Body>, Failure> {
    let store = state.store().clone();
    json(&blocking(move || store.stats()).await?)
}

fn json(value: &impl serde::Serialize) -> Result<Response<Body>, Failure> {
    let body = serde_json::to_vec(value)
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut response = Response::new(Full::new(Bytes::from(body)));
    set(&mut response, CONTENT_TYPE, "application/json");
    Ok(response)
}

fn not_allowed() -> Failure {
    Failure::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

fn text(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(message.into())));
    *response.status_mut() = status;
    set(&mut response, CONTENT_TYPE, "text/plain; charset=utf-8");
    response
}

fn bytes_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    set(&mut response, CONTENT_TYPE, "application/octet-stream");
    response
}

/// Sets a header whose value we produced (hex, digits, fixed text), so it is always valid; the
/// check only keeps a future mistake from becoming a panic.
fn set(response: &mut Response<Body>, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
