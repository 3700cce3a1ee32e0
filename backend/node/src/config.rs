//! Node configuration: the TOML file format, defaults, the `FLOE_CLUSTER_SECRET` environment
//! variable, command-line overrides and the up-front check that the data directory is usable.
//!
//! Precedence: command line over file over defaults; for the secret, the environment variable
//! over the file (secrets belong in the environment, so a file copied between hosts cannot
//! silently pin an old one).

use std::fs::{self, OpenOptions};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::ClusterSecret;
use crate::packs::DEFAULT_PACK_BELOW;
use crate::tls::{TlsAcceptor, TlsError, TlsFiles};

/// Environment variable holding the cluster secret.
pub const SECRET_ENV: &str = "FLOE_CLUSTER_SECRET";
/// Default listen address: loopback, so a node is never exposed by accident.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9100));
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./floe-node-data";
/// Largest `pack_shards_below`: packed shards wait in memory for their group commit, and larger
/// shards gain nothing from packing (their cost is their bytes).
pub const MAX_PACK_BELOW: u64 = 16 * 1024 * 1024;
/// Default cap on a PUT body: far above the few MiB a shard is, far below what hurts a node.
pub const DEFAULT_MAX_SHARD_BYTES: u64 = 64 * 1024 * 1024;

/// Everything a node needs to run.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub secret: ClusterSecret,
    pub max_shard_bytes: u64,
    /// Shards of fewer payload bytes are packed into segment logs (see [`crate::packs`]); 0
    /// stores every shard as a file.
    pub pack_shards_below: u64,
    /// Serve HTTPS with this certificate and key; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// Why a configuration could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid node config: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("weak cluster secret: {0}")]
    WeakSecret(String),
    #[error("missing cluster secret: set {SECRET_ENV} or cluster_secret")]
    MissingSecret,
    #[error("the cluster secret from {0} is empty")]
    EmptySecret(&'static str),
    #[error("max_shard_bytes must be greater than 0")]
    ZeroMaxShardBytes,
    #[error("pack_shards_below must be at most {MAX_PACK_BELOW} bytes")]
    PackTooLarge,
    #[error("data directory {path} is not usable: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// The file format. Every field is optional; unknown fields are refused so typos surface.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    cluster_secret: Option<String>,
    max_shard_bytes: Option<u64>,
    pack_shards_below: Option<u64>,
    tls: Option<TlsFiles>,
}

impl NodeConfig {
    /// A config with default listen address and shard cap, e.g. for in-process nodes in tests.
    pub fn new(data_dir: impl Into<PathBuf>, secret: ClusterSecret) -> NodeConfig {
        NodeConfig {
            listen: DEFAULT_LISTEN,
            data_dir: data_dir.into(),
            secret,
            max_shard_bytes: DEFAULT_MAX_SHARD_BYTES,
            pack_shards_below: DEFAULT_PACK_BELOW,
            tls: None,
        }
    }

    /// Parses a TOML config; the secret comes from `FLOE_CLUSTER_SECRET` if set.
    /// Does not touch the disk.
    pub fn from_toml_str(text: &str) -> Result<NodeConfig, ConfigError> {
        build(toml::from_str(text)?, secret_from_env(), None, None)
    }

    /// Reads and parses a TOML config file (see [`NodeConfig::from_toml_str`]).
    pub fn from_file(path: &Path) -> Result<NodeConfig, ConfigError> {
        build(read_file(path)?, secret_from_env(), None, None)
    }

