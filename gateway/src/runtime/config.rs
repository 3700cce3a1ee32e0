//! The gateway's configuration: one TOML file, overridden by command-line flags and environment
//! variables, validated with messages an operator can act on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use floe_codec::{CodecParams, DEFAULT_CHUNK_SIZE};
use serde::Deserialize;

use crate::runtime::limits::{Limits, LimitsSection};
use crate::runtime::tls::TlsSection;

/// Access key printed for the embedded dev cluster when none is configured.
pub const DEV_ACCESS_KEY: &str = "floeadmin";
/// Secret key printed for the embedded dev cluster when none is configured.
pub const DEV_SECRET_KEY: &str = "floeadmin-secret";
/// Cluster secret of the embedded dev cluster.
pub const DEV_CLUSTER_SECRET: &str = "floe-dev-cluster-secret";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The file's shape: every field optional, unknown fields refused (a typo must not pass silently).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFile {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    /// Storage node URLs; empty starts the embedded local cluster.
    pub nodes: Option<Vec<String>>,
    /// Erasure code as "K+M", e.g. "4+2".
    pub ec: Option<String>,
    pub write_quorum: Option<usize>,
    pub chunk_size: Option<usize>,
    /// Bytes of chunk data the hot-object cache may hold (0 disables it).
    pub cache_bytes: Option<u64>,
    /// Objects larger than this are streamed around the cache, so one big download cannot
    /// evict the hot small objects.
    pub cache_max_object_bytes: Option<u64>,
    pub inline_threshold: Option<usize>,
    pub region: Option<String>,
    /// Base domains for virtual-hosted-style requests (path style always works).
    pub domains: Option<Vec<String>>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub cluster_secret: Option<String>,
    /// Nodes of the embedded cluster (used only when `nodes` is empty).
    pub embedded_nodes: Option<usize>,
    /// Seconds an unreferenced chunk waits before the garbage collector deletes its shards.
    pub gc_grace_secs: Option<u64>,
    /// Seconds between garbage collection passes.
    pub gc_interval_secs: Option<u64>,
    /// Admin API address [default: 127.0.0.1:9001, or port 0 when `listen` uses port 0].
    pub admin_listen: Option<SocketAddr>,
    /// Bearer token of the admin API [default: `secret_key`].
    pub admin_token: Option<String>,
    /// The secret access key secrets are sealed under in the index [default: `secret_key`].
    /// Every gateway of a cluster needs the same one; changing it makes stored keys unusable.
    pub seal_secret: Option<String>,
    /// Users created or updated at startup (`[[users]]`).
    pub users: Option<Vec<UserEntry>>,
    /// Seconds between two rounds over the repair queue (faults reported by reads and writes).
    pub repair_interval_secs: Option<u64>,
    /// Seconds between two background repair sweeps of every chunk (0: only on demand).
    pub repair_sweep_interval_secs: Option<u64>,
    /// Seconds between two background scrubs of every node (0: only on demand).
    pub scrub_interval_secs: Option<u64>,
    /// Read rate of a scrub on each node, bytes per second (0: no cap).
    pub scrub_bytes_per_sec: Option<u64>,
    /// Seconds an orphaned shard (of no committed chunk) is kept before the orphan sweep, which
    /// follows each background repair sweep, deletes it.
    pub orphan_grace_secs: Option<u64>,
    /// Seconds after which an unfinished multipart upload is aborted (0: never).
    pub upload_expiry_secs: Option<u64>,
    /// Seconds in-flight requests get to finish after SIGTERM before the gateway exits anyway.
    pub shutdown_grace_secs: Option<u64>,
    /// HTTPS for the S3 endpoint and the CA for `https://` nodes (see [`TlsSection`]).
    pub tls: Option<TlsSection>,
    /// `[limits]`: request, key, metadata, part and object size limits (see `limits`).
    pub limits: Option<LimitsSection>,
    /// `[lifecycle]`.
    pub lifecycle: Option<LifecycleSection>,
    /// Accept AWS Signature Version 2 from legacy clients [default: false].
    pub allow_sigv2: Option<bool>,
    /// Where the metadata index lives: `postgres://user:password@host:port/db` for one shared by
    /// several gateways; absent, the embedded redb file `index.redb` in `data_dir`.
    pub index: Option<String>,
}

