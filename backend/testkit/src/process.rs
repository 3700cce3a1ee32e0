//! Real Floe processes for tests, benches and the conformance runner: the one place that knows
//! how to start `floe node` and `floe serve`, wait for the line announcing their address, and
//! kill them (SIGKILL, no chance to flush) or stop them (SIGTERM).
//!
//! Every process gets `127.0.0.1:0` unless told otherwise, its stdout drained on a thread (so it
//! never blocks on a full pipe), and its stderr in a log file beside its data.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a process may take to announce its address (a loaded 2-core machine included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `floe` binary: `FLOE_BIN` if set, else `floe` in the target directory of the running
/// executable (`target/<profile>/deps/<test>` → `target/<profile>/floe`), where cargo puts it
/// for the gateway's own tests and benches.
pub fn floe_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("FLOE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the running executable's path");
    let name = format!("floe{}", std::env::consts::EXE_SUFFIX);
    let dir = exe.parent();
    let candidates = [dir, dir.and_then(Path::parent)];
    if let Some(found) = candidates
        .into_iter()
        .flatten()
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
    {
        return found;
    }
    panic!(
        "no floe binary next to {}: build it with `cargo build -p floe-gateway --bin floe`, or \
         set FLOE_BIN",
        exe.display()
    );
}

/// A child whose stdout is read line by line on a thread.
pub struct Announced {
    pub child: Child,
    /// Lines the process printed after the one waited for.
    pub lines: mpsc::Receiver<String>,
}

/// Spawns `cmd` with stdout piped and waits until it prints a line starting with `prefix`.
/// Returns the child and the rest of that line (trimmed). A process that exits or stays silent
/// is killed and reported as an error naming `what`.
pub fn spawn_announcing(
    mut cmd: Command,
    prefix: &str,
    what: &str,
) -> io::Result<(Announced, String)> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // The receiver may be gone: keep draining anyway.
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix(prefix) {
                    let rest = rest.trim().to_string();
                    return Ok((Announced { child, lines: rx }, rest));
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                return Err(io::Error::other(format!(
                    "{what} did not print {prefix:?} within {START_TIMEOUT:?} (exit status \
                     {status:?}); see its log"
                )));
            }
        }
    }
}

/// An append-mode log file (created with its directory).
pub fn log_file(path: &Path) -> io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// SIGTERM to `child`, then up to `wait` for it to exit: its status, or `None` if it still runs.
pub fn terminate(child: &mut Child, wait: Duration) -> Option<ExitStatus> {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .ok()?;
    if !sent.success() {
        return None;
    }
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// How to start a `floe node`.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub floe: PathBuf,
    pub secret: String,
    /// The text of a node config file (`[tls]`, limits), written beside the data; none if empty.
    pub config: String,
}

impl NodeSpec {
    /// The `floe` binary of [`floe_binary`] with cluster secret `secret` and no config file.
    pub fn new(secret: &str) -> Self {
        Self {
            floe: floe_binary(),
            secret: secret.to_string(),
            config: String::new(),
        }
    }

    /// The same node with a config file of `text`.
    pub fn with_config(mut self, text: &str) -> Self {
        self.config = text.to_string();
        self
    }
}

/// One `floe node` process. Killed (SIGKILL) when dropped.
pub struct NodeProcess {
    child: Option<Child>,
    spec: NodeSpec,
    /// The directory holding `data/` and `node.log`.
    pub dir: PathBuf,
    /// `127.0.0.1:PORT`, kept across restarts.
    pub addr: String,
    /// The base URL the node announced (`https://` when it serves TLS).
    url: String,
}

