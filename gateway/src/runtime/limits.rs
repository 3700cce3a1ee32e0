//! The gateway's `[limits]` section: how much one request may ask of it. Defaults are S3's own
//! limits (so no client that works against AWS is refused here), and each can be lowered, or in
//! a few cases raised, by an operator who knows their clients.
//!
//! Where each limit is enforced, and what a client sees past it:
//! - `max_concurrent_requests` and `max_inflight_bytes`: the S3 endpoint's admission, 503
//!   `SlowDown` (SDKs back off and retry);
//! - `max_connections`: the accept loop; one more connection gets 503 and is closed;
//! - `header_read_timeout_secs`: a connection that does not finish a request head in time
//!   (idle keep-alive included) is closed;
//! - `body_idle_timeout_secs`: a request body silent that long fails (`IncompleteBody`);
//! - `max_header_bytes`: hyper's HTTP/1 parser, 431 Request Header Fields Too Large;
//! - `max_xml_body_bytes`: s3s, before parsing an XML body;
//! - key, metadata, part and object sizes: the object layer, with S3's error codes
//!   (`KeyTooLongError`, `MetadataTooLarge`, `EntityTooLarge`, `EntityTooSmall`,
//!   `InvalidArgument` for a part number past `max_part_count`).

use std::time::Duration;

use serde::Deserialize;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// `[limits]` as written in the config file; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// S3 requests served at once; more get 503 SlowDown [default: 1024].
    pub max_concurrent_requests: Option<usize>,
    /// Memory admitted requests may hold together, in bytes; more get 503 SlowDown
    /// [default: a quarter of the machine's (or cgroup's) memory, at least 256 MiB].
    pub max_inflight_bytes: Option<u64>,
    /// Open client connections; one more gets 503 and is closed [default: 4096].
    pub max_connections: Option<usize>,
    /// Seconds a connection has to send a request's line and headers, and the longest a
    /// keep-alive connection stays idle [default: 30].
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a request body may send nothing before it fails [default: 30].
    pub body_idle_timeout_secs: Option<u64>,
    /// Longest object key, in bytes [default and S3: 1024].
    pub max_key_bytes: Option<usize>,
    /// User metadata (names + values), in bytes [default and S3: 2048].
    pub max_metadata_bytes: Option<usize>,
    /// Request line plus headers, in bytes [default: 400 KiB, hyper's own]. This is hyper's
    /// read buffer size, so it also sets the largest body frame: keep it well above 64 KiB for
    /// fast uploads.
    pub max_header_bytes: Option<usize>,
    /// XML request bodies (CompleteMultipartUpload, DeleteObjects, tagging), in bytes
    /// [default: 20 MiB, enough for 10,000 parts].
    pub max_xml_body_bytes: Option<usize>,
    /// Highest part number of a multipart upload [default and S3: 10000].
    pub max_part_count: Option<u32>,
    /// Smallest part except the last, in bytes [default and S3: 5 MiB].
    pub min_part_bytes: Option<u64>,
    /// Largest single PUT or part, in bytes [default and S3: 5 GiB].
    pub max_part_bytes: Option<u64>,
    /// Largest object, in bytes [default and S3: 5 TiB].
    pub max_object_bytes: Option<u64>,
}

/// The resolved limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_concurrent_requests: usize,
    /// `None`: sized from the machine at startup ([`machine_inflight_budget`]).
    pub max_inflight_bytes: Option<u64>,
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_idle_timeout: Duration,
    pub max_key_bytes: usize,
    pub max_metadata_bytes: usize,
    pub max_header_bytes: usize,
    pub max_xml_body_bytes: usize,
    pub max_part_count: u32,
    pub min_part_bytes: u64,
    pub max_part_bytes: u64,
    pub max_object_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent_requests: 1024,
            max_inflight_bytes: None,
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            max_key_bytes: 1024,
            max_metadata_bytes: 2048,
            max_header_bytes: 400 * 1024,
            max_xml_body_bytes: 20 * MIB as usize,
            max_part_count: 10_000,
            min_part_bytes: 5 * MIB,
            max_part_bytes: 5 * GIB,
            max_object_bytes: 5 * 1024 * GIB,
        }
    }
}

