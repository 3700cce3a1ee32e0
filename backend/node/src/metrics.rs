//! Prometheus metrics of one storage node, served as `GET /metrics` in the OpenMetrics text
//! format: requests by route kind and status, latency per route kind, shard bytes written and
//! read, scrub progress, and, read from the stores when scraped, what the node holds (shards,
//! bytes, quarantined files, corrupt shards found, records and their log, disk space).
//!
//! Every [`NodeState`](crate::NodeState) owns its own [`NodeMetrics`] and registry, never a
//! process global: the gateway's dev mode runs several nodes in one process, and each must
//! report its own figures. Values the store already counts exactly (see `stats`) are copied
//! into the exposition at scrape time rather than counted a second time.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::protocol::{HEALTH_PATH, METRICS_PATH, Route};
use crate::records::RecordStore;
use crate::store::ShardStore;

/// Content type of the exposition `prometheus-client` writes (it ends with `# EOF`).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What a request was, as a bounded label: one value per route and method the node serves,
/// `other` for everything it refuses as unknown (so a scanner cannot blow up the series count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    Health,
    Metrics,
    Stats,
    ShardPut,
    /// Several shards in one request (`POST /v1/shards`).
    ShardPutBatch,
    ShardGet,
    ShardHead,
    ShardDelete,
    ShardList,
    Scrub,
    RecordPut,
    RecordGet,
    RecordDelete,
    RecordList,
    Other,
}

impl RouteKind {
    /// Classifies a request the way `routes::dispatch` will route it. Unauthenticated requests
    /// are classified by what they asked for; their 401/403 shows in the status label.
    pub fn of(method: &Method, path: &str) -> RouteKind {
        match path {
            HEALTH_PATH => return RouteKind::Health,
            METRICS_PATH => return RouteKind::Metrics,
            _ => {}
        }
        let Ok(route) = Route::parse(path) else {
            return RouteKind::Other;
        };
        match (route, method.clone()) {
            (Route::Stats, Method::GET) => RouteKind::Stats,
            (Route::List, Method::GET) => RouteKind::ShardList,
            (Route::List, Method::POST) => RouteKind::ShardPutBatch,
            (Route::Scrub, Method::POST) => RouteKind::Scrub,
            (Route::Records, Method::GET) => RouteKind::RecordList,
            (Route::Records, Method::POST) => RouteKind::RecordPut,
            (Route::Record(_), Method::PUT) => RouteKind::RecordPut,
            (Route::Record(_), Method::GET) => RouteKind::RecordGet,
            (Route::Record(_), Method::DELETE) => RouteKind::RecordDelete,
            (Route::Shard(_), Method::PUT) => RouteKind::ShardPut,
            (Route::Shard(_), Method::GET) => RouteKind::ShardGet,
            (Route::Shard(_), Method::HEAD) => RouteKind::ShardHead,
            (Route::Shard(_), Method::DELETE) => RouteKind::ShardDelete,
            _ => RouteKind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Health => "health",
            RouteKind::Metrics => "metrics",
            RouteKind::Stats => "stats",
            RouteKind::ShardPut => "shard_put",
            RouteKind::ShardPutBatch => "shard_put_batch",
            RouteKind::ShardGet => "shard_get",
            RouteKind::ShardHead => "shard_head",
            RouteKind::ShardDelete => "shard_delete",
            RouteKind::ShardList => "shard_list",
            RouteKind::Scrub => "scrub",
            RouteKind::RecordPut => "record_put",
            RouteKind::RecordGet => "record_get",
            RouteKind::RecordDelete => "record_delete",
            RouteKind::RecordList => "record_list",
            RouteKind::Other => "other",
        }
    }
}

impl EncodeLabelValue for RouteKind {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: RouteKind,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: RouteKind,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~3.3 s: a cached shard read takes well under a millisecond, a scrub page up
    // to its 2 s budget.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// The counters the request path updates, and the registry that exposes them with the
/// store's own figures.
#[derive(Debug)]
pub struct NodeMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    shard_bytes_written: Counter,
    shard_bytes_read: Counter,
    scrubbed_shards: Counter,
    scrubbed_bytes: Counter,
    registry: Registry,
}

