//! TLS end to end, with a throwaway CA made by rcgen for 127.0.0.1 and localhost:
//!
//! - a `floe serve` process with `[tls]` serves HTTPS that the real aws cli uses with
//!   `--ca-bundle`, refuses without it, and gives plain HTTP no answer;
//! - real `floe node` processes with `[tls]` serve HTTPS, which a gateway with `node_ca` and
//!   `https://` node urls writes to and reads from, and which a gateway trusting another CA
//!   cannot write to;
//! - `--check-config` on both commands reads and checks the certificate, key and CA files.

use crate::support;

use floe_testkit::pki::write_test_pki;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use floe_gateway::runtime::config::{GatewayConfig, GatewayOverrides};
use floe_gateway::runtime::launch::Gateway;
use support::cluster::{NodeProcess, NodeSpec, SECRET, pattern};
use support::gateway::{ACCESS_KEY, SECRET_KEY, config_text};
use support::serve::ServeProcess;

fn tls_section(pki: &Path) -> String {
    format!(
        "[tls]\ncert = {:?}\nkey = {:?}\n",
        pki.join("cert.pem"),
        pki.join("key.pem")
    )
}

/// The real aws cli against `endpoint` with the dev credentials.
fn aws(endpoint: &str, ca: Option<&Path>, home: &Path, args: &[&str]) -> Output {
    support::aws_cli::aws(
        endpoint,
        (
            floe_gateway::runtime::config::DEV_ACCESS_KEY,
            floe_gateway::runtime::config::DEV_SECRET_KEY,
        ),
        ca,
        home,
        args,
    )
}

fn ok(out: &Output, what: &str) -> String {
    support::aws_cli::succeeded(out, what)
}

