//! The clock guard: retention is judged by the gateway's clock, so a clock set wrong is a way to
//! unlock data early. The index keeps a watermark, the latest time any gateway of the cluster
//! has seen (raised every minute while a gateway runs, and to the newest time in the records
//! when the index is rebuilt from the nodes). A gateway whose clock reads earlier than that
//! watermark, beyond [`CLOCK_TOLERANCE`], refuses to start: its clock went back, or another
//! gateway's ran ahead, and either way retention decisions cannot be trusted until an operator
//! fixes it. Once the clock is right, `floe serve --reset-clock-watermark` sets the watermark to
//! it (logged), for a watermark that a clock set ahead pushed into the future.
//!
//! The dangerous direction, a clock ahead, is checked against the storage nodes: a gateway
//! whose clock reads more than [`CLOCK_TOLERANCE`] later than the median of the clocks its
//! nodes report (their HTTP `Date`) refuses to start too.

use super::store::META;
use super::{Index, IndexError, UnixMillis};

/// Key in `meta`: the watermark, in milliseconds since the epoch.
const CLOCK_WATERMARK: &str = "clock_watermark";

/// How far behind the watermark a clock may read: gateways of one cluster whose NTP-kept
/// clocks differ by seconds must still start.
pub const CLOCK_TOLERANCE: UnixMillis = 5 * 60 * 1000;

/// The clock reads earlier than the cluster has already seen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this machine's clock reads {now} ms since the epoch, {behind} ms behind the newest time \
     this cluster has seen ({watermark}): fix the clock (NTP) before starting, since object \
     lock retention is judged by it (if another clock ran ahead, start once with \
     --reset-clock-watermark after checking this one)"
)]
pub struct ClockBehind {
    pub now: UnixMillis,
    pub watermark: UnixMillis,
    pub behind: UnixMillis,
}

/// Whether a clock reading `now` may be trusted after the cluster saw `watermark`.
pub fn check_clock(now: UnixMillis, watermark: UnixMillis) -> Result<(), ClockBehind> {
    let behind = watermark.saturating_sub(now);
    match behind > CLOCK_TOLERANCE {
        true => Err(ClockBehind {
            now,
            watermark,
            behind,
        }),
        false => Ok(()),
    }
}

/// The clock reads later than the storage nodes' clocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this machine's clock reads {ahead} ms ahead of the storage nodes' (their median, of \
     {nodes} answering): fix the clock (NTP) before starting, since a clock ahead would end \
     object lock retention early"
)]
pub struct ClockAhead {
    pub ahead: UnixMillis,
    pub nodes: usize,
}

/// Whether a gateway clock reading `now` agrees with the clocks the nodes report (ms; HTTP
/// dates have whole seconds). A clock ahead is the dangerous direction: it would end
/// retention early. No answer from any node is no evidence either way.
pub fn check_against_nodes(now: UnixMillis, nodes: &[UnixMillis]) -> Result<(), ClockAhead> {
    if nodes.is_empty() {
        return Ok(());
    }
    let mut sorted = nodes.to_vec();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let ahead = now.saturating_sub(median);
    match ahead > CLOCK_TOLERANCE {
        true => Err(ClockAhead {
            ahead,
            nodes: nodes.len(),
        }),
        false => Ok(()),
    }
}

impl Index {
    /// The latest time the cluster has seen (0 for a new index).
    pub fn clock_watermark(&self) -> Result<UnixMillis, IndexError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        Ok(meta
            .get(CLOCK_WATERMARK)?
            .map_or(0, |v| i64::try_from(v.value()).unwrap_or(i64::MAX)))
    }

    /// Raises the watermark to `seen` (never lowers it).
    pub fn raise_clock_watermark(&self, seen: UnixMillis) -> Result<(), IndexError> {
        if seen <= self.clock_watermark()? {
            return Ok(());
        }
        self.write(|t| raise_watermark(t, seen))
    }
}

impl Index {
    /// Sets the watermark to `now`, even lower: the operator's answer to a watermark a clock
    /// set ahead pushed into the future (`floe serve --reset-clock-watermark`).
    pub fn reset_clock_watermark(&self, now: UnixMillis) -> Result<(), IndexError> {
        self.write(|t| {
            t.meta
                .insert(CLOCK_WATERMARK, u64::try_from(now).unwrap_or(0))?;
            Ok(())
        })
    }
}

/// Raises the watermark inside a write transaction.
pub(super) fn raise_watermark(
    t: &mut super::store::Tables<'_>,
    seen: UnixMillis,
) -> Result<(), IndexError> {
    let seen = u64::try_from(seen).unwrap_or(0);
    let current = t.meta.get(CLOCK_WATERMARK)?.map_or(0, |v| v.value());
    if seen > current {
        t.meta.insert(CLOCK_WATERMARK, seen)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::temp_index;

    #[test]
    fn a_clock_behind_the_watermark_is_refused_beyond_the_tolerance() {
        let t = 1_800_000_000_000;
        assert_eq!(check_clock(t, t), Ok(()));
        assert_eq!(check_clock(t + 1, t), Ok(()));
        assert_eq!(check_clock(t - CLOCK_TOLERANCE, t), Ok(()));
        let err = check_clock(t - CLOCK_TOLERANCE - 1, t).unwrap_err();
        assert_eq!(err.behind, CLOCK_TOLERANCE + 1);
        // A clock reset to the epoch, as a machine without a battery starts.
        assert!(check_clock(0, t).is_err());
        // A new index has seen nothing.
        assert_eq!(check_clock(0, 0), Ok(()));
    }

    #[test]
    fn a_clock_ahead_of_most_nodes_is_refused() {
        let t = 1_800_000_000_000;
        assert_eq!(check_against_nodes(t, &[]), Ok(()));
        assert_eq!(check_against_nodes(t, &[t, t - 1000, t + 1000]), Ok(()));
        assert_eq!(check_against_nodes(t - CLOCK_TOLERANCE * 10, &[t]), Ok(()));
        // One node with a wild clock does not decide; most nodes do.
        assert_eq!(check_against_nodes(t, &[0, t, t]), Ok(()));
        let hour = 3_600_000;
        let err = check_against_nodes(t + hour, &[t, t, t + hour]).unwrap_err();
        assert_eq!((err.ahead, err.nodes), (hour, 3));
    }

    #[test]
    fn the_watermark_only_rises_unless_reset() {
        let (_dir, index) = temp_index();
        assert_eq!(index.clock_watermark().unwrap(), 0);
        index.raise_clock_watermark(500).unwrap();
        index.raise_clock_watermark(100).unwrap();
        assert_eq!(index.clock_watermark().unwrap(), 500);
        index.reset_clock_watermark(100).unwrap();
        assert_eq!(index.clock_watermark().unwrap(), 100);
    }
}
