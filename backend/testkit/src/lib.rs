//! Test-only helpers shared by Floe's crates (a dev-dependency, never part of a binary):
//!
//! - [`mutation`]: random edits of valid encodings, for decoder property tests;
//! - [`pki`]: a throwaway CA and a server certificate for 127.0.0.1, as PEM files.

pub mod mutation;
pub mod pki;
