//! Real clients: one script per client under `conformance/clients/` drives its usual workflow and
//! prints one `RESULT|pass|fail|secs|row|message` line per step. Each step becomes a matrix row
//! in that client's column; a step the script never reached fails, and a client that is not
//! installed fails all its rows with the command that installs it (never a silent skip).

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::report::{Column, Report, heading};
use crate::target::Target;

struct Client {
    column: Column,
    script: &'static str,
    interpreter: &'static str,
    /// A command that must succeed for the client to count as installed.
    probe: &'static [&'static str],
    install: &'static str,
    /// The rows the script reports, in order.
    rows: &'static [&'static str],
}

const CLIENTS: [Client; 4] = [
    Client {
        column: Column::AwsCli,
        script: "aws-cli.sh",
        interpreter: "bash",
        probe: &["aws", "--version"],
        install: "python3 -m pip install awscli   (or run .ci/run)",
        rows: &[
            "put/get object",
            "sync directory",
            "list objects",
            "presigned GET",
            "multipart upload",
            "object tagging",
            "head object",
            "delete object",
            "bucket create/list/delete",
            "object versioning",
            "object lock",
        ],
    },
    Client {
        column: Column::Rclone,
        script: "rclone.sh",
        interpreter: "bash",
        probe: &["rclone", "version"],
        install: "apt-get install rclone   (or run .ci/run)",
        rows: &[
            "put/get object",
            "check (size+MD5)",
            "sync directory",
            "list objects",
            "delete object",
            "purge bucket",
            "object versioning",
            "sync into a lock bucket",
        ],
    },
    Client {
        column: Column::S3cmd,
        script: "s3cmd.sh",
        interpreter: "bash",
        probe: &["s3cmd", "--version"],
        install: "apt-get install s3cmd   (or run .ci/run)",
        rows: &[
            "put/get object",
            "multipart upload",
            "list objects",
            "delete object",
            "bucket create/list/delete",
        ],
    },
    Client {
        column: Column::Boto3,
        script: "boto3-client.py",
        interpreter: "python3",
        probe: &["python3", "-c", "import boto3"],
        install: "python3 -m pip install boto3   (or run .ci/run)",
        rows: &[
            "multipart upload",
            "put/get object",
            "list objects",
            "empty object, then next PUT",
            "delete object",
            "bucket create/list/delete",
        ],
    },
];

/// A script that has not finished after this long is killed (with the clients it started) and
/// its unreported rows fail.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);

/// Prints a script's output as it comes (the RESULT lines become matrix rows instead) and, with
/// `keep`, collects the lines as they arrive: a script killed on timeout still has its results.
async fn echo_lines(
    stream: impl tokio::io::AsyncRead + Unpin,
    prefix: &str,
    keep: Option<Arc<Mutex<Vec<String>>>>,
) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if !line.starts_with("RESULT|") {
            println!("{prefix}{line}");
        }
        if let Some(kept) = &keep {
            kept.lock().expect("script output").push(line);
        }
    }
}

pub async fn run(target: &Target, scripts: &Path, report: &mut Report) {
    heading("real clients");
    for client in &CLIENTS {
        run_client(client, target, scripts, report).await;
    }
}

async fn installed(probe: &[&str]) -> bool {
    tokio::process::Command::new(probe[0])
        .args(&probe[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

async fn run_client(client: &Client, target: &Target, scripts: &Path, report: &mut Report) {
    let name = client.column.name();
    println!("-- {name} ({})", client.script);
    if !installed(client.probe).await {
        let msg = format!(
            "{name} is not installed (`{}` failed): install it with {}",
            client.probe.join(" "),
            client.install
        );
        for row in client.rows {
            report.record(client.column, row, Err(msg.clone()), Duration::ZERO);
        }
        return;
    }
    let script = scripts.join(client.script);
    let bucket = target.bucket_name(&name.replace('-', ""));
    target.remember(&format!("{bucket}-x"));
    let work = match tempfile::Builder::new()
        .prefix("floe-conformance-client-")
        .tempdir()
    {
        Ok(w) => w,
        Err(e) => {
            report.record(
                client.column,
                "setup",
                Err(format!("temp dir: {e}")),
                Duration::ZERO,
            );
            return;
        }
    };
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(client.interpreter);
    cmd.arg(&script)
        .env("S3_ENDPOINT", &target.endpoint)
        .env("AWS_ACCESS_KEY_ID", &target.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &target.secret_key)
        .env("AWS_REGION", &target.region)
        .env("AWS_DEFAULT_REGION", &target.region)
        .env("CONFORMANCE_BUCKET", &bucket)
        .env("CONFORMANCE_WORKDIR", work.path())
        // Default settings: no user config or profile may change what the client does.
        .env("AWS_CONFIG_FILE", work.path().join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            work.path().join("no-aws-credentials"),
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout can stop the client processes it started too.
        .process_group(0)
        .kill_on_drop(true);
    let kept = Arc::new(Mutex::new(Vec::new()));
    let status = match cmd.spawn() {
        Err(e) => format!("could not run {}: {e}", script.display()),
        Ok(mut child) => {
            let mut readers = Vec::new();
            if let Some(out) = child.stdout.take() {
                readers.push(tokio::spawn(echo_lines(out, "    | ", Some(kept.clone()))));
            }
            if let Some(err) = child.stderr.take() {
                readers.push(tokio::spawn(echo_lines(err, "    ! ", None)));
            }
            let status = match tokio::time::timeout(SCRIPT_TIMEOUT, child.wait()).await {
                Ok(Ok(status)) => status.to_string(),
                Ok(Err(e)) => format!("wait failed: {e}"),
                Err(_) => {
                    if let Some(pid) = child.id() {
                        let group = format!("-{pid}");
                        let kill = tokio::process::Command::new("kill")
                            .args(["-KILL", "--", &group])
                            .status();
                        let _ = kill.await;
                    }
                    let _ = child.kill().await;
                    format!("killed after {}s", SCRIPT_TIMEOUT.as_secs())
                }
            };
            // A straggler that still holds the pipes must not hold up the run.
            let drained = futures::future::join_all(readers);
            let _ = tokio::time::timeout(Duration::from_secs(5), drained).await;
            status
        }
    };
    let stdout = std::mem::take(&mut *kept.lock().expect("script output"));
    let mut results: Vec<(String, Result<(), String>, Duration)> = Vec::new();
    let mut setup_failure = None;
    for line in &stdout {
        let Some(rest) = line.strip_prefix("RESULT|") else {
            continue;
        };
        let fields: Vec<&str> = rest.splitn(4, '|').collect();
        let [verdict, secs, row, msg] = fields[..] else {
            println!("    malformed result line: {line}");
            continue;
        };
        let took = Duration::from_secs_f64(secs.parse().unwrap_or(0.0));
        let outcome = if verdict == "pass" {
            Ok(())
        } else {
            Err(msg.to_string())
        };
        if row == "setup" {
            if let Err(msg) = outcome {
                setup_failure = Some(msg);
            }
            continue;
        }
        results.push((row.to_string(), outcome, took));
    }
    for row in client.rows {
        if !results.iter().any(|(r, _, _)| r == row) {
            let why = match &setup_failure {
                Some(msg) => format!("setup failed: {msg}"),
                None => format!("step not reached (script exit: {status})"),
            };
            results.push((row.to_string(), Err(why), Duration::ZERO));
        }
    }
    for (row, outcome, took) in results {
        report.record(client.column, &row, outcome, took);
    }
    println!(
        "   {name}: script finished in {:.1}s ({status})",
        started.elapsed().as_secs_f64()
    );
}