/// Flags given on the command line; they win over the file.
#[derive(Debug, Default, Clone)]
pub struct GatewayOverrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub nodes: Option<Vec<String>>,
    pub ec: Option<String>,
    pub admin_listen: Option<SocketAddr>,
    /// Rebuild the index from the nodes' metadata records before serving.
    pub rebuild_index: bool,
    /// Set the clock watermark to this machine's time (`--reset-clock-watermark`).
    pub reset_clock_watermark: bool,
    /// The shared index's URL (`--index`).
    pub index: Option<String>,
}

/// Where the metadata index lives.
#[derive(Clone, PartialEq, Eq)]
pub enum IndexLocation {
    /// `index.redb` in the data directory: one gateway.
    Embedded,
    /// A PostgreSQL database shared by every gateway of the cluster.
    Postgres(String),
}

impl IndexLocation {
    /// `None` or `""`: embedded; `postgres://` or `postgresql://`: shared.
    pub fn parse(setting: Option<&str>) -> Result<Self, ConfigError> {
        match setting.map(str::trim) {
            None | Some("") => Ok(Self::Embedded),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres(url.to_string()))
            }
            Some(other) => Err(ConfigError::Invalid(format!(
                "index {:?}: use a postgres://user:password@host:port/database URL, or leave it \
                 out for the embedded index in data_dir",
                redact(other)
            ))),
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// A URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl std::fmt::Debug for IndexLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded => f.write_str("Embedded"),
            Self::Postgres(url) => write!(f, "Postgres({})", redact(url)),
        }
    }
}

impl std::fmt::Display for IndexLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded => f.write_str("embedded (index.redb)"),
            Self::Postgres(url) => write!(f, "{}", redact(url)),
        }
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where the index lives.
    pub index: IndexLocation,
    pub nodes: Vec<String>,
    pub params: CodecParams,
    pub write_quorum: usize,
    pub chunk_size: usize,
    pub cache_bytes: u64,
    pub cache_max_object_bytes: u64,
    pub inline_threshold: usize,
    pub region: String,
    pub domains: Vec<String>,
    pub access_key: String,
    pub secret_key: String,
    pub cluster_secret: String,
    pub embedded_nodes: usize,
    pub gc_grace: Duration,
    pub gc_interval: Duration,
    pub admin_listen: SocketAddr,
    pub admin_token: String,
    /// What access key secrets are sealed under (see `identity::seal`).
    pub seal_secret: String,
    /// `[[users]]`, secrets resolved.
    pub users: Vec<DeclaredUser>,
    pub repair_interval: Duration,
    /// `None`: no background sweeps.
    pub repair_sweep_interval: Option<Duration>,
    /// `None`: no background scrubs.
    pub scrub_interval: Option<Duration>,
    pub scrub_bytes_per_sec: u64,
    pub orphan_grace: Duration,
    /// `None`: uploads never expire.
    pub upload_expiry: Option<Duration>,
    pub shutdown_grace: Duration,
    /// Rebuild the index from the nodes' metadata records before serving (a flag, not a
    /// setting: `floe serve --rebuild-index`).
    pub rebuild_index: bool,
    /// Set the clock watermark to this machine's time before the clock check (a flag:
    /// `floe serve --reset-clock-watermark`; see `index/clock.rs`).
    pub reset_clock_watermark: bool,
    /// Accept AWS Signature Version 2 (legacy clients). Off by default: SigV2 signs no request
    /// date that s3s checks, so a captured request could be replayed forever.
    pub allow_sigv2: bool,
    /// `[tls]`, shape-checked; its files are read by [`TlsSection::load`].
    pub tls: TlsSection,
    pub limits: Limits,
    /// How long a lifecycle "day" lasts (`[lifecycle] day_seconds`).
    pub lifecycle_day: Duration,
    /// Between two lifecycle runs (`[lifecycle] interval_secs`).
    pub lifecycle_interval: Duration,
}

/// `[lifecycle]`: the engine's clock, for tests (as Ceph RGW's `rgw_lc_debug_interval`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSection {
    /// Seconds a lifecycle "day" lasts [default: 86400].
    pub day_seconds: Option<u64>,
    /// Seconds between two runs of the engine [default: 3600].
    pub interval_secs: Option<u64>,
}

/// One `[[users]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub access_key: String,
    pub secret_key: Option<String>,
    /// The environment variable holding the secret, instead of `secret_key`.
    pub secret_key_env: Option<String>,
    #[serde(default)]
    pub policies: Vec<String>,
}

