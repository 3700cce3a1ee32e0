//! kill -9 of a `floe serve` process in the middle of concurrent uploads: after a restart every
//! acknowledged object reads back intact and no half-written object is listed; `admin gc` with
//! no grace then removes the orphaned shards of the interrupted uploads and nothing else.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use floe_codec::ChunkId;
use floe_gateway::index::Index;
use support::cluster::pattern;
use support::serve::ServeProcess;

const UPLOADS: usize = 50;

fn body(i: usize) -> Vec<u8> {
    // Sizes from inline (a few KiB) to several chunks, so both storage paths are crossed.
    let size = match i % 4 {
        0 => 3_000 + i,
        1 => 300_000 + i,
        2 => 5 * 1024 * 1024 + i,
        _ => 9 * 1024 * 1024 + i,
    };
    pattern(size, i as u64 + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_mid_upload_loses_no_acknowledged_object() {
    let tmp = tempfile::tempdir().unwrap();
    let mut gateway = ServeProcess::start(tmp.path(), &[]);
    let client = gateway.client();
    client.create_bucket().bucket("crash").send().await.unwrap();

    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut uploads = Vec::new();
    for i in 0..UPLOADS {
        let client = client.clone();
        let acked = acked.clone();
        uploads.push(tokio::spawn(async move {
            let key = format!("obj-{i:02}");
            let data = body(i);
            let etag = format!("\"{:032x}\"", md5_of(&data));
            let put = client
                .put_object()
                .bucket("crash")
                .key(&key)
                .body(ByteStream::from(data))
                .send()
                .await;
            if let Ok(out) = put {
                assert_eq!(out.e_tag(), Some(etag.as_str()), "{key}");
                acked.lock().unwrap().insert(key, etag);
            }
        }));
    }
    // Let some uploads finish and others be mid-flight, with shards on the nodes that no
    // acknowledged object owns yet (a margin of 3 chunks covers an ack racing the count).
    let mut waited = 0;
    loop {
        let acked_chunks: usize = acked.lock().unwrap().keys().map(|k| chunks_of(k)).sum();
        // Acknowledged chunked objects too, so the GC below has live shards to spare.
        let mid_flight = acked_chunks > 0 && shard_files(tmp.path()).len() > 6 * (acked_chunks + 3);
        if (acked.lock().unwrap().len() >= UPLOADS / 4 && mid_flight) || waited >= 600 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    gateway.kill();
    for upload in uploads {
        let _ = upload.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        !acked.is_empty(),
        "some uploads were acknowledged before the kill"
    );
    assert!(acked.len() < UPLOADS, "the kill interrupted some uploads");

    let gateway = ServeProcess::start(tmp.path(), &[]);
    let client = gateway.client();
    for (key, etag) in &acked {
        let i: usize = key[4..].parse().unwrap();
        let got = client
            .get_object()
            .bucket("crash")
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("acknowledged {key} lost: {e:?}"));
        assert_eq!(got.e_tag(), Some(etag.as_str()));
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert!(bytes.as_ref() == body(i).as_slice(), "{key} differs");
    }
    let listed = client
        .list_objects_v2()
        .bucket("crash")
        .send()
        .await
        .unwrap();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let i: usize = key[4..].parse().unwrap();
        let got = client
            .get_object()
            .bucket("crash")
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert!(
            bytes.as_ref() == body(i).as_slice(),
            "listed {key} is not whole"
        );
    }
    gc_leaves_no_orphans(gateway, &acked).await;
}

/// After `admin gc` (grace 0): every acknowledged object still reads back, and every shard on
/// every embedded node belongs to a chunk of the catalog (checked with the gateway stopped).
async fn gc_leaves_no_orphans(mut gateway: ServeProcess, acked: &HashMap<String, String>) {
    let report = gateway.admin().gc(Some(0)).await.expect("admin gc");
    println!("after the crash: {report:?}");
    assert!(report.orphans.nodes_failed.is_empty(), "{report:?}");
    // The interrupted uploads had sent shards that no committed object owns.
    assert!(report.orphans.shards_deleted > 0, "{report:?}");
    let client = gateway.client();
    for key in acked.keys() {
        let i: usize = key[4..].parse().unwrap();
        let got = client.get_object().bucket("crash").key(key).send().await;
        let bytes = got.unwrap().body.collect().await.unwrap().into_bytes();
        assert!(bytes.as_ref() == body(i).as_slice(), "{key} damaged by gc");
    }
    gateway.kill();

    let index = Index::open(&gateway.data.join("index.redb")).expect("index");
    let shards = shard_files(&gateway.data);
    let known = index.has_chunks(&shards).unwrap();
    let orphans = known.iter().filter(|k| !**k).count();
    assert_eq!(
        orphans,
        0,
        "{orphans} of {} shards belong to no chunk",
        shards.len()
    );
    assert_eq!(index.garbage_count().unwrap(), 0);
}

/// Chunk ids of every shard file of the embedded nodes under `data`, one per file.
fn shard_files(data: &std::path::Path) -> Vec<ChunkId> {
    let mut shards = Vec::new();
    for node in std::fs::read_dir(data.join("nodes"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let root = node.path().join("shards");
        for prefix in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for file in std::fs::read_dir(prefix.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = file.file_name().into_string().unwrap_or_default();
                if let Some(Ok(id)) = name.split_once('.').map(|(c, _)| ChunkId::from_hex(c)) {
                    shards.push(id);
                }
            }
        }
    }
    shards
}

/// Chunks (4 MiB) of the object stored at `key`; inline objects have none.
fn chunks_of(key: &str) -> usize {
    let size = body(key[4..].parse().unwrap_or(0)).len();
    if size <= 16 * 1024 {
        0
    } else {
        size.div_ceil(4 * 1024 * 1024)
    }
}

fn md5_of(data: &[u8]) -> u128 {
    use md5::Digest;
    u128::from_be_bytes(md5::Md5::digest(data).into())
}