impl NodeMetrics {
    /// Metrics of the node serving `store` and `records`; their totals are read from them at
    /// each scrape.
    pub fn new(store: Arc<ShardStore>, records: Arc<RecordStore>) -> NodeMetrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let shard_bytes_written = Counter::default();
        let shard_bytes_read = Counter::default();
        let scrubbed_shards = Counter::default();
        let scrubbed_bytes = Counter::default();

        let mut registry = Registry::with_prefix("floe_node");
        registry.register(
            "requests",
            "Node requests by route kind and status code",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Node request latency by route kind, until the response is ready",
            latency.clone(),
        );
        registry.register(
            "shard_bytes_written",
            "Shard payload bytes written to disk (new or replaced shards)",
            shard_bytes_written.clone(),
        );
        registry.register(
            "shard_bytes_read",
            "Shard payload bytes served by GET, after verification",
            shard_bytes_read.clone(),
        );
        registry.register(
            "scrubbed_shards",
            "Shards re-read and re-verified by scrub calls",
            scrubbed_shards.clone(),
        );
        registry.register(
            "scrubbed_bytes",
            "Shard payload bytes re-read by scrub calls",
            scrubbed_bytes.clone(),
        );
        registry.register_collector(Box::new(StoreFigures { store, records }));
        NodeMetrics {
            requests,
            latency,
            shard_bytes_written,
            shard_bytes_read,
            scrubbed_shards,
            scrubbed_bytes,
            registry,
        }
    }

    /// One finished request.
    pub fn observe_request(&self, route: RouteKind, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(elapsed.as_secs_f64());
    }

    /// A shard of `n` payload bytes was written.
    pub fn add_shard_bytes_written(&self, n: u64) {
        self.shard_bytes_written.inc_by(n);
    }

    /// `n` verified shard payload bytes were served.
    pub fn add_shard_bytes_read(&self, n: u64) {
        self.shard_bytes_read.inc_by(n);
    }

    /// One scrub call checked `shards` shards holding `bytes` payload bytes.
    pub fn add_scrubbed(&self, shards: u64, bytes: u64) {
        self.scrubbed_shards.inc_by(shards);
        self.scrubbed_bytes.inc_by(bytes);
    }

    /// The OpenMetrics text exposition. Reads the store's totals and does one `statvfs`, so
    /// async callers run it on a blocking thread.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; a collector that cannot read the store skips its
        // figures instead of failing the scrape.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The stores' exact totals and the disk's space, read at scrape time.
#[derive(Debug)]
struct StoreFigures {
    store: Arc<ShardStore>,
    records: Arc<RecordStore>,
}

impl StoreFigures {
    fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
        let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
        let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
        gauge.encode(metric)
    }
}

