//! The admin API and the `floe admin` command that drives it.
//!
//! The API listens apart from the S3 endpoint (`admin_listen`, loopback by default) and takes
//! `Authorization: Bearer <token>`, where the token is `admin_token` (unset: the S3 secret
//! key), or `ACCESS_KEY:SECRET` of the root key or of an admin user's key. Every answer is JSON. Long operations run inside the request and answer with their
//! report when done; meanwhile `GET /admin/progress` tells how far they are.
//!
//! | route | answer |
//! |---|---|
//! | `GET /admin/status` | [`StatusReport`]: nodes, capacity, repair backlog, cache, counts |
//! | `GET /admin/progress` | the running operation's [`ProgressSnapshot`], or `null` |
//! | `POST /admin/repair` | [`RepairReport`](crate::maintenance::repair::RepairReport) of a full sweep |
//! | `POST /admin/scrub?max_bytes_per_sec=R` | [`ScrubReport`](crate::maintenance::repair::ScrubReport) |
//! | `POST /admin/gc?grace_secs=N` | [`GcReport`] |
//! | `GET /admin/versions?bucket=B&key=K` | [`VersionLine`]s, newest first |
//! | `DELETE /admin/versions?bucket=B&key=K&version=V&bypass_governance=B` | [`DeletedVersion`]; 403 under a lock |
//! | `POST /admin/drain?node=URL` | [`DrainReport`](crate::maintenance::repair::DrainReport) |
//! | `POST /admin/rebuild-index` | [`RebuildReport`](crate::maintenance::recovery::RebuildReport) |
//! | `POST /admin/lifecycle/run` | [`LifecycleReport`](crate::maintenance::lifecycle::LifecycleReport) of one run of the lifecycle engine |
//! | `/admin/users`, `/admin/keys`, `/admin/policies` | see `users` |
//!
//! - `api`: the server and its routes;
//! - `status`: assembling the status report;
//! - `users`: users, access keys and stored policies;
//! - [`client`]: the typed HTTP client (used by the CLI and by tests);
//! - [`cli`]: the `floe admin` subcommands and their human-readable output;
//! - `users_cli`: `floe admin user|key|policy`.

mod api;
pub mod cli;
pub mod client;
mod status;
mod users;
mod users_cli;
mod versions;

use serde::{Deserialize, Serialize};

use crate::cache::CacheStats;
use crate::maintenance::collector::CollectReport;
use crate::maintenance::repair::{OrphanReport, ProgressSnapshot, RepairCounters};

pub use api::{AdminState, run};
pub use client::{AdminClient, AdminError};
pub use users::{KeyLine, PolicyLine, UserLine};
pub use versions::{DeletedVersion, VersionLine};

/// One storage node as `GET /admin/status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Placement key (the URL, or `embedded-node-N`).
    pub key: String,
    pub url: String,
    pub up: bool,
    /// Writes skip it and a drain is moving its shards away.
    pub draining: bool,
    /// The node's own figures, when it answered.
    pub stats: Option<floe_node::NodeStats>,
    /// Why it is down.
    pub error: Option<String>,
}

/// `GET /admin/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// "K+M".
    pub erasure_code: String,
    pub write_quorum: usize,
    pub nodes: Vec<NodeStatus>,
    pub buckets: u64,
    pub objects: u64,
    /// Chunks in the catalog (referenced, or waiting for the garbage collector).
    pub chunks: u64,
    /// Chunks waiting for the garbage collector.
    pub garbage: u64,
    /// Bucket and object changes not yet copied to the nodes' metadata records.
    pub records_pending: u64,
    pub repair: RepairCounters,
    pub cache: CacheStats,
    /// The maintenance operation in hand, if any.
    pub running: Option<ProgressSnapshot>,
    /// Where the index lives ("embedded" or the shared database, its password hidden).
    #[serde(default)]
    pub index: String,
    /// This gateway's id, and the gateways seen in the last lease period (one with the
    /// embedded index).
    #[serde(default)]
    pub gateway: String,
    #[serde(default)]
    pub gateways: Vec<GatewayStatus>,
    /// Cluster-wide leases: which gateway runs what.
    #[serde(default)]
    pub leases: Vec<LeaseStatus>,
    /// The lifecycle engine's state and this gateway's last run of it.
    #[serde(default)]
    pub lifecycle: LifecycleStatus,
}

/// The lifecycle engine as `floe admin status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleStatus {
    /// Buckets with lifecycle rules.
    pub buckets: u64,
    /// Uploads initiated before this time (ms) are settled under the current rules.
    pub upload_cursor: i64,
    /// What waits for expiration: walks of buckets whose rules changed, keys due.
    pub backlog: crate::index::LifecycleBacklog,
    /// This gateway's last run: when it ended (ms since the epoch), and what it did.
    pub last_run_at: Option<i64>,
    pub last_run: Option<crate::maintenance::lifecycle::LifecycleReport>,
}

/// A gateway sharing the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayStatus {
    pub id: String,
    pub s3: String,
    pub admin: String,
    /// Milliseconds since it last renewed.
    pub seen_ms_ago: i64,
}

/// Who holds a lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseStatus {
    pub name: String,
    pub holder: String,
    /// Milliseconds until it expires unless renewed.
    pub expires_in_ms: i64,
}

/// `POST /admin/gc`: the garbage queue pass, then the orphan sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    pub grace_secs: u64,
    /// The garbage queue pass (and expired multipart uploads).
    pub collected: CollectReport,
    /// Shards of chunks the index never committed.
    pub orphans: OrphanReport,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}
