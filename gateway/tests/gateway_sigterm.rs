//! SIGTERM to a `floe serve` process during 20 concurrent uploads: the gateway stops accepting,
//! lets the uploads in flight finish, and exits cleanly within its grace period. After a restart
//! every acknowledged object reads back intact and every listed object is whole.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use support::cluster::pattern;
use support::serve::ServeProcess;

const UPLOADS: usize = 20;

fn body(i: usize) -> Vec<u8> {
    // Inline, single-chunk and multi-chunk objects.
    let size = match i % 4 {
        0 => 3_000 + i,
        1 => 300_000 + i,
        2 => 6 * 1024 * 1024 + i,
        _ => 12 * 1024 * 1024 + i,
    };
    pattern(size, i as u64 + 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_upload_finishes_in_flight_requests_and_shows_only_whole_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let mut gateway = ServeProcess::start(tmp.path(), &[]);
    let client = gateway.client();
    client.create_bucket().bucket("term").send().await.unwrap();

    let acked: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let mut uploads = Vec::new();
    for i in 0..UPLOADS {
        let client = client.clone();
        let acked = acked.clone();
        uploads.push(tokio::spawn(async move {
            let key = format!("obj-{i:02}");
            let put = client
                .put_object()
                .bucket("term")
                .key(&key)
                .body(ByteStream::from(body(i)))
                .send()
                .await;
            if put.is_ok() {
                acked.lock().unwrap().insert(key, i);
            }
        }));
    }
    // SIGTERM once a few uploads are acknowledged and most are still in flight.
    let mut waited = 0;
    while acked.lock().unwrap().len() < 3 && waited < 1200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let acked_at_signal = acked.lock().unwrap().len();
    assert!(
        acked_at_signal < UPLOADS,
        "every upload finished before the signal; nothing was in flight"
    );
    let status = tokio::task::block_in_place(|| gateway.terminate(Duration::from_secs(60)));
    let status = status.expect("the gateway exits within its grace period");
    assert!(status.success(), "clean exit after SIGTERM, got {status}");
    for upload in uploads {
        upload.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    println!(
        "{acked_at_signal} acknowledged at SIGTERM, {} in the end",
        acked.len()
    );
    // Requests in flight at the signal were allowed to finish. (Not necessarily all of them:
    // a connection still in the kernel's accept queue when the listener closes is reset, and
    // that upload fails unacknowledged, which is allowed.) Before the shutdown order was fixed,
    // the embedded nodes stopped with the listener and most of these failed.
    let in_flight = UPLOADS - acked_at_signal;
    assert!(
        acked.len() - acked_at_signal >= in_flight / 2,
        "only {} of {in_flight} in-flight uploads finished after SIGTERM",
        acked.len() - acked_at_signal
    );

    let gateway = ServeProcess::start(tmp.path(), &[]);
    let client = gateway.client();
    for (key, i) in &acked {
        let got = client
            .get_object()
            .bucket("term")
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("acknowledged {key} lost: {e:?}"));
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert!(bytes.as_ref() == body(*i).as_slice(), "{key} differs");
    }
    let listed = client
        .list_objects_v2()
        .bucket("term")
        .send()
        .await
        .unwrap();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let i: usize = key[4..].parse().unwrap();
        assert_eq!(object.size(), Some(body(i).len() as i64), "listed {key}");
        let got = client
            .get_object()
            .bucket("term")
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
