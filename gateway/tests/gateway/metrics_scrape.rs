//! `/metrics`, `/health` and `/ready` on the admin listener of a running `floe serve`: the
//! Prometheus series exist and move under load.

use crate::support;

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use support::cluster::pattern;
use support::scrape::{get, sample};
use support::serve::ServeProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let gateway = ServeProcess::start(tmp.path(), &[]);
    let admin = gateway.admin_url.clone();
    assert_eq!(get(&admin, "/health").0, 200);
    let (status, ready) = get(&admin, "/ready");
    assert_eq!(status, 200, "{ready}");

    let client = gateway.client();
    client
        .create_bucket()
        .bucket("metrics")
        .send()
        .await
        .unwrap();
    let (_, before) = get(&admin, "/metrics");
    let data = pattern(5 * 1024 * 1024, 3);
    for i in 0..3 {
        client
            .put_object()
            .bucket("metrics")
            .key(format!("k{i}"))
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
    }
    for _ in 0..2 {
        let got = client
            .get_object()
            .bucket("metrics")
            .key("k0")
            .send()
            .await
            .unwrap();
        got.body.collect().await.unwrap();
    }
    let missing = client
        .get_object()
        .bucket("metrics")
        .key("nope")
        .send()
        .await;
    assert!(missing.is_err());
    let (status, after) = get(&admin, "/metrics");
    assert_eq!(status, 200);

    let puts = "floe_s3_requests_total{op=\"PutObject\",status=\"200\"}";
    assert_eq!(sample(&after, puts) - sample(&before, puts), 3.0, "{after}");
    assert!(
        sample(
            &after,
            "floe_s3_requests_total{op=\"GetObject\",status=\"404\"}"
        ) >= 1.0
    );
    assert!(after.contains("floe_s3_request_duration_seconds_bucket{"));
    assert!(sample(&after, "floe_s3_bytes_in_total") >= 3.0 * data.len() as f64);
    assert!(sample(&after, "floe_s3_bytes_out_total") >= 2.0 * data.len() as f64);
    // The second GET of k0 is served from the cache.
    assert!(sample(&after, "floe_cache_hits_total") > sample(&before, "floe_cache_hits_total"));
    // moka settles its size counters lazily, so only the series itself is checked.
    assert!(after.contains("floe_cache_bytes "));
    // A PUT returns once 5 of 6 shards are stored; the sixth may still be on its way, and is
    // counted when it lands.
    let expected = 3.0 * 2.0 * 6.0; // 3 objects x 2 chunks x 6 shards
    let deadline = Instant::now() + Duration::from_secs(30);
    let (writes, after) = loop {
        let (_, after) = get(&admin, "/metrics");
        let writes = shard_writes(&after);
        if writes >= expected || Instant::now() > deadline {
            break (writes, after);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(writes, expected, "3 objects x 2 chunks x 6 shards");
    assert!(after.contains("floe_repair_backlog 0"));
}

/// Successful shard writes, summed over the nodes.
fn shard_writes(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("floe_shard_requests_total{") && l.contains("op=\"write\",outcome=\"ok\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