/// A user declared in the config, with its key and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct DeclaredUser {
    pub name: String,
    pub access_key: String,
    pub secret_key: String,
    pub policies: Vec<String>,
}

impl std::fmt::Debug for DeclaredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeclaredUser")
            .field("name", &self.name)
            .field("access_key", &self.access_key)
            .field("policies", &self.policies)
            .finish_non_exhaustive()
    }
}

impl UserEntry {
    fn resolve(self, root_key: &str) -> Result<DeclaredUser, ConfigError> {
        let bad = |why: String| ConfigError::Invalid(format!("[[users]] {}: {why}", self.name));
        crate::identity::check_user_name(&self.name).map_err(|e| bad(e.to_string()))?;
        crate::identity::check_access_key_id(&self.access_key).map_err(|e| bad(e.to_string()))?;
        if self.access_key == root_key {
            return Err(bad("access_key is the root key's".into()));
        }
        let secret_key = match (&self.secret_key, &self.secret_key_env) {
            (Some(s), None) => s.clone(),
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| bad(format!("environment variable {var} is not set")))?,
            _ => {
                return Err(bad(
                    "set exactly one of secret_key and secret_key_env".into()
                ));
            }
        };
        if secret_key.len() < 8 {
            return Err(bad("secret_key must be at least 8 characters".into()));
        }
        Ok(DeclaredUser {
            name: self.name,
            access_key: self.access_key,
            secret_key,
            policies: self.policies,
        })
    }
}

impl GatewayConfig {
    /// Creates the data directory if needed and proves it is writable, so a bad path fails at
    /// start with its name rather than at the first write.
    pub fn check_data_dir(&self) -> Result<(), ConfigError> {
        let fail = |e: std::io::Error| {
            ConfigError::Invalid(format!(
                "data directory {} is not usable: {e}",
                self.data_dir.display()
            ))
        };
        std::fs::create_dir_all(&self.data_dir).map_err(fail)?;
        let probe = self.data_dir.join(".floe-write-check");
        std::fs::write(&probe, b"ok").map_err(fail)?;
        std::fs::remove_file(&probe).map_err(fail)
    }

