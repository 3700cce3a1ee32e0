//! The object lock drill: the real aws cli and `floe admin` against a `floe serve` process over
//! six real `floe node` processes. A COMPLIANCE version and a legal-held version refuse every
//! delete (S3 and admin, with and without bypass), garbage collection with no grace takes
//! nothing of theirs, the nodes themselves refuse to delete the retained version's shards, the
//! key itself moves on (overwrite, delete marker), and after the index is lost and rebuilt from
//! the nodes every lock still holds.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use floe_node::ClientOptions;
use support::aws_cli::{failed, succeeded};
use support::cluster::{LocalCluster, pattern};
use support::gateway::{ACCESS_KEY, ADMIN_TOKEN, SECRET_KEY, config_text};
use support::serve::ServeProcess;

const BUCKET: &str = "vault";
const KEY: &str = "backup/chain.blk";

fn gateway(cluster: &LocalCluster, data: &Path) -> ServeProcess {
    std::fs::create_dir_all(data).expect("data dir");
    let file = data.join("gateway.toml");
    let extra = "gc_grace_secs = 0\norphan_grace_secs = 0\nchunk_size = 1048576";
    std::fs::write(&file, config_text(&cluster.urls(), data, extra)).expect("config");
    ServeProcess::start(data, &["--config", file.to_str().expect("utf-8")])
}

/// `aws ARGS...` against `gw`.
fn aws(gw: &ServeProcess, home: &Path, args: &[&str]) -> Output {
    support::aws_cli::aws(&gw.endpoint, (ACCESS_KEY, SECRET_KEY), None, home, args)
}

