//! Replay protection for mutating requests. A signature is valid for the whole clock-skew
//! window (±[`MAX_CLOCK_SKEW_SECS`]), so a captured DELETE could be sent again later in that
//! window, and remove a shard that a deduplicated PUT had just written again. Every PUT, POST and
//! DELETE therefore carries a signed nonce, and the node serves each nonce once: it remembers the
//! nonces it has seen until their request date leaves the window, after which the signature
//! check refuses the request anyway.
//!
//! Memory is bounded by the request rate: 16 bytes and a date per mutating request for 10
//! minutes. A node restart forgets the nonces; a replay then needs a request captured in the last
//! window and a restart in between, and repeats an operation the gateway already made.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::auth::MAX_CLOCK_SKEW_SECS;

/// Nonces seen, with the request date they came with.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    nonces: HashMap<u128, u64>,
    /// (date, nonce) in arrival order, for pruning.
    order: VecDeque<(u64, u128)>,
}

impl ReplayGuard {
    /// Accepts `nonce` (from a request dated `date`) once; false if it was seen before. `now` is
    /// the node's clock, used to forget nonces whose dates have left the window.
    pub fn first_use(&self, nonce: u128, date: u64, now: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let horizon = now.saturating_sub(2 * MAX_CLOCK_SKEW_SECS);
        while let Some(&(oldest, old)) = seen.order.front() {
            if oldest >= horizon {
                break;
            }
            seen.order.pop_front();
            if seen.nonces.get(&old) == Some(&oldest) {
                seen.nonces.remove(&old);
            }
        }
        if seen.nonces.contains_key(&nonce) {
            return false;
        }
        seen.nonces.insert(nonce, date);
        seen.order.push_back((date.max(horizon), nonce));
        true
    }

    /// Nonces remembered now.
    pub fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .nonces
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Parses a nonce header: 32 hex characters.
pub fn parse_nonce(value: &str) -> Option<u128> {
    (value.len() == 32)
        .then(|| u128::from_str_radix(value, 16).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_served_once_within_the_window_and_then_forgotten() {
        let guard = ReplayGuard::default();
        let now = 1_700_000_000;
        assert!(guard.first_use(7, now, now));
        assert!(!guard.first_use(7, now, now + 10));
        assert!(guard.first_use(8, now, now + 10));
        // Once the dates have left the window, the memory is freed (the signature check refuses
        // such old requests by itself).
        assert!(guard.first_use(9, now + 1000, now + 1000));
        assert_eq!(guard.len(), 1);
        assert_eq!(parse_nonce(&format!("{:032x}", 42u128)), Some(42));
        assert_eq!(parse_nonce("xyz"), None);
    }
}
