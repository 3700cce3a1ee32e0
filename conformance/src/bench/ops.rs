//! The S3 operations the workloads time, each ending in an [`Outcome`]: one attempt (SDK retries
//! off, so a failure is counted, not hidden), bodies shared as `Bytes`, GET bodies consumed to
//! the last byte and checked.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use floe_conformance::target::{Target, show, status};

use super::workload::Outcome;

/// The SDK's defaults (checksums on), but a single attempt per operation.
pub fn client(target: &Target) -> Client {
    let config = target
        .config(&target.access_key, &target.secret_key)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

pub async fn put(client: &Client, bucket: &str, key: &str, body: Bytes) -> Outcome {
    let len = body.len() as u64;
    match client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
    {
        Ok(_) => Outcome::Ok(len),
        Err(e) => Outcome::Error(format!("PUT {key}: {}", show(&e))),
    }
}

/// What a GET must return.
#[derive(Clone, Default)]
pub struct Expect {
    /// Exact body length.
    pub len: Option<u64>,
    /// Exact body content (compared chunk by chunk as it streams, nothing buffered).
    pub content: Option<Bytes>,
    /// A missing key is a [`Outcome::Miss`], not an error.
    pub miss_ok: bool,
}

pub async fn get(client: &Client, bucket: &str, key: &str, expect: &Expect) -> Outcome {
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if expect.miss_ok && status(&e) == Some(404) => return Outcome::Miss,
        Err(e) => return Outcome::Error(format!("GET {key}: {}", show(&e))),
    };
    let mut body = out.body;
    let mut seen: u64 = 0;
    loop {
        match body.next().await {
            None => break,
            Some(Ok(chunk)) => {
                if let Some(want) = &expect.content {
                    let from = seen as usize;
                    let to = from + chunk.len();
                    if to > want.len() || want[from..to] != chunk[..] {
                        return Outcome::Error(format!(
                            "GET {key}: content differs from what was written in bytes {from}..{to}"
                        ));
                    }
                }
                seen += chunk.len() as u64;
            }
            Some(Err(e)) => {
                return Outcome::Error(format!("GET {key}: body failed after {seen} bytes: {e}"));
            }
        }
    }
    match expect.len {
        Some(len) if len != seen => {
            Outcome::Error(format!("GET {key}: {seen} bytes, expected {len}"))
        }
        _ => Outcome::Ok(seen),
    }
}

pub async fn head(client: &Client, bucket: &str, key: &str, miss_ok: bool) -> Outcome {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Outcome::Ok(0),
        Err(e) if miss_ok && status(&e) == Some(404) => Outcome::Miss,
        Err(e) => Outcome::Error(format!("HEAD {key}: {}", show(&e))),
    }
}

pub async fn delete(client: &Client, bucket: &str, key: &str) -> Outcome {
    match client.delete_object().bucket(bucket).key(key).send().await {
        Ok(_) => Outcome::Ok(0),
        Err(e) => Outcome::Error(format!("DELETE {key}: {}", show(&e))),
    }
}
