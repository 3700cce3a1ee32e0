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