impl LimitsSection {
    /// Fills in the defaults and checks that the limits can work together.
    pub fn resolve(&self) -> Result<Limits, String> {
        let d = Limits::default();
        let limits = Limits {
            max_concurrent_requests: self
                .max_concurrent_requests
                .unwrap_or(d.max_concurrent_requests),
            max_inflight_bytes: self.max_inflight_bytes.or(d.max_inflight_bytes),
            max_connections: self.max_connections.unwrap_or(d.max_connections),
            header_read_timeout: self
                .header_read_timeout_secs
                .map_or(d.header_read_timeout, Duration::from_secs),
            body_idle_timeout: self
                .body_idle_timeout_secs
                .map_or(d.body_idle_timeout, Duration::from_secs),
            max_key_bytes: self.max_key_bytes.unwrap_or(d.max_key_bytes),
            max_metadata_bytes: self.max_metadata_bytes.unwrap_or(d.max_metadata_bytes),
            max_header_bytes: self.max_header_bytes.unwrap_or(d.max_header_bytes),
            max_xml_body_bytes: self.max_xml_body_bytes.unwrap_or(d.max_xml_body_bytes),
            max_part_count: self.max_part_count.unwrap_or(d.max_part_count),
            min_part_bytes: self.min_part_bytes.unwrap_or(d.min_part_bytes),
            max_part_bytes: self.max_part_bytes.unwrap_or(d.max_part_bytes),
            max_object_bytes: self.max_object_bytes.unwrap_or(d.max_object_bytes),
        };
        let positive = [
            ("max_concurrent_requests", limits.max_concurrent_requests),
            ("max_key_bytes", limits.max_key_bytes),
            ("max_connections", limits.max_connections),
            (
                "max_inflight_bytes",
                limits.max_inflight_bytes.map_or(1, |b| b as usize),
            ),
            (
                "header_read_timeout_secs",
                limits.header_read_timeout.as_secs() as usize,
            ),
            (
                "body_idle_timeout_secs",
                limits.body_idle_timeout.as_secs() as usize,
            ),
            ("max_xml_body_bytes", limits.max_xml_body_bytes),
            ("max_part_count", limits.max_part_count as usize),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("[limits] {name} must be at least 1"));
        }
        if limits.max_key_bytes > 1024 {
            // Keys travel in URLs, listings and node records sized for S3's 1024.
            return Err(format!(
                "[limits] max_key_bytes {} is above S3's 1024",
                limits.max_key_bytes
            ));
        }
        if limits.max_part_count > 10_000 {
            return Err(format!(
                "[limits] max_part_count {} is above S3's 10000 (part numbers are 1..=10000)",
                limits.max_part_count
            ));
        }
        // hyper needs room for at least a request line and a signed request's headers.
        if limits.max_header_bytes < 8 * 1024 {
            return Err(format!(
                "[limits] max_header_bytes {} is below 8192, too small for signed requests",
                limits.max_header_bytes
            ));
        }
        if limits.min_part_bytes > limits.max_part_bytes {
            return Err(format!(
                "[limits] min_part_bytes {} is above max_part_bytes {}",
                limits.min_part_bytes, limits.max_part_bytes
            ));
        }
        if limits.max_part_bytes > limits.max_object_bytes {
            return Err(format!(
                "[limits] max_part_bytes {} is above max_object_bytes {}",
                limits.max_part_bytes, limits.max_object_bytes
            ));
        }
        Ok(limits)
    }
}

/// The default memory budget of admitted requests: a quarter of what this process may use (the
/// cgroup's limit when there is one, else the machine's memory), at least 256 MiB. The rest is
/// left to the cache, the index, the page cache and whatever else runs beside the gateway.
pub fn machine_inflight_budget() -> u64 {
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    let memory = match (machine, cgroup) {
        (Some(m), Some(c)) => m.min(c),
        (m, c) => m.or(c).unwrap_or(4 * GIB),
    };
    (memory / 4).max(256 * MIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<Limits, String> {
        toml::from_str::<LimitsSection>(text).unwrap().resolve()
    }

    #[test]
    fn defaults_are_s3s_limits() {
        let l = resolve("").unwrap();
        assert_eq!(l, Limits::default());
        assert_eq!(l.max_key_bytes, 1024);
        assert_eq!(l.max_metadata_bytes, 2048);
        assert_eq!(l.max_part_count, 10_000);
        assert_eq!(l.min_part_bytes, 5 * MIB);
        assert_eq!(l.max_part_bytes, 5 * GIB);
        assert_eq!(l.max_object_bytes, 5 * 1024 * GIB);
    }

    #[test]
    fn fields_override_defaults() {
        let l = resolve("max_concurrent_requests = 8\nmax_key_bytes = 200\nmax_part_count = 100")
            .unwrap();
        assert_eq!(l.max_concurrent_requests, 8);
        assert_eq!(l.max_key_bytes, 200);
        assert_eq!(l.max_part_count, 100);
        assert_eq!(l.max_metadata_bytes, 2048);
        let l = resolve(
            "max_inflight_bytes = 1048576\nmax_connections = 10\nbody_idle_timeout_secs = 5",
        )
        .unwrap();
        assert_eq!(l.max_inflight_bytes, Some(1 << 20));
        assert_eq!(l.max_connections, 10);
        assert_eq!(l.body_idle_timeout, Duration::from_secs(5));
        assert!(machine_inflight_budget() >= 256 * MIB);
    }

    #[test]
    fn impossible_limits_are_explained() {
        for (text, needle) in [
            (
                "max_concurrent_requests = 0",
                "max_concurrent_requests must be at least 1",
            ),
            ("max_key_bytes = 2000", "above S3's 1024"),
            ("max_part_count = 20000", "above S3's 10000"),
            ("max_header_bytes = 100", "too small"),
            ("max_connections = 0", "max_connections must be at least 1"),
            (
                "max_inflight_bytes = 0",
                "max_inflight_bytes must be at least 1",
            ),
            (
                "header_read_timeout_secs = 0",
                "header_read_timeout_secs must be",
            ),
            (
                "min_part_bytes = 10\nmax_part_bytes = 5",
                "min_part_bytes 10 is above",
            ),
            (
                "min_part_bytes = 1\nmax_part_bytes = 10\nmax_object_bytes = 5",
                "max_part_bytes 10 is above",
            ),
        ] {
            let err = resolve(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        assert!(toml::from_str::<LimitsSection>("max_keys = 1").is_err());
    }
}
