//! Node traffic over TLS: a node served with `run_tls` and a throwaway CA made with rcgen, reached
//! by `NodeClient`s that trust that CA, another CA, or speak plain HTTP.

use crate::common;

use floe_testkit::pki::write_test_pki;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{chunk, fast_options, secret, shard};
use floe_node::{ClientError, NodeClient, NodeConfig, NodeState, NodeTrust, TlsFiles};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

struct TlsNode {
    _dir: tempfile::TempDir,
    pki: PathBuf,
    addr: std::net::SocketAddr,
}

async fn start_tls_node() -> TlsNode {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    write_test_pki(&pki);
    let mut config = NodeConfig::new(dir.path().join("data"), secret());
    config.tls = Some(TlsFiles {
        cert: pki.join("cert.pem"),
        key: pki.join("key.pem"),
    });
    let tls = config.tls_acceptor().unwrap().expect("tls configured");
    let state = Arc::new(NodeState::open(&config).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(floe_node::run_tls(
        listener,
        tls,
        state,
        std::future::pending(),
    ));
    TlsNode {
        _dir: dir,
        pki,
        addr,
    }
}

#[tokio::test]
async fn trusted_client_round_trips_over_https() {
    let node = start_tls_node().await;
    let trust = NodeTrust::from_pem_file(&node.pki.join("ca.pem")).unwrap();
    let url = format!("https://{}", node.addr);
    let client = NodeClient::with_trust(&url, secret(), fast_options(), Some(&trust)).unwrap();
    assert_eq!(client.url(), url);
    let (bytes, hash) = shard(7, 100_000);
    client
        .put_shard(&chunk(1), 0, &hash, bytes.clone())
        .await
        .unwrap();
    assert_eq!(client.get_shard(&chunk(1), 0).await.unwrap(), bytes);
    let info = client.head_shard(&chunk(1), 0).await.unwrap().unwrap();
    assert_eq!((info.len, info.hash), (100_000, hash));
    // "localhost" is in the certificate too.
    let by_name = format!("https://localhost:{}", node.addr.port());
    let client = NodeClient::with_trust(&by_name, secret(), fast_options(), Some(&trust)).unwrap();
    assert_eq!(client.get_shard(&chunk(1), 0).await.unwrap(), bytes);
}

#[tokio::test]
async fn untrusted_or_plain_clients_are_refused() {
    let node = start_tls_node().await;
    // A CA that did not sign the node's certificate.
    let other = tempfile::tempdir().unwrap();
    write_test_pki(other.path());
    let wrong = NodeTrust::from_pem_file(&other.path().join("ca.pem")).unwrap();
    let url = format!("https://{}", node.addr);
    let client = NodeClient::with_trust(&url, secret(), fast_options(), Some(&wrong)).unwrap();
    let err = client.get_shard(&chunk(1), 0).await.unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain =
        NodeClient::new(&format!("http://{}", node.addr), secret(), fast_options()).unwrap();
    let err = plain.get_shard(&chunk(1), 0).await.unwrap_err();
    assert!(matches!(err, ClientError::Unavailable(_)), "{err:?}");

    // https:// without a CA bundle is refused when the client is made, naming node_ca.
    let err = NodeClient::new(&url, secret(), fast_options()).unwrap_err();
    assert!(err.to_string().contains("node_ca"), "{err}");
}

#[tokio::test]
async fn a_silent_client_does_not_stall_the_accept_loop() {
    let node = start_tls_node().await;
    // Connected, and never says a word: its handshake waits in its own task.
    let mut silent = TcpStream::connect(node.addr).await.unwrap();
    silent.flush().await.unwrap();
    let trust = NodeTrust::from_pem_file(&node.pki.join("ca.pem")).unwrap();
    let url = format!("https://{}", node.addr);
    let client = NodeClient::with_trust(&url, secret(), fast_options(), Some(&trust)).unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(3), client.stats()).await;
    assert!(matches!(answered, Ok(Ok(_))), "{answered:?}");
}
