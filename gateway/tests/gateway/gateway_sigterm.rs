//! SIGTERM to a `floe serve` process during 20 concurrent uploads: the gateway stops accepting,
//! lets the uploads in flight finish, and exits cleanly within its grace period. After a restart
//! every acknowledged object reads back intact and every listed object is whole.

use crate::support;

use std::time::Duration;

use support::serve::ServeProcess;
use support::uploads::{Uploads, assert_acked_intact, assert_listed_whole};

const UPLOADS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_upload_finishes_in_flight_requests_and_shows_only_whole_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let mut gateway = ServeProcess::start(tmp.path(), &[]);
    let client = gateway.client();
    client.create_bucket().bucket("term").send().await.unwrap();

    let uploads = Uploads::start(&client, "term", UPLOADS);
    // SIGTERM once a few uploads are acknowledged and most are still in flight.
    let mut waited = 0;
    while uploads.acked().len() < 3 && waited < 1200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let acked_at_signal = uploads.acked().len();
    assert!(
        acked_at_signal < UPLOADS,
        "every upload finished before the signal; nothing was in flight"
    );
    let status = tokio::task::block_in_place(|| gateway.terminate(Duration::from_secs(60)));
    let status = status.expect("the gateway exits within its grace period");
    assert!(status.success(), "clean exit after SIGTERM, got {status}");
    let acked = uploads.finish().await;
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
    assert_acked_intact(&client, "term", &acked).await;
    assert_listed_whole(&client, "term").await;
}
