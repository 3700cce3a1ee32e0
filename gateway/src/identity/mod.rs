//! Identities: the users and access keys that sign requests. The index stores them
//! (`index/users.rs`); this layer keeps their secrets sealed at rest ([`seal`]), since SigV4
//! needs a secret itself to check a signature and so cannot keep only a hash of it, and
//! answers who signed with a key ([`directory`]).

pub mod directory;
pub mod seal;

pub use directory::{
    Directory, DirectoryError, NewKey, ROOT_USER, Signer, check_access_key_id, check_user_name,
};
pub use seal::Sealer;

/// Constant-time comparison of two secrets, so their bytes cannot be guessed by timing.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
