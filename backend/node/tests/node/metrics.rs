//! `GET /metrics` on a real node over HTTP: reachable without a signature, and every counter
//! moves by exactly what the requests did (bytes written and read, corrupt reads, scrubs,
//! statuses per route), with each node in a process reporting only its own figures.

use crate::common;

use std::net::SocketAddr;

use common::{chunk, damage_payload, key, raw, raw_signed, shard, start};

/// Scrapes `/metrics` without any auth header; returns the exposition body.
async fn scrape(addr: SocketAddr) -> String {
    let (status, text) = raw(addr, "GET /metrics HTTP/1.1\r\n", b"").await;
    assert_eq!(status, 200, "{text}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    body.to_owned()
}

/// The value of one series (`name{labels}` exactly as exposed), 0 if absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().unwrap())
}

fn requests(text: &str, route: &str, status: u16) -> f64 {
    value(
        text,
        &format!("floe_node_requests_total{{route=\"{route}\",status=\"{status}\"}}"),
    )
}

#[tokio::test]
async fn counters_follow_what_the_node_did() {
    let node = start().await;
    let client = node.client();
    let before = scrape(node.addr).await;
    assert_eq!(value(&before, "floe_node_stored_shards"), 0.0);
    assert_eq!(value(&before, "floe_node_shard_bytes_written_total"), 0.0);
    assert!(value(&before, "floe_node_disk_total_bytes") > 0.0);

    // Three new shards (600 bytes), then one of them again, which writes nothing.
    for (n, len) in [(1u8, 100usize), (2, 200), (3, 300)] {
        let (bytes, hash) = shard(n, len);
        client.put_shard(&chunk(n), 0, &hash, bytes).await.unwrap();
    }
    let (bytes, hash) = shard(1, 100);
    client.put_shard(&chunk(1), 0, &hash, bytes).await.unwrap();

    // Reads: two whole shards (300 bytes) and a 10-byte range.
    client.get_shard(&chunk(1), 0).await.unwrap();
    client.get_shard(&chunk(2), 0).await.unwrap();
    client.get_shard_range(&chunk(3), 0, 5, 14).await.unwrap();
    client.head_shard(&chunk(3), 0).await.unwrap();
    assert!(client.get_shard(&chunk(9), 0).await.is_err());

    // A flipped byte on disk: the read is refused (422) and the shard quarantined.
    damage_payload(&node, &key(2, 0), 50, 0x40);
    assert!(client.get_shard(&chunk(2), 0).await.is_err());

    // A scrub over what is left, a delete, a listing and an unsigned request.
    let report = client.scrub(None, 100, 0).await.unwrap();
    assert_eq!(report.checked, 2);
    assert!(client.delete_shard(&chunk(1), 0).await.unwrap());
    client.list_shards(None, 10).await.unwrap();
    let (status, _) = raw(node.addr, "GET /v1/stats HTTP/1.1\r\n", b"").await;
    assert_eq!(status, 401);
    let (status, _) = raw_signed(node.addr, "GET", "/v1/nothing").await;
    assert_eq!(status, 404);

    let after = scrape(node.addr).await;
    let v = |series: &str| value(&after, series);
    assert_eq!(v("floe_node_shard_bytes_written_total"), 600.0, "{after}");
    assert_eq!(v("floe_node_shard_bytes_read_total"), 310.0, "{after}");
    assert_eq!(v("floe_node_corrupt_shards_total"), 1.0);
    assert_eq!(v("floe_node_quarantined_files"), 1.0);
    assert_eq!(v("floe_node_scrubbed_shards_total"), 2.0);
    assert_eq!(v("floe_node_scrubbed_bytes_total"), 400.0);
    // Shard 1 deleted, shard 2 quarantined: shard 3 (300 bytes) is what remains.
    assert_eq!(v("floe_node_stored_shards"), 1.0);
    assert_eq!(v("floe_node_stored_bytes"), 300.0);

    for (route, status, count) in [
        ("shard_put", 201, 3.0),
        ("shard_put", 200, 1.0),
        ("shard_get", 200, 2.0),
        ("shard_get", 206, 1.0),
        ("shard_get", 404, 1.0),
        ("shard_get", 422, 1.0),
        ("shard_head", 200, 1.0),
        ("shard_delete", 204, 1.0),
        ("shard_list", 200, 1.0),
        ("scrub", 200, 1.0),
        ("stats", 401, 1.0),
        ("other", 404, 1.0),
        // The first scrape; the second is counted after it has rendered.
        ("metrics", 200, 1.0),
    ] {
        assert_eq!(
            requests(&after, route, status),
            count,
            "{route} {status}:\n{after}"
        );
    }
    // One latency observation per shard_put request, in the histogram of its route.
    assert_eq!(
        v("floe_node_request_duration_seconds_count{route=\"shard_put\"}"),
        4.0
    );
    assert!(
        after.contains(
            "floe_node_request_duration_seconds_bucket{le=\"0.0001\",route=\"shard_get\"}"
        )
    );
    node.stop().await;
}

#[tokio::test]
async fn metrics_need_no_signature_but_refuse_writes() {
    let node = start().await;
    let (status, _) = raw(node.addr, "HEAD /metrics HTTP/1.1\r\n", b"").await;
    assert_eq!(status, 200);
    let (status, _) = raw(node.addr, "POST /metrics HTTP/1.1\r\n", b"").await;
    assert_eq!(status, 405);
    // Under the versioned prefix it is just an unknown (and unsigned) route.
    let (status, _) = raw(node.addr, "GET /v1/metrics HTTP/1.1\r\n", b"").await;
    assert_eq!(status, 401);
    node.stop().await;
}

/// The gateway's dev mode runs several nodes in one process: each reports its own figures.
#[tokio::test]
async fn each_node_has_its_own_registry() {
    let a = start().await;
    let b = start().await;
    let (bytes, hash) = shard(4, 1000);
    a.client()
        .put_shard(&chunk(4), 1, &hash, bytes)
        .await
        .unwrap();
    let (text_a, text_b) = (scrape(a.addr).await, scrape(b.addr).await);
    assert_eq!(
        value(&text_a, "floe_node_shard_bytes_written_total"),
        1000.0
    );
    assert_eq!(value(&text_a, "floe_node_stored_shards"), 1.0);
    assert_eq!(value(&text_b, "floe_node_shard_bytes_written_total"), 0.0);
    assert_eq!(value(&text_b, "floe_node_stored_shards"), 0.0);
    assert_eq!(requests(&text_b, "shard_put", 201), 0.0);
    a.stop().await;
    b.stop().await;
}
