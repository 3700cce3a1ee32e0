//! A real Floe cluster made of processes: `floe node` × N and one `floe serve --nodes ...`, on
//! 127.0.0.1 with ports chosen at run time (port 0, then the printed address), fresh secrets and
//! data in a temporary directory. Nodes can be killed (SIGKILL) and restarted on the same port
//! and data; their shard files can be listed for corruption; the gateway's log is a file. The
//! gateway can take an extra config file and be restarted over the same nodes and index; every
//! process's PID is available (for RSS sampling).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use floe_testkit::process::{log_file, spawn_announcing, terminate};
use floe_testkit::{NodeProcess, NodeSpec};

use crate::target::Target;

/// `--floe`/`FLOE_BIN`, else `floe` next to this executable (same profile first).
pub fn find_floe_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        bail!(
            "--floe/FLOE_BIN points to {}, which is not a file",
            path.display()
        );
    }
    let exe = std::env::current_exe().context("locating this executable")?;
    let dir = exe.parent().context("executable has no directory")?;
    let mut candidates = vec![dir.join("floe")];
    if let Some(target) = dir.parent() {
        candidates.push(target.join("debug").join("floe"));
        candidates.push(target.join("release").join("floe"));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .with_context(|| {
            format!(
                "no floe binary in {}: build it with `cargo build -p floe-gateway --bin floe`, or \
                 pass --floe PATH (or FLOE_BIN)",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// Random hex from the kernel: fresh secrets for every run.
pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom")?;
    Ok(hex::encode(buf))
}

/// Nodes + gateway in one temporary directory.
pub struct Cluster {
    floe: PathBuf,
    ec: String,
    cluster_secret: String,
    pub nodes: Vec<NodeProcess>,
    gateway: Option<Child>,
    pub endpoint: String,
    access_key: String,
    secret_key: String,
    /// Always `Some` until `shutdown` (which may keep it).
    dir: Option<tempfile::TempDir>,
}

/// Where one shard lies on a node's disk, as `floe node --list-shards` prints it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ShardOnDisk {
    pub chunk: String,
    pub index: u32,
    /// Payload bytes.
    pub len: u64,
    /// The node's pack segment or the shard's own file.
    pub path: PathBuf,
    pub payload_at: u64,
}

impl Cluster {
    /// Every shard node `node` holds, packed or a file, read from its data directory while it
    /// runs (`floe node --list-shards`).
    pub fn shards_on_disk(&self, node: usize) -> anyhow::Result<Vec<ShardOnDisk>> {
        let dir = self.nodes[node].data_dir();
        let out = std::process::Command::new(&self.floe)
            .args(["node", "--list-shards", "--data"])
            .arg(&dir)
            .output()
            .context("running floe node --list-shards")?;
        anyhow::ensure!(
            out.status.success(),
            "floe node --list-shards failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).context("a --list-shards line"))
            .collect()
    }

    /// Starts `count` nodes, then a gateway over them with erasure code `ec` (blocking).
    pub fn start(floe: &Path, count: usize, ec: &str) -> anyhow::Result<Self> {
        Self::start_with_config(floe, count, ec, None)
    }

    /// [`Cluster::start`], the gateway also reading the TOML file `config` (`floe serve
    /// --config`; its settings yield to the flags this sets: listen, data, nodes, ec).
    pub fn start_with_config(
        floe: &Path,
        count: usize,
        ec: &str,
        config: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("floe-conformance-")
            .tempdir()
            .context("creating the cluster directory")?;
        let cluster_secret = random_hex(32)?;
        let access_key = format!("FC{}", random_hex(8)?.to_uppercase());
        let secret_key = random_hex(20)?;
        let spec = NodeSpec {
            floe: floe.to_path_buf(),
            secret: cluster_secret.clone(),
            config: String::new(),
        };
        let mut nodes = Vec::with_capacity(count);
        for i in 0..count {
            let node_dir = dir.path().join(format!("node{i}"));
            nodes.push(NodeProcess::start(&spec, &node_dir, "127.0.0.1:0")?);
        }
        let mut cluster = Self {
            floe: floe.to_path_buf(),
            ec: ec.to_string(),
            cluster_secret,
            nodes,
            gateway: None,
            endpoint: String::new(),
            access_key,
            secret_key,
            dir: Some(dir),
        };
        let (gateway, endpoint) = cluster.spawn_gateway("127.0.0.1:0", config)?;
        cluster.gateway = Some(gateway);
        cluster.endpoint = endpoint;
        Ok(cluster)
    }

    /// `floe serve` over this cluster's nodes and gateway data directory, listening on `listen`;
    /// returns the process and its endpoint.
    fn spawn_gateway(
        &self,
        listen: &str,
        config: Option<&Path>,
    ) -> anyhow::Result<(Child, String)> {
        let gateway_dir = self.root().join("gateway");
        std::fs::create_dir_all(&gateway_dir)?;
        let mut cmd = Command::new(&self.floe);
        cmd.arg("serve");
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        cmd.args(["--listen", listen, "--data"])
            .arg(&gateway_dir)
            .args(["--nodes", &self.node_urls().join(","), "--ec", &self.ec])
            .env("FLOE_CLUSTER_SECRET", &self.cluster_secret)
            .env("FLOE_ROOT_ACCESS_KEY", &self.access_key)
            .env("FLOE_ROOT_SECRET_KEY", &self.secret_key)
            // The failure scenarios look for the gateway's `shard needs repair` warnings here.
            .env("RUST_LOG", "info,s3s=off")
            .env("NO_COLOR", "1")
            .stderr(Stdio::from(log_file(&self.gateway_log())?));
        let (announced, endpoint) =
            spawn_announcing(cmd, "Floe S3 gateway listening on ", "floe serve")?;
        // Keep draining the rest of its stdout.
        let lines = announced.lines;
        std::thread::spawn(move || for _ in lines {});
        Ok((announced.child, endpoint))
    }

    /// Stops the gateway (SIGTERM, so it drains and closes its index; SIGKILL after 15 s) and
    /// starts it again over the same nodes and data directory, with `config` as its config file
    /// (`None`: none). The same address is tried first (a few attempts while the port lingers),
    /// then any free port; `endpoint` (and so [`Cluster::target`]) follows.
    pub fn restart_gateway(&mut self, config: Option<&Path>) -> anyhow::Result<()> {
        if let Some(child) = self.gateway.take() {
            stop_gracefully(child, Duration::from_secs(15));
        }
        let old = self.endpoint.trim_start_matches("http://").to_string();
        let mut last = None;
        for _ in 0..30 {
            match self.spawn_gateway(&old, config) {
                Ok((child, endpoint)) => {
                    self.gateway = Some(child);
                    self.endpoint = endpoint;
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        match self.spawn_gateway("127.0.0.1:0", config) {
            Ok((child, endpoint)) => {
                self.gateway = Some(child);
                self.endpoint = endpoint;
                Ok(())
            }
            Err(e) => Err(e).context(format!(
                "restarting the gateway (on {old}: {:#})",
                last.expect("at least one attempt")
            )),
        }
    }

    /// The gateway's process id, while it runs.
    pub fn gateway_pid(&self) -> Option<u32> {
        self.gateway.as_ref().map(Child::id)
    }

    /// Each node's process id (`None` for a killed node), in node order.
    pub fn node_pids(&self) -> Vec<Option<u32>> {
        self.nodes.iter().map(NodeProcess::pid).collect()
    }

    pub fn target(&self) -> Target {
        Target::new(
            &self.endpoint,
            &self.access_key,
            &self.secret_key,
            "us-east-1",
        )
    }

    pub fn node_urls(&self) -> Vec<String> {
        self.nodes.iter().map(NodeProcess::url).collect()
    }

    pub fn root(&self) -> &Path {
        self.dir.as_ref().expect("cluster directory").path()
    }

    pub fn gateway_log(&self) -> PathBuf {
        self.root().join("gateway.log")
    }

    /// The gateway's log so far, without ANSI colour codes.
    pub fn gateway_log_text(&self) -> String {
        let raw = std::fs::read_to_string(self.gateway_log()).unwrap_or_default();
        strip_ansi(&raw)
    }

    /// Starts node `i` again on its old address and data directory. The port can linger for a
    /// moment after a kill, so a few attempts are made.
    pub fn restart_node(&mut self, i: usize) -> anyhow::Result<()> {
        let addr = self.nodes[i].addr.clone();
        self.nodes[i]
            .restart()
            .with_context(|| format!("restarting node {i} on {addr}"))
    }

    /// Stops everything; with `keep`, leaves the directory (shards, index, logs) behind.
    pub fn shutdown(self, keep: bool) {
        if let (true, Some(dir)) = (keep, self.stop()) {
            let path = dir.keep();
            println!("cluster data kept in {}", path.display());
        }
    }

    /// Stops every process and hands back the data directory, which is removed when dropped, so
    /// the caller chooses when that deletion happens.
    pub fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(mut g) = self.gateway.take() {
            let _ = g.kill();
            let _ = g.wait();
        }
        for n in &mut self.nodes {
            n.kill();
        }
        self.dir.take()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut g) = self.gateway.take() {
            let _ = g.kill();
            let _ = g.wait();
        }
    }
}

/// SIGTERM (through `kill`, no libc here), then waits up to `grace` for the exit; SIGKILL after.
fn stop_gracefully(mut child: Child, grace: Duration) {
    if terminate(&mut child, grace).is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
