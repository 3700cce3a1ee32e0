//! kill -9 of a `floe serve` process in the middle of concurrent uploads: after a restart every
//! acknowledged object reads back intact and no half-written object is listed.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
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
            let etag = format!("\"{:x}\"", md5_of(&data));
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
    // Let some uploads finish and others be mid-flight.
    let mut waited = 0;
    while acked.lock().unwrap().len() < UPLOADS / 4 && waited < 600 {
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
}

fn md5_of(data: &[u8]) -> u128 {
    use md5::Digest;
    u128::from_be_bytes(md5::Md5::digest(data).into())
}
