//! Identities: the users and access keys that sign requests. The index stores them
//! (`index/users.rs`); this layer keeps their secrets sealed at rest ([`seal`]), since SigV4
//! needs a secret itself to check a signature and so cannot keep only a hash of it.

pub mod seal;

pub use seal::Sealer;
