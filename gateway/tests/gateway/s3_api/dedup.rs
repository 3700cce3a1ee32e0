//! Content-addressed storage seen from S3: identical bodies share chunks, so deleting,
//! overwriting or aborting one user of a chunk must never hurt another, and the chunk cache must
//! never serve an object's old bytes after an overwrite.

use aws_sdk_s3::primitives::ByteStream;

use crate::s3_api::harness::*;

/// blake3 of what a GET returns, compared with the expected bytes' hash.
#[track_caller]
fn same_hash(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(
        blake3::hash(got),
        blake3::hash(want),
        "{what}: {} vs {} bytes",
        got.len(),
        want.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_objects_survive_each_others_delete() {
    let gw = TestGateway::start().await;
    gw.create_bucket("dedup").await;
    gw.create_bucket("dedup2").await;
    let body_bytes = data(101, 9 * MIB);
    gw.put("dedup", "one", &body_bytes).await;
    gw.put("dedup", "two", &body_bytes).await;
    gw.put("dedup2", "three", &body_bytes).await;
    ok(
        gw.client
            .delete_object()
            .bucket("dedup")
            .key("one")
            .send()
            .await,
        "delete one",
    );
    same_hash(
        &gw.get("dedup", "two").await,
        &body_bytes,
        "two after deleting one",
    );
    ok(
        gw.client
            .delete_object()
            .bucket("dedup")
            .key("two")
            .send()
            .await,
        "delete two",
    );
    same_hash(
        &gw.get("dedup2", "three").await,
        &body_bytes,
        "three after deleting two",
    );
    // Putting the same content again after all but one copy went away.
    gw.put("dedup", "four", &body_bytes).await;
    ok(
        gw.client
            .delete_object()
            .bucket("dedup2")
            .key("three")
            .send()
            .await,
        "delete three",
    );
    same_hash(&gw.get("dedup", "four").await, &body_bytes, "four");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_with_same_content_then_delete_other() {
    let gw = TestGateway::start().await;
    gw.create_bucket("dedup").await;
    let body_bytes = data(102, 5 * MIB);
    gw.put("dedup", "x", &body_bytes).await;
    gw.put("dedup", "y", &body_bytes).await;
    // Overwriting x with its own content must not drop the shared chunks' references.
    gw.put("dedup", "x", &body_bytes).await;
    ok(
        gw.client
            .delete_object()
            .bucket("dedup")
            .key("x")
            .send()
            .await,
        "delete x",
    );
    expect_err(
        gw.client.get_object().bucket("dedup").key("x").send().await,
        404,
        "NoSuchKey",
    );
    same_hash(&gw.get("dedup", "y").await, &body_bytes, "y");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_and_single_put_share_chunks() {
    let gw = TestGateway::start().await;
    gw.create_bucket("dedup").await;
    // 8 MiB + 1 MiB parts cut the same 4 MiB chunks as one 9 MiB PUT.
    let body_bytes = data(103, 9 * MIB);
    let (p1, p2) = body_bytes.split_at(8 * MIB);
    gw.put("dedup", "single", &body_bytes).await;
    gw.multipart("dedup", "multi", &[p1, p2]).await;
    ok(
        gw.client
            .delete_object()
            .bucket("dedup")
            .key("single")
            .send()
            .await,
        "delete single",
    );
    same_hash(
        &gw.get("dedup", "multi").await,
        &body_bytes,
        "multipart after deleting the single PUT",
    );
    gw.put("dedup", "single", &body_bytes).await;
    ok(
        gw.client
            .delete_object()
            .bucket("dedup")
            .key("multi")
            .send()
            .await,
        "delete multi",
    );
    same_hash(
        &gw.get("dedup", "single").await,
        &body_bytes,
        "single after deleting the multipart",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_upload_does_not_free_shared_chunks() {
    let gw = TestGateway::start().await;
    gw.create_bucket("dedup").await;
    let body_bytes = data(104, 8 * MIB);
    gw.put("dedup", "kept", &body_bytes).await;
    let c = &gw.client;
    let id = ok(
        c.create_multipart_upload()
            .bucket("dedup")
            .key("aborted")
            .send()
            .await,
        "create",
    )
    .upload_id()
    .unwrap()
    .to_string();
    let part = c
        .upload_part()
        .bucket("dedup")
        .key("aborted")
        .upload_id(&id)
        .part_number(1);
    ok(
        part.body(ByteStream::from(body_bytes.clone())).send().await,
        "part",
    );
    ok(
        c.abort_multipart_upload()
            .bucket("dedup")
            .key("aborted")
            .upload_id(&id)
            .send()
            .await,
        "abort",
    );
    same_hash(
        &gw.get("dedup", "kept").await,
        &body_bytes,
        "object after an aborted twin upload",
    );
    // A replaced part is released, the object sharing its content is not.
    let id = ok(
        c.create_multipart_upload()
            .bucket("dedup")
            .key("redo")
            .send()
            .await,
        "create",
    )
    .upload_id()
    .unwrap()
    .to_string();
    for body_bytes in [body_bytes.clone(), data(105, 5 * MIB)] {
        let part = c
            .upload_part()
            .bucket("dedup")
            .key("redo")
            .upload_id(&id)
            .part_number(1);
        ok(part.body(ByteStream::from(body_bytes)).send().await, "part");
    }
    ok(
        c.abort_multipart_upload()
            .bucket("dedup")
            .key("redo")
            .upload_id(&id)
            .send()
            .await,
        "abort",
    );
    same_hash(
        &gw.get("dedup", "kept").await,
        &body_bytes,
        "object after a replaced twin part",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_never_serves_stale_bytes() {
    let gw = TestGateway::start().await;
    gw.create_bucket("fresh").await;
    // (old, new) sizes: chunked -> chunked, inline -> chunked, chunked -> inline, and a same-size
    // change inside one chunk.
    let cases = [
        (9 * MIB, 9 * MIB + 1),
        (100, 5 * MIB),
        (5 * MIB, 100),
        (6 * MIB, 6 * MIB),
    ];
    for (i, (old_size, new_size)) in cases.into_iter().enumerate() {
        let key = format!("k{i}");
        let old = data(110 + i as u64, old_size);
        let mut new = data(120 + i as u64, new_size);
        if old_size == new_size {
            // Differs only in one byte of the second chunk.
            new = old.clone();
            new[4 * MIB + 7] ^= 0xff;
        }
        gw.put("fresh", &key, &old).await;
        same_hash(&gw.get("fresh", &key).await, &old, "warm read");
        let range = format!("bytes=0-{}", old_size.min(new_size) - 1);
        let ranged = ok(
            gw.client
                .get_object()
                .bucket("fresh")
                .key(&key)
                .range(&range)
                .send()
                .await,
            "warm range",
        );
        body(ranged).await;
        gw.put("fresh", &key, &new).await;
        same_hash(
            &gw.get("fresh", &key).await,
            &new,
            &format!("{key} after overwrite"),
        );
        let ranged = ok(
            gw.client
                .get_object()
                .bucket("fresh")
                .key(&key)
                .range(&range)
                .send()
                .await,
            "range",
        );
        let want = &new[..old_size.min(new_size)];
        same_hash(
            &body(ranged).await,
            want,
            &format!("{key} range after overwrite"),
        );
        let head = ok(
            gw.client
                .head_object()
                .bucket("fresh")
                .key(&key)
                .send()
                .await,
            "head",
        );
        assert_eq!(head.e_tag(), Some(etag_of(&new).as_str()));
        assert_eq!(head.content_length(), Some(new_size as i64));
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_recreate_reads_new_content() {
    let gw = TestGateway::start().await;
    gw.create_bucket("fresh").await;
    let old = data(130, 5 * MIB);
    let new = data(131, 5 * MIB);
    gw.put("fresh", "k", &old).await;
    same_hash(&gw.get("fresh", "k").await, &old, "warm");
    ok(
        gw.client
            .delete_object()
            .bucket("fresh")
            .key("k")
            .send()
            .await,
        "delete",
    );
    expect_err(
        gw.client.get_object().bucket("fresh").key("k").send().await,
        404,
        "NoSuchKey",
    );
    gw.put("fresh", "k", &new).await;
    same_hash(&gw.get("fresh", "k").await, &new, "recreated");
    // And the old content again: still correct after its chunks may have been released.
    gw.put("fresh", "k", &old).await;
    same_hash(&gw.get("fresh", "k").await, &old, "old content again");
    gw.stop().await;
}
