//! Scrubbing: re-reading stored shards in key order and re-verifying each against the hash in
//! its header, at a bounded rate, so rot on a disk is found before a reader needs the shard.
//!
//! Verification is the ordinary read path ([`ShardStore::get`]): a rotten shard is quarantined
//! there and reported here, so it is never served again and the gateway can rebuild it. Blocking
//! work; the route runs it on a blocking thread.

use std::time::{Duration, Instant};

use crate::protocol::{SCRUB_PAGE_BUDGET, ScrubQuery, ScrubReport};
use crate::store::{ShardStore, StoreError};

/// Verifies up to `query.limit` shards after `query.after`, pacing reads to
/// `query.max_bytes_per_sec` and stopping early once [`SCRUB_PAGE_BUDGET`] has passed.
pub fn scrub_page(store: &ShardStore, query: &ScrubQuery) -> Result<ScrubReport, StoreError> {
    let started = Instant::now();
    let page = store.list(query.after.as_ref(), query.limit)?;
    let mut report = ScrubReport::default();
    let total = page.shards.len();
    for (position, entry) in page.shards.iter().enumerate() {
        if let Some(wait) = pace(report.bytes, query.max_bytes_per_sec, started.elapsed()) {
            if started.elapsed() + wait > SCRUB_PAGE_BUDGET {
                // Out of time: the caller resumes after the last shard checked.
                report.next_after = position.checked_sub(1).map(|p| page.shards[p].key);
                report.next_after = report.next_after.or(query.after);
                return Ok(report);
            }
            std::thread::sleep(wait);
        }
        match store.get(&entry.key) {
            Ok(shard) => report.bytes += shard.payload.len() as u64,
            Err(StoreError::Corrupt(key)) => report.corrupt.push(key),
            // Deleted since the listing: nothing to verify.
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        report.checked += 1;
        if started.elapsed() >= SCRUB_PAGE_BUDGET && position + 1 < total {
            report.next_after = Some(entry.key);
            return Ok(report);
        }
    }
    report.next_after = page.next_after;
    Ok(report)
}

/// How long to wait before reading more, so that `bytes` read in `elapsed` stay at or under
/// `rate` bytes per second; `None` when no wait is needed (or there is no cap).
fn pace(bytes: u64, rate: u64, elapsed: Duration) -> Option<Duration> {
    if rate == 0 {
        return None;
    }
    let due = Duration::from_secs_f64(bytes as f64 / rate as f64);
    due.checked_sub(elapsed).filter(|w| !w.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing() {
        assert_eq!(pace(1000, 0, Duration::ZERO), None);
        assert_eq!(pace(0, 100, Duration::ZERO), None);
        assert_eq!(
            pace(100, 100, Duration::from_millis(400)),
            Some(Duration::from_millis(600))
        );
        assert_eq!(pace(100, 100, Duration::from_secs(2)), None);
    }
}
