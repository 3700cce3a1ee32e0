//! Multipart uploads: the full flow (create, parts, ListParts, ListMultipartUploads, complete,
//! `md5-of-md5s-N` ETag, read back), part ETags quoted or not, re-uploaded parts, uploads by
//! prefix, and UploadPartCopy. The error cases are in `errors`.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::s3_api::harness::*;

mod errors;

async fn create(c: &Client, bucket: &str, key: &str) -> String {
    let out = ok(
        c.create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await,
        "create upload",
    );
    assert_eq!(out.bucket(), Some(bucket));
    assert_eq!(out.key(), Some(key));
    out.upload_id().expect("upload id").to_string()
}

/// Uploads one part (SDK default checksum) and returns its quoted ETag.
async fn part(c: &Client, bucket: &str, key: &str, id: &str, n: i32, body: &[u8]) -> String {
    let out = ok(
        c.upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await,
        &format!("upload part {n}"),
    );
    out.e_tag().expect("part ETag").to_string()
}

fn completed(parts: &[(i32, &str)]) -> CompletedMultipartUpload {
    let parts = parts
        .iter()
        .map(|(n, etag)| {
            CompletedPart::builder()
                .part_number(*n)
                .e_tag(*etag)
                .build()
        })
        .collect();
    CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("mpu").await;
    let id = ok(
        c.create_multipart_upload()
            .bucket("mpu")
            .key("obj")
            .content_type("video/mp4")
            .send()
            .await,
        "create",
    )
    .upload_id()
    .unwrap()
    .to_string();
    let bodies = [data(41, 5 * MIB), data(42, 5 * MIB), data(43, KIB)];
    let mut etags = Vec::new();
    for (i, b) in bodies.iter().enumerate() {
        let etag = part(c, "mpu", "obj", &id, i as i32 + 1, b).await;
        assert_eq!(etag, etag_of(b), "part ETag is the part's MD5");
        etags.push(etag);
    }

    let parts = ok(
        c.list_parts()
            .bucket("mpu")
            .key("obj")
            .upload_id(&id)
            .send()
            .await,
        "list parts",
    );
    assert_eq!(parts.upload_id(), Some(id.as_str()));
    let listed: Vec<(Option<i32>, Option<&str>, Option<i64>)> = parts
        .parts()
        .iter()
        .map(|p| (p.part_number(), p.e_tag(), p.size()))
        .collect();
    let want: Vec<_> = (0..3)
        .map(|i| {
            (
                Some(i as i32 + 1),
                Some(etags[i].as_str()),
                Some(bodies[i].len() as i64),
            )
        })
        .collect();
    assert_eq!(listed, want);
    assert_eq!(parts.is_truncated(), Some(false));

    let uploads = ok(
        c.list_multipart_uploads().bucket("mpu").send().await,
        "list uploads",
    );
    let found: Vec<(Option<&str>, Option<&str>)> = uploads
        .uploads()
        .iter()
        .map(|u| (u.key(), u.upload_id()))
        .collect();
    assert_eq!(found, [(Some("obj"), Some(id.as_str()))]);
    // The object does not exist until completion.
    expect_err(
        c.get_object().bucket("mpu").key("obj").send().await,
        404,
        "NoSuchKey",
    );

    let refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_slice()).collect();
    let done = ok(
        c.complete_multipart_upload()
            .bucket("mpu")
            .key("obj")
            .upload_id(&id)
            .multipart_upload(completed(&[(1, &etags[0]), (2, &etags[1]), (3, &etags[2])]))
            .send()
            .await,
        "complete",
    );
    let want_etag = multipart_etag(&refs);
    assert_eq!(done.e_tag(), Some(want_etag.as_str()));
    assert_eq!(done.key(), Some("obj"));
    assert_eq!(done.bucket(), Some("mpu"));

    let out = ok(c.get_object().bucket("mpu").key("obj").send().await, "get");
    assert_eq!(out.e_tag(), Some(want_etag.as_str()));
    assert_eq!(out.content_type(), Some("video/mp4"));
    assert_eq!(out.content_length(), Some((10 * MIB + KIB) as i64));
    assert_bytes(&body(out).await, &refs.concat(), "completed object");
    let head = ok(
        c.head_object().bucket("mpu").key("obj").send().await,
        "head",
    );
    assert_eq!(head.e_tag(), Some(want_etag.as_str()));

    // The upload is gone.
    let uploads = ok(
        c.list_multipart_uploads().bucket("mpu").send().await,
        "list uploads",
    );
    assert!(uploads.uploads().is_empty(), "{uploads:?}");
    let lp = c
        .list_parts()
        .bucket("mpu")
        .key("obj")
        .upload_id(&id)
        .send()
        .await;
    expect_err(lp, 404, "NoSuchUpload");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_etags_quoted_or_unquoted_and_reuploaded_parts() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("mpu").await;
    let id = create(c, "mpu", "q").await;
    let first_try = data(44, 5 * MIB);
    part(c, "mpu", "q", &id, 1, &first_try).await;
    // Uploading a part number again replaces the part.
    let p1 = data(45, 5 * MIB);
    let p2 = data(46, 300);
    let e1 = part(c, "mpu", "q", &id, 1, &p1).await;
    let e2 = part(c, "mpu", "q", &id, 2, &p2).await;
    let unquoted = e1.trim_matches('"').to_string();
    let done = ok(
        c.complete_multipart_upload()
            .bucket("mpu")
            .key("q")
            .upload_id(&id)
            .multipart_upload(completed(&[(1, &unquoted), (2, &e2)]))
            .send()
            .await,
        "complete with an unquoted ETag",
    );
    assert_eq!(done.e_tag(), Some(multipart_etag(&[&p1, &p2]).as_str()));
    assert_bytes(&gw.get("mpu", "q").await, &[p1, p2].concat(), "object");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_uploads_by_prefix() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("mpu").await;
    let a1 = create(c, "mpu", "logs/a").await;
    let a2 = create(c, "mpu", "logs/a").await;
    let b = create(c, "mpu", "other/b").await;
    assert_ne!(a1, a2, "two uploads of one key get distinct ids");
    let out = ok(
        c.list_multipart_uploads()
            .bucket("mpu")
            .prefix("logs/")
            .send()
            .await,
        "list",
    );
    let mut ids: Vec<&str> = out.uploads().iter().filter_map(|u| u.upload_id()).collect();
    ids.sort();
    let mut want = vec![a1.as_str(), a2.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert!(out.uploads().iter().all(|u| u.key() == Some("logs/a")));
    let all = ok(
        c.list_multipart_uploads().bucket("mpu").send().await,
        "list all",
    );
    let keys: Vec<&str> = all.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["logs/a", "logs/a", "other/b"], "uploads sort by key");
    assert!(
        all.uploads()
            .iter()
            .any(|u| u.upload_id() == Some(b.as_str()))
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_copy() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("src").await;
    gw.create_bucket("mpu").await;
    let source = data(52, 6 * MIB + 5);
    gw.put("src", "dir/source object", &source).await;
    let copy_source = format!("src/{}", url_encode_path("dir/source object"));

    let id = create(c, "mpu", "copied").await;
    let whole = ok(
        c.upload_part_copy()
            .bucket("mpu")
            .key("copied")
            .upload_id(&id)
            .part_number(1)
            .copy_source(&copy_source)
            .send()
            .await,
        "upload part copy",
    );
    let e1 = whole
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .expect("part ETag")
        .to_string();
    assert_eq!(e1, etag_of(&source));
    // Every part but the last must be at least 5 MiB: a 5 MiB range across the 4 MiB chunk edge.
    let first = 100;
    let last = 5 * MIB + 99;
    let ranged = ok(
        c.upload_part_copy()
            .bucket("mpu")
            .key("copied")
            .upload_id(&id)
            .part_number(2)
            .copy_source(&copy_source)
            .copy_source_range(format!("bytes={first}-{last}"))
            .send()
            .await,
        "upload part copy with range",
    );
    let slice = &source[first..=last];
    let e2 = ranged
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .expect("part ETag")
        .to_string();
    assert_eq!(e2, etag_of(slice));
    let e3 = part(c, "mpu", "copied", &id, 3, b"tail").await;

    let parts = ok(
        c.list_parts()
            .bucket("mpu")
            .key("copied")
            .upload_id(&id)
            .send()
            .await,
        "list",
    );
    let sizes: Vec<Option<i64>> = parts.parts().iter().map(|p| p.size()).collect();
    assert_eq!(
        sizes,
        [Some(source.len() as i64), Some(slice.len() as i64), Some(4)]
    );

    let done = ok(
        c.complete_multipart_upload()
            .bucket("mpu")
            .key("copied")
            .upload_id(&id)
            .multipart_upload(completed(&[(1, &e1), (2, &e2), (3, &e3)]))
            .send()
            .await,
        "complete",
    );
    assert_eq!(
        done.e_tag(),
        Some(multipart_etag(&[&source, slice, b"tail"]).as_str())
    );
    let want = [source.as_slice(), slice, b"tail"].concat();
    assert_bytes(
        &gw.get("mpu", "copied").await,
        &want,
        "object built by copy",
    );

    // A range past the end of the source is refused ("Range specified is not valid for source
    // object of size: N").
    let id = create(c, "mpu", "bad-range").await;
    let bad = c
        .upload_part_copy()
        .bucket("mpu")
        .key("bad-range")
        .upload_id(&id)
        .part_number(1)
        .copy_source(&copy_source)
        .copy_source_range(format!("bytes=0-{}", source.len()))
        .send()
        .await;
    expect_err(bad, 400, "InvalidArgument");
    gw.stop().await;
}
