//! The baseline: the plain single-disk S3 server `s3s-fs`, on a free local port, its root in a
//! temporary directory beside Floe's data (same parent, same disk). It prints nothing reliable,
//! so readiness is its TCP port accepting.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use floe_conformance::target::Target;

pub struct S3sFs {
    child: Child,
    pub endpoint: String,
    access_key: String,
    secret_key: String,
    /// Root and log; removed on drop.
    _dir: tempfile::TempDir,
}

impl S3sFs {
    pub fn start(bin: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("floe-bench-s3s-fs-")
            .tempdir()
            .context("creating the s3s-fs directory")?;
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root)?;
        let port = free_port()?;
        let access_key = format!("BENCH{:08X}", std::process::id());
        let secret_key = format!("bench-secret-{}", std::process::id());
        let log = std::fs::File::create(dir.path().join("s3s-fs.log"))?;
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", &access_key, "--secret-key", &secret_key])
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "s3s-fs exited at start ({status}); see {}",
                    dir.path().display()
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("s3s-fs did not accept connections on port {port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key,
            secret_key,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn target(&self) -> Target {
        Target::new(
            &self.endpoint,
            &self.access_key,
            &self.secret_key,
            "us-east-1",
        )
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port the kernel just handed out (bound, then released).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
