//! A real PostgreSQL server for tests. `.ci/run` starts one and exports its URL as
//! `FLOE_TEST_POSTGRES`; without it (a developer's `cargo test`), the first test that asks
//! starts one for the test process: `initdb` and `postgres` from the Debian packages, in a
//! temporary directory, on a free loopback port, as the `postgres` user when running as root.
//! A watchdog stops that server when the test process exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The URL of a PostgreSQL server for tests (a superuser `floe`, database `postgres`).
pub fn url() -> String {
    if let Ok(url) = std::env::var("FLOE_TEST_POSTGRES") {
        return url;
    }
    static STARTED: OnceLock<String> = OnceLock::new();
    STARTED.get_or_init(start).clone()
}

/// A table name no other test in this database uses.
pub fn fresh_table(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}_{}_{nanos}_{n}", std::process::id())
}

/// The URL of a new, empty database on the test server (for tests that use the default table
/// names, such as whole gateways).
pub fn fresh_database(prefix: &str) -> String {
    let base = url();
    let name = fresh_table(prefix);
    let out = Command::new("psql")
        .arg(&base)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("run psql (the postgresql-client package)");
    assert!(
        out.status.success(),
        "CREATE DATABASE {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match base.rfind('/') {
        Some(slash) => format!("{}/{name}", &base[..slash]),
        None => panic!("test database URL without a database: {base}"),
    }
}

fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: install the \
             postgresql package, or set FLOE_TEST_POSTGRES to a server's URL"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `program args...`, as the postgres user when this process is root (PostgreSQL refuses root).
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start() -> String {
    let bin = bin_dir();
    let dir = tempfile::Builder::new()
        .prefix("floe-postgres-")
        .tempdir()
        .expect("temp dir")
        .keep();
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown postgres {}", dir.display());
    }
    let data = dir.join("data");
    let out = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "floe", "--no-sync"])
        .stdout(Stdio::null())
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    // The server runs beside a watchdog shell (this user, so it may watch this process) that
    // stops it once this test process is gone.
    let launcher = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "{launcher}{postgres} -D {data} -p {port} -k {dir} -c listen_addresses=127.0.0.1 \
         -c max_connections=300 -c fsync=off >{dir}/server.log 2>&1 & \
         while kill -0 {parent} 2>/dev/null; do sleep 1; done; \
         kill -INT $(head -n 1 {data}/postmaster.pid) 2>/dev/null",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
        parent = std::process::id(),
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start postgres");
    // Reaped by a thread (it outlives every test; its exit means the server stopped).
    std::thread::spawn(move || {
        let mut watchdog = watchdog;
        let _ = watchdog.wait();
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "postgres did not listen on {port}; see {}/server.log",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("postgres://floe@127.0.0.1:{port}/postgres")
}
