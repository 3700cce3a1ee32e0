//! The scrub exchange: `POST /v1/scrub?after=<key>&limit=N&max_bytes_per_sec=R` asks the node to
//! re-read and re-verify up to N stored shards after `after`, at most R bytes per second
//! (0: as fast as the disk goes), and answers with a [`ScrubReport`].
//!
//! One call does a bounded amount of work (also cut short after [`SCRUB_PAGE_BUDGET`]), so a
//! whole-disk scrub is a loop over pages driven by the caller, like a listing.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, ProtocolError, ShardKey};

/// Route of the scrub call.
pub const SCRUB_PATH: &str = "/v1/scrub";

/// Longest a single scrub call works before answering, well inside a client's timeout.
pub const SCRUB_PAGE_BUDGET: Duration = Duration::from_secs(2);

/// The parameters of a scrub call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrubQuery {
    pub after: Option<ShardKey>,
    pub limit: u32,
    /// Read rate cap in bytes per second; 0 means none.
    pub max_bytes_per_sec: u64,
}

/// What one scrub call found.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrubReport {
    /// Shards read and verified.
    pub checked: u64,
    /// Payload bytes read.
    pub bytes: u64,
    /// Shards that failed verification; each is now in quarantine.
    pub corrupt: Vec<ShardKey>,
    /// Cursor for the next call; `None` when the walk reached the last shard.
    pub next_after: Option<ShardKey>,
}

impl ScrubQuery {
    /// Parses the query string (without `?`); unknown parameters are ignored, a limit above
    /// [`LIST_MAX_LIMIT`] is clamped, zero is refused.
    pub fn parse(query: Option<&str>) -> Result<ScrubQuery, ProtocolError> {
        let mut out = ScrubQuery {
            after: None,
            limit: LIST_DEFAULT_LIMIT,
            max_bytes_per_sec: 0,
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = || -> Result<u64, ProtocolError> {
                value
                    .parse()
                    .map_err(|_| ProtocolError::Query(pair.to_owned()))
            };
            match name {
                "after" if value.is_empty() => out.after = None,
                "after" => out.after = Some(value.parse()?),
                "limit" => {
                    let limit = number()?;
                    if limit == 0 {
                        return Err(ProtocolError::Query(pair.to_owned()));
                    }
                    out.limit = limit.min(u64::from(LIST_MAX_LIMIT)) as u32;
                }
                "max_bytes_per_sec" => out.max_bytes_per_sec = number()?,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Path and query of this scrub call.
    pub fn path_and_query(&self) -> String {
        let mut out = format!(
            "{SCRUB_PATH}?limit={}&max_bytes_per_sec={}",
            self.limit, self.max_bytes_per_sec
        );
        if let Some(after) = &self.after {
            out.push_str(&format!("&after={after}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_codec::ChunkId;

    #[test]
    fn query_round_trips_and_refuses_garbage() {
        let q = ScrubQuery {
            after: Some(ShardKey::new(ChunkId::from_bytes([3; 32]), 4)),
            limit: 50,
            max_bytes_per_sec: 1 << 20,
        };
        let pq = q.path_and_query();
        let query = pq.split_once('?').map(|(_, q)| q);
        assert_eq!(ScrubQuery::parse(query).unwrap(), q);
        let defaults = ScrubQuery::parse(None).unwrap();
        assert_eq!(
            (defaults.limit, defaults.max_bytes_per_sec),
            (LIST_DEFAULT_LIMIT, 0)
        );
        assert!(ScrubQuery::parse(Some("limit=0")).is_err());
        assert!(ScrubQuery::parse(Some("max_bytes_per_sec=-1")).is_err());
        assert_eq!(
            ScrubQuery::parse(Some("limit=999999")).unwrap().limit,
            LIST_MAX_LIMIT
        );
    }
}
