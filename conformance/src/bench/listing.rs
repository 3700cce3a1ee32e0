//! Phase 3: ListObjectsV2 over many keys. Setup (untimed, its rate printed): small objects under
//! one prefix at concurrency 32. Then full paginations (1000 keys a page), timed; the median
//! counts.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_s3::Client;
use bytes::Bytes;
use floe_conformance::target::show;

use super::ops;
use super::results::ListResult;
use super::stats::median;
use super::workload::{self, Done};

const PREFIX: &str = "list/";
const PAGE: i32 = 1000;
const RUNS: usize = 3;
const SETUP_CONCURRENCY: usize = 32;

pub async fn run(client: &Client, bucket: &str, keys: usize, label: &str) -> ListResult {
    let mut result = ListResult {
        keys,
        page_size: PAGE,
        ..Default::default()
    };
    let body = Bytes::from_static(b"list");
    let (c, b): (Client, Arc<str>) = (client.clone(), bucket.into());
    let mut setup = workload::run(keys, SETUP_CONCURRENCY, 1, move |i| {
        let (client, bucket, body) = (c.clone(), b.clone(), body.clone());
        async move { Done::one(ops::put(&client, &bucket, &format!("{PREFIX}{i:06}"), body).await) }
    })
    .await;
    result.setup = setup.stats(0);
    eprintln!(
        "[{label}] list setup: {keys} PUTs of 4 bytes at c={SETUP_CONCURRENCY}: {:.1} s, {:.0} op/s, {} errors",
        result.setup.secs, result.setup.ops_per_s, result.setup.errors
    );
    for _ in 0..RUNS {
        let started = Instant::now();
        match list_all(client, bucket).await {
            Ok(listed) => {
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "[{label}] list {listed} keys: {:.3} s, {:.0} keys/s",
                    secs,
                    listed as f64 / secs
                );
                if listed != keys as u64 {
                    result
                        .errors
                        .push(format!("listed {listed} keys, expected {keys}"));
                }
                result.runs_secs.push(secs);
                result.runs_listed.push(listed);
            }
            Err(e) => {
                eprintln!("[{label}] list failed: {e}");
                result.errors.push(e);
            }
        }
    }
    result.median_secs = median(&result.runs_secs);
    result.keys_per_s = result.median_secs.map(|s| keys as f64 / s);
    result
}

/// Every key under the prefix, page by page; returns how many.
async fn list_all(client: &Client, bucket: &str) -> Result<u64, String> {
    let mut token: Option<String> = None;
    let mut count = 0u64;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(PREFIX)
            .max_keys(PAGE)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| format!("ListObjectsV2: {}", show(&e)))?;
        count += page.contents().len() as u64;
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
            _ => return Ok(count),
        }
    }
}
