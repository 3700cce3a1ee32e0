//! The README's users walk-through with the real binaries: `floe admin` makes a write-only user
//! and key for a backup server, the aws cli uploads with it and is refused listing and
//! reading; a bucket policy makes a bucket public-read for unsigned GETs; the key is rotated
//! (new key, old one disabled then deleted), and the admin commands answer as tables and JSON.
//! The admin API also opens to an admin user's `ACCESS_KEY:SECRET`.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use support::aws_cli::{failed, succeeded};
use support::gateway::{ACCESS_KEY, ADMIN_TOKEN, SECRET_KEY};
use support::serve::ServeProcess;

/// `floe admin --gateway URL --token T ARGS...`.
fn floe_admin(gw: &ServeProcess, token: &str, args: &[&str]) -> Output {
    support::serve::floe_admin(gw, token, args)
}

fn admin_ok(gw: &ServeProcess, args: &[&str]) -> String {
    succeeded(
        &floe_admin(gw, ADMIN_TOKEN, args),
        &format!("floe admin {}", args.join(" ")),
    )
}

fn aws(gw: &ServeProcess, keys: (&str, &str), home: &Path, args: &[&str]) -> Output {
    support::aws_cli::aws(&gw.endpoint, keys, None, home, args)
}

/// An unsigned GET of `path`, as curl would send it: the status code.
fn unsigned_get(gw: &ServeProcess, path: &str) -> u16 {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, urllib.request, urllib.error\n\
             try:\n    print(urllib.request.urlopen(sys.argv[1]).status)\n\
             except urllib.error.HTTPError as e:\n    print(e.code)",
            &format!("{}{path}", gw.endpoint),
        ])
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn write_only_key_public_bucket_and_key_rotation_as_the_readme_shows() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("gw");
    std::fs::create_dir_all(&data).expect("data dir");
    let config = data.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "access_key = \"{ACCESS_KEY}\"\nsecret_key = \"{SECRET_KEY}\"\n\
             admin_token = \"{ADMIN_TOKEN}\"\n"
        ),
    )
    .expect("config");
    let gw = ServeProcess::start(&data, &["--config", config.to_str().expect("utf-8")]);
    let home = tmp.path();
    let root = (ACCESS_KEY, SECRET_KEY);
    for bucket in ["backups", "site"] {
        succeeded(
            &aws(&gw, root, home, &["s3", "mb", &format!("s3://{bucket}")]),
            "mb",
        );
    }
    let file = tmp.path().join("db.dump");
    std::fs::write(&file, b"nightly dump").expect("dump");
    let file = file.to_str().expect("utf-8");

    // A write-only key for the backup server.
    let table = admin_ok(&gw, &["user", "add", "backup", "--policy", "writeonly"]);
    assert!(
        table.contains("backup") && table.contains("writeonly"),
        "{table}"
    );
    let created = admin_ok(&gw, &["key", "create", "backup", "--json"]);
    let key: serde_json::Value = serde_json::from_str(&created).expect("key JSON");
    let (id, secret) = (
        key["access_key"].as_str().expect("id").to_owned(),
        key["secret_key"].as_str().expect("secret").to_owned(),
    );
    let backup = (id.as_str(), secret.as_str());
    succeeded(
        &aws(
            &gw,
            backup,
            home,
            &["s3", "cp", file, "s3://backups/db.dump"],
        ),
        "backup uploads",
    );
    let why = failed(
        &aws(&gw, backup, home, &["s3", "ls", "s3://backups/"]),
        "backup lists",
    );
    assert!(why.contains("AccessDenied"), "{why}");
    let why = failed(
        &aws(
            &gw,
            backup,
            home,
            &["s3", "cp", "s3://backups/db.dump", "-"],
        ),
        "backup reads",
    );
    assert!(why.contains("403") || why.contains("Forbidden"), "{why}");
    let why = failed(
        &aws(&gw, backup, home, &["s3", "rm", "s3://backups/db.dump"]),
        "backup deletes",
    );
    assert!(why.contains("AccessDenied"), "{why}");
    let listed = succeeded(
        &aws(&gw, root, home, &["s3", "ls", "s3://backups/"]),
        "root lists",
    );
    assert!(listed.contains("db.dump"), "{listed}");

    // A public-read bucket: unsigned GETs of its objects, nothing else.
    succeeded(
        &aws(&gw, root, home, &["s3", "cp", file, "s3://site/logo.png"]),
        "upload",
    );
    assert_eq!(unsigned_get(&gw, "/site/logo.png"), 403);
    let policy = r#"{"Version":"2012-10-17","Statement":[{
      "Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}"#;
    succeeded(
        &aws(
            &gw,
            root,
            home,
            &[
                "s3api",
                "put-bucket-policy",
                "--bucket",
                "site",
                "--policy",
                policy,
            ],
        ),
        "put-bucket-policy",
    );
    assert_eq!(unsigned_get(&gw, "/site/logo.png"), 200);
    assert_eq!(unsigned_get(&gw, "/site"), 403, "no anonymous listing");
    assert_eq!(unsigned_get(&gw, "/backups/db.dump"), 403);
    succeeded(
        &aws(
            &gw,
            root,
            home,
            &[
                "s3api",
                "put-public-access-block",
                "--bucket",
                "site",
                "--public-access-block-configuration",
                "RestrictPublicBuckets=true",
            ],
        ),
        "put-public-access-block",
    );
    assert_eq!(unsigned_get(&gw, "/site/logo.png"), 403, "closed again");

    // Rotation: a second key works beside the first; the old one is disabled, then deleted.
    let created = admin_ok(&gw, &["key", "create", "backup", "--json"]);
    let new: serde_json::Value = serde_json::from_str(&created).expect("key JSON");
    let new = (
        new["access_key"].as_str().expect("id").to_owned(),
        new["secret_key"].as_str().expect("secret").to_owned(),
    );
    let rotated = (new.0.as_str(), new.1.as_str());
    succeeded(
        &aws(
            &gw,
            rotated,
            home,
            &["s3", "cp", file, "s3://backups/db2.dump"],
        ),
        "new key uploads",
    );
    let table = admin_ok(&gw, &["key", "disable", &id]);
    assert!(table.contains("disabled"), "{table}");
    let why = failed(
        &aws(
            &gw,
            backup,
            home,
            &["s3", "cp", file, "s3://backups/db3.dump"],
        ),
        "old key after disable",
    );
    assert!(why.contains("InvalidAccessKeyId"), "{why}");
    admin_ok(&gw, &["key", "delete", &id]);
    let users = admin_ok(&gw, &["user", "list", "--json"]);
    let users: serde_json::Value = serde_json::from_str(&users).expect("users JSON");
    let keys: Vec<&str> = users[0]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["access_key"].as_str())
        .collect();
    assert_eq!(keys, [new.0.as_str()]);
    let table = admin_ok(&gw, &["key", "list"]);
    assert!(table.contains(&new.0) && !table.contains(&id), "{table}");

    // An admin user's key opens the admin API; a plain user's does not.
    admin_ok(&gw, &["user", "add", "ops", "--policy", "admin"]);
    let ops: serde_json::Value =
        serde_json::from_str(&admin_ok(&gw, &["key", "create", "ops", "--json"])).expect("JSON");
    let ops_token = format!(
        "{}:{}",
        ops["access_key"].as_str().expect("id"),
        ops["secret_key"].as_str().expect("secret")
    );
    succeeded(
        &floe_admin(&gw, &ops_token, &["status"]),
        "status with an admin key",
    );
    let refused = floe_admin(&gw, &format!("{}:{}", new.0, new.1), &["user", "list"]);
    let why = failed(&refused, "user list with a backup key");
    assert!(why.contains("401"), "{why}");
    let policies = admin_ok(&gw, &["policy", "list"]);
    assert!(
        policies.contains("writeonly") && policies.contains("canned"),
        "{policies}"
    );
}
