//! Cluster leases and gateway presence, for several gateways on one shared index.
//!
//! Background work that must run once per cluster (garbage collection, upload expiry, the
//! repair and orphan sweeps, scrub) runs on the gateway holding its lease. A lease is a row
//! naming its holder and an expiry; the holder renews it well before it expires, and any other
//! gateway takes it over once it has expired (its holder died or lost the database). Taking and
//! renewing are transactions, so two gateways never both hold a lease. Each gateway also
//! notes itself in `gateways` when it renews, so status can show who is alive.

use serde::{Deserialize, Serialize};

use super::store::{GATEWAYS, LEASES, Tables, decode};
use super::{Index, IndexError, UnixMillis, encode_record};

/// Who holds a lease, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub holder: String,
    pub expires: UnixMillis,
}

/// A gateway that has been seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayRecord {
    /// Its S3 and admin addresses, as it announced them.
    pub s3: String,
    pub admin: String,
    pub seen: UnixMillis,
}

/// Takes or renews lease `name` for `holder` in `t`; false while another holder's has not
/// expired.
fn take_lease(
    t: &mut Tables<'_>,
    name: &str,
    holder: &str,
    now: UnixMillis,
    ttl_ms: i64,
) -> Result<bool, IndexError> {
    if let Some(stored) = t.leases.get(name)? {
        let lease: LeaseRecord = decode(format_args!("lease {name}"), stored.value())?;
        if lease.holder != holder && lease.expires > now {
            return Ok(false);
        }
    }
    let lease = LeaseRecord {
        holder: holder.to_string(),
        expires: now.saturating_add(ttl_ms),
    };
    t.leases.insert(name, encode_record(&lease).as_slice())?;
    Ok(true)
}

impl Index {
    /// Takes or renews lease `name` for `holder` until `now + ttl_ms`: true if `holder` holds
    /// it now. Refused while another holder's lease has not expired.
    pub fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: UnixMillis,
        ttl_ms: i64,
    ) -> Result<bool, IndexError> {
        self.write(|t| take_lease(t, name, holder, now, ttl_ms))
    }

    /// What a gateway does every few seconds, in one transaction: notes itself alive as `id`
    /// and takes or renews lease `name` (see [`acquire_lease`](Self::acquire_lease)).
    pub fn check_in(
        &self,
        id: &str,
        record: &GatewayRecord,
        name: &str,
        ttl_ms: i64,
    ) -> Result<bool, IndexError> {
        self.write(|t| {
            t.gateways.insert(id, encode_record(record).as_slice())?;
            take_lease(t, name, id, record.seen, ttl_ms)
        })
    }

    /// Gives lease `name` up if `holder` holds it (a gateway stopping cleanly).
    pub fn release_lease(&self, name: &str, holder: &str) -> Result<(), IndexError> {
        self.write(|t| {
            if let Some(stored) = t.leases.get(name)? {
                let lease: LeaseRecord = decode(format_args!("lease {name}"), stored.value())?;
                if lease.holder == holder {
                    t.leases.remove(name)?;
                }
            }
            Ok(())
        })
    }

    /// Every lease, by name.
    pub fn leases(&self) -> Result<Vec<(String, LeaseRecord)>, IndexError> {
        let txn = self.read()?;
        let mut out = Vec::new();
        for entry in txn.open_table(LEASES)?.iter()? {
            let (name, value) = entry?;
            let name = name.value().to_string();
            let lease = decode(format_args!("lease {name}"), value.value())?;
            out.push((name, lease));
        }
        Ok(out)
    }

    /// Notes that gateway `id` is alive.
    pub fn note_gateway(&self, id: &str, record: &GatewayRecord) -> Result<(), IndexError> {
        self.write(|t| t.gateways.insert(id, encode_record(record).as_slice()))
    }

    /// Gateways seen at or after `since`, by id; older entries are removed.
    pub fn gateways(&self, since: UnixMillis) -> Result<Vec<(String, GatewayRecord)>, IndexError> {
        let txn = self.read()?;
        let mut alive = Vec::new();
        let mut gone = Vec::new();
        for entry in txn.open_table(GATEWAYS)?.iter()? {
            let (id, value) = entry?;
            let id = id.value().to_string();
            let record: GatewayRecord = decode(format_args!("gateway {id}"), value.value())?;
            if record.seen >= since {
                alive.push((id, record));
            } else {
                gone.push(id);
            }
        }
        drop(txn);
        if !gone.is_empty() {
            self.write(|t| {
                for id in &gone {
                    t.gateways.remove(id)?;
                }
                Ok(())
            })?;
        }
        Ok(alive)
    }
}

#[cfg(test)]
mod tests {
    use crate::index::testkit::*;

    #[test]
    fn one_holder_at_a_time_and_expired_leases_move() {
        let (_dir, index) = temp_index();
        assert!(index.acquire_lease("gc", "a", 1_000, 500).unwrap());
        assert!(!index.acquire_lease("gc", "b", 1_200, 500).unwrap());
        // The holder renews.
        assert!(index.acquire_lease("gc", "a", 1_400, 500).unwrap());
        assert!(!index.acquire_lease("gc", "b", 1_800, 500).unwrap());
        // Expired: another takes it.
        assert!(index.acquire_lease("gc", "b", 1_901, 500).unwrap());
        assert!(!index.acquire_lease("gc", "a", 1_950, 500).unwrap());
        let leases = index.leases().unwrap();
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].1.holder, "b");
        index.release_lease("gc", "a").unwrap();
        assert_eq!(index.leases().unwrap().len(), 1, "only the holder releases");
        index.release_lease("gc", "b").unwrap();
        assert!(index.leases().unwrap().is_empty());
    }

    #[test]
    fn racing_gateways_never_share_a_lease() {
        let (_dir, index) = temp_index();
        let index = std::sync::Arc::new(index);
        let winners: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let index = index.clone();
                    s.spawn(move || {
                        index
                            .acquire_lease("sweep", &format!("g{i}"), 10_000, 15_000)
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(winners.iter().filter(|w| **w).count(), 1);
    }

    #[test]
    fn gateways_not_seen_lately_are_dropped() {
        let (_dir, index) = temp_index();
        let record = |seen| super::GatewayRecord {
            s3: "127.0.0.1:9000".into(),
            admin: "127.0.0.1:9001".into(),
            seen,
        };
        index.note_gateway("a", &record(1_000)).unwrap();
        index.note_gateway("b", &record(5_000)).unwrap();
        let alive = index.gateways(4_000).unwrap();
        assert_eq!(alive.len(), 1);
        assert_eq!(alive[0].0, "b");
        assert_eq!(index.gateways(0).unwrap().len(), 1, "a was removed");
    }
}
