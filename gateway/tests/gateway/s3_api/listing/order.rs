//! Listing encodings and order: `encoding-type=url` (keys, prefixes, delimiter, start-after; V2
//! and V1), UTF-8 byte order with `a/b` and `a/b/c` coexisting, and ListObjects V1's marker and
//! NextMarker (only with a delimiter).

use aws_sdk_s3::types::EncodingType;

use super::{put_all, strings};
use crate::s3_api::harness::*;

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
        gw.client
            .list_objects_v2()
            .bucket("enc")
            .encoding_type(EncodingType::Url)
            .send()
            .await,
        "list url-encoded",
    );
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    let raw: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    for key in &raw {
        assert!(
            key.is_ascii() && !key.contains(' '),
            "{key:?} is not URL-encoded"
        );
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
    let prefixes: Vec<String> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .map(url_decode)
        .collect();
    let keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .map(url_decode)
        .collect();
    assert_eq!(prefixes, ["café/naïve "]);
    assert_eq!(keys, ["café/plain"]);

    // V1 as well.
    let v1 = ok(
        gw.client
            .list_objects()
            .bucket("enc")
            .prefix("space")
            .encoding_type(EncodingType::Url)
            .send()
            .await,
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
    let keys = strings(&[
        "z",
        "é",
        "a/b/c",
        "\u{1F600}",
        "a",
        "b",
        "a/b",
        "\u{FF61}",
        "Z",
        "~",
    ]);
    put_all(&gw, "order", &keys).await;
    let out = ok(
        gw.client.list_objects_v2().bucket("order").send().await,
        "list",
    );
    let got: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        got,
        [
            "Z",
            "a",
            "a/b",
            "a/b/c",
            "b",
            "z",
            "~",
            "é",
            "\u{FF61}",
            "\u{1F600}"
        ]
    );
    // "a/b" and "a/b/c" are both objects.
    assert_eq!(gw.get("order", "a/b").await, b"a/b");
    assert_eq!(gw.get("order", "a/b/c").await, b"a/b/c");
    let nested = ok(
        gw.client
            .list_objects_v2()
            .bucket("order")
            .prefix("a/b")
            .delimiter("/")
            .send()
            .await,
        "nested",
    );
    let got: Vec<&str> = nested.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = nested
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(got, ["a/b"]);
    assert_eq!(prefixes, ["a/b/"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_marker_and_next_marker() {
    let gw = TestGateway::start().await;
    gw.create_bucket("listv1").await;
    let keys: Vec<String> = (0..10)
        .map(|i| format!("k{i}"))
        .chain((0..4).map(|i| format!("p{i}/x")))
        .collect();
    put_all(&gw, "listv1", &keys).await;
    let v1 = || gw.client.list_objects().bucket("listv1");

    let page = ok(v1().max_keys(4).send().await, "v1 page");
    let got: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["k0", "k1", "k2", "k3"]);
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(
        page.next_marker(),
        None,
        "no NextMarker without a delimiter"
    );

    let page = ok(v1().marker("k3").max_keys(4).send().await, "v1 marker");
    let got: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, ["k4", "k5", "k6", "k7"]);
    assert_eq!(page.marker(), Some("k3"));

    // With a delimiter, NextMarker is the last key or prefix returned while truncated.
    let page = ok(
        v1().delimiter("/").marker("k7").max_keys(3).send().await,
        "v1 delimiter",
    );
    let got: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(got, ["k8", "k9"]);
    assert_eq!(prefixes, ["p0/"]);
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_marker(), Some("p0/"));
    let page = ok(
        v1().delimiter("/").marker("p0/").max_keys(3).send().await,
        "v1 after prefix",
    );
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["p1/", "p2/", "p3/"]);
    assert!(page.contents().is_empty());
    // The last page is not truncated and has no NextMarker.
    assert_eq!(page.is_truncated(), Some(false));
    assert_eq!(page.next_marker(), None);
    gw.stop().await;
}
