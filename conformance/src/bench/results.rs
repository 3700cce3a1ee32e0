//! Every figure the benchmark measures, as plain serialisable data: the table and the JSON file
//! are both printed from these.

use std::collections::BTreeMap;

use serde::Serialize;

/// One measured batch of operations of one kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CellStats {
    /// Operations attempted (`ok + misses + errors`).
    pub ops: u64,
    pub ok: u64,
    /// GET/HEAD of a key that is gone (404 NoSuchKey) where that is allowed: not an error.
    pub misses: u64,
    pub errors: u64,
    /// Body bytes moved by successful operations.
    pub bytes: u64,
    /// Wall time of the whole batch.
    pub secs: f64,
    pub mib_per_s: f64,
    /// Successful operations (ok + misses) per second.
    pub ops_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// CPU of the server processes (Floe: gateway and nodes) per operation, microseconds; to
    /// about ±10 ms of CPU per process over the cell (`/proc` counts in ticks).
    pub server_cpu_us_per_op: Option<f64>,
    /// The same CPU per GiB of body moved, split between the front process (Floe's gateway, or
    /// the baseline server) and Floe's storage nodes.
    pub server_cpu_s_per_gib: Option<CpuPerGib>,
    pub first_error: Option<String>,
}

/// Server CPU-seconds per GiB moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CpuPerGib {
    /// The process clients talk to: Floe's gateway, or the baseline server.
    pub front: f64,
    /// Floe's storage nodes together (0 for a single-process baseline).
    pub nodes: f64,
}

impl CpuPerGib {
    pub fn total(&self) -> f64 {
        self.front + self.nodes
    }
}

/// A PUT or GET cell: one object size at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectCell {
    /// `PUT`, `GET` or `GET hot` (after an untimed warm-up pass).
    pub op: String,
    pub size_bytes: u64,
    pub concurrency: usize,
    #[serde(flatten)]
    pub stats: CellStats,
}

impl ObjectCell {
    /// `PUT 4 KiB c=8`.
    pub fn label(&self) -> String {
        format!(
            "{} {} c={}",
            self.op,
            super::units::size_label(self.size_bytes),
            self.concurrency
        )
    }

    pub fn is(&self, op: &str, size: u64, concurrency: usize) -> bool {
        self.op == op && self.size_bytes == size && self.concurrency == concurrency
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Timed {
    pub secs: f64,
    pub mib_per_s: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MultipartResult {
    pub total_bytes: u64,
    pub part_bytes: u64,
    pub parts_in_flight: usize,
    /// CreateMultipartUpload to CompleteMultipartUpload; `None` when it failed.
    pub upload: Option<Timed>,
    /// One GET, streamed to the last byte.
    pub download: Option<Timed>,
    pub errors: Vec<String>,
    /// Server CPU-seconds per GiB during the upload.
    pub upload_cpu_s_per_gib: Option<CpuPerGib>,
    /// VmRSS per process when the upload started, bytes.
    pub rss_at_upload_start: BTreeMap<String, u64>,
    /// Peak VmRSS per process during the upload, bytes.
    pub peak_rss_during_upload: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ListResult {
    pub keys: usize,
    pub page_size: i32,
    /// Untimed setup: PUT of `keys` small objects at concurrency 32.
    pub setup: CellStats,
    /// Each full pagination, seconds.
    pub runs_secs: Vec<f64>,
    /// Keys each run saw (must be `keys`).
    pub runs_listed: Vec<u64>,
    pub median_secs: Option<f64>,
    pub keys_per_s: Option<f64>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MixedResult {
    pub keys: usize,
    pub object_bytes: u64,
    pub concurrency: usize,
    pub seed: u64,
    /// Untimed pre-population.
    pub setup: CellStats,
    pub total: CellStats,
    /// Per op kind: GET, HEAD, PUT, DELETE.
    pub kinds: BTreeMap<String, CellStats>,
}

/// Everything measured on one endpoint.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetResults {
    /// `floe`, `s3s-fs` or `endpoint`.
    pub name: String,
    pub endpoint: String,
    pub objects: Vec<ObjectCell>,
    pub multipart: Option<MultipartResult>,
    pub list: Option<ListResult>,
    pub mixed: Option<MixedResult>,
    /// Floe only: GET cells rerun after a gateway restart with `cache_bytes = 0`.
    pub cache_off: Vec<ObjectCell>,
    /// Floe only: GET cells (cache off) with `nodes_killed` SIGKILLed.
    pub degraded: Vec<ObjectCell>,
    pub nodes_killed: Vec<usize>,
    /// Peak VmRSS per process over the whole run, bytes.
    pub peak_rss: BTreeMap<String, u64>,
    /// Phases that failed to run, and why.
    pub failures: Vec<String>,
}

impl TargetResults {
    pub fn new(name: &str, endpoint: &str) -> Self {
        Self {
            name: name.into(),
            endpoint: endpoint.into(),
            ..Self::default()
        }
    }

    pub fn object(&self, op: &str, size: u64, concurrency: usize) -> Option<&ObjectCell> {
        self.objects.iter().find(|c| c.is(op, size, concurrency))
    }
}
