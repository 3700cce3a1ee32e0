//! Listing with ListObjectsV2: prefix, delimiter and CommonPrefixes, KeyCount, max-keys paging
//! with continuation tokens over 2,500 keys, paging over common prefixes, start-after, and a
//! missing bucket. URL encoding, byte order and V1 are in `order`.

use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;

use crate::s3_api::harness::*;

mod order;

async fn put_all(gw: &TestGateway, bucket: &str, keys: &[String]) {
    let results: Vec<_> = futures::stream::iter(keys.iter().cloned())
        .map(|key| async move {
            let put = gw
                .client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .body(ByteStream::from(key.clone().into_bytes()))
                .send()
                .await;
            (key, put.map(|_| ()))
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for (key, result) in results {
        ok(result, &format!("put {key}"));
    }
}

fn strings(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_and_delimiter() {
    let gw = TestGateway::start().await;
    gw.create_bucket("tree").await;
    let keys = strings(&[
        "docs/readme",
        "photos/2024/a.jpg",
        "photos/2024/b.jpg",
        "photos/2025/c.jpg",
        "photos/top.jpg",
        "root.txt",
    ]);
    put_all(&gw, "tree", &keys).await;
    let list = || gw.client.list_objects_v2().bucket("tree");

    let all = ok(list().send().await, "list all");
    let got: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, keys);
    assert_eq!(all.key_count(), Some(6));
    assert_eq!(all.is_truncated(), Some(false));
    let first = &all.contents()[0];
    assert_eq!(first.size(), Some("docs/readme".len() as i64));
    assert_eq!(first.e_tag(), Some(etag_of(b"docs/readme").as_str()));
    assert!(first.last_modified().is_some());

    let top = ok(list().delimiter("/").send().await, "delimiter");
    let got: Vec<&str> = top.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = top
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(got, ["root.txt"]);
    assert_eq!(prefixes, ["docs/", "photos/"]);
    assert_eq!(
        top.key_count(),
        Some(3),
        "KeyCount counts keys and common prefixes"
    );
    assert_eq!(top.delimiter(), Some("/"));

    let photos = ok(
        list().prefix("photos/").delimiter("/").send().await,
        "prefix + delimiter",
    );
    let got: Vec<&str> = photos.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = photos
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(got, ["photos/top.jpg"]);
    assert_eq!(prefixes, ["photos/2024/", "photos/2025/"]);
    assert_eq!(photos.prefix(), Some("photos/"));

    let year = ok(list().prefix("photos/2024/").send().await, "prefix");
    let got: Vec<&str> = year.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["photos/2024/a.jpg", "photos/2024/b.jpg"]);

    let none = ok(list().prefix("zzz").send().await, "no match");
    assert!(none.contents().is_empty() && none.common_prefixes().is_empty());
    assert_eq!(none.key_count(), Some(0));

    // A delimiter other than "/".
    let dash = ok(list().delimiter(".").send().await, "delimiter .");
    let prefixes: Vec<&str> = dash
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(
        prefixes,
        [
            "photos/2024/a.",
            "photos/2024/b.",
            "photos/2025/c.",
            "photos/top.",
            "root."
        ]
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_2500_keys() {
    let gw = TestGateway::start().await;
    gw.create_bucket("many").await;
    let keys: Vec<String> = (0..2500).map(|i| format!("key-{i:05}")).collect();
    put_all(&gw, "many", &keys).await;

    let mut got = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let page = ok(
            gw.client
                .list_objects_v2()
                .bucket("many")
                .max_keys(1000)
                .set_continuation_token(token.clone())
                .send()
                .await,
            "page",
        );
        pages.push(page.key_count().unwrap_or(-1));
        assert_eq!(page.max_keys(), Some(1000));
        assert_eq!(
            page.continuation_token(),
            token.as_deref(),
            "the token is echoed"
        );
        got.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(String::from),
        );
        if page.is_truncated() == Some(true) {
            token = Some(
                page.next_continuation_token()
                    .expect("NextContinuationToken")
                    .to_string(),
            );
        } else {
            assert_eq!(page.next_continuation_token(), None);
            break;
        }
    }
    assert_eq!(pages, [1000, 1000, 500]);
    assert_eq!(got, keys);

    // max-keys above 1000 is capped at 1000.
    let capped = ok(
        gw.client
            .list_objects_v2()
            .bucket("many")
            .max_keys(5000)
            .send()
            .await,
        "cap",
    );
    assert_eq!(capped.key_count(), Some(1000));
    assert_eq!(capped.is_truncated(), Some(true));

    // Small pages over a prefix.
    let mut got = Vec::new();
    let mut token = None;
    loop {
        let page = ok(
            gw.client
                .list_objects_v2()
                .bucket("many")
                .prefix("key-012")
                .max_keys(7)
                .set_continuation_token(token)
                .send()
                .await,
            "small page",
        );
        got.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(String::from),
        );
        token = page.next_continuation_token().map(String::from);
        if page.is_truncated() != Some(true) {
            break;
        }
    }
    let want: Vec<String> = (1200..1300).map(|i| format!("key-{i:05}")).collect();
    assert_eq!(got, want);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_common_prefixes() {
    let gw = TestGateway::start().await;
    gw.create_bucket("dirs").await;
    let mut keys = Vec::new();
    for d in 0..12 {
        for f in 0..3 {
            keys.push(format!("dir{d:02}/file{f}"));
        }
        keys.push(format!("file{d:02}"));
    }
    put_all(&gw, "dirs", &keys).await;
    let (mut entries, mut token, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let page = ok(
            gw.client
                .list_objects_v2()
                .bucket("dirs")
                .delimiter("/")
                .max_keys(5)
                .set_continuation_token(token)
                .send()
                .await,
            "page",
        );
        pages += 1;
        let n = page.contents().len() + page.common_prefixes().len();
        assert_eq!(page.key_count(), Some(n as i32));
        assert!(n <= 5, "page of {n} entries");
        entries.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix())
                .map(String::from),
        );
        entries.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(String::from),
        );
        token = page.next_continuation_token().map(String::from);
        if page.is_truncated() != Some(true) {
            break;
        }
        assert!(pages < 20, "listing does not end");
    }
    entries.sort();
    let mut want: Vec<String> = (0..12).map(|d| format!("dir{d:02}/")).collect();
    want.extend((0..12).map(|d| format!("file{d:02}")));
    want.sort();
    assert_eq!(entries, want, "every prefix and key exactly once");
    assert_eq!(pages, 5);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_after() {
    let gw = TestGateway::start().await;
    gw.create_bucket("after").await;
    let keys: Vec<String> = (0..20).map(|i| format!("key-{i:02}")).collect();
    put_all(&gw, "after", &keys).await;
    let out = ok(
        gw.client
            .list_objects_v2()
            .bucket("after")
            .start_after("key-09")
            .send()
            .await,
        "start after",
    );
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, keys[10..]);
    assert_eq!(out.start_after(), Some("key-09"));
    assert_eq!(out.key_count(), Some(10));
    // start-after need not be an existing key.
    let out = ok(
        gw.client
            .list_objects_v2()
            .bucket("after")
            .start_after("key-095")
            .max_keys(3)
            .send()
            .await,
        "start after a non-key",
    );
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["key-10", "key-11", "key-12"]);
    assert_eq!(out.is_truncated(), Some(true));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_missing_bucket() {
    let gw = TestGateway::start().await;
    expect_err(
        gw.client.list_objects_v2().bucket("ghost").send().await,
        404,
        "NoSuchBucket",
    );
    expect_err(
        gw.client.list_objects().bucket("ghost").send().await,
        404,
        "NoSuchBucket",
    );
    gw.stop().await;
}
