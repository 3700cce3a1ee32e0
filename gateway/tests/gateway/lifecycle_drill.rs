//! The lifecycle drills: the real aws cli and `floe admin` against a `floe serve` process over
//! six real `floe node` processes, with lifecycle days of a second or two.
//!
//! - An incomplete multipart upload under a rule's prefix is aborted by `floe admin lifecycle
//!   run` once a day old, and garbage collection then reclaims its parts' shards from the
//!   nodes; an upload outside the prefix, and one too young, stay with their parts.
//! - On a versioned bucket with object lock, one configuration expires current versions,
//!   noncurrent versions and lone delete markers after a day, and aborts uploads: within a few
//!   days exactly those are gone and their shards reclaimed, while a version under COMPLIANCE
//!   retention stays, readable, with every shard.

use crate::support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::aws_cli::succeeded;
use support::cluster::{LocalCluster, pattern, shards_on_disk};
use support::gateway::{ACCESS_KEY, ADMIN_TOKEN, SECRET_KEY, config_text};
use support::serve::ServeProcess;

fn aws(gw: &ServeProcess, home: &Path, args: &[&str]) -> String {
    let out = support::aws_cli::aws(&gw.endpoint, (ACCESS_KEY, SECRET_KEY), None, home, args);
    succeeded(&out, &args.join(" "))
}

fn floe_admin(gw: &ServeProcess, args: &[&str]) -> Output {
    support::serve::floe_admin(gw, ADMIN_TOKEN, args)
}

/// Starts an upload of `key` with one 2 MiB part of `seed`'s bytes (two chunks, sharded over
/// the nodes; distinct seeds keep dedup out of the count).
fn upload_with_a_part(gw: &ServeProcess, home: &Path, key: &str, seed: u64) -> String {
    upload_into(gw, home, "drill", key, seed)
}

fn upload_into(gw: &ServeProcess, home: &Path, bucket: &str, key: &str, seed: u64) -> String {
    let id = aws(
        gw,
        home,
        &[
            "s3api",
            "create-multipart-upload",
            "--bucket",
            bucket,
            "--key",
            key,
            "--query",
            "UploadId",
            "--output",
            "text",
        ],
    )
    .trim()
    .to_owned();
    let part = home.join(format!("part-{}", key.replace('/', "-")));
    std::fs::write(&part, pattern(2 * 1024 * 1024, seed)).expect("part file");
    aws(
        gw,
        home,
        &[
            "s3api",
            "upload-part",
            "--bucket",
            bucket,
            "--key",
            key,
            "--upload-id",
            &id,
            "--part-number",
            "1",
            "--body",
            part.to_str().expect("utf-8"),
        ],
    );
    id
}

/// The ids of the uploads in progress in `bucket`, as the aws cli prints them.
fn upload_ids(gw: &ServeProcess, home: &Path, bucket: &str) -> String {
    aws(
        gw,
        home,
        &[
            "s3api",
            "list-multipart-uploads",
            "--bucket",
            bucket,
            "--query",
            "Uploads[].UploadId",
            "--output",
            "text",
        ],
    )
}

fn shards(cluster: &LocalCluster) -> usize {
    cluster.nodes.iter().map(|n| shards_on_disk(n).len()).sum()
}

/// A gateway over `cluster` whose lifecycle days last `day_seconds`, and whose engine runs
/// only when asked.
fn lifecycle_gateway(cluster: &LocalCluster, data: &Path, day_seconds: u64) -> ServeProcess {
    std::fs::create_dir_all(data).expect("data dir");
    let extra = format!(
        "gc_grace_secs = 0\norphan_grace_secs = 0\nchunk_size = 1048576\n\
         [lifecycle]\nday_seconds = {day_seconds}\ninterval_secs = 3600"
    );
    let file = data.join("gateway.toml");
    std::fs::write(&file, config_text(&cluster.urls(), data, &extra)).expect("config");
    ServeProcess::start(data, &["--config", file.to_str().expect("utf-8")])
}

#[test]
fn incomplete_uploads_expire_by_rule_and_their_shards_are_reclaimed() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let gw = lifecycle_gateway(&cluster, &tmp.path().join("gw"), 1);
    let home = tmp.path();
    aws(&gw, home, &["s3", "mb", "s3://drill"]);
    let rule = r#"{"Rules":[{"ID":"stale-staging","Status":"Enabled",
      "Filter":{"Prefix":"staging/"},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":2}}]}"#;
    aws(
        &gw,
        home,
        &[
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            "drill",
            "--lifecycle-configuration",
            rule,
        ],
    );
    let stale = upload_with_a_part(&gw, home, "staging/big.bin", 10);
    let other = upload_with_a_part(&gw, home, "final/big.bin", 20);
    let held = shards(&cluster);
    assert_eq!(
        held,
        2 * 2 * 6,
        "two uploads, two chunks each, six shards per chunk"
    );
    std::thread::sleep(Duration::from_millis(2200));
    let young = upload_with_a_part(&gw, home, "staging/young.bin", 30);

    let out = floe_admin(&gw, &["lifecycle", "run"]);
    let report = succeeded(&out, "floe admin lifecycle run");
    assert!(report.contains("uploads examined, 1 aborted"), "{report}");
    let listed = upload_ids(&gw, home, "drill");
    assert!(!listed.contains(&stale), "{listed}");
    assert!(
        listed.contains(&other) && listed.contains(&young),
        "{listed}"
    );

    succeeded(
        &floe_admin(&gw, &["gc", "--grace-secs", "0"]),
        "floe admin gc",
    );
    assert_eq!(
        shards(&cluster),
        2 * 2 * 6,
        "the aborted upload's 12 shards are reclaimed, the two others' kept"
    );
}

