//! The whole conformance run in cluster mode, as CI runs it: the built `floe-conformance` starts
//! 6 `floe node` processes and a 4+2 gateway, runs every suite (SDK scenarios, real clients,
//! failure scenarios) and must end with `N passed, 0 failed`. Its output is printed, so the CI
//! log shows the matrix.

use std::path::PathBuf;
use std::process::Command;

/// The `floe` binary in the same target directory, built if it is missing (e.g. when only this
/// package's tests were asked for).
pub(crate) fn floe_binary() -> PathBuf {
    let me = PathBuf::from(env!("CARGO_BIN_EXE_floe-conformance"));
    let floe = me.with_file_name(format!("floe{}", std::env::consts::EXE_SUFFIX));
    if !floe.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "floe-gateway", "--bin", "floe"]);
        if me
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "release")
        {
            build.arg("--release");
        }
        let status = build
            .status()
            .expect("running cargo build for the floe binary");
        assert!(
            status.success(),
            "cargo build -p floe-gateway --bin floe failed"
        );
    }
    assert!(floe.is_file(), "no floe binary at {}", floe.display());
    floe
}

#[test]
fn conformance_suite_passes_against_a_local_cluster() {
    let _turn = crate::one_at_a_time();
    let floe = floe_binary();
    let output = Command::new(env!("CARGO_BIN_EXE_floe-conformance"))
        .arg("--floe")
        .arg(&floe)
        // Cluster mode, whatever the caller's environment says.
        .env_remove("S3_ENDPOINT")
        .output()
        .expect("running floe-conformance");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    if !stderr.is_empty() {
        println!("--- stderr\n{stderr}");
    }
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" passed, 0 failed"),
        "the run did not end with `N passed, 0 failed`: {last:?}"
    );
    assert!(
        output.status.success(),
        "floe-conformance exited with {}",
        output.status
    );
}
