//! The baselines Floe is measured against, each a server process on free local ports with its
//! data in a temporary directory beside Floe's (same parent, same disk):
//! - `s3s-fs`, the plain single-disk S3 server, always;
//! - Garage (`garage.rs`), a distributed S3 store, when its binary is on the PATH.
//!
//! Neither prints anything reliable about readiness, so a server is ready once its S3 port
//! accepts.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use floe_conformance::target::Target;

/// A running baseline: its process, S3 endpoint and credentials; killed and removed on drop.
pub struct BaselineServer {
    /// `s3s-fs` or `garage`: the name of its column in the tables.
    pub name: &'static str,
    child: Child,
    pub endpoint: String,
    access_key: String,
    secret_key: String,
    /// Data and log; removed on drop.
    dir: tempfile::TempDir,
}

impl BaselineServer {
    /// Starts `s3s-fs` with keys of its own.
    pub fn s3s_fs(bin: &Path) -> anyhow::Result<Self> {
        let dir = temp_dir("s3s-fs")?;
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root)?;
        let port = free_port()?;
        let access_key = format!("BENCH{:08X}", std::process::id());
        let secret_key = format!("bench-secret-{}", std::process::id());
        let mut command = Command::new(bin);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", &access_key, "--secret-key", &secret_key])
            .arg(&root);
        let child = spawn_logged(command, &dir, "s3s-fs")?;
        let mut server = Self::started("s3s-fs", child, port, dir);
        server.set_keys(access_key, secret_key);
        server.wait_accepting(port)?;
        Ok(server)
    }

    /// A server whose process runs; its keys are set by the caller once it made them.
    pub(crate) fn started(
        name: &'static str,
        child: Child,
        port: u16,
        dir: tempfile::TempDir,
    ) -> Self {
        Self {
            name,
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key: String::new(),
            secret_key: String::new(),
            dir,
        }
    }

    pub(crate) fn set_keys(&mut self, access_key: String, secret_key: String) {
        self.access_key = access_key;
        self.secret_key = secret_key;
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn target(&self) -> Target {
        Target::new(
            &self.endpoint,
            &self.access_key,
            &self.secret_key,
            // Both baselines are configured for this region.
            "us-east-1",
        )
    }

    /// Waits up to 30 s for `port` to accept; fails at once if the process exits.
    pub(crate) fn wait_accepting(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.check_running()?;
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not accept connections on port {port} within 30 s",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited at start ({status}); see its log in {}",
                self.name,
                self.dir.path().display()
            );
        }
        Ok(())
    }

    /// Its data and log directory.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for BaselineServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn temp_dir(name: &str) -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("floe-bench-{name}-"))
        .tempdir()
        .with_context(|| format!("creating the {name} directory"))
}

/// Spawns `command` with stdout and stderr in `<dir>/<name>.log`.
pub(crate) fn spawn_logged(
    mut command: Command,
    dir: &tempfile::TempDir,
    name: &str,
) -> anyhow::Result<Child> {
    let log = std::fs::File::create(dir.path().join(format!("{name}.log")))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()
        .with_context(|| format!("spawning {}", command.get_program().to_string_lossy()))
}

/// A port the kernel just handed out (bound, then released).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
