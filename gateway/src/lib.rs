//! Floe gateway: the S3 front of Floe and the layers beneath it.
//!
//! The request path, top down:
//! - [`front`]: the HTTP middleware before s3s (request ids, refusals from the head, admission by
//!   count and memory, read-out of unread bodies);
//! - [`s3`]: the s3s adapter, which only translates;
//! - [`objects`]: the object service (buckets, keys, multipart, listing, conditions);
//! - [`index`]: the durable metadata index (redb);
//! - [`cache`]: verified chunk bytes by chunk id (moka);
//! - [`blobs`]: the erasure-coded blob layer (chunks, quorum writes, verified reads).
//!
//! Beside it:
//! - [`maintenance`]: repair, scrub, drain, garbage collection, and the metadata records on the
//!   nodes with the index rebuild and the cluster identity;
//! - [`admin`]: the admin API and the `floe admin` command;
//! - [`access`]: who may do what: AWS policy evaluation (pure; wired in by the users issue);
//! - [`identity`]: users' access key secrets, sealed at rest;
//! - [`metrics`]: Prometheus metrics;
//! - [`runtime`]: configuration, wiring, listeners and loops.

pub mod access;
pub mod admin;
pub mod blobs;
pub mod cache;
pub mod front;
pub mod identity;
pub mod index;
pub mod maintenance;
pub mod metrics;
pub mod objects;
pub mod runtime;
pub mod s3;
