//! Listing: ListObjectsV2 (prefix, delimiter and CommonPrefixes, KeyCount, max-keys paging with
//! continuation tokens over 2,500 keys, start-after, `encoding-type=url`, UTF-8 byte order) and
//! ListObjects V1 (marker, NextMarker only with a delimiter).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::EncodingType;
use futures::StreamExt;

use crate::harness::*;

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
    let prefixes: Vec<&str> = top.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(got, ["root.txt"]);
    assert_eq!(prefixes, ["docs/", "photos/"]);
    assert_eq!(top.key_count(), Some(3), "KeyCount counts keys and common prefixes");
    assert_eq!(top.delimiter(), Some("/"));

    let photos = ok(list().prefix("photos/").delimiter("/").send().await, "prefix + delimiter");
    let got: Vec<&str> = photos.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = photos.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
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
    let prefixes: Vec<&str> = dash.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["photos/2024/a.", "photos/2024/b.", "photos/2025/c.", "photos/top.", "root."]);
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
        assert_eq!(page.continuation_token(), token.as_deref(), "the token is echoed");
        got.extend(page.contents().iter().filter_map(|o| o.key()).map(String::from));
        if page.is_truncated() == Some(true) {
            token = Some(page.next_continuation_token().expect("NextContinuationToken").to_string());
        } else {
            assert_eq!(page.next_continuation_token(), None);
            break;
        }
    }
    assert_eq!(pages, [1000, 1000, 500]);
    assert_eq!(got, keys);

    // max-keys above 1000 is capped at 1000.
    let capped = ok(gw.client.list_objects_v2().bucket("many").max_keys(5000).send().await, "cap");
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
        got.extend(page.contents().iter().filter_map(|o| o.key()).map(String::from));
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
        entries.extend(page.common_prefixes().iter().filter_map(|p| p.prefix()).map(String::from));
        entries.extend(page.contents().iter().filter_map(|o| o.key()).map(String::from));
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
        gw.client.list_objects_v2().bucket("after").start_after("key-09").send().await,
        "start after",
    );
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, keys[10..]);
    assert_eq!(out.start_after(), Some("key-09"));
    assert_eq!(out.key_count(), Some(10));
    // start-after need not be an existing key.
    let out = ok(
        gw.client.list_objects_v2().bucket("after").start_after("key-095").max_keys(3).send().await,
        "start after a non-key",
    );
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["key-10", "key-11", "key-12"]);
    assert_eq!(out.is_truncated(), Some(true));
    gw.stop().await;
}