/// Every (key, version id, is a marker) of bucket `lock-drill`.
fn versions(gw: &ServeProcess, home: &Path) -> Vec<(String, String, bool)> {
    let out = aws(
        gw,
        home,
        &[
            "s3api",
            "list-object-versions",
            "--bucket",
            "lock-drill",
            "--output",
            "json",
        ],
    );
    let listed: serde_json::Value = match out.trim() {
        "" => serde_json::Value::Null,
        text => serde_json::from_str(text).expect("json"),
    };
    let mut found = Vec::new();
    for (field, marker) in [("Versions", false), ("DeleteMarkers", true)] {
        for v in listed[field].as_array().into_iter().flatten() {
            found.push((
                v["Key"].as_str().unwrap_or_default().to_owned(),
                v["VersionId"].as_str().unwrap_or_default().to_owned(),
                marker,
            ));
        }
    }
    found.sort();
    found
}

#[test]
fn versions_markers_and_uploads_expire_by_rule_and_a_compliance_version_stays() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let gw = lifecycle_gateway(&cluster, &tmp.path().join("gw"), 2);
    let home = tmp.path();
    aws(
        &gw,
        home,
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            "lock-drill",
            "--object-lock-enabled-for-bucket",
        ],
    );
    let rules = r#"{"Rules":[
      {"ID":"versions","Status":"Enabled","Filter":{"Prefix":""},
       "Expiration":{"Days":1},"NoncurrentVersionExpiration":{"NoncurrentDays":1},
       "AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}},
      {"ID":"markers","Status":"Enabled","Filter":{"Prefix":""},
       "Expiration":{"ExpiredObjectDeleteMarker":true}}]}"#;
    aws(
        &gw,
        home,
        &[
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            "lock-drill",
            "--lifecycle-configuration",
            rules,
        ],
    );
    // Five 2 MiB bodies (two chunks each, six shards per chunk, distinct seeds).
    let put = |key: &str, seed: u64, extra: &[&str]| {
        let file = home.join(format!("body-{seed}"));
        std::fs::write(&file, pattern(2 * 1024 * 1024, seed)).expect("body");
        let mut args = vec![
            "s3api",
            "put-object",
            "--bucket",
            "lock-drill",
            "--key",
            key,
            "--body",
            file.to_str().expect("utf-8"),
            "--query",
            "VersionId",
            "--output",
            "text",
        ];
        args.extend_from_slice(extra);
        aws(&gw, home, &args).trim().to_owned()
    };
    put("written-twice", 10, &[]);
    put("written-twice", 20, &[]);
    put("deleted", 30, &[]);
    aws(&gw, home, &["s3", "rm", "s3://lock-drill/deleted"]);
    let until = std::process::Command::new("date")
        .args(["-u", "-d", "+1 hour", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    let until = String::from_utf8_lossy(&until.stdout).trim().to_owned();
    let locked = put(
        "locked",
        40,
        &[
            "--object-lock-mode",
            "COMPLIANCE",
            "--object-lock-retain-until-date",
            &until,
        ],
    );
    let upload = upload_into(&gw, home, "lock-drill", "staging/big.bin", 50);
    assert_eq!(shards(&cluster), 5 * 2 * 6);

    // Runs the engine every second until what is left is the locked version under the marker
    // its expiry put on top, or a deadline of many lifecycle days.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let left = loop {
        let out = floe_admin(&gw, &["lifecycle", "run"]);
        succeeded(&out, "floe admin lifecycle run");
        let left = versions(&gw, home);
        if left.len() <= 2 || std::time::Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    let keys: Vec<(&str, bool)> = left.iter().map(|(k, _, m)| (k.as_str(), *m)).collect();
    assert_eq!(
        keys,
        [("locked", false), ("locked", true)],
        "everything else expired: {left:?}"
    );
    assert_eq!(left[0].1, locked, "the retained version itself");
    let uploads = upload_ids(&gw, home, "lock-drill");
    assert!(!uploads.contains(&upload), "{uploads}");
    let status = succeeded(&floe_admin(&gw, &["status"]), "floe admin status");
    assert!(
        status.contains("Lifecycle: 1 buckets with rules"),
        "{status}"
    );

    // The collector reclaims every expired version's and the upload's shards; the retained
    // version keeps all of its, and reads back whole.
    succeeded(
        &floe_admin(&gw, &["gc", "--grace-secs", "0"]),
        "floe admin gc",
    );
    assert_eq!(
        shards(&cluster),
        2 * 6,
        "only the retained version's shards"
    );
    let back = home.join("back");
    aws(
        &gw,
        home,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "lock-drill",
            "--key",
            "locked",
            "--version-id",
            &locked,
            back.to_str().expect("utf-8"),
        ],
    );
    assert!(
        std::fs::read(&back).expect("read back") == pattern(2 * 1024 * 1024, 40),
        "the retained version's bytes"
    );
}