    /// Whether the gateway runs its own storage nodes in-process (the dev default).
    pub fn embedded(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether this is the dev setup whose well-known credentials may be printed: the embedded
    /// cluster with the dev keys (which [`check_secrets`] allows only on loopback).
    pub fn dev_credentials(&self) -> bool {
        self.embedded() && self.access_key == DEV_ACCESS_KEY && self.secret_key == DEV_SECRET_KEY
    }

    /// File, then flags, then environment (`FLOE_ROOT_ACCESS_KEY`, `FLOE_ROOT_SECRET_KEY`,
    /// `FLOE_CLUSTER_SECRET`, `FLOE_ADMIN_TOKEN`; `FLOE_INDEX` stands in for the file's `index`).
    pub fn resolve(
        file: Option<&Path>,
        overrides: GatewayOverrides,
    ) -> Result<GatewayConfig, ConfigError> {
        let parsed = match file {
            Some(path) => Self::read_file(path)?,
            None => GatewayFile::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut parsed = parsed;
        if let Some(url) = env("FLOE_INDEX") {
            parsed.index = Some(url);
        }
        if let Some(token) = env("FLOE_ADMIN_TOKEN") {
            parsed.admin_token = Some(token);
        }
        Self::build(
            parsed,
            overrides,
            env("FLOE_ROOT_ACCESS_KEY"),
            env("FLOE_ROOT_SECRET_KEY"),
            env("FLOE_CLUSTER_SECRET"),
        )
    }

    pub fn read_file(path: &Path) -> Result<GatewayFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    fn build(
        file: GatewayFile,
        flags: GatewayOverrides,
        env_access: Option<String>,
        env_secret: Option<String>,
        env_cluster: Option<String>,
    ) -> Result<GatewayConfig, ConfigError> {
        let nodes = flags.nodes.or(file.nodes).unwrap_or_default();
        let embedded = nodes.is_empty();
        let ec = flags.ec.or(file.ec).unwrap_or_else(|| "4+2".into());
        let params: CodecParams = ec
            .parse()
            .map_err(|e| ConfigError::Invalid(format!("ec {ec:?}: {e}")))?;
        let embedded_nodes = file.embedded_nodes.unwrap_or(params.total().max(6));
        let node_count = if embedded {
            embedded_nodes
        } else {
            nodes.len()
        };
        if params.total() > node_count {
            return Err(ConfigError::Invalid(format!(
                "erasure code {params} needs at least {} nodes, but {node_count} are configured",
                params.total()
            )));
        }
        let write_quorum = file
            .write_quorum
            .unwrap_or((params.k() + 1).min(params.total()));
        if write_quorum < params.k() || write_quorum > params.total() {
            return Err(ConfigError::Invalid(format!(
                "write_quorum {write_quorum} must be between k={} and k+m={}",
                params.k(),
                params.total()
            )));
        }
        let chunk_size = file.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE);
        if !(64 * 1024..=64 * 1024 * 1024).contains(&chunk_size) {
            return Err(ConfigError::Invalid(format!(
                "chunk_size {chunk_size} must be between 64 KiB and 64 MiB"
            )));
        }
        let (access_key, secret_key) = match (
            env_access.or(file.access_key),
            env_secret.or(file.secret_key),
        ) {
            (Some(a), Some(s)) => (a, s),
            (None, None) if embedded => (DEV_ACCESS_KEY.into(), DEV_SECRET_KEY.into()),
            _ => {
                return Err(ConfigError::Invalid(
                    "set both access_key and secret_key (or FLOE_ROOT_ACCESS_KEY and \
                     FLOE_ROOT_SECRET_KEY)"
                        .into(),
                ));
            }
        };
        let cluster_secret = match env_cluster.or(file.cluster_secret) {
            Some(s) => s,
            None if embedded => DEV_CLUSTER_SECRET.into(),
            None => {
                return Err(ConfigError::Invalid(
                    "missing cluster secret: set FLOE_CLUSTER_SECRET or cluster_secret".into(),
                ));
            }
        };
        let listen = flags
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9000)));
        // A gateway on a random port (tests) must not claim the fixed admin port either.
        let admin_port = if listen.port() == 0 { 0 } else { 9001 };
        let admin_listen = flags
            .admin_listen
            .or(file.admin_listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], admin_port)));
        let tls = file.tls.unwrap_or_default();
        tls.validate(&nodes).map_err(ConfigError::Invalid)?;
        let limits = file
            .limits
            .unwrap_or_default()
            .resolve()
            .map_err(ConfigError::Invalid)?;
        let admin_token = file.admin_token.unwrap_or_else(|| secret_key.clone());
        if admin_token.is_empty() {
            return Err(ConfigError::Invalid("admin_token must not be empty".into()));
        }
        check_secrets(
            embedded,
            listen,
            &access_key,
            &secret_key,
            &cluster_secret,
            &admin_token,
        )?;
        let index = IndexLocation::parse(flags.index.or(file.index).as_deref())?;
        let seal_secret = file.seal_secret.unwrap_or_else(|| secret_key.clone());
        let lifecycle = file.lifecycle.unwrap_or_default();
        let users = file
            .users
            .unwrap_or_default()
            .into_iter()
            .map(|u| u.resolve(&access_key))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GatewayConfig {
            listen,
            index,
            data_dir: flags
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("floe-data")),
            nodes,
            params,
            write_quorum,
            chunk_size,
            cache_bytes: file.cache_bytes.unwrap_or(128 * 1024 * 1024),
            cache_max_object_bytes: file.cache_max_object_bytes.unwrap_or(32 * 1024 * 1024),
            inline_threshold: file.inline_threshold.unwrap_or(16 * 1024),
            region: file.region.unwrap_or_else(|| "us-east-1".into()),
            domains: file.domains.unwrap_or_default(),
            access_key,
            secret_key,
            cluster_secret,
            embedded_nodes,
            gc_grace: Duration::from_secs(file.gc_grace_secs.unwrap_or(60)),
            gc_interval: Duration::from_secs(file.gc_interval_secs.unwrap_or(30).max(1)),
            admin_listen,
            admin_token,
            seal_secret,
            users,
            repair_interval: Duration::from_secs(file.repair_interval_secs.unwrap_or(10).max(1)),
            repair_sweep_interval: every(file.repair_sweep_interval_secs.unwrap_or(86_400)),
            scrub_interval: every(file.scrub_interval_secs.unwrap_or(7 * 86_400)),
            scrub_bytes_per_sec: file.scrub_bytes_per_sec.unwrap_or(64 * 1024 * 1024),
            orphan_grace: Duration::from_secs(file.orphan_grace_secs.unwrap_or(3_600)),
            upload_expiry: every(file.upload_expiry_secs.unwrap_or(7 * 86_400)),
            shutdown_grace: Duration::from_secs(file.shutdown_grace_secs.unwrap_or(30)),
            rebuild_index: flags.rebuild_index,
            reset_clock_watermark: flags.reset_clock_watermark,
            allow_sigv2: file.allow_sigv2.unwrap_or(false),
            tls,
            limits,
            lifecycle_day: Duration::from_secs(lifecycle.day_seconds.unwrap_or(86_400).max(1)),
            lifecycle_interval: Duration::from_secs(
                lifecycle.interval_secs.unwrap_or(3_600).max(1),
            ),
        })
    }
}

