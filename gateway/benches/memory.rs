//! Gateway peak RSS while a 2 GiB object goes up (multipart, 8 MiB parts, 10 in flight, as
//! aws cli sends it) and comes back down (one streaming GET). Measured twice: a `floe serve`
//! process in front of 6 `floe node` processes (the gateway alone), and `floe serve` with its 6
//! embedded nodes (gateway and nodes in one process). Prints the figures; asserts only that the
//! bytes round-trip.
//! Run: `cargo bench -p floe-gateway --bench memory`.

#[path = "../tests/gateway/support/mod.rs"]
mod support;

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures::StreamExt;
use support::cluster::{LocalCluster, SECRET, pattern};
use support::serve::ServeProcess;

const MIB: usize = 1024 * 1024;
const PART: usize = 8 * MIB;
const PARTS: usize = 256; // 2 GiB
const IN_FLIGHT: usize = 10;

fn part_body(n: usize) -> Vec<u8> {
    pattern(PART, n as u64 + 1)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");

    let nodes = LocalCluster::start(6);
    let urls: Vec<String> = nodes.urls().iter().map(|u| format!("{u:?}")).collect();
    let config = tmp.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "nodes = [{}]\naccess_key = {:?}\nsecret_key = {:?}\ncluster_secret = {SECRET:?}\n",
            urls.join(", "),
            floe_gateway::runtime::config::DEV_ACCESS_KEY,
            floe_gateway::runtime::config::DEV_SECRET_KEY,
        ),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8 path");
    let gateway = ServeProcess::start(&tmp.path().join("remote"), &["--config", config]);
    round_trip(&runtime, &gateway, "gateway alone, 6 node processes");
    drop(gateway);
    drop(nodes);

    let gateway = ServeProcess::start(&tmp.path().join("embedded"), &[]);
    round_trip(
        &runtime,
        &gateway,
        "gateway + 6 embedded nodes, one process",
    );
}

fn round_trip(runtime: &tokio::runtime::Runtime, gateway: &ServeProcess, setup: &str) {
    let client = gateway.client();
    runtime.block_on(async {
        client
            .create_bucket()
            .bucket("mem")
            .send()
            .await
            .expect("bucket");
        let upload = client
            .create_multipart_upload()
            .bucket("mem")
            .key("big")
            .send()
            .await
            .expect("create upload");
        let id = upload.upload_id().expect("upload id").to_string();
        let start = Instant::now();
        let mut parts: Vec<CompletedPart> = futures::stream::iter(1..=PARTS)
            .map(|n| {
                let (client, id) = (client.clone(), id.clone());
                async move {
                    let out = client
                        .upload_part()
                        .bucket("mem")
                        .key("big")
                        .upload_id(&id)
                        .part_number(n as i32)
                        .body(ByteStream::from(part_body(n)))
                        .send()
                        .await
                        .expect("upload part");
                    CompletedPart::builder()
                        .part_number(n as i32)
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
                        .build()
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        parts.sort_by_key(|p| p.part_number());
        client
            .complete_multipart_upload()
            .bucket("mem")
            .key("big")
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .expect("complete");
        let up = start.elapsed().as_secs_f64();
        let after_put = gateway.peak_rss().unwrap_or(0);

        let start = Instant::now();
        let got = client
            .get_object()
            .bucket("mem")
            .key("big")
            .send()
            .await
            .expect("get");
        let mut body = got.body;
        let (mut offset, mut part, mut expected) = (0usize, 1usize, part_body(1));
        while let Some(piece) = body.next().await {
            let piece = piece.expect("body");
            let mut rest = &piece[..];
            while !rest.is_empty() {
                let at = offset % PART;
                let take = rest.len().min(PART - at);
                assert!(
                    rest[..take] == expected[at..at + take],
                    "bytes differ at {offset}"
                );
                offset += take;
                rest = &rest[take..];
                if offset % PART == 0 && part < PARTS {
                    part += 1;
                    expected = part_body(part);
                }
            }
        }
        assert_eq!(offset, PART * PARTS);
        let down = start.elapsed().as_secs_f64();
        let peak = gateway.peak_rss().unwrap_or(0);
        let gib = (PART * PARTS) as f64 / (1024.0 * MIB as f64);
        println!("2 GiB through floe serve, 4+2: {setup}");
        println!(
            "upload   {gib:.1} GiB in {up:6.1} s  {:7.1} MiB/s  peak RSS after upload {:6.1} MiB",
            (PART * PARTS) as f64 / MIB as f64 / up,
            after_put as f64 / MIB as f64
        );
        println!(
            "download {gib:.1} GiB in {down:6.1} s  {:7.1} MiB/s  peak RSS overall     {:6.1} MiB",
            (PART * PARTS) as f64 / MIB as f64 / down,
            peak as f64 / MIB as f64
        );
    });
}
