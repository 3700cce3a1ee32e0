//! Why small objects are stored inline: PUT and GET rates of 4 KiB and 16 KiB objects through
//! `floe serve` (6 embedded nodes, 4+2), with the inline threshold at its default (16 KiB) and
//! at 0 (every object erasure-coded into 6 shard writes). Prints ops/s; asserts only that the
//! bytes round-trip. Run: `cargo bench -p floe-gateway --bench small_objects`.

#[path = "../tests/gateway/support/mod.rs"]
mod support;

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;
use support::cluster::pattern;
use support::serve::ServeProcess;

const OBJECTS: usize = 2000;
const CONCURRENCY: usize = 16;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    println!(
        "small objects through floe serve (6 embedded nodes, 4+2), {OBJECTS} objects, concurrency {CONCURRENCY}"
    );
    println!("| inline threshold | size   |   PUT ops/s |   GET ops/s |");
    println!("|------------------|--------|-------------|-------------|");
    for threshold in [16 * 1024, 0] {
        let dir = tmp.path().join(format!("inline-{threshold}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let config = dir.join("gateway.toml");
        std::fs::write(&config, format!("inline_threshold = {threshold}\n")).expect("config");
        let gateway = ServeProcess::start(
            &dir.join("data"),
            &["--config", config.to_str().expect("path")],
        );
        let client = gateway.client();
        runtime.block_on(async {
            client
                .create_bucket()
                .bucket("small")
                .send()
                .await
                .expect("bucket");
            // Warm up connections, the index file and the nodes before measuring.
            for i in 0..200 {
                let body = ByteStream::from(pattern(1024, i));
                let key = format!("warm/{i}");
                client
                    .put_object()
                    .bucket("small")
                    .key(key)
                    .body(body)
                    .send()
                    .await
                    .expect("warm-up put");
            }
            for size in [4 * 1024, 16 * 1024] {
                let body = pattern(size, size as u64);
                let start = Instant::now();
                futures::stream::iter(0..OBJECTS)
                    .map(|i| {
                        let (client, body) = (client.clone(), body.clone());
                        async move {
                            client
                                .put_object()
                                .bucket("small")
                                .key(format!("{size}/{i}"))
                                .body(ByteStream::from(body))
                                .send()
                                .await
                                .expect("put");
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .collect::<Vec<()>>()
                    .await;
                let put = OBJECTS as f64 / start.elapsed().as_secs_f64();
                let start = Instant::now();
                futures::stream::iter(0..OBJECTS)
                    .map(|i| {
                        let (client, body) = (client.clone(), &body);
                        async move {
                            let got = client
                                .get_object()
                                .bucket("small")
                                .key(format!("{size}/{i}"))
                                .send()
                                .await
                                .expect("get");
                            let bytes = got.body.collect().await.expect("body").into_bytes();
                            assert!(bytes.as_ref() == body.as_slice());
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .collect::<Vec<()>>()
                    .await;
                let get = OBJECTS as f64 / start.elapsed().as_secs_f64();
                println!(
                    "| {:>16} | {:>3} KiB | {put:>11.0} | {get:>11.0} |",
                    if threshold == 0 {
                        "0 (sharded)".to_string()
                    } else {
                        format!("{} KiB", threshold / 1024)
                    },
                    size / 1024
                );
            }
        });
    }
}