/// Refuses secrets that would not protect a real deployment. The dev cluster on loopback may use
/// anything (its well-known dev keys included); everything else needs strong secrets, and the
/// dev keys never serve on an address other machines can reach.
fn check_secrets(
    embedded: bool,
    listen: SocketAddr,
    access_key: &str,
    secret_key: &str,
    cluster_secret: &str,
    admin_token: &str,
) -> Result<(), ConfigError> {
    use floe_node::secret_strength::{
        MAKE_ONE, MIN_CLUSTER_SECRET_BYTES, MIN_ROOT_SECRET_BYTES, check,
    };
    if !listen.ip().is_loopback() && access_key == DEV_ACCESS_KEY && secret_key == DEV_SECRET_KEY {
        return Err(ConfigError::Invalid(format!(
            "the dev credentials ({DEV_ACCESS_KEY}) must not serve on {listen}, which is not a \
             loopback address: set FLOE_ROOT_ACCESS_KEY and FLOE_ROOT_SECRET_KEY (or access_key \
             and secret_key); {MAKE_ONE}"
        )));
    }
    if embedded && listen.ip().is_loopback() {
        return Ok(());
    }
    let weak = |e: String| ConfigError::Invalid(format!("weak secret: {e}"));
    check("access_key", access_key, 1).map_err(weak)?;
    check("secret_key", secret_key, MIN_ROOT_SECRET_BYTES).map_err(weak)?;
    check("cluster_secret", cluster_secret, MIN_CLUSTER_SECRET_BYTES).map_err(weak)?;
    check("admin_token", admin_token, MIN_ROOT_SECRET_BYTES).map_err(weak)
}

