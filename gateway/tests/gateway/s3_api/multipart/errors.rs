//! Multipart errors: EntityTooSmall, InvalidPart, InvalidPartOrder, MalformedXML (no parts),
//! NoSuchUpload for unknown, foreign-key and aborted upload ids.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::CompletedMultipartUpload;

use super::{completed, create, part};
use crate::s3_api::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_last_part_too_small() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("mpu").await;
    let id = create(c, "mpu", "small").await;
    let e1 = part(c, "mpu", "small", &id, 1, &data(47, 5 * MIB - 1)).await;
    let e2 = part(c, "mpu", "small", &id, 2, &data(48, KIB)).await;
    let complete = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("small")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, &e1), (2, &e2)]))
        .send()
        .await;
    expect_err(complete, 400, "EntityTooSmall");
    expect_err(
        c.get_object().bucket("mpu").key("small").send().await,
        404,
        "NoSuchKey",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_parts_and_order() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("mpu").await;
    let id = create(c, "mpu", "bad").await;
    let e1 = part(c, "mpu", "bad", &id, 1, &data(49, 5 * MIB)).await;
    let e2 = part(c, "mpu", "bad", &id, 2, &data(50, 5 * MIB)).await;
    let complete = |parts: CompletedMultipartUpload| {
        c.complete_multipart_upload()
            .bucket("mpu")
            .key("bad")
            .upload_id(&id)
            .multipart_upload(parts)
            .send()
    };
    let wrong = etag_of(b"not this part");
    expect_err(
        complete(completed(&[(1, &e1), (2, &wrong)])).await,
        400,
        "InvalidPart",
    );
    // A part that was never uploaded.
    expect_err(
        complete(completed(&[(1, &e1), (3, &e2)])).await,
        400,
        "InvalidPart",
    );
    expect_err(
        complete(completed(&[(2, &e2), (1, &e1)])).await,
        400,
        "InvalidPartOrder",
    );
    // No parts at all.
    let empty = CompletedMultipartUpload::builder().build();
    expect_err(complete(empty).await, 400, "MalformedXML");
    // The failed attempts left the upload intact: completing properly still works.
    ok(
        complete(completed(&[(1, &e1), (2, &e2)])).await,
        "complete after errors",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_upload_id() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("mpu").await;
    let bogus = "bm90LWFuLXVwbG9hZA";
    let up = c
        .upload_part()
        .bucket("mpu")
        .key("k")
        .upload_id(bogus)
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    expect_err(up, 404, "NoSuchUpload");
    let done = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("k")
        .upload_id(bogus)
        .multipart_upload(completed(&[(1, &etag_of(b"x"))]))
        .send()
        .await;
    expect_err(done, 404, "NoSuchUpload");
    let lp = c
        .list_parts()
        .bucket("mpu")
        .key("k")
        .upload_id(bogus)
        .send()
        .await;
    expect_err(lp, 404, "NoSuchUpload");
    let abort = c
        .abort_multipart_upload()
        .bucket("mpu")
        .key("k")
        .upload_id(bogus)
        .send()
        .await;
    expect_err(abort, 404, "NoSuchUpload");
    // An upload id is bound to its key.
    let id = create(c, "mpu", "real").await;
    let up = c
        .upload_part()
        .bucket("mpu")
        .key("other")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    expect_err(up, 404, "NoSuchUpload");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_then_use() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("mpu").await;
    let id = create(c, "mpu", "aborted").await;
    let e1 = part(c, "mpu", "aborted", &id, 1, &data(51, 5 * MIB)).await;
    ok(
        c.abort_multipart_upload()
            .bucket("mpu")
            .key("aborted")
            .upload_id(&id)
            .send()
            .await,
        "abort",
    );
    let lp = c
        .list_parts()
        .bucket("mpu")
        .key("aborted")
        .upload_id(&id)
        .send()
        .await;
    expect_err(lp, 404, "NoSuchUpload");
    let up = c
        .upload_part()
        .bucket("mpu")
        .key("aborted")
        .upload_id(&id)
        .part_number(2)
        .body(ByteStream::from_static(b"late"))
        .send()
        .await;
    expect_err(up, 404, "NoSuchUpload");
    let done = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("aborted")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, &e1)]))
        .send()
        .await;
    expect_err(done, 404, "NoSuchUpload");
    let uploads = ok(
        c.list_multipart_uploads().bucket("mpu").send().await,
        "list uploads",
    );
    assert!(uploads.uploads().is_empty());
    expect_err(
        c.get_object().bucket("mpu").key("aborted").send().await,
        404,
        "NoSuchKey",
    );
    gw.stop().await;
}
