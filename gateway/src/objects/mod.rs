//! The object service: buckets, keys, multipart uploads, listing, conditions and metadata, over
//! the metadata index and the blob layer. It knows nothing of HTTP, XML or shards.
//!
//! - [`types`]: requests and answers in Floe's terms;
//! - [`error`]: one error enum, one variant per S3 error code;
//! - `service`: the [`ObjectService`] handle, its configuration and shared checks;
//! - `ingest` / [`checksum`]: one pass over a body that stores it and computes MD5 and checksums;
//! - `conditions`: If-Match / If-None-Match / dates, with S3's precedence;
//! - [`replication`]: a change is acknowledged only once the nodes hold its record;
//! - one file per family of operations: `access` (bucket policies, ACLs, public access),
//!   `bucket_config` (tags, ownership, CORS), `attributes` (GetObjectAttributes),
//!   `buckets`, `put`, `get`, `delete`, `copy`, `list`,
//!   `multipart`, `complete`, `tagging`, `lock` (object lock: bucket configuration, retention
//!   and legal hold of a version), `veeam` (the capacity files of Veeam's SOSAPI).

mod access;
mod attributes;
mod bucket_config;
mod buckets;
pub mod checksum;
mod complete;
mod conditions;
mod copy;
mod delete;
mod error;
mod get;
mod ingest;
mod list;
mod lock;
mod multipart;
mod put;
pub mod replication;
mod service;
mod tagging;
mod types;
mod veeam;
mod versions;

pub use buckets::validate_bucket_name;
pub use conditions::normalize_etag;
pub use error::ObjectError;
pub use replication::{NotReplicated, Replication, ReplicationError};
pub use service::{ObjectService, ServiceConfig, now_millis};
pub use types::*;
pub use veeam::SOSAPI_FOLDER;
pub use versions::{VersionsPage, VersionsRequest};

/// The stored records are also the service's domain types: re-exported so the S3 adapter
/// depends on this layer only, never on the index beneath it.
pub use crate::index::{
    BucketLock, BucketRecord, ChecksumAlgorithm, ChecksumType, ContentHeaders, DefaultRetention,
    ListedVersion, LockChange, MarkerRecord, ObjectLock, ObjectRecord, Retention, RetentionMode,
    RetentionPeriod, StoredChecksum, UnixMillis, UploadRecord, Version, VersionId, VersionStamp,
    Versioning,
};
