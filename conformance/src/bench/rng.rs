//! A tiny seeded generator (xorshift64*, seeded through splitmix64): reproducible mixed-workload
//! plans and incompressible object bodies without a new dependency.

use bytes::Bytes;

pub struct XorShift64(u64);

impl XorShift64 {
    pub fn new(seed: u64) -> Self {
        // splitmix64 spreads nearby seeds apart; a zero state would stick at zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` for a benchmark (modulo bias is below 2^-40 for small `n`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `len` pseudo-random bytes from `seed`.
pub fn random_bytes(seed: u64, len: usize) -> Bytes {
    let mut rng = XorShift64::new(seed);
    let mut buf = vec![0u8; len];
    let mut words = buf.chunks_exact_mut(8);
    for word in &mut words {
        word.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    let tail = words.into_remainder();
    let last = rng.next_u64().to_le_bytes();
    let n = tail.len();
    tail.copy_from_slice(&last[..n]);
    Bytes::from(buf)
}

/// Distance between stamps in [`stamped`]: a divisor of any chunk size a server could pick, so
/// every chunk of a stamped body is unique.
pub const STAMP_EVERY: usize = 4096;

/// A copy of `base` with `tag` written (little-endian) at the start of every 4 KiB block.
/// Objects of one size then share no block of content, so a content-addressed store (Floe
/// dedups identical chunks) writes each one in full like any other server, instead of
/// recognising the bytes it already holds.
pub fn stamped(base: &[u8], tag: u64) -> Bytes {
    let mut buf = base.to_vec();
    let stamp = tag.to_le_bytes();
    for block in buf.chunks_mut(STAMP_EVERY) {
        let n = block.len().min(stamp.len());
        block[..n].copy_from_slice(&stamp[..n]);
    }
    Bytes::from(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_make_every_block_differ() {
        let base = random_bytes(1, 3 * STAMP_EVERY + 5);
        let (a, b) = (stamped(&base, 1), stamped(&base, 2));
        assert_eq!(a.len(), base.len());
        for (x, y) in a.chunks(STAMP_EVERY).zip(b.chunks(STAMP_EVERY)) {
            assert_ne!(x, y);
            // Only the stamp differs from the base.
            assert_eq!(x[x.len().min(8)..], y[y.len().min(8)..]);
        }
        assert_eq!(&a[..8], &1u64.to_le_bytes());
        assert_eq!(stamped(&base, 1), a);
    }

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = XorShift64::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = XorShift64::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let mut other = XorShift64::new(8);
        assert_eq!(a, b);
        assert_ne!(a[0], other.next_u64());
    }

    #[test]
    fn random_bytes_have_the_length_and_look_random() {
        let body = random_bytes(1, 4099);
        assert_eq!(body.len(), 4099);
        assert_eq!(body, random_bytes(1, 4099));
        let zeros = body.iter().filter(|&&b| b == 0).count();
        // ~16 expected among 4099 uniform bytes.
        assert!(zeros < 60, "{zeros} zero bytes");
    }
}
