//! Sealing access key secrets: ChaCha20-Poly1305 (ring) under a key derived with blake3 from
//! the gateway's sealing secret, with a random nonce per secret and the access key id as
//! associated data, so a sealed secret moved to another key id does not open.
//!
//! Layout: version byte (1), nonce (12 bytes), ciphertext and tag.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const VERSION: u8 = 1;
const CONTEXT: &str = "floe 2026-12 access key secrets v1";

/// Seals and opens secrets with one key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// Why a secret could not be sealed.
#[derive(Debug, thiserror::Error)]
#[error("no randomness for a nonce")]
pub struct SealError;

impl Sealer {
    /// A sealer whose key derives from `secret` (the gateway's sealing secret).
    pub fn new(secret: &str) -> Self {
        let derived = blake3::derive_key(CONTEXT, secret.as_bytes());
        // A 32-byte key is exactly what ChaCha20-Poly1305 takes.
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &derived)
            .unwrap_or_else(|_| unreachable!("a 32-byte ChaCha20-Poly1305 key"));
        Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        }
    }

    /// `secret` sealed for access key `access_key`.
    pub fn seal(&self, access_key: &str, secret: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealError)?;
        let mut body = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(access_key.as_bytes()),
                &mut body,
            )
            .map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + body.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The secret `sealed` holds for `access_key`; `None` if it was sealed under another key,
    /// for another key id, or damaged.
    pub fn open(&self, access_key: &str, sealed: &[u8]) -> Option<String> {
        let (&version, rest) = sealed.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(access_key.as_bytes()), &mut body)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_key_id_and_sealer() {
        let sealer = Sealer::new("cluster sealing secret");
        let sealed = sealer.seal("BACKUPKEY1", "s3cr3t/+=").unwrap();
        assert!(
            !sealed.windows(9).any(|w| w == b"s3cr3t/+="),
            "never in the clear"
        );
        assert_eq!(
            sealer.open("BACKUPKEY1", &sealed).as_deref(),
            Some("s3cr3t/+=")
        );
        // Two seals of one secret differ (fresh nonces).
        assert_ne!(sealer.seal("BACKUPKEY1", "s3cr3t/+=").unwrap(), sealed);
        assert_eq!(sealer.open("OTHERKEY", &sealed), None);
        assert_eq!(
            Sealer::new("another secret").open("BACKUPKEY1", &sealed),
            None
        );
        for cut in [0, 1, 12, sealed.len() - 1] {
            assert_eq!(
                sealer.open("BACKUPKEY1", &sealed[..cut]),
                None,
                "cut at {cut}"
            );
        }
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(sealer.open("BACKUPKEY1", &flipped), None);
    }
}