/// `application/x-www-form-urlencoded` decoding, as botocore applies to `encoding-type=url`
/// answers (`+` is a space; a literal `+` arrives as `%2B`).
fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).expect("percent escape"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 after decoding")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoding_type_url() {
    let gw = TestGateway::start().await;
    gw.create_bucket("enc").await;
    let keys = strings(&[
        "café/naïve file.txt",
        "café/plain",
        "plus+sign",
        "space dir/a b",
        "percent%2F",
        "ctrl\u{1}char",
        "emoji-😀",
    ]);
    put_all(&gw, "enc", &keys).await;
    let out = ok(
        gw.client.list_objects_v2().bucket("enc").encoding_type(EncodingType::Url).send().await,
        "list url-encoded",
    );
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    let raw: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    for key in &raw {
        assert!(key.is_ascii() && !key.contains(' '), "{key:?} is not URL-encoded");
    }
    let decoded: Vec<String> = raw.iter().map(|k| url_decode(k)).collect();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(decoded, want);

    // Prefix, delimiter, start-after and common prefixes are encoded too.
    let out = ok(
        gw.client
            .list_objects_v2()
            .bucket("enc")
            .prefix("café/")
            .delimiter(" ")
            .start_after("café/")
            .encoding_type(EncodingType::Url)
            .send()
            .await,
        "list url-encoded with prefix",
    );
    assert_eq!(out.prefix().map(url_decode).as_deref(), Some("café/"));
    assert!(out.prefix().unwrap().is_ascii(), "Prefix is URL-encoded");
    assert_eq!(out.delimiter().map(url_decode).as_deref(), Some(" "));
    assert_eq!(out.start_after().map(url_decode).as_deref(), Some("café/"));
    let prefixes: Vec<String> = out.common_prefixes().iter().filter_map(|p| p.prefix()).map(url_decode).collect();
    let keys: Vec<String> = out.contents().iter().filter_map(|o| o.key()).map(url_decode).collect();
    assert_eq!(prefixes, ["café/naïve "]);
    assert_eq!(keys, ["café/plain"]);

    // V1 as well.
    let v1 = ok(
        gw.client.list_objects().bucket("enc").prefix("space").encoding_type(EncodingType::Url).send().await,
        "v1 url-encoded",
    );
    let keys: Vec<&str> = v1.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0], "space dir/a b", "V1 keys are URL-encoded");
    assert_eq!(url_decode(keys[0]), "space dir/a b");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_byte_order_and_nested_keys() {
    let gw = TestGateway::start().await;
    gw.create_bucket("order").await;
    // UTF-16 order would put the emoji (a surrogate pair) before U+FF61; UTF-8 puts it after.
    let keys = strings(&["z", "é", "a/b/c", "\u{1F600}", "a", "b", "a/b", "\u{FF61}", "Z", "~"]);
    put_all(&gw, "order", &keys).await;
    let out = ok(gw.client.list_objects_v2().bucket("order").send().await, "list");
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["Z", "a", "a/b", "a/b/c", "b", "z", "~", "é", "\u{FF61}", "\u{1F600}"]);
    // "a/b" and "a/b/c" are both objects.
    assert_eq!(gw.get("order", "a/b").await, b"a/b");
    assert_eq!(gw.get("order", "a/b/c").await, b"a/b/c");
    let nested = ok(
        gw.client.list_objects_v2().bucket("order").prefix("a/b").delimiter("/").send().await,
        "nested",
    );
    let got: Vec<&str> = nested.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = nested.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(got, ["a/b"]);
    assert_eq!(prefixes, ["a/b/"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_marker_and_next_marker() {
    let gw = TestGateway::start().await;
    gw.create_bucket("listv1").await;
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).chain((0..4).map(|i| format!("p{i}/x"))).collect();
    put_all(&gw, "listv1", &keys).await;
    let v1 = || gw.client.list_objects().bucket("listv1");

    let page = ok(v1().max_keys(4).send().await, "v1 page");
    let got: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["k0", "k1", "k2", "k3"]);
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_marker(), None, "no NextMarker without a delimiter");

    let page = ok(v1().marker("k3").max_keys(4).send().await, "v1 marker");
    let got: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["k4", "k5", "k6", "k7"]);
    assert_eq!(page.marker(), Some("k3"));

    // With a delimiter, NextMarker is the last key or prefix returned while truncated.
    let page = ok(v1().delimiter("/").marker("k7").max_keys(3).send().await, "v1 delimiter");
    let got: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = page.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(got, ["k8", "k9"]);
    assert_eq!(prefixes, ["p0/"]);
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_marker(), Some("p0/"));
    let page = ok(v1().delimiter("/").marker("p0/").max_keys(3).send().await, "v1 after prefix");
    let prefixes: Vec<&str> = page.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["p1/", "p2/", "p3/"]);
    assert!(page.contents().is_empty());
    // The last page is not truncated and has no NextMarker.
    assert_eq!(page.is_truncated(), Some(false));
    assert_eq!(page.next_marker(), None);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_missing_bucket() {
    let gw = TestGateway::start().await;
    expect_err(gw.client.list_objects_v2().bucket("ghost").send().await, 404, "NoSuchBucket");
    expect_err(gw.client.list_objects().bucket("ghost").send().await, 404, "NoSuchBucket");
    gw.stop().await;
}