#[test]
fn aws_cli_over_https_with_ca_bundle() {
    let version = Command::new("aws").arg("--version").output();
    assert!(
        matches!(&version, Ok(v) if v.status.success()),
        "the aws cli is required for this test and was not found on PATH: {version:?}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    write_test_pki(&pki);
    let config = tmp.path().join("gateway.toml");
    std::fs::write(&config, tls_section(&pki)).unwrap();
    let config_arg = config.to_str().unwrap();
    let gateway = ServeProcess::start(&tmp.path().join("data"), &["--config", config_arg]);
    let endpoint = gateway.endpoint.clone();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    let ca = pki.join("ca.pem");
    let home = tmp.path();

    // Larger than the cli's 8 MiB multipart threshold: a multipart upload over TLS.
    let data = pattern(9 * 1024 * 1024 + 321, 42);
    let upload = tmp.path().join("upload.bin");
    std::fs::write(&upload, &data).unwrap();
    let upload = upload.to_str().unwrap();
    let download = tmp.path().join("download.bin");

    ok(
        &aws(&endpoint, Some(&ca), home, &["s3", "mb", "s3://tls"]),
        "mb",
    );
    ok(
        &aws(
            &endpoint,
            Some(&ca),
            home,
            &["s3", "cp", upload, "s3://tls/a/blob.bin"],
        ),
        "cp up",
    );
    let listing = ok(
        &aws(&endpoint, Some(&ca), home, &["s3", "ls", "s3://tls/a/"]),
        "ls",
    );
    assert!(
        listing.contains(&data.len().to_string()) && listing.contains("blob.bin"),
        "{listing}"
    );
    ok(
        &aws(
            &endpoint,
            Some(&ca),
            home,
            &[
                "s3",
                "cp",
                "s3://tls/a/blob.bin",
                download.to_str().unwrap(),
            ],
        ),
        "cp down",
    );
    assert!(std::fs::read(&download).unwrap() == data, "bytes differ");

    // Without the CA bundle the cli refuses the certificate.
    let refused = aws(&endpoint, None, home, &["s3", "ls", "s3://tls"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "ls without --ca-bundle succeeded"
    );
    assert!(
        stderr.contains("CERTIFICATE_VERIFY_FAILED") || stderr.contains("SSL"),
        "{stderr}"
    );

    // Plain HTTP to the TLS port gets no HTTP answer (rustls answers with an alert, or hangs
    // up).
    let addr = endpoint.trim_start_matches("https://");
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    plain
        .write_all(b"GET /tls HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP got an HTTP answer: {:?}",
        String::from_utf8_lossy(&answer)
    );
    // And the endpoint still serves TLS clients after that.
    ok(&aws(&endpoint, Some(&ca), home, &["s3", "ls"]), "ls after");
}

/// A `floe node` serving HTTPS with the test PKI's certificate.
fn tls_node(pki: &Path) -> NodeSpec {
    NodeSpec::new(SECRET).with_config(&tls_section(pki))
}

fn start_gateway_config(data: &Path, urls: &[String], extra: &str) -> PathBuf {
    std::fs::create_dir_all(data).unwrap();
    let file = data.join("gateway.toml");
    std::fs::write(&file, config_text(urls, data, extra)).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_writes_to_https_nodes_it_trusts() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    write_test_pki(&pki);
    let nodes: Vec<NodeProcess> = (0..6)
        .map(|i| {
            let dir = tmp.path().join(format!("node{i}"));
            NodeProcess::start(&tls_node(&pki), &dir, "127.0.0.1:0").expect("node starts")
        })
        .collect();
    let urls: Vec<String> = nodes.iter().map(NodeProcess::url).collect();
    assert!(urls.iter().all(|u| u.starts_with("https://")), "{urls:?}");

    let node_ca = format!("[tls]\nnode_ca = {:?}\n", pki.join("ca.pem"));
    let file = start_gateway_config(&tmp.path().join("gw"), &urls, &node_ca);
    let config = GatewayConfig::resolve(Some(&file), GatewayOverrides::default()).unwrap();
    let gateway = Gateway::start(&config).await.expect("gateway starts");
    let s3 =
        support::serve::client_with(&format!("http://{}", gateway.addr), ACCESS_KEY, SECRET_KEY);
    s3.create_bucket().bucket("secure").send().await.unwrap();
    // Several erasure-coded chunks (not inline), so shards really cross TLS to every node.
    let data = pattern(9 * 1024 * 1024 + 17, 7);
    s3.put_object()
        .bucket("secure")
        .key("big")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("secure")
        .key("big")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert!(got == data, "bytes differ");
    gateway.stop().await;

    // https:// nodes without node_ca: refused at configuration time, naming the setting.
    let file = start_gateway_config(&tmp.path().join("gw-no-ca"), &urls, "");
    let err = GatewayConfig::resolve(Some(&file), GatewayOverrides::default()).unwrap_err();
    assert!(err.to_string().contains("node_ca"), "{err}");

    // A gateway trusting another CA cannot write: every node's certificate is refused.
    let other = tmp.path().join("other-pki");
    write_test_pki(&other);
    let wrong_ca = format!("[tls]\nnode_ca = {:?}\n", other.join("ca.pem"));
    let file = start_gateway_config(&tmp.path().join("gw-wrong-ca"), &urls, &wrong_ca);
    let config = GatewayConfig::resolve(Some(&file), GatewayOverrides::default()).unwrap();
    let gateway = Gateway::start(&config).await.expect("gateway starts");
    let s3 =
        support::serve::client_with(&format!("http://{}", gateway.addr), ACCESS_KEY, SECRET_KEY);
    let put = s3
        .put_object()
        .bucket("secure")
        .key("refused")
        .body(ByteStream::from(pattern(300_000, 3)))
        .send()
        .await;
    assert!(put.is_err(), "a write through untrusted nodes succeeded");
    gateway.stop().await;
}

async fn put_get(gateway: &Gateway, key: &str, data: Option<&[u8]>) -> Vec<u8> {
    let endpoint = format!("http://{}", gateway.addr);
    let s3 = support::serve::client_with(&endpoint, ACCESS_KEY, SECRET_KEY);
    if let Some(data) = data {
        let _ = s3.create_bucket().bucket("moved").send().await;
        let body = ByteStream::from(data.to_vec());
        let put = s3.put_object().bucket("moved").key(key).body(body);
        put.send().await.unwrap();
    }
    let got = s3.get_object().bucket("moved").key(key).send().await;
    got.unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

/// Nodes that move from http:// to https:// on the same addresses keep their placement: what
/// was written before is read after, through a gateway on the same index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_nodes_to_https_moves_no_data() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    write_test_pki(&pki);
    let dirs: Vec<PathBuf> = (0..6).map(|i| tmp.path().join(format!("n{i}"))).collect();
    let plain: Vec<NodeProcess> = dirs
        .iter()
        .map(|d| NodeProcess::start(&NodeSpec::new(SECRET), d, "127.0.0.1:0").expect("node"))
        .collect();
    let addrs: Vec<String> = plain.iter().map(|n| n.addr.clone()).collect();
    let data = pattern(9 * 1024 * 1024 + 5, 11);
    let gw_data = tmp.path().join("gw");
    // Quorum 6: the PUT returns once every shard is on disk, so killing the nodes below loses
    // no straggler (which the sweep would then rebuild).
    let file = start_gateway_config(
        &gw_data,
        &plain.iter().map(NodeProcess::url).collect::<Vec<_>>(),
        "write_quorum = 6",
    );
    let config = GatewayConfig::resolve(Some(&file), GatewayOverrides::default()).unwrap();
    let gateway = Gateway::start(&config).await.expect("gateway starts");
    assert!(put_get(&gateway, "before", Some(&data)).await == data);
    gateway.stop().await;
    drop(plain);

    // The same nodes, data and addresses, now with TLS (the port may linger a moment).
    let secure: Vec<NodeProcess> = dirs
        .iter()
        .zip(&addrs)
        .map(|(dir, addr)| {
            for _ in 0..300 {
                if let Ok(node) = NodeProcess::start(&tls_node(&pki), dir, addr) {
                    return node;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("node on {addr} did not restart");
        })
        .collect();
    let urls: Vec<String> = secure.iter().map(NodeProcess::url).collect();
    assert!(urls.iter().all(|u| u.starts_with("https://")), "{urls:?}");
    let node_ca = format!("[tls]\nnode_ca = {:?}\n", pki.join("ca.pem"));
    let file = start_gateway_config(&gw_data, &urls, &node_ca);
    let config = GatewayConfig::resolve(Some(&file), GatewayOverrides::default()).unwrap();
    let gateway = Gateway::start(&config).await.expect("gateway restarts");
    assert!(
        put_get(&gateway, "before", None).await == data,
        "bytes differ"
    );
    // Every shard is where the placement puts it: a sweep has nothing to move.
    let report = gateway.repairer.sweep().await.unwrap();
    assert!(report.chunks_checked >= 3, "{report:?}");
    assert_eq!(report.shards_rebuilt, 0, "{report:?}");
    gateway.stop().await;
}

fn floe(args: &[&str]) -> Output {
    Command::new(floe_testkit::floe_binary())
        .args(args)
        .env("FLOE_CLUSTER_SECRET", SECRET)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .expect("run floe")
}

#[test]
fn check_config_reads_the_tls_files() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    write_test_pki(&pki);
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(pki.join("other-key.pem"), other.serialize_pem()).unwrap();
    let write = |name: &str, text: String| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();

    let good = write("good.toml", tls_section(&pki));
    let out = floe(&["serve", "--config", &good, "--data", data, "--check-config"]);
    assert!(ok(&out, "serve --check-config").contains("https://"));
    let out = floe(&["node", "--config", &good, "--data", data, "--check-config"]);
    assert!(ok(&out, "node --check-config").contains("https://"));

    let key = pki.join("key.pem");
    let mismatch = write(
        "mismatch.toml",
        tls_section(&pki).replace(
            key.to_str().unwrap(),
            pki.join("other-key.pem").to_str().unwrap(),
        ),
    );
    let missing = write(
        "missing.toml",
        format!("[tls]\nnode_ca = {:?}\n", pki.join("no-such-ca.pem")),
    );
    let no_key = write(
        "no-key.toml",
        tls_section(&pki).replace(
            key.to_str().unwrap(),
            pki.join("cert.pem").to_str().unwrap(),
        ),
    );
    let cases = [
        ("serve", &mismatch, "other-key.pem"),
        ("node", &mismatch, "other-key.pem"),
        ("serve", &missing, "no-such-ca.pem"),
        ("serve", &no_key, "no PEM private key"),
        ("node", &no_key, "no PEM private key"),
    ];
    for (command, config, expected) in cases {
        let out = floe(&[
            command,
            "--config",
            config,
            "--data",
            data,
            "--check-config",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command} {config} passed the check");
        assert!(stderr.contains(expected), "{command} {config}: {stderr}");
    }
}

/// The commented `[tls]` examples in deploy/, uncommented: the lines from `# [tls]` on.
fn uncommented_tls_example(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("# [tls]").expect("a [tls] example");
    text[start..]
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn deploy_tls_examples_parse() {
    let gateway = uncommented_tls_example("gateway.toml");
    let section: floe_gateway::runtime::tls::TlsSection =
        toml::from_str(gateway.trim_start_matches("[tls]")).unwrap();
    assert!(section.serves_https() && section.key.is_some() && section.node_ca.is_some());
    let node = uncommented_tls_example("node.toml");
    let node =
        floe_node::NodeConfig::from_toml_str(&format!("cluster_secret = {SECRET:?}\n{node}"))
            .unwrap();
    assert!(node.tls.is_some());
}
