//! Multipart uploads: three parts (5 MiB, 5 MiB + 1, a small last one) uploaded out of order,
//! ListParts, completion with the `md5-of-md5s-N` ETag, a byte-exact read, `?partNumber=N`
//! reads; ListMultipartUploads and AbortMultipartUpload.

use anyhow::ensure;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::support::*;
use crate::target::Target;

/// Uploads `parts` (numbered from 1, sent in reverse order) and returns their CompletedParts.
pub async fn upload_parts(
    c: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &[&[u8]],
) -> anyhow::Result<Vec<CompletedPart>> {
    let mut done = Vec::new();
    for (i, part) in parts.iter().enumerate().rev() {
        let n = i as i32 + 1;
        let out = ok(
            c.upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(n)
                .body(ByteStream::from(part.to_vec()))
                .send()
                .await,
            &format!("upload part {n}"),
        )?;
        ensure!(
            out.e_tag() == Some(etag_of(part).as_str()),
            "part {n} ETag: got {:?}, want {}",
            out.e_tag(),
            etag_of(part)
        );
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build(),
        );
    }
    done.reverse();
    Ok(done)
}

pub async fn upload(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("multipart").await?;
    let key = "big/multi part.bin";
    let (p1, p2, p3) = (
        data(601, 5 * MIB),
        data(602, 5 * MIB + 1),
        data(603, 123 * KIB),
    );
    let parts: [&[u8]; 3] = [&p1, &p2, &p3];
    let create = ok(
        c.create_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .content_type("application/octet-stream")
            .metadata("kind", "multipart")
            .send()
            .await,
        "create upload",
    )?;
    let id = create.upload_id().unwrap_or_default().to_string();
    ensure!(!id.is_empty(), "CreateMultipartUpload returned no UploadId");
    let done = upload_parts(&c, &bucket, key, &id, &parts).await?;

    let listed = ok(
        c.list_parts()
            .bucket(&bucket)
            .key(key)
            .upload_id(&id)
            .send()
            .await,
        "list parts",
    )?;
    let seen: Vec<(Option<i32>, Option<i64>)> = listed
        .parts()
        .iter()
        .map(|p| (p.part_number(), p.size()))
        .collect();
    let want: Vec<(Option<i32>, Option<i64>)> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| (Some(i as i32 + 1), Some(p.len() as i64)))
        .collect();
    ensure!(seen == want, "ListParts: got {seen:?}, want {want:?}");

    let complete = ok(
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .send()
            .await,
        "complete",
    )?;
    let want_etag = multipart_etag(&parts);
    ensure!(
        complete.e_tag() == Some(want_etag.as_str()),
        "completed ETag: got {:?}, want {want_etag}",
        complete.e_tag()
    );
    let whole = [p1.as_slice(), &p2, &p3].concat();
    let get = ok(c.get_object().bucket(&bucket).key(key).send().await, "get")?;
    ensure!(
        get.e_tag() == Some(want_etag.as_str()),
        "GET ETag {:?}",
        get.e_tag()
    );
    ensure!(
        get.metadata()
            .and_then(|m| m.get("kind"))
            .map(String::as_str)
            == Some("multipart"),
        "metadata from CreateMultipartUpload: {:?}",
        get.metadata()
    );
    ensure_bytes(&body(get).await?, &whole, "completed object")?;

    // One part at a time, with the part count.
    let part2 = ok(
        c.get_object()
            .bucket(&bucket)
            .key(key)
            .part_number(2)
            .send()
            .await,
        "get part 2",
    )?;
    ensure!(
        part2.parts_count() == Some(3),
        "x-amz-mp-parts-count: {:?}",
        part2.parts_count()
    );
    ensure!(
        part2.content_length() == Some(p2.len() as i64),
        "part 2 length {:?}",
        part2.content_length()
    );
    ensure_bytes(&body(part2).await?, &p2, "part 2")?;
    let head = ok(
        c.head_object()
            .bucket(&bucket)
            .key(key)
            .part_number(3)
            .send()
            .await,
        "head part 3",
    )?;
    ensure!(
        head.content_length() == Some(p3.len() as i64),
        "HEAD part 3 length {:?}",
        head.content_length()
    );

    // The finished upload is gone.
    expect_err(
        c.list_parts()
            .bucket(&bucket)
            .key(key)
            .upload_id(&id)
            .send()
            .await,
        404,
        "NoSuchUpload",
        "ListParts after completion",
    )
}

pub async fn list_and_abort(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("uploads").await?;
    let mut ids = Vec::new();
    for key in ["u/one", "u/two"] {
        let create = ok(
            c.create_multipart_upload()
                .bucket(&bucket)
                .key(key)
                .send()
                .await,
            "create",
        )?;
        ids.push(create.upload_id().unwrap_or_default().to_string());
    }
    let part = data(611, 64 * KIB);
    upload_parts(&c, &bucket, "u/one", &ids[0], &[&part]).await?;
    let listed = ok(
        c.list_multipart_uploads().bucket(&bucket).send().await,
        "list uploads",
    )?;
    let mut seen: Vec<(String, String)> = listed
        .uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap_or_default().into(),
                u.upload_id().unwrap_or_default().into(),
            )
        })
        .collect();
    seen.sort();
    let want = vec![
        ("u/one".to_string(), ids[0].clone()),
        ("u/two".to_string(), ids[1].clone()),
    ];
    ensure!(seen == want, "ListMultipartUploads: {seen:?}");
    // An upload in progress is not an object.
    expect_err(
        c.get_object().bucket(&bucket).key("u/one").send().await,
        404,
        "NoSuchKey",
        "GET of an open upload",
    )?;

    ok(
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("u/one")
            .upload_id(&ids[0])
            .send()
            .await,
        "abort",
    )?;
    expect_err(
        c.list_parts()
            .bucket(&bucket)
            .key("u/one")
            .upload_id(&ids[0])
            .send()
            .await,
        404,
        "NoSuchUpload",
        "ListParts after abort",
    )?;
    let listed = ok(
        c.list_multipart_uploads().bucket(&bucket).send().await,
        "list uploads",
    )?;
    let keys: Vec<&str> = listed.uploads().iter().filter_map(|u| u.key()).collect();
    ensure!(keys == ["u/two"], "uploads after abort: {keys:?}");
    ok(
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("u/two")
            .upload_id(&ids[1])
            .send()
            .await,
        "abort",
    )?;
    let objects = ok(
        c.list_objects_v2().bucket(&bucket).send().await,
        "list objects",
    )?;
    ensure!(
        objects.contents().is_empty(),
        "aborted uploads left objects: {:?}",
        objects.contents()
    );
    Ok(())
}
