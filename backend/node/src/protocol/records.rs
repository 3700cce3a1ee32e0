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

use std::fmt;
use std::str::FromStr;

use floe_codec::ChunkId;
use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

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
