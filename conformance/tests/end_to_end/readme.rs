//! The README's first command, exactly as README.md writes it, on a copy of this source tree:
//! it must start a gateway with its embedded cluster that aws cli can use at once, and stop on
//! SIGINT (Ctrl-C). The command is read from README.md itself, so the two cannot drift apart;
//! `.ci/run` must be the README's second command.
//!
//! The copy stands in for a fresh clone (no `target/`, no `floe-data/`). The build goes to its own
//! target directory under this workspace's `target/`: the outer `cargo test` holds the lock of the
//! normal one while tests run, and a nested cargo on it would wait forever.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The workspace root (this package is `conformance/`).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("conformance has a parent")
        .to_path_buf()
}

/// The first two commands of the README's first `sh` block, without their comments.
fn readme_commands() -> (String, String) {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has a ```sh block");
    let mut commands = block
        .lines()
        .map(|line| {
            line.split(" #")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .filter(|line| !line.is_empty());
    let first = commands.next().expect("a first command");
    let second = commands.next().expect("a second command");
    (first, second)
}

/// Copies the source tree as a fresh clone has it: everything but build output, local data and
/// the git directory.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        if [".git", "target", "floe-data"].iter().any(|n| name == *n) {
            continue;
        }
        let kind = entry.file_type().expect("file type");
        let dest = to.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

fn aws(endpoint: &str, keys: &(String, String), args: &[&str], cwd: &Path) {
    let out = Command::new("aws")
        .arg("--endpoint-url")
        .arg(endpoint)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &keys.0)
        .env("AWS_SECRET_ACCESS_KEY", &keys.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CA_BUNDLE")
        .current_dir(cwd)
        .output()
        .expect("aws cli is installed (python3 -m pip install awscli, or run .ci/run)");
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ci_runs_the_readme_test_command() {
    let (_, second) = readme_commands();
    assert_eq!(second, "bash .ci/run", "the README's second command");
    assert!(workspace().join(".ci/run").is_file());
}

#[test]
fn readme_first_command_serves_aws_cli() {
    let _turn = crate::one_at_a_time();
    let (first, _) = readme_commands();
    let scratch = tempfile::tempdir().expect("tempdir");
    let tree = scratch.path().join("floe");
    copy_tree(&workspace(), &tree);
    let target = workspace().join("target").join("readme-first-command");
    println!(
        "running the README's first command in {}: {first}",
        tree.display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&first)
        .current_dir(&tree)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, as a terminal's foreground job: SIGINT goes to the group.
        .process_group(0)
        .spawn()
        .expect("sh");
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    let tx_out = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx_out.send(line);
        }
    });
    let stderr = child.stderr.take().expect("stderr");
    let (err_tx, err_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    let stop = |signal: &str| {
        // `--` so that the negative number is read as a process group, not an option.
        let _ = Command::new("kill")
            .args(["-s", signal, "--"])
            .arg(format!("-{pid}"))
            .status();
    };

    // A release build from nothing takes minutes on a 2-core machine.
    let deadline = Instant::now() + Duration::from_secs(40 * 60);
    let mut endpoint = None;
    let mut keys = None;
    let mut seen = Vec::new();
    while endpoint.is_none() || keys.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(line) => {
                if let Some(url) = line.split("listening on ").nth(1) {
                    endpoint = Some(url.trim().to_owned());
                }
                if let Some(rest) = line.trim().strip_prefix("export ") {
                    let field = |name: &str| {
                        rest.split_whitespace()
                            .find_map(|kv| kv.strip_prefix(name))
                            .map(str::to_owned)
                    };
                    keys = field("AWS_ACCESS_KEY_ID=").zip(field("AWS_SECRET_ACCESS_KEY="));
                }
                seen.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                if let Ok(Some(status)) = child.try_wait() {
                    let errors: Vec<String> = err_rx.try_iter().collect();
                    panic!(
                        "the README's first command exited with {status} before serving:\n{}\n{}",
                        seen.join("\n"),
                        errors.join("\n")
                    );
                }
            }
            Err(_) => {
                stop("KILL");
                panic!("no endpoint within the deadline:\n{}", seen.join("\n"));
            }
        }
    }
    let endpoint = endpoint.expect("endpoint");
    let keys = keys.expect("keys");
    assert_eq!(endpoint, "http://127.0.0.1:9000", "the README's endpoint");

    let work = scratch.path().join("client");
    std::fs::create_dir_all(&work).expect("mkdir");
    let original: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(work.join("up.bin"), &original).expect("write");
    aws(&endpoint, &keys, &["s3", "mb", "s3://readme"], &work);
    aws(
        &endpoint,
        &keys,
        &["s3", "cp", "up.bin", "s3://readme/dir/up.bin"],
        &work,
    );
    aws(
        &endpoint,
        &keys,
        &["s3", "cp", "s3://readme/dir/up.bin", "down.bin"],
        &work,
    );
    let back = std::fs::read(work.join("down.bin")).expect("read");
    assert!(back == original, "the object came back different");

    stop("INT");
    let exit_deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > exit_deadline {
            stop("KILL");
            panic!("the gateway did not stop within 60 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // The gateway holds the stderr pipe until it exits: its end of file means it is gone. (As
    // at a terminal, Ctrl-C also reaches `sh` and `cargo`, which may end by the signal.)
    let mut errors = Vec::new();
    loop {
        match err_rx.recv_timeout(exit_deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => errors.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                stop("KILL");
                panic!(
                    "the gateway did not exit after SIGINT:\n{}",
                    errors.join("\n")
                );
            }
        }
    }
    let by_sigint = std::os::unix::process::ExitStatusExt::signal(&status) == Some(2);
    assert!(
        status.success() || by_sigint,
        "after SIGINT the command exited with {status}:\n{}",
        errors.join("\n")
    );
    assert!(
        errors.iter().any(|l| l.contains("stopped cleanly")),
        "no clean stop in the log:\n{}",
        errors.join("\n")
    );
    // The index and the embedded nodes' shards live where the README says.
    assert!(tree.join("floe-data/index.redb").is_file());
    assert!(tree.join("floe-data/nodes/node-0").is_dir());
}
