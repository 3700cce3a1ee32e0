//! Self-healing against real `floe node` processes (erasure code 4+2): repair after nodes are
//! replaced by empty ones, scrub of rotten shards, drain of a node, rebuild of a lost index, and
//! the admin API and CLI that drive them. Each module starts its own
//! cluster.

mod drain;
mod record_log;
mod recovery;
mod repair;
mod scrub;
mod shard_packs;
