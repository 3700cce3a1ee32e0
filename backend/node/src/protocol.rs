//! The node wire protocol: routes, header names, status codes, the JSON bodies and the parsing of
//! everything a request carries (shard keys, list cursors, byte ranges).
//!
//! - `scrub`: the scrub call's query and report.
//! - `records`: opaque versioned records (the gateway's metadata copies) and their listing.
//! - `shard_batch`: many shards in one put.
//!
//! Server and client both build and parse through this module, so the two sides cannot drift.
//! Parsing is strict: a shard key is exactly 64 lowercase hex characters and a canonical decimal
//! index, which is what keeps every request-derived path inside the data directory.

use std::fmt;
use std::str::FromStr;

use floe_codec::{ChunkId, IdError, ShardHash};
use http::StatusCode;
use serde::{Deserialize, Serialize};

mod records;
mod scrub;
mod shard_batch;

pub use records::{
    BatchReply, HEADER_RECORD_VERSION, MAX_BATCH_RECORDS, RECORDS_PATH, RecordEntry, RecordId,
    RecordItem, RecordListQuery, RecordPage, decode_batch, encode_batch, parse_version,
};
pub use scrub::{SCRUB_PAGE_BUDGET, SCRUB_PATH, ScrubQuery, ScrubReport};
pub use shard_batch::{
    MAX_BATCH_SHARDS, ShardBatchReply, ShardItem, ShardOutcome, decode_shard_batch,
    encode_shard_batch,
};

/// Header carrying the blake3 hash of the shard body (PUT request, GET/HEAD response).
pub const HEADER_SHARD_HASH: &str = "x-floe-shard-hash";
/// Header carrying the request time in unix seconds; part of the signature.
pub const HEADER_DATE: &str = "x-floe-date";
/// Header carrying hex(HMAC-SHA256) over the request; see [`crate::auth`].
pub const HEADER_SIGNATURE: &str = "x-floe-signature";
/// Header naming the cluster a gateway's request is for; part of the signature.
pub const HEADER_CLUSTER: &str = "x-floe-cluster";
/// Header carrying a mutating request's single-use nonce (32 hex); part of the signature.
pub const HEADER_NONCE: &str = "x-floe-nonce";
/// DELETE answer header: whether the shard was present before the call.
pub const HEADER_EXISTED: &str = "x-floe-existed";

/// Unauthenticated liveness probe.
pub const HEALTH_PATH: &str = "/v1/health";
/// Unauthenticated Prometheus scrape (see [`crate::metrics`]); at the root, where Prometheus
/// looks by default.
pub const METRICS_PATH: &str = "/metrics";
/// Node statistics as JSON [`NodeStats`].
pub const STATS_PATH: &str = "/v1/stats";
/// The node's cluster membership: `GET` reads it ([`ClusterInfo`]), `POST ?join=ID` joins.
pub const CLUSTER_PATH: &str = "/v1/cluster";
/// Shard collection: list with `GET`, put a batch with `POST` (see `shard_batch`), single
/// shards below it.
pub const SHARDS_PATH: &str = "/v1/shards";
/// Retention holds (see `holds`): `POST` a batch of [`HoldItem`]s; `GET /v1/holds/<chunk>` reads
/// one ([`HoldInfo`]).
pub const HOLDS_PATH: &str = "/v1/holds";
/// The query flag of a shard `DELETE` for a shard that moved to another node (drain), which
/// a retention hold does not stop: the hold moved with it.
pub const MOVED_QUERY: &str = "moved=true";

/// "Keep every shard of `chunk` until `until`" (milliseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldItem {
    #[serde(with = "hex_id")]
    pub chunk: ChunkId,
    pub until: i64,
}

/// The hold on one chunk in force now, if any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldInfo {
    pub until: Option<i64>,
}

/// Page size when the list request names none.
pub const LIST_DEFAULT_LIMIT: u32 = 1000;
/// Largest page a node returns; bigger requests are clamped, not refused.
pub const LIST_MAX_LIMIT: u32 = 10_000;

