//! The record exchange. A record is opaque bytes under a 32-byte hex id with a version number;
//! the node keeps the newest version it was given and knows nothing of what records mean (the
//! gateway keeps copies of its object metadata there, to rebuild its index from).
//!
//! - `PUT /v1/records/{id}?version=N` with the body's blake3 in `x-floe-shard-hash` (both
//!   signed): stored unless the node holds a newer version (then 409, with the stored version in
//!   `x-floe-record-version`).
//! - `GET /v1/records/{id}`: the bytes, verified, with `x-floe-record-version`.
//! - `DELETE /v1/records/{id}`: removes it (`x-floe-existed`).
//! - `GET /v1/records?after=<id>&limit=N`: a JSON [`RecordPage`] in id order.
//! - `POST /v1/records` with a batch (see [`encode_batch`]) whose blake3 is in
//!   `x-floe-shard-hash`: stores every record with one sync for the whole batch, and answers a
//!   JSON [`BatchReply`] with one outcome per record, in order.

use std::fmt;
use std::str::FromStr;

use floe_codec::ChunkId;
use serde::{Deserialize, Serialize};

use bytes::Bytes;

use super::ProtocolError;

/// Record collection: list with `GET`, single records below it.
pub const RECORDS_PATH: &str = "/v1/records";
/// Answer header carrying a record's stored version (GET, and a refused PUT).
pub const HEADER_RECORD_VERSION: &str = "x-floe-record-version";

/// Names one record: 32 bytes, 64 lowercase hex characters on the wire and on disk.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub [u8; 32]);

impl RecordId {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Request path of this record.
    pub fn path(&self) -> String {
        format!("{RECORDS_PATH}/{self}")
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", &self.to_hex()[..16])
    }
}

/// The same strict parse as chunk ids: exactly 64 lowercase hex characters.
impl FromStr for RecordId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, ProtocolError> {
        Ok(RecordId(*ChunkId::from_hex(s)?.as_bytes()))
    }
}

impl Serialize for RecordId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One row of a record listing.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordEntry {
    pub id: RecordId,
    pub version: u64,
    /// Payload length in bytes.
    pub len: u64,
}

/// A page of the record listing; `next_after` is `None` on the last page.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordPage {
    pub records: Vec<RecordEntry>,
    pub next_after: Option<RecordId>,
}

impl super::Listed for RecordId {
    const PATH: &'static str = RECORDS_PATH;
}

/// The parameters of `GET /v1/records`.
pub type RecordListQuery = super::PageQuery<RecordId>;

/// The `version` parameter of a record PUT.
pub fn parse_version(query: Option<&str>) -> Result<u64, ProtocolError> {
    query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("version="))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ProtocolError::Query("version=N is required".into()))
}

/// Most records one batch may carry.
pub const MAX_BATCH_RECORDS: usize = 4096;
/// Bytes before each record's payload in a batch: id, version (u64 BE), length (u32 BE).
const BATCH_ITEM_HEADER: usize = 32 + 8 + 4;

/// One record of a batch put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordItem {
    pub id: RecordId,
    pub version: u64,
    pub payload: Bytes,
}

/// The body of a batch put: for each record its id, version (u64 big-endian), payload length
/// (u32 big-endian) and payload, back to back.
pub fn encode_batch(items: &[RecordItem]) -> Vec<u8> {
    let len = items
        .iter()
        .map(|i| BATCH_ITEM_HEADER + i.payload.len())
        .sum();
    let mut out = Vec::with_capacity(len);
    for item in items {
        out.extend_from_slice(&item.id.0);
        out.extend_from_slice(&item.version.to_be_bytes());
        // Records are small metadata; one over 4 GiB cannot be built by the gateway.
        out.extend_from_slice(
            &u32::try_from(item.payload.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        out.extend_from_slice(&item.payload);
    }
    out
}

/// Parses a batch body; any truncation, trailing byte or excess count is an error.
pub fn decode_batch(body: &Bytes) -> Result<Vec<RecordItem>, ProtocolError> {
    let bad = |why: &str| ProtocolError::Batch(why.to_owned());
    let mut items = Vec::new();
    let mut at = 0usize;
    while at < body.len() {
        if items.len() == MAX_BATCH_RECORDS {
            return Err(bad("too many records"));
        }
        let header = body
            .get(at..at + BATCH_ITEM_HEADER)
            .ok_or_else(|| bad("truncated record header"))?;
        let mut id = [0u8; 32];
        id.copy_from_slice(&header[..32]);
        let mut version = [0u8; 8];
        version.copy_from_slice(&header[32..40]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&header[40..44]);
        let start = at + BATCH_ITEM_HEADER;
        let end = start
            .checked_add(u32::from_be_bytes(len) as usize)
            .filter(|&end| end <= body.len())
            .ok_or_else(|| bad("truncated record payload"))?;
        items.push(RecordItem {
            id: RecordId(id),
            version: u64::from_be_bytes(version),
            payload: body.slice(start..end),
        });
        at = end;
    }
    Ok(items)
}

/// The answer to a batch put: per record, `None` when stored, or the newer version the node
/// kept instead.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchReply {
    pub newer: Vec<Option<u64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_refuse_damage() {
        let items: Vec<RecordItem> = (0..5u8)
            .map(|i| RecordItem {
                id: RecordId([i; 32]),
                version: u64::from(i) * 1000,
                payload: Bytes::from(vec![i; usize::from(i) * 7]),
            })
            .collect();
        let body = Bytes::from(encode_batch(&items));
        assert_eq!(decode_batch(&body).unwrap(), items);
        assert_eq!(decode_batch(&Bytes::new()).unwrap(), vec![]);
        for cut in [1, 10, 43, 50, body.len() - 1] {
            assert!(decode_batch(&body.slice(..cut)).is_err(), "cut at {cut}");
        }
        let mut long = body.to_vec();
        long.push(0);
        assert!(decode_batch(&Bytes::from(long)).is_err());
        let mut huge_len = body.to_vec();
        huge_len[40..44].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_batch(&Bytes::from(huge_len)).is_err());
        let too_many = vec![0u8; BATCH_ITEM_HEADER * (MAX_BATCH_RECORDS + 1)];
        assert!(decode_batch(&Bytes::from(too_many)).is_err());
    }

    #[test]
    fn ids_queries_and_versions() {
        let id = RecordId([0xa5; 32]);
        assert_eq!(id.to_hex().parse::<RecordId>().unwrap(), id);
        assert!("../x".parse::<RecordId>().is_err());
        let json = serde_json::to_string(&RecordEntry {
            id,
            version: 7,
            len: 3,
        })
        .unwrap();
        assert!(json.contains(&id.to_hex()), "{json}");
        let q = RecordListQuery {
            after: Some(id),
            limit: 5,
        };
        let pq = q.path_and_query();
        assert_eq!(
            RecordListQuery::parse(pq.split_once('?').map(|p| p.1)).unwrap(),
            q
        );
        assert_eq!(parse_version(Some("version=42")), Ok(42));
        assert!(parse_version(Some("version=x")).is_err());
        assert!(parse_version(None).is_err());
    }
}
