//! Buckets and whole objects: create/list/delete buckets, PUT and GET of sizes from empty to
//! several MiB (ETag = MD5), HEAD, DeleteObject and DeleteObjects, CopyObject (including a copy
//! onto itself with `REPLACE`).

use anyhow::ensure;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, MetadataDirective, ObjectIdentifier};

use super::support::*;
use crate::target::Target;

pub async fn buckets(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let name = t.bucket_name("buckets");
    ok(
        c.create_bucket().bucket(&name).send().await,
        "create bucket",
    )?;
    ok(c.head_bucket().bucket(&name).send().await, "head bucket")?;
    let listed = ok(c.list_buckets().send().await, "list buckets")?;
    ensure!(
        listed
            .buckets()
            .iter()
            .any(|b| b.name() == Some(name.as_str())),
        "ListBuckets does not show {name}"
    );
    let location = ok(
        c.get_bucket_location().bucket(&name).send().await,
        "get bucket location",
    )?;
    if t.region == "us-east-1" {
        ensure!(
            location
                .location_constraint()
                .is_none_or(|l| l.as_str().is_empty()),
            "us-east-1 buckets have an empty LocationConstraint, got {:?}",
            location.location_constraint()
        );
    }
    ok(
        c.delete_bucket().bucket(&name).send().await,
        "delete bucket",
    )?;
    expect_status(
        c.head_bucket().bucket(&name).send().await,
        404,
        "head deleted bucket",
    )?;
    let listed = ok(c.list_buckets().send().await, "list buckets")?;
    ensure!(
        !listed
            .buckets()
            .iter()
            .any(|b| b.name() == Some(name.as_str())),
        "deleted bucket {name} is still listed"
    );
    Ok(())
}

pub async fn put_get(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("objects").await?;
    // Empty, tiny, around 16 KiB (a common inline threshold), and several MiB.
    for (i, size) in [0, 1, 16 * KIB, 16 * KIB + 1, 300 * KIB, 9 * MIB + 5]
        .into_iter()
        .enumerate()
    {
        let key = format!("obj-{size}");
        let bytes = data(100 + i as u64, size);
        let put = ok(
            c.put_object()
                .bucket(&bucket)
                .key(&key)
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await,
            &format!("put {size} bytes"),
        )?;
        ensure!(
            put.e_tag() == Some(etag_of(&bytes).as_str()),
            "PUT ETag of {size} bytes: got {:?}, want {}",
            put.e_tag(),
            etag_of(&bytes)
        );
        let get = ok(
            c.get_object().bucket(&bucket).key(&key).send().await,
            &format!("get {key}"),
        )?;
        ensure!(
            get.content_length() == Some(size as i64),
            "GET Content-Length of {key}"
        );
        ensure!(
            get.e_tag() == Some(etag_of(&bytes).as_str()),
            "GET ETag of {key}"
        );
        ensure_bytes(&body(get).await?, &bytes, &key)?;
    }
    // Overwrite: the new body wins.
    let newer = data(199, 40 * KIB);
    ok(
        c.put_object()
            .bucket(&bucket)
            .key("obj-1")
            .body(ByteStream::from(newer.clone()))
            .send()
            .await,
        "overwrite",
    )?;
    let got = body(ok(
        c.get_object().bucket(&bucket).key("obj-1").send().await,
        "get overwritten",
    )?)
    .await?;
    ensure_bytes(&got, &newer, "overwritten object")
}

pub async fn head(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("head").await?;
    let bytes = data(201, 70 * KIB + 3);
    ok(
        c.put_object()
            .bucket(&bucket)
            .key("h")
            .content_type("application/x-floe-test")
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await,
        "put",
    )?;
    let head = ok(
        c.head_object().bucket(&bucket).key("h").send().await,
        "head",
    )?;
    ensure!(
        head.content_length() == Some(bytes.len() as i64),
        "HEAD Content-Length: {:?}",
        head.content_length()
    );
    ensure!(
        head.e_tag() == Some(etag_of(&bytes).as_str()),
        "HEAD ETag: {:?}",
        head.e_tag()
    );
    ensure!(
        head.content_type() == Some("application/x-floe-test"),
        "HEAD Content-Type: {:?}",
        head.content_type()
    );
    ensure!(head.last_modified().is_some(), "HEAD has no Last-Modified");
    expect_status(
        c.head_object().bucket(&bucket).key("missing").send().await,
        404,
        "HEAD of a missing key",
    )?;
    Ok(())
}