/// What a node says of its membership and of the records it holds: enough for a gateway to
/// tell whether its index has seen everything the cluster wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// The cluster the node belongs to; `None` before its first gateway joined it.
    pub cluster: Option<String>,
    /// Metadata records held.
    pub records: u64,
    /// The newest record version the node has stored since it started, deleted ones included
    /// (0 with none).
    pub newest_record_version: u64,
}

/// 422: the stored shard failed verification and was quarantined. Distinct from 404 so the
/// gateway can count rot separately from loss and queue a repair either way.
pub const STATUS_CORRUPT: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// Why a key, cursor, query or range in a request was refused (always a 400 or 416).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("invalid chunk id: {0}")]
    ChunkId(#[from] IdError),
    #[error("invalid shard index {0:?}: expected a decimal number 0..=65535 without leading zeros")]
    Index(String),
    #[error("invalid shard key {0:?}: expected <chunk_hex>.<index>")]
    Key(String),
    #[error("invalid query parameter {0:?}")]
    Query(String),
    #[error("unknown route")]
    UnknownRoute,
    #[error("malformed Range header")]
    BadRange,
    #[error("range not satisfiable")]
    RangeNotSatisfiable,
    #[error("malformed batch: {0}")]
    Batch(String),
}

/// Identifies one stored shard: the chunk it belongs to and its position in the stripe.
/// Ordering is (chunk id, index), the order of list pages.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardKey {
    #[serde(with = "hex_id")]
    pub chunk: ChunkId,
    pub index: u16,
}

impl ShardKey {
    pub fn new(chunk: ChunkId, index: u16) -> Self {
        Self { chunk, index }
    }

    /// Request path of this shard: `/v1/shards/{chunk_hex}/{index}`.
    pub fn path(&self) -> String {
        format!("{SHARDS_PATH}/{}/{}", self.chunk.to_hex(), self.index)
    }
}

/// `<chunk_hex>.<index>`: the list cursor and, not by accident, the shard's file name on disk.
impl fmt::Display for ShardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.chunk, self.index)
    }
}

impl FromStr for ShardKey {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, ProtocolError> {
        let (chunk, index) = s
            .split_once('.')
            .ok_or_else(|| ProtocolError::Key(s.to_owned()))?;
        Ok(Self::new(ChunkId::from_hex(chunk)?, parse_index(index)?))
    }
}

/// Parses a shard index in canonical decimal form. Leading zeros and signs are refused so each
/// index has one spelling, on the wire and as a file name.
pub fn parse_index(s: &str) -> Result<u16, ProtocolError> {
    let canonical = !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return Err(ProtocolError::Index(s.to_owned()));
    }
    s.parse().map_err(|_| ProtocolError::Index(s.to_owned()))
}

/// One row of a list page.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ShardEntry {
    pub key: ShardKey,
    /// Payload length in bytes (the stored file minus its header).
    pub len: u64,
    /// Last modification of the shard file, in unix seconds (0 if unknown): lets a garbage
    /// sweep leave young, possibly still uncommitted shards alone.
    #[serde(default)]
    pub modified: u64,
}

/// A page of the shard listing. `next_after` is the cursor for the following page, `None` when
/// this page is the last.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ShardPage {
    pub shards: Vec<ShardEntry>,
    pub next_after: Option<ShardKey>,
}

/// What HEAD reports about a stored shard.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardInfo {
    pub len: u64,
    #[serde(with = "hex_id")]
    pub hash: ShardHash,
}

/// Body of `GET /v1/stats`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeStats {
    /// Shards currently stored.
    pub shards: u64,
    /// Payload bytes of those shards (file headers excluded).
    pub bytes: u64,
    /// Bytes available to the node on the data directory's filesystem.
    pub free_bytes: u64,
    /// Size of that filesystem.
    pub total_bytes: u64,
    /// Files sitting in the quarantine directory.
    pub quarantined: u64,
    /// Reads that found a rotten shard since the node started.
    pub corrupt_reads: u64,
}

/// A request path resolved to what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    Cluster,
    Stats,
    List,
    Shard(ShardKey),
    Scrub,
    Records,
    Record(RecordId),
    Holds,
    Hold(ChunkId),
}