/// A period in seconds where 0 means "never".
fn every(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "root-secret-0123456789";
    const CLUSTER: &str = "cluster-secret-0123456789abcdef0123456789";

    fn build(file: &str, flags: GatewayOverrides) -> Result<GatewayConfig, ConfigError> {
        GatewayConfig::build(toml::from_str(file).unwrap(), flags, None, None, None)
    }

    #[test]
    fn deploy_example_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/gateway.toml");
        let file = GatewayConfig::read_file(&path).unwrap();
        // As shipped, the placeholders are refused; an operator replaces them.
        let err = GatewayConfig::build(file, GatewayOverrides::default(), None, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("placeholder"), "{err}");
        let file = GatewayConfig::read_file(&path).unwrap();
        let c = GatewayConfig::build(
            file,
            GatewayOverrides::default(),
            Some("OPERATORKEY".into()),
            Some(ROOT.into()),
            Some(CLUSTER.into()),
        )
        .unwrap();
        assert_eq!(c.nodes.len(), 6);
        assert_eq!(c.write_quorum, 5);
        // The example spells out every limit at its default.
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn embedded_defaults() {
        let c = build("", GatewayOverrides::default()).unwrap();
        assert!(c.embedded());
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!((c.params.k(), c.params.m(), c.write_quorum), (4, 2, 5));
        assert_eq!(c.access_key, DEV_ACCESS_KEY);
        assert_eq!(c.admin_listen.to_string(), "127.0.0.1:9001");
        assert_eq!(c.admin_token, DEV_SECRET_KEY);
        let random = build(
            "admin_token = \"t\"",
            GatewayOverrides {
                listen: Some("127.0.0.1:0".parse().unwrap()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(random.admin_listen.port(), 0);
        assert_eq!(random.admin_token, "t");
    }

    #[test]
    fn flags_override_file_and_errors_are_clear() {
        let file = r#"
            nodes = ["http://a:1", "http://b:1", "http://c:1"]
            ec = "2+1"
            access_key = "a"
            secret_key = "root-secret-0123456789"
            cluster_secret = "cluster-secret-0123456789abcdef0123456789"
        "#;
        let c = build(file, GatewayOverrides::default()).unwrap();
        assert_eq!(c.nodes.len(), 3);
        let err = build(
            file,
            GatewayOverrides {
                ec: Some("4+2".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("needs at least 6 nodes"), "{err}");
        let no_secret = file.replace(&format!("cluster_secret = \"{CLUSTER}\""), "");
        assert!(
            build(&no_secret, GatewayOverrides::default())
                .unwrap_err()
                .to_string()
                .contains("cluster secret")
        );
        assert!(toml::from_str::<GatewayFile>("lissten = 1").is_err());
        let low = format!("{file}\nwrite_quorum = 1");
        assert!(
            build(&low, GatewayOverrides::default())
                .unwrap_err()
                .to_string()
                .contains("write_quorum")
        );
    }

    #[test]
    fn declared_users_take_the_documented_shape() {
        // Setting a variable needs `unsafe` (forbidden here): read one every process has.
        let path = std::env::var("PATH").unwrap();
        let file = r#"
            [[users]]
            name = "backup"
            access_key = "BACKUPKEY0000001"
            secret_key_env = "PATH"
            policies = ["writeonly"]

            [[users]]
            name = "web"
            access_key = "WEBKEY0000000001"
            secret_key = "web-secret-value"
            policies = ["readwrite", "alpha-rw"]
        "#;
        let c = build(file, GatewayOverrides::default()).unwrap();
        assert_eq!(c.users.len(), 2);
        assert_eq!(c.users[0].secret_key, path);
        assert_eq!(c.users[0].policies, ["writeonly"]);
        assert_eq!(c.users[1].secret_key, "web-secret-value");
        assert!(
            !format!("{:?}", c.users[1]).contains("web-secret-value"),
            "secrets stay out of logs"
        );
        for (bad, why) in [
            (
                "name = \"root\"\naccess_key = \"K123\"\nsecret_key = \"12345678\"",
                "user name",
            ),
            (
                "name = \"a\"\naccess_key = \"K-1\"\nsecret_key = \"12345678\"",
                "access key id",
            ),
            ("name = \"a\"\naccess_key = \"K123\"", "exactly one of"),
            (
                "name = \"a\"\naccess_key = \"K123\"\nsecret_key = \"short\"",
                "at least 8",
            ),
            (
                "name = \"a\"\naccess_key = \"floeadmin\"\nsecret_key = \"12345678\"",
                "root key",
            ),
            (
                "name = \"a\"\naccess_key = \"K123\"\nsecret_key_env = \"FLOE_NOT_SET_ANYWHERE\"",
                "not set",
            ),
        ] {
            let err = build(&format!("[[users]]\n{bad}"), GatewayOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn weak_secrets_are_refused_outside_the_loopback_dev_cluster() {
        let public = GatewayOverrides {
            listen: Some("0.0.0.0:9000".parse().unwrap()),
            ..Default::default()
        };
        // The dev keys never serve beyond loopback, even for the embedded cluster.
        let err = build("", public.clone()).unwrap_err().to_string();
        assert!(err.contains("must not serve on 0.0.0.0:9000"), "{err}");
        assert!(err.contains("FLOE_ROOT_SECRET_KEY"), "{err}");
        // Real keys there need a real cluster secret too.
        let err = build(
            &format!("access_key = \"k\"\nsecret_key = \"{ROOT}\""),
            public.clone(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cluster_secret is 23 bytes"), "{err}");
        let ok =
            format!("access_key = \"k\"\nsecret_key = \"{ROOT}\"\ncluster_secret = \"{CLUSTER}\"");
        let c = build(&ok, public).unwrap();
        assert!(!c.dev_credentials());
        // Remote nodes: a short root secret, or a placeholder admin token, is refused.
        let remote =
            format!("nodes = [\"http://a:1\", \"http://b:1\", \"http://c:1\"]\nec = \"2+1\"\n{ok}");
        let short = remote.replace(ROOT, "short");
        let err = build(&short, GatewayOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("secret_key is 5 bytes"), "{err}");
        let token = format!("{remote}\nadmin_token = \"CHANGE-ME-ADMIN-TOKEN\"");
        let err = build(&token, GatewayOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("admin_token is still the placeholder"),
            "{err}"
        );
        assert!(build(&remote, GatewayOverrides::default()).is_ok());
        // The dev cluster on loopback takes anything, and may print its keys.
        let dev = build("", GatewayOverrides::default()).unwrap();
        assert!(dev.dev_credentials());
    }
}
