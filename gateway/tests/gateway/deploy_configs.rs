//! The configuration files shipped in deploy/ (examples, compose, Kubernetes ConfigMap) parse and
//! validate, so an operator copying them starts from something that works.

use std::path::{Path, PathBuf};

use floe_gateway::runtime::config::{GatewayConfig, GatewayOverrides};
use floe_node::NodeConfig;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

/// Secrets strong enough for the startup checks (`floe_node::secret_strength`).
const ROOT_SECRET: &str = "deploy-test-root-secret-0123456789";
const CLUSTER_SECRET: &str = "deploy-test-cluster-secret-0123456789abcdef";

/// What an operator does before starting: the `CHANGE-ME` placeholders replaced by real secrets.
fn replace_placeholders(text: &str) -> String {
    text.replace("CHANGE-ME-SECRET-KEY", ROOT_SECRET)
        .replace("CHANGE-ME-CLUSTER-SECRET", CLUSTER_SECRET)
        .replace("CHANGE-ME-ACCESS-KEY", "DEPLOYTESTACCESSKEY")
        .replace(
            "CHANGE-ME-ADMIN-TOKEN",
            "deploy-test-admin-token-0123456789",
        )
}

fn check_gateway(text: &str, what: &str) -> GatewayConfig {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    // Secrets travel in the environment in these setups; give the file some to validate the rest.
    let text = if text.contains("access_key") {
        replace_placeholders(text)
    } else {
        format!(
            "{text}\naccess_key = \"a\"\nsecret_key = \"{ROOT_SECRET}\"\n\
             cluster_secret = \"{CLUSTER_SECRET}\"\n"
        )
    };
    std::fs::write(&file, text).unwrap();
    GatewayConfig::resolve(Some(&file), GatewayOverrides::default())
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn check_node(text: &str, what: &str) {
    let text = if text.contains("cluster_secret") {
        replace_placeholders(text)
    } else {
        format!("{text}\ncluster_secret = \"{CLUSTER_SECRET}\"\n")
    };
    NodeConfig::from_toml_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
}

/// The block under `name: |` in a YAML ConfigMap, unindented.
fn configmap_entry(yaml: &str, name: &str) -> String {
    let mut lines = yaml
        .lines()
        .skip_while(|l| l.trim() != format!("{name}: |"));
    lines.next().expect("entry present");
    let block: Vec<&str> = lines
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .collect();
    block
        .iter()
        .map(|l| l.trim_start_matches("    "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn example_configs_are_valid() {
    let gateway = check_gateway(
        &std::fs::read_to_string(deploy("gateway.toml")).unwrap(),
        "deploy/gateway.toml",
    );
    assert_eq!(gateway.nodes.len(), 6);
    check_node(
        &std::fs::read_to_string(deploy("node.toml")).unwrap(),
        "deploy/node.toml",
    );
}

#[test]
fn compose_and_kubernetes_configs_are_valid() {
    let compose = check_gateway(
        &std::fs::read_to_string(deploy("compose/gateway.toml")).unwrap(),
        "deploy/compose/gateway.toml",
    );
    assert_eq!(compose.nodes.len(), compose.params.total());
    check_node(
        &std::fs::read_to_string(deploy("compose/node.toml")).unwrap(),
        "deploy/compose/node.toml",
    );

    let yaml = std::fs::read_to_string(deploy("k8s/floe.yaml")).unwrap();
    let k8s = check_gateway(&configmap_entry(&yaml, "gateway.toml"), "k8s gateway.toml");
    assert_eq!(k8s.nodes.len(), 6);
    check_node(&configmap_entry(&yaml, "node.toml"), "k8s node.toml");
    // The StatefulSet must have as many replicas as the gateway lists nodes.
    assert!(yaml.contains("replicas: 6"));
}

fn floe(args: &[&str], secrets: bool) -> std::process::Output {
    let mut cmd = std::process::Command::new(floe_testkit::floe_binary());
    cmd.args(args)
        .env_remove("FLOE_ROOT_ACCESS_KEY")
        .env_remove("FLOE_ROOT_SECRET_KEY")
        .env_remove("FLOE_CLUSTER_SECRET");
    if secrets {
        cmd.env("FLOE_ROOT_ACCESS_KEY", "a")
            .env("FLOE_ROOT_SECRET_KEY", ROOT_SECRET)
            .env("FLOE_CLUSTER_SECRET", CLUSTER_SECRET);
    }
    cmd.output().expect("run floe")
}

#[test]
fn check_config_accepts_good_files_and_explains_bad_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let gateway = deploy("gateway.toml");
    let gateway = gateway.to_str().unwrap();
    let ok = floe(
        &[
            "serve",
            "--check-config",
            "--config",
            gateway,
            "--data",
            data,
        ],
        true,
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("gateway config OK"));

    let too_few = floe(
        &[
            "serve",
            "--check-config",
            "--ec",
            "5+2",
            "--nodes",
            "http://a:1,http://b:1",
            "--data",
            data,
        ],
        true,
    );
    assert!(!too_few.status.success());
    assert!(String::from_utf8_lossy(&too_few.stderr).contains("needs at least 7 nodes"));

    let node = deploy("node.toml");
    let node = node.to_str().unwrap();
    let ok = floe(
        &["node", "--check-config", "--config", node, "--data", data],
        true,
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // The example files as shipped, placeholders and all, are refused with what to do.
    for args in [
        vec![
            "serve",
            "--check-config",
            "--config",
            gateway,
            "--data",
            data,
        ],
        vec!["node", "--check-config", "--config", node, "--data", data],
    ] {
        let refused = floe(&args, false);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{args:?} started");
        assert!(stderr.contains("placeholder"), "{args:?}: {stderr}");
        assert!(stderr.contains("/dev/urandom"), "{args:?}: {stderr}");
    }
    let no_secret = floe(&["node", "--check-config", "--data", data], false);
    assert!(!no_secret.status.success());
    assert!(String::from_utf8_lossy(&no_secret.stderr).contains("FLOE_CLUSTER_SECRET"));
}

/// The highly available compose file: two gateways naming one shared index, both behind the
/// balancer, which passes bodies through unbuffered and keeps the signed Host header.
#[test]
fn the_ha_compose_file_shares_one_index_between_balanced_gateways() {
    let compose = std::fs::read_to_string(deploy("docker-compose.ha.yml")).unwrap();
    let balancer = std::fs::read_to_string(deploy("compose/s3-balancer.conf")).unwrap();
    assert_eq!(
        compose.matches("FLOE_INDEX: postgres://").count(),
        1,
        "one shared index"
    );
    for gateway in ["gateway-a", "gateway-b"] {
        assert!(
            compose.contains(&format!("  {gateway}: {{ <<: *gateway")),
            "{gateway}"
        );
        assert!(
            balancer.contains(&format!("server {gateway}:9000")),
            "{gateway}"
        );
    }
    for setting in [
        "client_max_body_size 0;",
        "proxy_request_buffering off;",
        "proxy_set_header Host $http_host;",
    ] {
        assert!(balancer.contains(setting), "{setting}");
    }
    // The URL the compose file builds is one the gateway accepts.
    let url = "postgres://floe:secret@postgres:5432/floe";
    let location = floe_gateway::runtime::config::IndexLocation::parse(Some(url)).unwrap();
    assert!(location.is_shared());
    assert!(
        !location.to_string().contains("secret"),
        "the password is hidden"
    );
}
