//! Test-only helpers shared by Floe's crates (a dev-dependency of each, never part of a release
//! binary but the conformance runner's):
//!
//! - [`process`]: real `floe node` and `floe serve` processes, the one way tests, benches and the
//!   conformance runner start them;
//! - [`data`]: the one generator of test data, seeded and reproducible;
//! - [`mutation`]: random edits of valid encodings, for decoder property tests;
//! - [`pki`]: a throwaway CA and a server certificate for 127.0.0.1, as PEM files;
//! - [`postgres`]: a real PostgreSQL server for the index tests.

pub mod data;
#[cfg(feature = "proptest")]
pub mod mutation;
#[cfg(feature = "pki")]
pub mod pki;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod process;

pub use data::{Rng, pattern};
pub use process::{NodeProcess, NodeSpec, ServeProcess, floe_binary};
