//! Index recovery: a copy of the gateway's metadata on the storage nodes, and the rebuild of
//! the index from it after the gateway's disk is lost.
//!
//! The index journals every bucket and object change (`index::journal`); the publisher copies
//! each one, as a small versioned record, to three nodes chosen by rendezvous hashing on the
//! record id. `floe admin rebuild-index` (or `floe serve --rebuild-index`) lists the records of
//! every node, keeps the newest version of each, drops tombstones and restores buckets, objects,
//! manifests, refcounts and the chunk catalog. In-progress multipart uploads are not copied:
//! after a rebuild their parts are orphans, which the orphan sweep reclaims.
//!
//! - [`record`]: the record ids and their versioned encoding;
//! - [`publish`]: the background publisher of the journal's outbox;
//! - [`rebuild`]: the rebuild itself;
//! - [`identity`]: the cluster id, settled at startup (rebuilding an index that is behind);
//! - [`view`]: whether the index's view is complete enough to delete on.

pub mod identity;
pub mod publish;
pub mod rebuild;
pub mod record;
pub mod view;

pub use identity::{IdentityError, Settled, settle};
pub use publish::Publisher;
pub use rebuild::{RebuildReport, rebuild_index};
pub use view::check_deletable;