    /// Assembles the config the `floe node` command runs with: optional file, then command-line
    /// overrides, then checks that the data directory can be created and written.
    pub fn resolve(
        file: Option<&Path>,
        listen: Option<SocketAddr>,
        data_dir: Option<PathBuf>,
    ) -> Result<NodeConfig, ConfigError> {
        let parsed = match file {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let config = build(parsed, secret_from_env(), listen, data_dir)?;
        config.check_data_dir()?;
        Ok(config)
    }

    /// Creates the data directory if needed and proves it writable, so a bad path fails at
    /// startup with its name in the message rather than on the first PUT.
    pub fn check_data_dir(&self) -> Result<(), ConfigError> {
        let path = &self.data_dir;
        let fail = |what: &str, e: io::Error| ConfigError::DataDir {
            path: path.clone(),
            reason: format!("{what}: {e}"),
        };
        fs::create_dir_all(path).map_err(|e| fail("cannot create it", e))?;
        let probe = path.join(format!(".floe-write-probe-{}", std::process::id()));
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&probe)
            .map_err(|e| fail("cannot write in it", e))?;
        fs::remove_file(&probe).map_err(|e| fail("cannot remove a file in it", e))
    }

    /// Reads and checks the `[tls]` certificate and key: the acceptor to serve HTTPS with, or
    /// `None` for plain HTTP. Called at startup and by `--check-config`.
    pub fn tls_acceptor(&self) -> Result<Option<TlsAcceptor>, ConfigError> {
        Ok(self.tls.as_ref().map(TlsFiles::acceptor).transpose()?)
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(toml::from_str(&text)?)
}

/// `None` when unset or not valid UTF-8 (which a hand-typed secret never is).
fn secret_from_env() -> Option<String> {
    std::env::var(SECRET_ENV).ok()
}

/// The pure merge of file, environment and command line, kept separate from the process
/// environment so it can be tested without mutating globals.
fn build(
    file: FileConfig,
    env_secret: Option<String>,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
) -> Result<NodeConfig, ConfigError> {
    let (raw, source) = match (env_secret, file.cluster_secret) {
        (Some(env), _) => (env, SECRET_ENV),
        (None, Some(file)) => (file, "cluster_secret"),
        (None, None) => return Err(ConfigError::MissingSecret),
    };
    // A trailing newline from `echo` or a secrets file is never meant to be part of the key.
    let secret =
        ClusterSecret::from_bytes(raw.trim()).map_err(|_| ConfigError::EmptySecret(source))?;
    crate::secret_strength::check(
        source,
        raw.trim(),
        crate::secret_strength::MIN_CLUSTER_SECRET_BYTES,
    )
    .map_err(ConfigError::WeakSecret)?;
    let max_shard_bytes = file.max_shard_bytes.unwrap_or(DEFAULT_MAX_SHARD_BYTES);
    if max_shard_bytes == 0 {
        return Err(ConfigError::ZeroMaxShardBytes);
    }
    let pack_shards_below = file.pack_shards_below.unwrap_or(DEFAULT_PACK_BELOW);
    if pack_shards_below > MAX_PACK_BELOW {
        return Err(ConfigError::PackTooLarge);
    }
    Ok(NodeConfig {
        listen: listen.or(file.listen).unwrap_or(DEFAULT_LISTEN),
        data_dir: data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        secret,
        max_shard_bytes,
        pack_shards_below,
        tls: file.tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret long enough for [`crate::secret_strength`].
    const GOOD: &str = "0123456789abcdef0123456789abcdef";

    fn parse(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn file_values_defaults_and_overrides() {
        let file = parse(
            r#"
            listen = "0.0.0.0:9200"
            data_dir = "/srv/floe"
            cluster_secret = "from-file-0123456789abcdef0123456789"
            max_shard_bytes = 1024
            pack_shards_below = 0
            "#,
        );
        let c = build(file, None, None, None).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9200".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("/srv/floe"));
        assert_eq!(c.max_shard_bytes, 1024);
        assert_eq!(c.pack_shards_below, 0);
        assert_eq!(c.tls, None);

        let file = parse(r#"listen = "0.0.0.0:9200""#);
        let cli: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let c = build(file, Some(GOOD.into()), Some(cli), Some("/d".into())).unwrap();
        assert_eq!(c.listen, cli);
        assert_eq!(c.data_dir, PathBuf::from("/d"));
        assert_eq!(c.max_shard_bytes, DEFAULT_MAX_SHARD_BYTES);
        assert_eq!(c.pack_shards_below, DEFAULT_PACK_BELOW);

        let c = build(FileConfig::default(), Some(GOOD.into()), None, None).unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn tls_section() {
        let file = parse("[tls]\ncert = \"/etc/floe/fullchain.pem\"\nkey = \"/etc/floe/key.pem\"");
        let c = build(file, Some(GOOD.into()), None, None).unwrap();
        let tls = c.tls.clone().unwrap();
        assert_eq!(tls.cert, PathBuf::from("/etc/floe/fullchain.pem"));
        assert_eq!(tls.key, PathBuf::from("/etc/floe/key.pem"));
        // Missing files are a config error naming the file.
        let err = c.tls_acceptor().err().unwrap().to_string();
        assert!(err.contains("/etc/floe/fullchain.pem"), "{err}");
        // Both paths are required, and typos are refused.
        assert!(toml::from_str::<FileConfig>("[tls]\ncert = \"c\"").is_err());
        assert!(
            toml::from_str::<FileConfig>("[tls]\ncert = \"c\"\nkey = \"k\"\nca = \"x\"").is_err()
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = toml::from_str::<FileConfig>("listn = \"127.0.0.1:1\"").unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        // The public entry point reports it as a parse error too.
        assert!(matches!(
            NodeConfig::from_toml_str("data_dri = \"x\"\ncluster_secret = \"s\""),
            Err(ConfigError::Parse(_))
        ));
    }

    #[test]
    fn secret_rules() {
        let err = build(FileConfig::default(), None, None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing cluster secret: set FLOE_CLUSTER_SECRET or cluster_secret"
        );
        // The environment wins over the file; blank secrets are refused, not used.
        let file = parse(r#"cluster_secret = "   ""#);
        assert!(build(file, Some(GOOD.into()), None, None).is_ok());
        let file = parse(r#"cluster_secret = "   ""#);
        let err = build(file, None, None, None).unwrap_err();
        assert!(
            matches!(err, ConfigError::EmptySecret("cluster_secret")),
            "{err}"
        );
        let err = build(parse(r#"cluster_secret = "short""#), None, None, None).unwrap_err();
        assert!(err.to_string().contains("below the minimum of 32"), "{err}");
        let placeholder = parse(r#"cluster_secret = "CHANGE-ME-CLUSTER-SECRET""#);
        let err = build(placeholder, None, None, None).unwrap_err();
        assert!(err.to_string().contains("placeholder"), "{err}");
        let file =
            parse("cluster_secret = \"0123456789abcdef0123456789abcdef\"\nmax_shard_bytes = 0");
        assert!(matches!(
            build(file, None, None, None),
            Err(ConfigError::ZeroMaxShardBytes)
        ));
        let file = parse(
            "cluster_secret = \"0123456789abcdef0123456789abcdef\"\npack_shards_below = 16777217",
        );
        assert!(matches!(
            build(file, None, None, None),
            Err(ConfigError::PackTooLarge)
        ));
    }

    #[test]
    fn data_dir_check() {
        let dir = tempfile::tempdir().unwrap();
        let secret = ClusterSecret::from_bytes("s").unwrap();
        let ok = NodeConfig::new(dir.path().join("a/b"), secret.clone());
        ok.check_data_dir().unwrap();
        assert!(dir.path().join("a/b").is_dir());

        let file = dir.path().join("plain-file");
        fs::write(&file, b"x").unwrap();
        let bad = NodeConfig::new(file.join("sub"), secret);
        let err = bad.check_data_dir().unwrap_err();
        assert!(err.to_string().contains("plain-file"), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = NodeConfig::from_file(Path::new("/nonexistent/floe-node.toml")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/floe-node.toml"),
            "{err}"
        );
    }
}
