//! The gateway's durable metadata index: buckets, objects (record + codec manifest), multipart
//! uploads and their parts, and the per-chunk reference counts behind dedup and garbage
//! collection, all in one redb file.
//!
//! Every mutation runs inside one durable redb write transaction (object writes share theirs
//! with concurrent ones), so an object's record, its manifest and the refcounts of the chunks it
//! gains and drops always change together, and a PUT acknowledged after [`Index::put_object`]
//! returned survives `kill -9`.
//!
//! - [`records`]: the persisted record types and their versioned encoding.
//! - [`error`]: [`IndexError`], the one error type of this boundary.
//! - `store`: [`Index`] itself: opening the file, the table layout, transaction plumbing.
//! - `group_commit`: concurrent writes sharing one durable commit (fsync).
//! - `batch`: the writer thread, on which concurrent object PUTs and DELETEs (and the outbox
//!   cleanup) share one durable write transaction.
//! - `buckets`: create, read, list and delete buckets.
//! - [`versioning`]: bucket versioning states, version stamps and ids.
//! - [`lock`]: object lock: retention, legal hold, bucket defaults, and when a version may go.
//! - `objects`: object records and manifests, versioned writes and deletes, conditional
//!   writes, tags, listing.
//! - `chain`: where a key's versions and delete markers sit, and how they move.
//! - `version_list`: ListObjectVersions' walk over every version of a bucket.
//! - `object_entry`: where an object's record and manifest sit in the tables.
//! - `uploads`: multipart uploads, their parts, completion and abort.
//! - `users`: users, their policies, and their access keys (secrets sealed by the gateway);
//! - `bucket_access`: buckets' owners, policies, ACLs and public access blocks; stored policies;
//! - `bucket_config`: buckets' tags, object ownership and CORS rules.
//! - `refcount`: chunk reference counts and the garbage queue the collector drains.
//! - `catalog`: the chunk catalog (`ChunkRef` by chunk id) that repair and scrub walk.
//! - `clock`: the watermark that keeps a gateway with a clock gone back from starting.
//! - `cluster_view`: the cluster's id, whether the index's view of it is complete, and the
//!   newest record version handed out.
//! - `journal`: record versions and the outbox of changes to copy to the nodes; drain flags.
//! - `repair_entry`: an inline object entry that failed its hash, rewritten from a node copy.
//! - `restore`: rebuilding buckets, objects, refcounts and catalog from those copies.
//! - [`kv`]: the ordered transactional key-value interface all of it is written on, and its
//!   stores (redb, PostgreSQL, in-memory).
//! - `deletion`: claims, tombstones and write epochs that keep chunk deletion safe across
//!   gateways.
//! - `lease`: cluster-wide leases for background work, and the gateways seen lately.
//! - `legacy`: the upgrade of redb files written before the keyspace (formats 1 to 3).

mod batch;
mod bucket_access;
mod bucket_config;
mod buckets;
mod catalog;
mod chain;
mod clock;
mod cluster_view;
mod deletion;
pub mod error;
mod filled_file;
#[cfg(test)]
mod fuzz_tests;
mod group_commit;
mod journal;
pub mod kv;
mod lease;
mod legacy;
mod lifecycle;
mod lifecycle_due;
mod lifecycle_rules;
#[cfg(test)]
mod lifecycle_tests;
pub mod lock;
#[cfg(test)]
mod lock_tests;
mod object_entry;
mod object_list;
mod objects;
pub mod records;
mod refcount;
mod repair_entry;
mod restore;
mod store;
#[cfg(test)]
pub(crate) mod testkit;
mod uploads;
mod users;
mod users_journal;
mod version_list;
#[cfg(test)]
mod version_tests;
pub mod versioning;

pub use bucket_access::{BucketAccess, CannedAcl, PublicAccessBlock};
pub use bucket_config::{BucketConfig, CorsRule, LegacyBucketConfig, LegacyLifecycleRule};
pub use clock::{CLOCK_TOLERANCE, ClockAhead, ClockBehind, check_against_nodes, check_clock};
pub use cluster_view::ClusterId;
pub use error::IndexError;
pub use journal::{JournalEntry, JournalState, Published, RecordKind};
pub use lease::{GatewayRecord, LeaseRecord};
pub use lifecycle::{AgedUpload, LifecycleState};
pub use lifecycle_due::{DueKey, LifecycleBacklog, LifecycleWork};
pub use lifecycle_rules::{
    Expiration, LifecycleClock, LifecycleFilter, LifecycleRule, NoncurrentExpiration,
    current_expiry,
};
pub use lock::{
    BucketLock, DefaultRetention, LockChange, LockRefusal, ObjectLock, Removal, Retention,
    RetentionMode, RetentionPeriod,
};
pub use objects::{FoundVersion, HeldUntilSettled, Removed, Version, Written};
pub use records::*;
pub use refcount::GarbageChunk;
pub use restore::RestoreCounts;
pub use store::{INDEX_FORMAT, Index};
pub use users::{KeyRecord, ROOT_USER, SessionKey, UserRecord};
pub use version_list::{ListedVersion, VersionCursor};
pub use versioning::{BucketSettings, MarkerRecord, VersionId, VersionStamp, Versioning};

/// A check of the current object (`None`: key absent) run inside the write transaction that
/// would replace it, so check-and-commit is atomic. `false` means
/// [`IndexError::PreconditionFailed`] and nothing is written.
pub type Precondition<'a> = &'a (dyn Fn(Option<&ObjectRecord>) -> bool + Sync);

/// An owned [`Precondition`], for a write that runs on the index's writer thread.
pub type OwnedPrecondition = Box<dyn Fn(Option<&ObjectRecord>) -> bool + Send + Sync>;
