//! Self-healing against real `floe node` processes (erasure code 4+2 over 6 nodes): repair after
//! nodes are replaced by empty ones, and the admin API and CLI that drive it. One test binary
//! (link time); each module starts its own cluster.

#[path = "../support/mod.rs"]
mod support;

mod repair;
mod drain;
mod recovery;
mod scrub;
