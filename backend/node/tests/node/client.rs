//! `NodeClient` behaviour that needs misbehaving servers: retries, timeouts, bad urls; plus the
//! server's lifecycle (graceful stop, `serve`) and concurrent use.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{chunk, secret, shard, start};
use floe_node::{ClientError, ClientOptions, NodeClient, NodeConfig, NodeError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn options(timeout_ms: u64, retries: u32) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(timeout_ms),
        retries,
        retry_backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}

/// A server that counts requests and answers each with `response` (None: never answers).
async fn fake_node(response: Option<&'static str>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                match response {
                    Some(r) => {
                        let _ = stream.write_all(r.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    (addr, hits)
}

#[tokio::test]
async fn closed_port_fails_fast_as_unavailable() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    // The listener is dropped: nothing listens there any more.
    let client = NodeClient::new(&format!("http://{addr}"), secret(), options(1000, 2)).unwrap();
    let started = Instant::now();
    let err = client.health().await.unwrap_err();
    assert!(matches!(err, ClientError::Unavailable(_)), "{err:?}");
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let (addr, hits) = fake_node(Some(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
    ))
    .await;
    let client = NodeClient::new(&format!("http://{addr}"), secret(), options(1000, 2)).unwrap();
    let err = client.get_shard(&chunk(1), 0).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Unavailable(ref m) if m.contains("503")),
        "{err:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let (addr, hits) = fake_node(Some(
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ))
    .await;
    let client = NodeClient::new(&format!("http://{addr}"), secret(), options(1000, 5)).unwrap();
    assert!(matches!(
        client.get_shard(&chunk(1), 0).await,
        Err(ClientError::NotFound)
    ));
    assert_eq!(client.head_shard(&chunk(1), 0).await.unwrap(), None);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn silent_node_times_out_per_attempt() {
    let (addr, hits) = fake_node(None).await;
    let client = NodeClient::new(&format!("http://{addr}"), secret(), options(200, 1)).unwrap();
    let started = Instant::now();
    let err = client.stats().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn urls_are_normalized_or_refused() {
    let ok = NodeClient::new("http://127.0.0.1:9101/", secret(), ClientOptions::default()).unwrap();
    assert_eq!(ok.url(), "http://127.0.0.1:9101");
    for bad in [
        "https://127.0.0.1:1",
        "127.0.0.1:1",
        "http://h:1/prefix",
        "http://h:1/?q",
        "",
        "http://",
    ] {
        let err = NodeClient::new(bad, secret(), ClientOptions::default()).unwrap_err();
        assert!(
            matches!(err, ClientError::InvalidUrl(_)),
            "{bad:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn concurrent_identical_puts_store_one_shard() {
    let node = start().await;
    let client = node.client();
    let (bytes, hash) = shard(3, 64 * 1024);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, bytes) = (client.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            client.put_shard(&chunk(1), 0, &hash, bytes).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stats = client.stats().await.unwrap();
    assert_eq!((stats.shards, stats.bytes), (1, 64 * 1024));
    assert_eq!(client.get_shard(&chunk(1), 0).await.unwrap(), bytes);
    node.stop().await;
}

#[tokio::test]
async fn graceful_stop_closes_idle_keep_alive_connections() {
    let node = start().await;
    let client = node.client();
    client.health().await.unwrap(); // leaves a pooled keep-alive connection open
    let addr = node.addr;
    let started = Instant::now();
    node.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(client.health().await.is_err());
}

#[tokio::test]
async fn serve_binds_announces_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::new(dir.path().join("data"), secret());
    config.listen = "127.0.0.1:0".parse().unwrap();
    // Shutdown already complete: serve must still bind, announce, and then return cleanly.
    floe_node::serve(config.clone(), async {}).await.unwrap();

    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    config.listen = taken.local_addr().unwrap();
    let err = floe_node::serve(config, async {}).await.unwrap_err();
    assert!(matches!(err, NodeError::Bind { .. }), "{err:?}");
}

#[tokio::test]
async fn graceful_stop_lets_an_in_flight_put_finish() {
    let node = start().await;
    let (bytes, hash) = shard(8, 10_000);
    let pq = floe_node::ShardKey::new(chunk(4), 0).path();
    let date = floe_node::auth::unix_now();
    let sig = floe_node::sign(&secret(), "PUT", &pq, date, Some(&hash.to_hex()));
    let head = format!(
        "PUT {pq} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nx-floe-shard-hash: {hash}\r\n\
         x-floe-date: {date}\r\nx-floe-signature: {sig}\r\n\r\n",
        bytes.len()
    );
    let mut stream = tokio::net::TcpStream::connect(node.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&bytes[..5000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let data_dir = node.state.store().layout().root().to_path_buf();
    let stopping = tokio::spawn(node.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown must wait for the request in flight"
    );
    stream.write_all(&bytes[5000..]).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    assert!(
        response.starts_with(b"HTTP/1.1 201"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    let _dir = stopping.await.unwrap();

    let store = floe_node::ShardStore::open(&data_dir).unwrap();
    let key = floe_node::ShardKey::new(chunk(4), 0);
    assert_eq!(store.get(&key).unwrap().payload, bytes);
}

/// A node that answers every request 200 with a body that never ends (chunked, 1 MiB chunks),
/// or with a `Content-Length` far past what any request returns.
async fn flooding_node(announce_length: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let head: &[u8] = if announce_length {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                };
                if stream.write_all(head).await.is_err() {
                    return;
                }
                let mut chunk = format!("{:x}\r\n", 1 << 20).into_bytes();
                chunk.extend_from_slice(&vec![b'x'; 1 << 20]);
                chunk.extend_from_slice(b"\r\n");
                let payload: &[u8] = if announce_length { &chunk[8..] } else { &chunk };
                // At most 2 GiB, so a client that never stops reading fails the test quickly.
                for _ in 0..2048 {
                    if stream.write_all(payload).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn replies_past_what_a_request_can_return_are_refused() {
    for announce_length in [false, true] {
        let addr = flooding_node(announce_length).await;
        let options = ClientOptions {
            max_body_bytes: 4 << 20,
            ..options(20_000, 0)
        };
        let client = NodeClient::new(&format!("http://{addr}"), secret(), options).unwrap();
        let over = |r: Result<_, ClientError>| match r {
            Err(ClientError::Protocol(m)) => assert!(m.contains("response body over"), "{m}"),
            other => panic!("expected a refused reply, got {:?}", other.map(|_| ())),
        };
        over(client.get_shard(&chunk(1), 0).await.map(|_| ()));
        over(
            client
                .get_shard_range(&chunk(1), 0, 0, 99)
                .await
                .map(|_| ()),
        );
        over(client.health().await);
        over(client.delete_shard(&chunk(1), 0).await.map(|_| ()));
    }
}
