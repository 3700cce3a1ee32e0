//! A real Floe cluster made of processes: `floe node` × N and one `floe serve --nodes ...`, on
//! 127.0.0.1 with ports chosen at run time (port 0, then the printed address), fresh secrets and
//! data in a temporary directory. Nodes can be killed (SIGKILL) and restarted on the same port
//! and data; their shard files can be listed for corruption; the gateway's log is a file. The
//! gateway can take an extra config file and be restarted over the same nodes and index; every
//! process's PID is available (for RSS sampling).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

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
fn random_hex(bytes: usize) -> anyhow::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom")?;
    Ok(hex::encode(buf))
}

/// Spawns `cmd` with stdout piped and waits for the line starting with `prefix`; returns the
/// text after it. Stdout keeps being drained so the child never blocks on a full pipe.
fn spawn_and_wait(
    mut cmd: Command,
    prefix: &'static str,
    what: &str,
) -> anyhow::Result<(Child, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {what}"))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(rest) => Ok((child, rest)),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait().ok();
            bail!(
                "{what} did not print {prefix:?} within 30s (exit status {status:?}); see its log"
            )
        }
    }
}

fn log_file(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// One `floe node` process; SIGKILLed on drop.
pub struct NodeProcess {
    child: Option<Child>,
    pub dir: PathBuf,
    /// `127.0.0.1:PORT`, kept across restarts.
    pub addr: String,
}

impl NodeProcess {
    fn start(floe: &Path, dir: &Path, listen: &str, secret: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut cmd = Command::new(floe);
        cmd.args(["node", "--listen", listen, "--data"])
            .arg(dir.join("data"))
            .env("FLOE_CLUSTER_SECRET", secret)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stderr(Stdio::from(log_file(&dir.join("node.log"))?));
        let (child, rest) = spawn_and_wait(cmd, "floe node listening on ", "floe node")?;
        let addr = rest.trim_start_matches("http://").to_string();
        Ok(Self {
            child: Some(child),
            dir: dir.to_path_buf(),
            addr,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process id, while the node runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every shard file this node holds: `data/shards/<2 hex>/<chunk hex>.<index>`.
    pub fn shard_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(prefixes) = std::fs::read_dir(self.dir.join("data").join("shards")) else {
            return out;
        };
        for prefix in prefixes.flatten() {
            if let Ok(files) = std::fs::read_dir(prefix.path()) {
                out.extend(files.flatten().map(|f| f.path()));
            }
        }
        out.sort();
        out
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
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

impl Cluster {
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
        let mut nodes = Vec::with_capacity(count);
        for i in 0..count {
            let node_dir = dir.path().join(format!("node{i}"));
            nodes.push(NodeProcess::start(
                floe,
                &node_dir,
                "127.0.0.1:0",
                &cluster_secret,
            )?);
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
        spawn_and_wait(cmd, "Floe S3 gateway listening on ", "floe serve")
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
        self.nodes[i].kill();
        let (dir, addr) = (self.nodes[i].dir.clone(), self.nodes[i].addr.clone());
        let mut last = None;
        for _ in 0..300 {
            match NodeProcess::start(&self.floe, &dir, &addr, &self.cluster_secret) {
                Ok(node) => {
                    self.nodes[i] = node;
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Err(last.expect("at least one attempt")).context(format!("restarting node {i} on {addr}"))
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
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if sent {
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
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