impl NodeProcess {
    /// Starts a node on `listen` ("127.0.0.1:0" for a fresh port) storing into `dir/data`.
    pub fn start(spec: &NodeSpec, dir: &Path, listen: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut cmd = Command::new(&spec.floe);
        cmd.args(["node", "--listen", listen, "--data"])
            .arg(dir.join("data"))
            .env("FLOE_CLUSTER_SECRET", &spec.secret)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stderr(Stdio::from(log_file(&dir.join("node.log"))?));
        if !spec.config.is_empty() {
            let file = dir.join("node.toml");
            std::fs::write(&file, &spec.config)?;
            cmd.arg("--config").arg(file);
        }
        let what = format!("floe node in {}", dir.display());
        let (announced, rest) = spawn_announcing(cmd, "floe node listening on ", &what)?;
        Ok(Self {
            child: Some(announced.child),
            spec: spec.clone(),
            dir: dir.to_path_buf(),
            addr: rest
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .to_string(),
            url: rest,
        })
    }

    /// The node's base URL, as it announced it (`https://` when it serves TLS).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The cluster this node has joined, read from its data directory.
    pub fn cluster_id(&self) -> Option<String> {
        std::fs::read_to_string(self.data_dir().join("cluster-id"))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// kill -9: no chance to flush or clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node again on the same address and data. The port may linger briefly after a
    /// kill, so this tries for up to 30 s.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        let mut last = None;
        for _ in 0..300 {
            match Self::start(&self.spec, &self.dir, &self.addr) {
                Ok(node) => {
                    *self = node;
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("restart never tried")))
    }

    /// Replaces the node with an empty one on the same address: kill -9, delete its data, start.
    pub fn replace_with_empty(&mut self) -> io::Result<()> {
        self.kill();
        let _ = std::fs::remove_dir_all(self.data_dir());
        self.restart()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `floe serve` process (gateway with embedded nodes, or over `--nodes`). Killed when dropped.
pub struct ServeProcess {
    child: Option<Child>,
    pub data: PathBuf,
    /// The S3 endpoint, as announced.
    pub endpoint: String,
    /// The admin API's base URL, as announced.
    pub admin_url: String,
}

impl ServeProcess {
    /// Starts `floe serve --listen 127.0.0.1:0 --data DATA ARGS...` with the environment's
    /// credentials removed (the config or `args` say what to use), its log in `DATA/serve.log`.
    pub fn start(floe: &Path, data: &Path, args: &[&str]) -> io::Result<Self> {
        std::fs::create_dir_all(data)?;
        let mut cmd = Command::new(floe);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(args)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .env_remove("FLOE_ROOT_ACCESS_KEY")
            .env_remove("FLOE_ROOT_SECRET_KEY")
            .env_remove("FLOE_CLUSTER_SECRET")
            .stderr(Stdio::from(log_file(&data.join("serve.log"))?));
        let what = format!("floe serve in {}", data.display());
        let (announced, endpoint) = spawn_announcing(cmd, "Floe S3 gateway listening on ", &what)
            .map_err(|e| {
            // The data directory is often a temp dir gone with the failing test: keep the
            // end of the log in the error.
            let log = std::fs::read_to_string(data.join("serve.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            io::Error::other(format!("{e}\n--- serve.log (end)\n{}", tail.join("\n")))
        })?;
        let Announced { mut child, lines } = announced;
        // The admin API's address follows on a later line of the banner.
        let deadline = Instant::now() + START_TIMEOUT;
        let admin_url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix("admin API:") {
                        break url.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(io::Error::other(format!("{what} announced no admin API")));
                }
            }
        };
        // Keep draining the rest of stdout.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self {
            child: Some(child),
            data: data.to_path_buf(),
            endpoint,
            admin_url,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// kill -9.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then up to `wait` for the exit: its status, or `None` if the process still runs
    /// (it is then left to [`kill`](Self::kill)).
    pub fn terminate(&mut self, wait: Duration) -> Option<ExitStatus> {
        let status = terminate(self.child.as_mut()?, wait);
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// Peak resident set size of the process so far, in bytes (Linux `VmHWM`).
    pub fn peak_rss(&self) -> Option<u64> {
        peak_rss(self.pid()?)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Peak resident set size of process `pid` so far, in bytes (Linux `VmHWM`).
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