pub async fn delete(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("delete").await?;
    for i in 0..5 {
        let bytes = data(300 + i, 20 * KIB);
        ok(
            c.put_object()
                .bucket(&bucket)
                .key(format!("d/{i}"))
                .body(ByteStream::from(bytes))
                .send()
                .await,
            "put",
        )?;
    }
    ok(
        c.delete_object().bucket(&bucket).key("d/0").send().await,
        "delete",
    )?;
    expect_err(
        c.get_object().bucket(&bucket).key("d/0").send().await,
        404,
        "NoSuchKey",
        "GET after DELETE",
    )?;
    // Deleting a missing key succeeds (204), as in S3.
    ok(
        c.delete_object()
            .bucket(&bucket)
            .key("d/never")
            .send()
            .await,
        "delete a missing key",
    )?;
    let ids = ["d/1", "d/2", "d/3", "d/missing"]
        .iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build())
        .collect::<Result<Vec<_>, _>>()?;
    let batch = Delete::builder().set_objects(Some(ids)).build()?;
    let out = ok(
        c.delete_objects()
            .bucket(&bucket)
            .delete(batch)
            .send()
            .await,
        "DeleteObjects",
    )?;
    ensure!(
        out.errors().is_empty(),
        "DeleteObjects errors: {:?}",
        out.errors()
    );
    let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    ensure!(
        deleted == ["d/1", "d/2", "d/3", "d/missing"],
        "DeleteObjects reported {deleted:?}"
    );
    let left = ok(c.list_objects_v2().bucket(&bucket).send().await, "list")?;
    let keys: Vec<&str> = left.contents().iter().filter_map(|o| o.key()).collect();
    ensure!(keys == ["d/4"], "after deletes the bucket holds {keys:?}");
    Ok(())
}

pub async fn copy(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("copy").await?;
    let other = t.create_bucket("copy2").await?;
    let bytes = data(401, 5 * MIB + 11);
    ok(
        c.put_object()
            .bucket(&bucket)
            .key("src file")
            .metadata("origin", "conformance")
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await,
        "put source",
    )?;
    let source = format!("{bucket}/{}", url_encode_path("src file"));
    let out = ok(
        c.copy_object()
            .bucket(&other)
            .key("dst/copy")
            .copy_source(&source)
            .send()
            .await,
        "copy to another bucket",
    )?;
    let etag = out
        .copy_object_result()
        .and_then(|r| r.e_tag())
        .map(str::to_owned);
    ensure!(
        etag.as_deref() == Some(etag_of(&bytes).as_str()),
        "CopyObjectResult ETag: {etag:?}"
    );
    let got = ok(
        c.get_object().bucket(&other).key("dst/copy").send().await,
        "get copy",
    )?;
    ensure!(
        got.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str)
            == Some("conformance"),
        "COPY keeps metadata by default: {:?}",
        got.metadata()
    );
    ensure_bytes(&body(got).await?, &bytes, "copied object")?;

    // Onto itself: allowed only with REPLACE, which swaps the metadata and keeps the bytes.
    expect_err(
        c.copy_object()
            .bucket(&bucket)
            .key("src file")
            .copy_source(&source)
            .send()
            .await,
        400,
        "InvalidRequest",
        "copy onto itself without REPLACE",
    )?;
    ok(
        c.copy_object()
            .bucket(&bucket)
            .key("src file")
            .copy_source(&source)
            .metadata_directive(MetadataDirective::Replace)
            .metadata("origin", "replaced")
            .send()
            .await,
        "copy onto itself with REPLACE",
    )?;
    let got = ok(
        c.get_object().bucket(&bucket).key("src file").send().await,
        "get replaced",
    )?;
    ensure!(
        got.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str)
            == Some("replaced"),
        "REPLACE metadata: {:?}",
        got.metadata()
    );
    ensure_bytes(&body(got).await?, &bytes, "object copied onto itself")
}