impl Collector for StoreFigures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let records = self.records.figures();
        let e = &mut encoder;
        Self::gauge(
            e,
            "stored_records",
            "Metadata records stored",
            records.records,
        )?;
        Self::gauge(
            e,
            "record_log_bytes",
            "Bytes of the record log segments, superseded entries included",
            records.log_bytes,
        )?;
        Self::gauge(
            e,
            "record_log_live_bytes",
            "Bytes of the record log entries that are each record's newest version",
            records.live_bytes,
        )?;
        let packs = self.store.pack_figures();
        Self::gauge(
            e,
            "pack_log_bytes",
            "Bytes of the shard pack segments, deleted and superseded entries included",
            packs.log_bytes,
        )?;
        Self::gauge(
            e,
            "pack_live_bytes",
            "Bytes of the shard pack entries of the shards held",
            packs.live_bytes,
        )?;
        for (name, help, value) in [
            (
                "pack_commits",
                "Group commits (one append, one fdatasync) of packed shard puts and deletes",
                packs.commits,
            ),
            (
                "pack_changes",
                "Packed shard puts and deletes the group commits carried",
                packs.changes,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = e.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        let stats = match self.store.stats() {
            Ok(stats) => stats,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read store figures");
                return Ok(());
            }
        };
        let corrupt = ConstCounter::new(stats.corrupt_reads);
        let metric = encoder.encode_descriptor(
            "corrupt_shards",
            "Shards that failed verification on read or scrub since the node started",
            None,
            corrupt.metric_type(),
        )?;
        corrupt.encode(metric)?;
        let e = &mut encoder;
        Self::gauge(e, "stored_shards", "Shards stored", stats.shards)?;
        Self::gauge(
            e,
            "stored_bytes",
            "Payload bytes of the stored shards",
            stats.bytes,
        )?;
        Self::gauge(
            e,
            "quarantined_files",
            "Files in the quarantine directory (shards, and records of the first format, that failed verification)",
            stats.quarantined,
        )?;
        Self::gauge(
            e,
            "disk_free_bytes",
            "Bytes available to the node on its data filesystem",
            stats.free_bytes,
        )?;
        Self::gauge(
            e,
            "disk_total_bytes",
            "Size of the data filesystem",
            stats.total_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_its_kind() {
        let shard = format!("/v1/shards/{}/3", "ab".repeat(32));
        let record = format!("/v1/records/{}", "cd".repeat(32));
        for (method, path, kind) in [
            (Method::GET, "/v1/health", RouteKind::Health),
            (Method::GET, "/metrics", RouteKind::Metrics),
            (Method::GET, "/v1/stats", RouteKind::Stats),
            (Method::GET, "/v1/shards", RouteKind::ShardList),
            (Method::POST, "/v1/shards", RouteKind::ShardPutBatch),
            (Method::POST, "/v1/scrub", RouteKind::Scrub),
            (Method::GET, "/v1/records", RouteKind::RecordList),
            (Method::PUT, &record, RouteKind::RecordPut),
            (Method::GET, &record, RouteKind::RecordGet),
            (Method::DELETE, &record, RouteKind::RecordDelete),
            (Method::PUT, &shard, RouteKind::ShardPut),
            (Method::GET, &shard, RouteKind::ShardGet),
            (Method::HEAD, &shard, RouteKind::ShardHead),
            (Method::DELETE, &shard, RouteKind::ShardDelete),
            (Method::POST, &shard, RouteKind::Other),
            (
                Method::GET,
                "/v1/shards/../../etc/passwd/0",
                RouteKind::Other,
            ),
            (Method::GET, "/wp-admin", RouteKind::Other),
        ] {
            assert_eq!(RouteKind::of(&method, path), kind, "{method} {path}");
        }
    }

    #[test]
    fn exposition_has_every_family() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(ShardStore::open(dir.path()).unwrap());
        let records = Arc::new(RecordStore::open(store.layout()).unwrap());
        let item = crate::protocol::RecordItem {
            id: crate::protocol::RecordId([1; 32]),
            version: 1,
            payload: bytes::Bytes::from_static(b"twelve bytes"),
        };
        records.put_batch(&[item]).unwrap();
        let metrics = NodeMetrics::new(store, records);
        metrics.observe_request(RouteKind::ShardGet, 200, Duration::from_micros(300));
        metrics.add_shard_bytes_read(7);
        let text = metrics.render();
        for needle in [
            "floe_node_requests_total{route=\"shard_get\",status=\"200\"} 1",
            "floe_node_request_duration_seconds_bucket{le=\"0.0004\",route=\"shard_get\"} 1",
            "floe_node_shard_bytes_read_total 7",
            "floe_node_shard_bytes_written_total 0",
            "floe_node_corrupt_shards_total 0",
            "floe_node_stored_shards 0",
            "floe_node_quarantined_files 0",
            "floe_node_stored_records 1",
            "floe_node_record_log_live_bytes 101",
            "floe_node_pack_commits_total 0",
            "floe_node_pack_log_bytes 0",
            "floe_node_disk_total_bytes ",
            "# EOF",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
