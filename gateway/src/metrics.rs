//! Prometheus metrics of the gateway: S3 requests by operation and status with latency
//! histograms, bytes in and out, and, read at scrape time, cache counters, shard traffic per node
//! and the repair backlog.
//!
//! Request counters live in one process-wide registry ([`metrics`]) because they are bumped from
//! the S3 adapter's hot path; everything that already has a counter elsewhere (cache, nodes,
//! repair queue) is copied into the exposition when it is scraped, never counted twice.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::cache::{CacheStats, CachedBlobs};

type Labels = Vec<(&'static str, String)>;

fn latency_histogram() -> Histogram {
    // 1 ms .. ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Counters the request path updates.
pub struct Metrics {
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    bytes_in: Counter,
    bytes_out: Counter,
    denials: Family<Labels, Counter>,
    lifecycle: Family<Labels, Counter>,
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics {
        requests: Family::default(),
        latency: Family::new_with_constructor(latency_histogram),
        bytes_in: Counter::default(),
        bytes_out: Counter::default(),
        denials: Family::default(),
        lifecycle: Family::default(),
    })
}

/// Shard traffic to one node, as counted by the blob layer.
#[derive(Debug, Clone, Default)]
pub struct NodeTraffic {
    pub node: String,
    pub reads_ok: u64,
    pub reads_failed: u64,
    pub writes_ok: u64,
    pub writes_failed: u64,
    pub down: bool,
}

/// Values owned by other components, read when Prometheus scrapes.
#[derive(Debug, Clone, Default)]
pub struct LiveStats {
    pub cache: CacheStats,
    pub nodes: Vec<NodeTraffic>,
    pub repair_backlog: u64,
}

/// Reads the live values of a running gateway from its cache and blob store.
pub fn live_stats(reader: &CachedBlobs) -> LiveStats {
    let blobs = reader.blobs();
    let health = blobs.health();
    let nodes = blobs
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let t = health.traffic(i);
            NodeTraffic {
                node: node.url().to_string(),
                reads_ok: t.reads_ok,
                reads_failed: t.reads_failed,
                writes_ok: t.writes_ok,
                writes_failed: t.writes_failed,
                down: health.is_down(i),
            }
        })
        .collect();
    LiveStats {
        cache: reader.stats(),
        nodes,
        repair_backlog: blobs.repairs().len() as u64,
    }
}

impl Metrics {
    /// One finished S3 request.
    pub fn observe_request(&self, op: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&vec![
                ("op", op.to_string()),
                ("status", status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("op", op.to_string())])
            .observe(elapsed.as_secs_f64());
    }

    /// One request (or one key of a multi-object delete) refused by access control.
    pub fn observe_denial(&self, action: &str) {
        self.denials
            .get_or_create(&vec![("action", action.to_string())])
            .inc();
    }

    /// One lifecycle run: what it looked at and what it did.
    pub fn observe_lifecycle(&self, run: &crate::maintenance::lifecycle::LifecycleReport) {
        let v = &run.versions;
        for (what, n) in [
            ("keys_examined", v.examined),
            ("keys_walked", run.keys_walked),
            ("current_expired", v.expired),
            ("noncurrent_removed", v.noncurrent_removed),
            ("markers_removed", v.markers_removed),
            ("held_by_lock", v.held),
            ("failed", v.failed),
            ("uploads_examined", run.uploads_examined),
            ("uploads_aborted", run.uploads_aborted),
        ] {
            self.lifecycle
                .get_or_create(&vec![("what", what.to_string())])
                .inc_by(n);
        }
    }

    /// Object bytes received from clients.
    pub fn add_bytes_in(&self, n: u64) {
        self.bytes_in.inc_by(n);
    }

    /// Object bytes sent to clients.
    pub fn add_bytes_out(&self, n: u64) {
        self.bytes_out.inc_by(n);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, live: &LiveStats) -> String {
        let mut r = Registry::with_prefix("floe");
        r.register(
            "s3_requests",
            "S3 requests by operation and status",
            self.requests.clone(),
        );
        r.register(
            "lifecycle",
            "Lifecycle engine: keys examined and walked, versions expired, removed and held by \
             a lock, uploads examined and aborted",
            self.lifecycle.clone(),
        );
        r.register(
            "access_denials",
            "Requests refused by access control, by IAM action",
            self.denials.clone(),
        );
        r.register(
            "s3_request_duration_seconds",
            "S3 request latency by operation (until the response head)",
            self.latency.clone(),
        );
        r.register(
            "s3_bytes_in",
            "Object bytes received",
            self.bytes_in.clone(),
        );
        r.register("s3_bytes_out", "Object bytes sent", self.bytes_out.clone());
        r.register(
            "cache_hits",
            "Chunk cache hits",
            ConstCounter::new(live.cache.hits),
        );
        r.register(
            "cache_misses",
            "Chunk cache misses",
            ConstCounter::new(live.cache.misses),
        );
        r.register(
            "cache_bytes",
            "Bytes of chunk data in the cache",
            ConstGauge::new(live.cache.bytes as i64),
        );
        r.register(
            "repair_backlog",
            "Shards waiting for repair",
            ConstGauge::new(live.repair_backlog as i64),
        );
        let shards = Family::<Labels, Counter>::default();
        let down = Family::<Labels, prometheus_client::metrics::gauge::Gauge>::default();
        for n in &live.nodes {
            let label = |op: &str, outcome: &str| {
                vec![
                    ("node", n.node.clone()),
                    ("op", op.to_string()),
                    ("outcome", outcome.to_string()),
                ]
            };
            shards
                .get_or_create(&label("read", "ok"))
                .inc_by(n.reads_ok);
            shards
                .get_or_create(&label("read", "failed"))
                .inc_by(n.reads_failed);
            shards
                .get_or_create(&label("write", "ok"))
                .inc_by(n.writes_ok);
            shards
                .get_or_create(&label("write", "failed"))
                .inc_by(n.writes_failed);
            down.get_or_create(&vec![("node", n.node.clone())])
                .set(i64::from(n.down));
        }
        r.register(
            "shard_requests",
            "Shard reads and writes per node and outcome",
            shards,
        );
        r.register("node_down", "1 while a node is skipped after failing", down);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &r);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family() {
        let m = metrics();
        m.observe_request("GetObject", 200, Duration::from_millis(3));
        m.add_bytes_out(10);
        let text = m.render(&LiveStats {
            cache: CacheStats {
                hits: 4,
                ..Default::default()
            },
            nodes: vec![NodeTraffic {
                node: "n0".into(),
                reads_ok: 2,
                ..Default::default()
            }],
            repair_backlog: 1,
        });
        for needle in [
            "floe_s3_requests_total{op=\"GetObject\",status=\"200\"}",
            "floe_s3_request_duration_seconds_bucket{le=",
            "floe_s3_bytes_out_total",
            "floe_cache_hits_total 4",
            "floe_repair_backlog 1",
            "floe_shard_requests_total{node=\"n0\",op=\"read\",outcome=\"ok\"} 2",
            "floe_node_down{node=\"n0\"} 0",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
