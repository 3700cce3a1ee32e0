//! The optional second baseline: Garage, a distributed S3 store written in Rust, as one node
//! with replication factor 1 (so, like s3s-fs, one copy on one disk), used when a `garage`
//! binary is on the PATH or given with `--garage`. Its build is too slow for CI, so CI never
//! runs it.
//!
//! Garage keeps its own defaults otherwise: LMDB metadata, 1 MiB blocks, zstd level 1, and no
//! fsync of data or metadata (`data_fsync` and `metadata_fsync` are off unless set).
//!
//! Set-up is what its operator manual asks of a new cluster: start the server, assign the node
//! a role in the layout and apply it, create a key, allow it to create buckets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use floe_conformance::cluster::random_hex;

use super::baseline::{BaselineServer, free_port, spawn_logged, temp_dir};

/// `explicit`, else `garage` if it is on the PATH.
pub fn find(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("garage"))
        .find(|candidate| candidate.is_file())
}

/// Starts a one-node Garage and gives it a key that may create buckets.
pub fn start(bin: &Path) -> anyhow::Result<BaselineServer> {
    let dir = temp_dir("garage")?;
    let (s3, rpc, admin) = (free_port()?, free_port()?, free_port()?);
    let config = dir.path().join("garage.toml");
    std::fs::write(&config, config_text(dir.path(), s3, rpc, admin)?)?;
    let mut command = Command::new(bin);
    command.arg("-c").arg(&config).arg("server");
    let child = spawn_logged(command, &dir, "garage")?;
    let mut server = BaselineServer::started("garage", child, s3, dir);
    let cli = Cli { bin, config };

    let node_id = wait_for_node_id(&cli, &mut server)?;
    cli.run(&["layout", "assign", "-z", "dc1", "-c", "1G", &node_id])?;
    cli.run(&["layout", "apply", "--version", "1"])?;
    let key = cli.run(&["json-api", "CreateKey", r#"{"name":"floe-bench"}"#])?;
    let key: serde_json::Value =
        serde_json::from_str(&key).context("garage CreateKey did not answer JSON")?;
    let field = |name: &str| {
        key[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("garage CreateKey gave no {name}"))
    };
    let (access, secret) = (field("accessKeyId")?, field("secretAccessKey")?);
    cli.run(&["key", "allow", "--create-bucket", &access])?;
    server.set_keys(access, secret);
    server.wait_accepting(s3)?;
    Ok(server)
}

fn config_text(dir: &Path, s3: u16, rpc: u16, admin: u16) -> anyhow::Result<String> {
    let meta = dir.join("meta");
    let data = dir.join("data");
    Ok(format!(
        r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
admin_token = "{token}"
"#,
        meta = meta.display(),
        data = data.display(),
        secret = random_hex(32)?,
        token = random_hex(16)?,
    ))
}

/// The node's id, once its RPC answers (up to 30 s).
fn wait_for_node_id(cli: &Cli, server: &mut BaselineServer) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        server.check_running()?;
        match cli.run(&["node", "id", "-q"]) {
            // `<64 hex>@<address>`: the layout takes the id alone.
            Ok(out) => match out.trim().split('@').next() {
                Some(id) if id.len() == 64 => return Ok(id.to_owned()),
                _ => bail!("garage node id printed {out:?}"),
            },
            Err(e) if Instant::now() > deadline => {
                return Err(e.context(format!(
                    "garage did not answer within 30 s; see {}",
                    server.dir().display()
                )));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// The `garage` command line, pointed at this server's configuration.
struct Cli<'a> {
    bin: &'a Path,
    config: PathBuf,
}

impl Cli<'_> {
    /// Runs `garage -c <config> <args>`; its stdout, or an error with its stderr.
    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(self.bin)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .with_context(|| format!("running {}", self.bin.display()))?;
        if !out.status.success() {
            bail!(
                "garage {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
