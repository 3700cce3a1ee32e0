//! Phase 2: one big multipart upload (parts generated one by one, a few in flight, so the whole
//! object is never in memory) and its download as a single streamed GET; the peak RSS of the
//! server processes is sampled during the upload.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use floe_conformance::target::show;
use tokio::sync::Semaphore;

use super::ops::{self, Expect};
use super::results::{MultipartResult, Timed};
use super::rng::random_bytes;
use super::rss::RssMonitor;
use super::units::{mib, size_label};
use super::workload::Outcome;

const KEY: &str = "multipart/big";

pub async fn run(
    client: &Client,
    bucket: &str,
    total: u64,
    part: u64,
    in_flight: usize,
    rss: &RssMonitor,
    label: &str,
) -> MultipartResult {
    let mut result = MultipartResult {
        total_bytes: total,
        part_bytes: part,
        parts_in_flight: in_flight,
        ..Default::default()
    };
    result.rss_at_upload_start = rss.begin_window();
    let cpu = rss.cpu_split();
    let started = Instant::now();
    let uploaded = upload(client, bucket, total, part, in_flight).await;
    let secs = started.elapsed().as_secs_f64();
    result.upload_cpu_s_per_gib = rss.cpu_split().since(cpu).per_gib(total);
    result.peak_rss_during_upload = rss.end_window();
    match uploaded {
        Ok(()) => {
            result.upload = Some(Timed {
                secs,
                mib_per_s: mib(total) / secs,
            });
            eprintln!(
                "[{label}] multipart PUT {}: {secs:.1} s, {:.1} MiB/s",
                size_label(total),
                mib(total) / secs
            );
        }
        Err(e) => {
            eprintln!("[{label}] multipart PUT {} failed: {e}", size_label(total));
            result.errors.push(e);
            return result;
        }
    }
    let started = Instant::now();
    let expect = Expect {
        len: Some(total),
        ..Expect::default()
    };
    match ops::get(client, bucket, KEY, &expect).await {
        Outcome::Ok(_) => {
            let secs = started.elapsed().as_secs_f64();
            result.download = Some(Timed {
                secs,
                mib_per_s: mib(total) / secs,
            });
            eprintln!(
                "[{label}] GET {}: {secs:.1} s, {:.1} MiB/s",
                size_label(total),
                mib(total) / secs
            );
        }
        Outcome::Miss => result.errors.push("GET: no such key".into()),
        Outcome::Error(e) => {
            eprintln!("[{label}] GET {} failed: {e}", size_label(total));
            result.errors.push(e);
        }
    }
    result
}

/// Create, `in_flight` parts at a time, complete (abort on failure).
async fn upload(
    client: &Client,
    bucket: &str,
    total: u64,
    part: u64,
    in_flight: usize,
) -> Result<(), String> {
    let created = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(KEY)
        .send()
        .await
        .map_err(|e| format!("CreateMultipartUpload: {}", show(&e)))?;
    let upload_id: Arc<str> = created.upload_id().ok_or("no upload id")?.into();
    let parts = total.div_ceil(part) as usize;
    let slots = Arc::new(Semaphore::new(in_flight.max(1)));
    let mut tasks = Vec::with_capacity(parts);
    for index in 0..parts {
        // Acquired before the part's data exists: at most `in_flight` parts in memory.
        let permit = slots.clone().acquire_owned().await.expect("semaphore open");
        let (client, bucket, upload_id) = (client.clone(), bucket.to_string(), upload_id.clone());
        let len = part.min(total - index as u64 * part) as usize;
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            // Distinct content per part (seeded by its number): no chunk is a copy of another.
            let data = random_bytes(0xB16_0000 + index as u64, len);
            let number = index as i32 + 1;
            client
                .upload_part()
                .bucket(bucket)
                .key(KEY)
                .upload_id(upload_id.as_ref())
                .part_number(number)
                .body(ByteStream::from(data))
                .send()
                .await
                .map(|out| {
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_owned))
                        .build()
                })
                .map_err(|e| format!("UploadPart {number}: {}", show(&e)))
        }));
    }
    let mut completed = Vec::with_capacity(parts);
    let mut failure = None;
    for t in tasks {
        match t.await {
            Ok(Ok(p)) => completed.push(p),
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(format!("part task: {e}"));
            }
        }
    }
    if let Some(e) = failure {
        let _ = client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(KEY)
            .upload_id(upload_id.as_ref())
            .send()
            .await;
        return Err(e);
    }
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(KEY)
        .upload_id(upload_id.as_ref())
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("CompleteMultipartUpload: {}", show(&e)))?;
    Ok(())
}
