//! Authentication and input validation, exercised with raw HTTP so that requests the typed
//! client would never send still reach the node.

use crate::common;

use std::fs;

use common::{auth_lines, key, raw, raw_signed, secret, shard, start};
use floe_node::ClusterSecret;
use floe_node::auth::unix_now;

#[tokio::test]
async fn unsigned_requests_get_401() {
    let node = start().await;
    let pq = key(1, 0).path();
    for (method, path) in [
        ("GET", pq.as_str()),
        ("DELETE", &pq),
        ("GET", "/v1/stats"),
        ("GET", "/v1/shards"),
    ] {
        let (status, _) = raw(node.addr, &format!("{method} {path} HTTP/1.1\r\n"), b"").await;
        assert_eq!(status, 401, "{method} {path}");
    }
    // Auth comes before routing: an unsigned probe learns nothing about paths either.
    let (status, _) = raw(node.addr, "GET /v1/nothing HTTP/1.1\r\n", b"").await;
    assert_eq!(status, 401);
    // Signature without date.
    let head = format!(
        "GET {pq} HTTP/1.1\r\nx-floe-signature: {}\r\n",
        "0".repeat(64)
    );
    assert_eq!(raw(node.addr, &head, b"").await.0, 401);
    node.stop().await;
}

#[tokio::test]
async fn wrong_key_gets_403_and_stale_or_future_dates_get_401() {
    let node = start().await;
    let pq = "/v1/stats";
    let wrong: ClusterSecret = "not-the-secret".parse().unwrap();
    let head = format!(
        "GET {pq} HTTP/1.1\r\n{}",
        auth_lines(&wrong, "GET", pq, unix_now())
    );
    assert_eq!(raw(node.addr, &head, b"").await.0, 403);

    for date in [unix_now() - 600, unix_now() + 600] {
        let head = format!(
            "GET {pq} HTTP/1.1\r\n{}",
            auth_lines(&secret(), "GET", pq, date)
        );
        assert_eq!(raw(node.addr, &head, b"").await.0, 401, "date {date}");
    }
    // Signed for one path, sent to another.
    let head = format!(
        "GET /v1/shards HTTP/1.1\r\n{}",
        auth_lines(&secret(), "GET", pq, unix_now())
    );
    assert_eq!(raw(node.addr, &head, b"").await.0, 403);
    // Garbage signature.
    let head = format!(
        "GET {pq} HTTP/1.1\r\nx-floe-date: {}\r\nx-floe-signature: zz\r\n",
        unix_now()
    );
    assert_eq!(raw(node.addr, &head, b"").await.0, 403);

    let (status, body) = raw_signed(node.addr, "GET", pq).await;
    assert_eq!(status, 200, "{body}");
    node.stop().await;
}

#[tokio::test]
async fn typed_client_with_wrong_secret_is_unauthorized() {
    let node = start().await;
    let client =
        floe_node::NodeClient::new(&node.url, "wrong".parse().unwrap(), common::fast_options())
            .unwrap();
    let err = client.stats().await.unwrap_err();
    assert!(
        matches!(err, floe_node::ClientError::Unauthorized(s) if s.as_u16() == 403),
        "{err:?}"
    );
    assert!(!err.is_transient());
    node.stop().await;
}

