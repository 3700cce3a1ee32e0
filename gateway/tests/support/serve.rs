//! A `floe serve` process (gateway + embedded nodes) on a port chosen at run time, and an
//! aws-sdk-s3 client for it.

#![allow(dead_code)] // each test binary uses a different part of this file

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use floe_gateway::runtime::config::{DEV_ACCESS_KEY, DEV_SECRET_KEY};

/// A gateway process. Killed (SIGKILL) when dropped.
pub struct ServeProcess {
    child: Option<Child>,
    pub data: PathBuf,
    pub endpoint: String,
    /// The admin API's base URL (the dev token is the dev secret key).
    pub admin_url: String,
}

impl ServeProcess {
    /// Starts `floe serve` on 127.0.0.1:0 with its data (index and embedded nodes) in `data`.
    pub fn start(data: &Path, extra_args: &[&str]) -> Self {
        std::fs::create_dir_all(data).expect("data dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join("serve.log"))
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_floe"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra_args)
            .env("RUST_LOG", "warn")
            .env_remove("FLOE_ROOT_ACCESS_KEY")
            .env_remove("FLOE_ROOT_SECRET_KEY")
            .env_remove("FLOE_CLUSTER_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn floe serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut endpoint = None;
        let admin_url = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("floe serve in {} did not start", data.display()));
            if let Some(url) = line.strip_prefix("Floe S3 gateway listening on ") {
                endpoint = Some(url.trim().to_string());
            }
            if let Some(url) = line.trim().strip_prefix("admin API:") {
                break url.trim().to_string();
            }
        };
        Self {
            child: Some(child),
            data: data.to_path_buf(),
            endpoint: endpoint.expect("endpoint announced before the admin API"),
            admin_url,
        }
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

    /// SIGTERM, then waits up to `wait` for the process to exit: its exit status, or `None` if
    /// it is still running (then it is left to `kill`).
    pub fn terminate(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.pid()?;
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.as_mut()?.try_wait().expect("try_wait") {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn client(&self) -> aws_sdk_s3::Client {
        client(&self.endpoint)
    }

    /// An admin API client with the dev token.
    pub fn admin(&self) -> floe_gateway::admin::AdminClient {
        floe_gateway::admin::AdminClient::new(&self.admin_url, DEV_SECRET_KEY)
            .expect("admin client")
    }

    /// Peak resident set size of the process so far, in bytes (Linux `VmHWM`).
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An SDK client with default settings (checksums on) for the dev credentials.
pub fn client(endpoint: &str) -> aws_sdk_s3::Client {
    client_with(endpoint, DEV_ACCESS_KEY, DEV_SECRET_KEY)
}

/// An SDK client with default settings (checksums on) for the given credentials.
pub fn client_with(endpoint: &str, access_key: &str, secret_key: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "test"))
        .force_path_style(true)
        .behavior_version(BehaviorVersion::latest())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