impl Route {
    /// Resolves a request path (no query). Nothing is percent-decoded: valid keys never need it,
    /// and decoding would only widen what can reach the filesystem.
    pub fn parse(path: &str) -> Result<Route, ProtocolError> {
        match path {
            HEALTH_PATH => return Ok(Route::Health),
            STATS_PATH => return Ok(Route::Stats),
            CLUSTER_PATH => return Ok(Route::Cluster),
            SHARDS_PATH => return Ok(Route::List),
            SCRUB_PATH => return Ok(Route::Scrub),
            RECORDS_PATH => return Ok(Route::Records),
            HOLDS_PATH => return Ok(Route::Holds),
            _ => {}
        }
        if let Some(chunk) = path
            .strip_prefix(HOLDS_PATH)
            .and_then(|r| r.strip_prefix('/'))
        {
            return Ok(Route::Hold(ChunkId::from_hex(chunk)?));
        }
        if let Some(id) = path
            .strip_prefix(RECORDS_PATH)
            .and_then(|r| r.strip_prefix('/'))
        {
            return Ok(Route::Record(id.parse()?));
        }
        let rest = path
            .strip_prefix(SHARDS_PATH)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or(ProtocolError::UnknownRoute)?;
        let (chunk, index) = rest.split_once('/').ok_or(ProtocolError::UnknownRoute)?;
        let chunk = ChunkId::from_hex(chunk)?;
        // `index` may still hold further slashes (`../x`); the strict parse refuses them.
        Ok(Route::Shard(ShardKey::new(chunk, parse_index(index)?)))
    }
}

/// One page of a listing: entries strictly after `after`, at most `limit` of them. Shards and
/// records are listed the same way; [`Listed`] names each kind's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery<K> {
    pub after: Option<K>,
    pub limit: u32,
}

/// A kind of entry the node lists page by page.
pub trait Listed: FromStr<Err = ProtocolError> + fmt::Display {
    /// The listing's path.
    const PATH: &'static str;
}

impl Listed for ShardKey {
    const PATH: &'static str = SHARDS_PATH;
}

/// The parameters of `GET /v1/shards`.
pub type ListQuery = PageQuery<ShardKey>;

impl<K: Listed> PageQuery<K> {
    /// Parses the query string (without `?`). Unknown parameters are ignored for forward
    /// compatibility; a limit above [`LIST_MAX_LIMIT`] is clamped, zero is refused.
    pub fn parse(query: Option<&str>) -> Result<Self, ProtocolError> {
        let mut out = PageQuery {
            after: None,
            limit: LIST_DEFAULT_LIMIT,
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "after" if value.is_empty() => out.after = None,
                "after" => out.after = Some(value.parse()?),
                "limit" => {
                    let limit: u32 = value
                        .parse()
                        .map_err(|_| ProtocolError::Query(pair.to_owned()))?;
                    if limit == 0 {
                        return Err(ProtocolError::Query(pair.to_owned()));
                    }
                    out.limit = limit.min(LIST_MAX_LIMIT);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Path and query for this listing request.
    pub fn path_and_query(&self) -> String {
        match &self.after {
            Some(after) => format!("{}?after={after}&limit={}", K::PATH, self.limit),
            None => format!("{}?limit={}", K::PATH, self.limit),
        }
    }
}

/// Resolves a `Range` header against a shard of `len` bytes into an inclusive `(start, end)`.
/// Supports one range: `bytes=a-b`, `bytes=a-` and the suffix form `bytes=-n`; an end past the
/// shard is clamped as RFC 9110 asks.
pub fn parse_range(header: &str, len: u64) -> Result<(u64, u64), ProtocolError> {
    let spec = header
        .trim()
        .strip_prefix("bytes=")
        .ok_or(ProtocolError::BadRange)?;
    let (first, last) = spec.split_once('-').ok_or(ProtocolError::BadRange)?;
    let number = |s: &str| -> Result<u64, ProtocolError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProtocolError::BadRange);
        }
        s.parse().map_err(|_| ProtocolError::BadRange)
    };
    if first.is_empty() {
        let suffix = number(last)?;
        if suffix == 0 || len == 0 {
            return Err(ProtocolError::RangeNotSatisfiable);
        }
        return Ok((len.saturating_sub(suffix), len - 1));
    }
    let start = number(first)?;
    let end = if last.is_empty() {
        u64::MAX
    } else {
        number(last)?
    };
    if end < start {
        return Err(ProtocolError::BadRange);
    }
    if start >= len {
        return Err(ProtocolError::RangeNotSatisfiable);
    }
    Ok((start, end.min(len - 1)))
}