#[tokio::test]
async fn bad_ids_are_400_and_never_reach_the_filesystem() {
    let node = start().await;
    let outside = node.dir.path().join("outside.txt");
    fs::write(&outside, b"keep me").unwrap();
    let good = "ab".repeat(32);
    let bad_paths = [
        "/v1/shards/../../etc/0".to_owned(),
        "/v1/shards/../outside.txt/0".to_owned(),
        format!("/v1/shards/{}/0", good.to_uppercase()),
        format!("/v1/shards/{good}/x"),
        format!("/v1/shards/{good}/01"),
        format!("/v1/shards/{good}/-1"),
        format!("/v1/shards/{good}/65536"),
        format!("/v1/shards/{good}/0/extra"),
        format!("/v1/shards/{good}/"),
        format!("/v1/shards/{}/0", &good[..62]),
        "/v1/shards/%2e%2e%2f%2e%2e/0".to_owned(),
        "/v1/shards?after=../../etc.0".to_owned(),
        format!("/v1/shards?after={good}.x"),
        "/v1/shards?limit=0".to_owned(),
        "/v1/shards?limit=lots".to_owned(),
    ];
    for path in &bad_paths {
        for method in ["GET", "DELETE", "HEAD"] {
            if path.contains('?') && method != "GET" {
                continue;
            }
            let (status, text) = raw_signed(node.addr, method, path).await;
            assert_eq!(status, 400, "{method} {path}: {text}");
        }
    }
    assert_eq!(fs::read(&outside).unwrap(), b"keep me");
    let mut top: Vec<_> = fs::read_dir(node.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    top.sort();
    assert_eq!(top, ["data", "outside.txt"]);
    node.stop().await;
}

#[tokio::test]
async fn unknown_routes_methods_and_bad_put_headers() {
    let node = start().await;
    assert_eq!(raw_signed(node.addr, "GET", "/v1/elsewhere").await.0, 404);
    assert_eq!(
        raw_signed(node.addr, "POST", &key(1, 1).path()).await.0,
        405
    );
    assert_eq!(raw_signed(node.addr, "DELETE", "/v1/stats").await.0, 405);

    let pq = key(1, 1).path();
    let (bytes, hash) = shard(1, 10);
    // PUT without the hash header.
    let head = format!(
        "PUT {pq} HTTP/1.1\r\n{}",
        auth_lines(&secret(), "PUT", &pq, unix_now())
    );
    assert_eq!(raw(node.addr, &head, &bytes).await.0, 400);
    // PUT with a hash that is not a hash (signed, so it is the hash that is refused).
    let date = unix_now();
    let sig = floe_node::sign(&secret(), "PUT", &pq, date, Some("xyz"));
    let head = format!(
        "PUT {pq} HTTP/1.1\r\nx-floe-shard-hash: xyz\r\nx-floe-date: {date}\r\nx-floe-signature: {sig}\r\n"
    );
    assert_eq!(raw(node.addr, &head, &bytes).await.0, 400);
    // The hash header is signed: swapping it after signing is refused.
    let sig = floe_node::sign(&secret(), "PUT", &pq, date, Some(&hash.to_hex()));
    let (_, other) = shard(2, 10);
    let head = format!(
        "PUT {pq} HTTP/1.1\r\nx-floe-shard-hash: {other}\r\nx-floe-date: {date}\r\nx-floe-signature: {sig}\r\n"
    );
    assert_eq!(raw(node.addr, &head, &bytes).await.0, 403);
    let head = format!(
        "PUT {pq} HTTP/1.1\r\nx-floe-shard-hash: {hash}\r\nx-floe-date: {date}\r\nx-floe-signature: {sig}\r\n"
    );
    assert_eq!(raw(node.addr, &head, &bytes).await.0, 201);
    node.stop().await;
}

/// A node joined to a cluster serves only that cluster's requests, and each changing request
/// once: a captured DELETE sent again within the signature's window is refused, and so is a
/// request for another cluster or for none.
#[tokio::test]
async fn a_joined_node_refuses_replays_and_other_clusters() {
    use floe_node::auth::{Scope, sign_scoped};
    let node = start().await;
    let cluster = "0123456789abcdef0123456789abcdef";
    let client = floe_node::NodeClient::new(
        &format!("http://{}", node.addr),
        secret(),
        Default::default(),
    )
    .unwrap();
    client.join_cluster(cluster).await.unwrap();
    client.bind_cluster(cluster);
    let (body, hash) = shard(40, 3);
    client
        .put_shard(&key(4, 0).chunk, 0, &hash, body)
        .await
        .unwrap();

    let pq = key(4, 0).path();
    let date = unix_now();
    let nonce = format!("{:032x}", 7u128);
    let scope = Scope {
        cluster: Some(cluster),
        nonce: Some(&nonce),
    };
    let sig = sign_scoped(&secret(), "DELETE", &pq, date, None, scope);
    let head = format!(
        "DELETE {pq} HTTP/1.1\r\nx-floe-date: {date}\r\nx-floe-signature: {sig}\r\n\
         x-floe-cluster: {cluster}\r\nx-floe-nonce: {nonce}\r\n"
    );
    let (first, _) = raw(node.addr, &head, b"").await;
    assert_eq!(first, 204);
    // The shard is written again (a deduplicated PUT), then the DELETE is replayed.
    let (body, hash) = shard(40, 3);
    client
        .put_shard(&key(4, 0).chunk, 0, &hash, body)
        .await
        .unwrap();
    let (replayed, text) = raw(node.addr, &head, b"").await;
    assert_eq!(replayed, 409, "{text}");
    assert!(text.contains("already served"), "{text}");
    assert!(
        client.get_shard(&key(4, 0).chunk, 0).await.is_ok(),
        "the replay deleted it"
    );

    // Unnamed or foreign requests are refused by a joined node.
    let (unnamed, text) = raw_signed(node.addr, "GET", "/v1/stats").await;
    assert_eq!(unnamed, 409, "{text}");
    let other = "fedcba9876543210fedcba9876543210";
    let scope = Scope {
        cluster: Some(other),
        nonce: None,
    };
    let sig = sign_scoped(&secret(), "GET", "/v1/stats", date, None, scope);
    let head = format!(
        "GET /v1/stats HTTP/1.1\r\nx-floe-date: {date}\r\nx-floe-signature: {sig}\r\n\
         x-floe-cluster: {other}\r\n"
    );
    let (foreign, text) = raw(node.addr, &head, b"").await;
    assert_eq!(foreign, 409, "{text}");
    assert!(text.contains("belongs to cluster"), "{text}");
    node.stop().await;
}
