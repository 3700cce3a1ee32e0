//! Object tagging: Put/Get/DeleteObjectTagging, `x-amz-tagging` on PutObject and
//! CreateMultipartUpload, `x-amz-tagging-count` on GetObject, overwrite drops tags, and invalid
//! tag sets.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging};

use crate::s3_api::harness::*;

fn tag_set(pairs: &[(&str, &str)]) -> Tagging {
    let tags = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
        .collect();
    Tagging::builder().set_tag_set(Some(tags)).build().unwrap()
}

async fn tags_of(gw: &TestGateway, bucket: &str, key: &str) -> Vec<(String, String)> {
    let out = ok(
        gw.client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await,
        "get tagging",
    );
    let mut tags: Vec<(String, String)> = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    tags
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_delete_tagging() {
    let gw = TestGateway::start().await;
    gw.create_bucket("tags").await;
    gw.put("tags", "k", b"tagged").await;
    assert_eq!(tags_of(&gw, "tags", "k").await, pairs(&[]));

    let set = [
        ("project", "floe"),
        ("tier", "hot data"),
        ("unicode", "é☕"),
    ];
    ok(
        gw.client
            .put_object_tagging()
            .bucket("tags")
            .key("k")
            .tagging(tag_set(&set))
            .send()
            .await,
        "put tagging",
    );
    assert_eq!(tags_of(&gw, "tags", "k").await, pairs(&set));
    let get = ok(
        gw.client.get_object().bucket("tags").key("k").send().await,
        "get",
    );
    assert_eq!(get.tag_count(), Some(3));
    assert_eq!(
        body(get).await,
        b"tagged",
        "tagging does not touch the bytes"
    );

    // Putting a tag set replaces the whole set.
    let set2 = [("only", "one")];
    ok(
        gw.client
            .put_object_tagging()
            .bucket("tags")
            .key("k")
            .tagging(tag_set(&set2))
            .send()
            .await,
        "replace tagging",
    );
    assert_eq!(tags_of(&gw, "tags", "k").await, pairs(&set2));

    ok(
        gw.client
            .delete_object_tagging()
            .bucket("tags")
            .key("k")
            .send()
            .await,
        "delete tagging",
    );
    assert_eq!(tags_of(&gw, "tags", "k").await, pairs(&[]));
    let get = ok(
        gw.client.get_object().bucket("tags").key("k").send().await,
        "get",
    );
    assert!(
        get.tag_count().is_none_or(|n| n == 0),
        "{:?}",
        get.tag_count()
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagging_header_on_put() {
    let gw = TestGateway::start().await;
    gw.create_bucket("tags").await;
    ok(
        gw.client
            .put_object()
            .bucket("tags")
            .key("k")
            .tagging("a=1&b=two%20words&empty=")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "put with x-amz-tagging",
    );
    assert_eq!(
        tags_of(&gw, "tags", "k").await,
        pairs(&[("a", "1"), ("b", "two words"), ("empty", "")])
    );
    let get = ok(
        gw.client.get_object().bucket("tags").key("k").send().await,
        "get",
    );
    assert_eq!(get.tag_count(), Some(3));

    // An overwrite without tags leaves the new object untagged.
    gw.put("tags", "k", b"y").await;
    assert_eq!(tags_of(&gw, "tags", "k").await, pairs(&[]));

    // Multipart uploads take x-amz-tagging at creation.
    let create = gw
        .client
        .create_multipart_upload()
        .bucket("tags")
        .key("mp")
        .tagging("stage=raw");
    let id = ok(create.send().await, "create")
        .upload_id()
        .unwrap()
        .to_string();
    let part = gw
        .client
        .upload_part()
        .bucket("tags")
        .key("mp")
        .upload_id(&id)
        .part_number(1);
    let part = ok(
        part.body(ByteStream::from_static(b"p")).send().await,
        "part",
    );
    let parts = aws_sdk_s3::types::CompletedMultipartUpload::builder()
        .parts(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().unwrap())
                .build(),
        )
        .build();
    let done = gw
        .client
        .complete_multipart_upload()
        .bucket("tags")
        .key("mp")
        .upload_id(&id);
    ok(done.multipart_upload(parts).send().await, "complete");
    assert_eq!(tags_of(&gw, "tags", "mp").await, pairs(&[("stage", "raw")]));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagging_missing_object() {
    let gw = TestGateway::start().await;
    gw.create_bucket("tags").await;
    let get = gw
        .client
        .get_object_tagging()
        .bucket("tags")
        .key("none")
        .send()
        .await;
    expect_err(get, 404, "NoSuchKey");
    let put = gw
        .client
        .put_object_tagging()
        .bucket("tags")
        .key("none")
        .tagging(tag_set(&[("a", "b")]))
        .send()
        .await;
    expect_err(put, 404, "NoSuchKey");
    let del = gw
        .client
        .delete_object_tagging()
        .bucket("tags")
        .key("none")
        .send()
        .await;
    expect_err(del, 404, "NoSuchKey");
    let get = gw
        .client
        .get_object_tagging()
        .bucket("ghost")
        .key("none")
        .send()
        .await;
    expect_err(get, 404, "NoSuchBucket");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_tag_sets() {
    let gw = TestGateway::start().await;
    gw.create_bucket("tags").await;
    gw.put("tags", "k", b"x").await;
    let put = |t: Tagging| {
        gw.client
            .put_object_tagging()
            .bucket("tags")
            .key("k")
            .tagging(t)
            .send()
    };
    // The same key twice.
    expect_err(
        put(tag_set(&[("dup", "1"), ("dup", "2")])).await,
        400,
        "InvalidTag",
    );
    // A key longer than 128 characters, a value longer than 256.
    let long_key = "k".repeat(129);
    expect_err(
        put(tag_set(&[(long_key.as_str(), "v")])).await,
        400,
        "InvalidTag",
    );
    let long_value = "v".repeat(257);
    expect_err(
        put(tag_set(&[("k", long_value.as_str())])).await,
        400,
        "InvalidTag",
    );
    // More than 10 tags on an object ("Object tags cannot be greater than 10").
    let names: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let eleven: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    expect_err(put(tag_set(&eleven)).await, 400, "BadRequest");
    // Nothing was applied.
    assert_eq!(tags_of(&gw, "tags", "k").await, pairs(&[]));
    // Ten tags are fine.
    ok(put(tag_set(&eleven[..10])).await, "ten tags");
    gw.stop().await;
}