/// Serde for ids as lowercase hex strings: the codec's own derive writes byte arrays, which are
/// unreadable in JSON and four times larger.
mod hex_id {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<T: ToString, S: Serializer>(id: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_string())
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
        D: Deserializer<'de>,
    {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk() -> ChunkId {
        ChunkId::from_bytes([0xab; 32])
    }

    #[test]
    fn routes_parse_strictly() {
        let key = ShardKey::new(chunk(), 7);
        assert_eq!(Route::parse(&key.path()), Ok(Route::Shard(key)));
        assert_eq!(Route::parse("/v1/health"), Ok(Route::Health));
        assert_eq!(Route::parse("/v1/shards"), Ok(Route::List));
        for bad in [
            "/v1/shards/../../etc/0",
            &format!("/v1/shards/{}/x", chunk()),
            &format!("/v1/shards/{}/07", chunk()),
            &format!("/v1/shards/{}/65536", chunk()),
            &format!("/v1/shards/{}/1/2", chunk()),
            &format!("/v1/shards/{}/0", "AB".repeat(32)),
        ] {
            assert!(Route::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Route::parse("/v2/x"), Err(ProtocolError::UnknownRoute));
    }

    #[test]
    fn key_display_round_trips_and_orders_by_index_numerically() {
        let a = ShardKey::new(chunk(), 2);
        let b = ShardKey::new(chunk(), 10);
        assert_eq!(a.to_string().parse::<ShardKey>(), Ok(a));
        assert!(a < b);
        assert!("nodot".parse::<ShardKey>().is_err());
    }

    #[test]
    fn json_uses_hex_ids() {
        let page = ShardPage {
            shards: vec![ShardEntry {
                key: ShardKey::new(chunk(), 1),
                len: 5,
                modified: 1_700_000_000,
            }],
            next_after: None,
        };
        let json = serde_json::to_string(&page).unwrap();
        assert!(json.contains(&chunk().to_hex()), "{json}");
        assert_eq!(serde_json::from_str::<ShardPage>(&json).unwrap(), page);
    }

    #[test]
    fn list_query_defaults_clamps_and_refuses() {
        assert_eq!(ListQuery::parse(None).unwrap().limit, LIST_DEFAULT_LIMIT);
        let q = ListQuery::parse(Some("limit=99999&x=1")).unwrap();
        assert_eq!(q.limit, LIST_MAX_LIMIT);
        assert!(ListQuery::parse(Some("limit=0")).is_err());
        assert!(ListQuery::parse(Some("after=zz.1")).is_err());
        let after = ShardKey::new(chunk(), 3);
        let q = ListQuery {
            after: Some(after),
            limit: 10,
        };
        let pq = q.path_and_query();
        let query = pq.split_once('?').map(|(_, q)| q);
        assert_eq!(ListQuery::parse(query).unwrap(), q);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-3", 10), Ok((0, 3)));
        assert_eq!(parse_range("bytes=4-", 10), Ok((4, 9)));
        assert_eq!(parse_range("bytes=4-100", 10), Ok((4, 9)));
        assert_eq!(parse_range("bytes=-3", 10), Ok((7, 9)));
        assert_eq!(parse_range("bytes=-30", 10), Ok((0, 9)));
        assert_eq!(
            parse_range("bytes=10-", 10),
            Err(ProtocolError::RangeNotSatisfiable)
        );
        for bad in [
            "bytes=5-4",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=-",
        ] {
            assert_eq!(parse_range(bad, 10), Err(ProtocolError::BadRange), "{bad}");
        }
    }
}
