//! Floe gateway: the S3 front of Floe and the layers beneath it.
//!
//! The request path, top down:
//! - [`front`]: the HTTP middleware before s3s (request ids, refusals from the head, admission by
//!   count and memory, read-out of unread bodies);
//! - [`s3`]: the s3s adapter, which only translates;
//! - [`admin`]: the admin API and the `floe admin` command;
//! - [`objects`]: the object service (buckets, keys, multipart, listing, conditions);
//! - [`index`]: the durable metadata index (redb);
//! - [`collector`]: the garbage collector for unreferenced chunks;
//! - [`repair`]: self-healing (repair sweeps and queue, scrub, orphan sweep, drain);
//! - [`recovery`]: metadata copies on the nodes and the index rebuild from them;
//! - [`cache`]: verified chunk bytes by chunk id (moka);
//! - [`blobs`]: the erasure-coded blob layer (chunks, quorum writes, verified reads);
//! - [`metrics`]: Prometheus metrics;
//! - [`periodic`]: the loop shape of the simple background tasks;
//! - [`http_server`]: the accept loop shared by the S3 and admin listeners;
//! - [`config`] and [`launch`]: the TOML configuration and wiring it all up;
//! - [`limits`]: the `[limits]` section (request concurrency, key, metadata, part sizes);
//! - [`tls`]: the `[tls]` section (HTTPS endpoint, CA for `https://` nodes).

pub mod admin;
pub mod blobs;
pub mod cache;
pub mod collector;
pub mod config;
pub mod front;
pub mod http_server;
pub mod index;
pub mod launch;
pub mod limits;
pub mod metrics;
pub mod objects;
pub mod periodic;
pub mod recovery;
pub mod repair;
pub mod s3;
pub mod tls;
