//! The real aws cli, isolated from this machine's AWS settings: the given credentials, no
//! profile files, no retries, and no AWS_CA_BUNDLE (set globally by CI) unless a CA is given.

#![allow(dead_code)] // each test binary uses a different part of this file

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `aws --endpoint-url ENDPOINT ARGS...` with `keys` (access, secret), keeping its
/// configuration files under `home`.
pub fn aws(
    endpoint: &str,
    keys: (&str, &str),
    ca: Option<&Path>,
    home: &Path,
    args: &[&str],
) -> Output {
    let mut cmd = Command::new("aws");
    cmd.args(["--endpoint-url", endpoint]);
    if let Some(ca) = ca {
        cmd.arg("--ca-bundle").arg(ca);
    }
    cmd.args(args)
        .env_remove("AWS_CA_BUNDLE")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ACCESS_KEY_ID", keys.0)
        .env("AWS_SECRET_ACCESS_KEY", keys.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // A refusal is final; retrying it only slows the test down.
        .env("AWS_MAX_ATTEMPTS", "1")
        .stdin(Stdio::null());
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run the aws cli ({e}): install it (pip install awscli) and put it on PATH")
    })
}

/// The command's stdout, asserting it succeeded.
#[track_caller]
pub fn succeeded(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command's stderr, asserting it failed.
#[track_caller]
pub fn failed(out: &Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} succeeded but should have been refused: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}
