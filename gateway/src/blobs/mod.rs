//! The erasure-coded blob layer: object bytes in, chunk references out, and back.
//!
//! It owns the data path below the object service and above the storage nodes:
//! - [`cluster`]: the node set, codec parameters and quorum;
//! - `capacity`: usable bytes over the nodes, for clients that plan placement;
//! - `membership`: active and draining nodes, and shard placement over them;
//! - [`writer`]: stream -> chunks -> encode -> quorum fan-out, ending in a manifest;
//! - `shard_batches`: per node, the small shards of overlapping writes sent in one request;
//! - `manifest`: the manifests of inline bodies and of joined multipart parts;
//! - [`reader`]: fetch k of n shards -> verify -> (decode) -> bytes, with hedging;
//! - `health`: nodes that failed recently, skipped by reads for a moment;
//! - `holds`: retention holds on the nodes, which then refuse to delete a held chunk's shards;
//! - [`pins`]: chunks in use by writes and reads, kept from the garbage collector;
//! - [`repair_queue`]: shards found missing or rotten, waiting to be rebuilt;
//! - `salvage`: fetching the verified shards a repair rebuilds from;
//! - [`error`]: what can go wrong, for the layers above.
//!
//! It knows nothing of S3: it never sees a bucket or a key.

mod capacity;
mod cluster;
mod delete;
mod error;
mod health;
mod holds;
mod manifest;
mod membership;
mod pins;
mod reader;
mod repair_queue;
mod salvage;
mod shard_batches;
mod writer;

pub use capacity::Capacity;
pub use cluster::{BlobStore, ClusterConfig};
pub use error::BlobError;
pub use health::{NodeHealth, ShardOp, TrafficSnapshot};
pub use membership::RECORD_COPIES;
pub use pins::{ChunkPins, PinGuard};
pub use reader::whole;
pub use repair_queue::{RepairQueue, RepairReason, ShardFault};
pub use salvage::ShardSource;
pub use writer::{BlobWriter, IN_PLACE_MAX};
