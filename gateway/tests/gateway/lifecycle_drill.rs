//! The lifecycle drill: the real aws cli and `floe admin` against a `floe serve` process over
//! six real `floe node` processes, with one-second lifecycle days. An incomplete multipart
//! upload under a rule's prefix is aborted by `floe admin lifecycle run` once a day old, and
//! garbage collection then reclaims its parts' shards from the nodes; an upload outside the
//! prefix, and one too young, stay with their parts.

use crate::support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::aws_cli::succeeded;
use support::cluster::{LocalCluster, pattern};
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
    let id = aws(
        gw,
        home,
        &[
            "s3api",
            "create-multipart-upload",
            "--bucket",
            "drill",
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
            "drill",
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

fn shards(cluster: &LocalCluster) -> usize {
    cluster.nodes.iter().map(|n| n.shard_files().len()).sum()
}

#[test]
fn incomplete_uploads_expire_by_rule_and_their_shards_are_reclaimed() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("gw");
    std::fs::create_dir_all(&data).expect("data dir");
    let extra = "gc_grace_secs = 0\norphan_grace_secs = 0\nchunk_size = 1048576\n\
                 [lifecycle]\nday_seconds = 1\ninterval_secs = 3600";
    let file = data.join("gateway.toml");
    std::fs::write(&file, config_text(&cluster.urls(), &data, extra)).expect("config");
    let gw = ServeProcess::start(&data, &["--config", file.to_str().expect("utf-8")]);
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
    assert!(report.contains("1 incomplete uploads aborted"), "{report}");
    let listed = aws(
        &gw,
        home,
        &[
            "s3api",
            "list-multipart-uploads",
            "--bucket",
            "drill",
            "--query",
            "Uploads[].UploadId",
            "--output",
            "text",
        ],
    );
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