/// `aws s3api ARGS... --query Q --output text`.
fn query(gw: &ServeProcess, home: &Path, args: &[&str], q: &str) -> String {
    let mut all = vec!["s3api"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--query", q, "--output", "text"]);
    succeeded(&aws(gw, home, &all), &all.join(" "))
        .trim()
        .to_owned()
}

/// `aws s3api CALL --bucket BUCKET --key KEY --version-id VERSION --query Q --output text`.
fn version_query(gw: &ServeProcess, home: &Path, call: &str, version: &str, q: &str) -> String {
    query(
        gw,
        home,
        &[
            call,
            "--bucket",
            BUCKET,
            "--key",
            KEY,
            "--version-id",
            version,
        ],
        q,
    )
}

/// `floe admin --gateway URL --token T ARGS...`.
fn floe_admin(gw: &ServeProcess, args: &[&str]) -> Output {
    support::serve::floe_admin(gw, ADMIN_TOKEN, args)
}

/// An ISO 8601 date `secs` from now.
fn iso_in(secs: u64) -> String {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + secs;
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{at}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Every refusal a protected version must give: S3 delete with and without bypass, and the
/// admin command with and without bypass.
fn assert_undeletable(gw: &ServeProcess, home: &Path, version: &str) {
    for bypass in [false, true] {
        let mut args = vec![
            "s3api",
            "delete-object",
            "--bucket",
            BUCKET,
            "--key",
            KEY,
            "--version-id",
            version,
        ];
        if bypass {
            args.push("--bypass-governance-retention");
        }
        let why = failed(&aws(gw, home, &args), &args.join(" "));
        assert!(why.contains("AccessDenied"), "{why}");

        let mut args = vec!["delete-version", BUCKET, KEY, version];
        if bypass {
            args.push("--bypass-governance");
        }
        let out = floe_admin(gw, &args);
        let why = failed(&out, &format!("floe admin {}", args.join(" ")));
        assert!(why.contains("403"), "{why}");
    }
}

fn read_version(gw: &ServeProcess, home: &Path, version: &str, into: &Path) -> Vec<u8> {
    let args = [
        "s3api",
        "get-object",
        "--bucket",
        BUCKET,
        "--key",
        KEY,
        "--version-id",
        version,
        into.to_str().unwrap(),
    ];
    succeeded(&aws(gw, home, &args), "get a version");
    std::fs::read(into).unwrap()
}

/// Every (node, shard) whose chunk the node holds under retention, with the hold's end.
async fn held_shards(cluster: &LocalCluster) -> Vec<(usize, floe_node::ShardKey, i64)> {
    let mut out = Vec::new();
    for (n, client) in cluster.clients(ClientOptions::default()).iter().enumerate() {
        let page = client.list_shards(None, 10_000).await.expect("list shards");
        assert!(
            page.next_after.is_none(),
            "one page holds the drill's shards"
        );
        for entry in page.shards {
            if let Some(until) = client.hold(&entry.key.chunk).await.expect("hold") {
                out.push((n, entry.key, until));
            }
        }
    }
    out
}

/// Asks each node directly (as a confused sweep would) to delete every held shard: all refuse.
async fn assert_nodes_refuse(cluster: &LocalCluster, held: &[(usize, floe_node::ShardKey, i64)]) {
    let clients = cluster.clients(ClientOptions::default());
    for (n, key, _) in held {
        match clients[*n].delete_shard(&key.chunk, key.index).await {
            Err(floe_node::ClientError::Held(_)) => {}
            other => panic!("node {n} did not refuse to delete held shard {key}: {other:?}"),
        }
    }
}

/// Waits until the gateway has copied every change to the nodes.
async fn wait_for_records(gw: &ServeProcess) {
    let admin = floe_gateway::admin::AdminClient::new(&gw.admin_url, ADMIN_TOKEN).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while admin.status().await.expect("status").records_pending > 0 {
        assert!(Instant::now() < deadline, "records never reached the nodes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_versions_survive_every_delete_and_the_loss_of_the_index() {
    let version = Command::new("aws").arg("--version").output();
    assert!(
        matches!(&version, Ok(v) if v.status.success()),
        "the aws cli is required for this test and was not found on PATH: {version:?}"
    );
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let (home, data) = (tmp.path().join("home"), tmp.path().join("gateway"));
    std::fs::create_dir_all(&home).unwrap();
    let mut gw = gateway(&cluster, &data);

    succeeded(
        &aws(
            &gw,
            &home,
            &[
                "s3api",
                "create-bucket",
                "--bucket",
                BUCKET,
                "--object-lock-enabled-for-bucket",
            ],
        ),
        "create a lock bucket",
    );
    let enabled = query(
        &gw,
        &home,
        &["get-object-lock-configuration", "--bucket", BUCKET],
        "ObjectLockConfiguration.ObjectLockEnabled",
    );
    assert_eq!(enabled, "Enabled");

    // Two chunked versions: one under COMPLIANCE for a day, one under a legal hold.
    let bodies: Vec<Vec<u8>> = (0..3).map(|i| pattern(2_500_000, 40 + i)).collect();
    let files: Vec<_> = (0..3).map(|i| tmp.path().join(format!("v{i}"))).collect();
    for (file, body) in files.iter().zip(&bodies) {
        std::fs::write(file, body).unwrap();
    }
    let day = iso_in(86_400);
    let put = |file: &Path, lock: &[&str]| {
        let mut args = vec![
            "put-object",
            "--bucket",
            BUCKET,
            "--key",
            KEY,
            "--body",
            file.to_str().unwrap(),
        ];
        args.extend_from_slice(lock);
        query(&gw, &home, &args, "VersionId")
    };
    let compliance = put(
        &files[0],
        &[
            "--object-lock-mode",
            "COMPLIANCE",
            "--object-lock-retain-until-date",
            &day,
        ],
    );
    let held = put(&files[1], &["--object-lock-legal-hold-status", "ON"]);
    assert_ne!(compliance, held);
    let mode = version_query(
        &gw,
        &home,
        "get-object-retention",
        &compliance,
        "Retention.Mode",
    );
    assert_eq!(mode, "COMPLIANCE");

    assert_undeletable(&gw, &home, &compliance);
    assert_undeletable(&gw, &home, &held);

    // Overwriting the key works and makes a new version; a plain delete adds a marker.
    let newest = put(&files[2], &[]);
    let got = read_version(&gw, &home, &newest, &tmp.path().join("got"));
    assert!(got == bodies[2]);
    succeeded(
        &aws(
            &gw,
            &home,
            &["s3api", "delete-object", "--bucket", BUCKET, "--key", KEY],
        ),
        "delete without a version",
    );

    // Garbage collection with no grace at all takes nothing a locked version needs.
    succeeded(
        &floe_admin(&gw, &["gc", "--grace-secs", "0"]),
        "floe admin gc",
    );
    for (version, body) in [(&compliance, &bodies[0]), (&held, &bodies[1])] {
        let got = read_version(&gw, &home, version, &tmp.path().join("got"));
        assert!(got == *body, "version {version} changed");
    }
    let listing = succeeded(&floe_admin(&gw, &["versions", BUCKET, KEY]), "versions");
    assert!(listing.contains("COMPLIANCE until"), "{listing}");
    assert!(listing.contains("legal hold"), "{listing}");

    // The nodes hold the COMPLIANCE version's chunks themselves (3 chunks of 1 MiB, a shard of
    // each on every node), until its date, and refuse to delete them whoever asks.
    wait_for_records(&gw).await;
    let node_holds = held_shards(&cluster).await;
    assert_eq!(node_holds.len(), 3 * 6, "{node_holds:?}");
    let chunks: std::collections::BTreeSet<_> =
        node_holds.iter().map(|(_, k, _)| k.chunk).collect();
    assert_eq!(chunks.len(), 3);
    let retention_end = node_holds[0].2;
    assert!(
        node_holds
            .iter()
            .all(|(_, _, until)| *until == retention_end)
    );
    assert_nodes_refuse(&cluster, &node_holds).await;

    // The index is lost; the gateway rebuilds it from the nodes' records.
    gw.kill();
    std::fs::remove_file(data.join("index.redb")).expect("the index file");
    let gw = gateway(&cluster, &data);
    let log = std::fs::read_to_string(data.join("serve.log")).unwrap_or_default();
    assert!(
        log.contains("rebuilding it from the nodes before serving"),
        "no rebuild:\n{log}"
    );

    let until = version_query(
        &gw,
        &home,
        "get-object-retention",
        &compliance,
        "Retention.[Mode,RetainUntilDate]",
    );
    assert!(until.starts_with("COMPLIANCE"), "{until}");
    let hold = version_query(
        &gw,
        &home,
        "get-object-legal-hold",
        &held,
        "LegalHold.Status",
    );
    assert_eq!(hold, "ON");
    let enabled = query(
        &gw,
        &home,
        &["get-object-lock-configuration", "--bucket", BUCKET],
        "ObjectLockConfiguration.ObjectLockEnabled",
    );
    assert_eq!(enabled, "Enabled");
    assert_undeletable(&gw, &home, &compliance);
    assert_undeletable(&gw, &home, &held);
    succeeded(
        &floe_admin(&gw, &["gc", "--grace-secs", "0"]),
        "gc after the rebuild",
    );
    for (version, body) in [(&compliance, &bodies[0]), (&held, &bodies[1])] {
        let got = read_version(&gw, &home, version, &tmp.path().join("got"));
        assert!(got == *body, "version {version} changed after the rebuild");
    }
}
