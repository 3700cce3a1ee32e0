//! s3s's own aws-sdk-s3 conformance runner (`s3s-e2e` 0.14.1, installed by `.ci/run`) against a
//! `floe serve` with its embedded cluster, signed by the root key: all 18 cases must pass, STS
//! AssumeRole (`Advanced/STS/test_assume_role`) among them.

use std::process::Command;

use floe_testkit::process::ServeProcess;

/// The root key of the embedded dev gateway.
const DEV_ACCESS_KEY: &str = "floeadmin";
const DEV_SECRET_KEY: &str = "floeadmin-secret";

#[test]
fn s3s_e2e_passes_all_18() {
    let _turn = crate::one_at_a_time();
    let floe = crate::cluster::floe_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = ServeProcess::start(&floe, dir.path(), &[]).expect("floe serve starts");
    let output = Command::new("s3s-e2e")
        .env("AWS_ENDPOINT_URL", &gateway.endpoint)
        .env("AWS_ACCESS_KEY_ID", DEV_ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", DEV_SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .expect(
            "running s3s-e2e: install it with `cargo install s3s-e2e --version 0.14.1 --locked` \
             (.ci/run does)",
        );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Leaf cases are `[Suite/Fixture/test_name]`; their groups are printed too.
    let cases = |verdict: &str| {
        text.lines()
            .filter(|l| l.trim_start().starts_with(verdict))
            .filter(|l| l.contains("/test_"))
            .count()
    };
    let (passed, failed) = (cases("PASSED"), cases("FAILED"));
    println!("s3s-e2e: {passed} passed, {failed} failed");
    assert_eq!((passed, failed), (18, 0), "s3s-e2e output:\n{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("PASSED") && l.contains("[Advanced/STS/test_assume_role]")),
        "{text}"
    );
    assert!(
        output.status.success(),
        "s3s-e2e exited with {}",
        output.status
    );
}
