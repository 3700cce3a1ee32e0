//! Flexible checksums, one matrix row per algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256),
//! each in four forms:
//! - single-part, **header**: a precomputed `x-amz-checksum-*` value;
//! - single-part, **trailer**: the SDK computes it and sends it after an `aws-chunked` body (it
//!   does so for streaming bodies, as the AWS CLI and boto3 do for files);
//! - multipart with header values per part, and multipart with trailers per part; the object
//!   checksum is COMPOSITE (`base64(H(part digests))-N`), or FULL_OBJECT for CRC64NVME.
//!
//! An interceptor records the request headers, so each form is checked on the wire too. The
//! server must echo the checksum, return it with `x-amz-checksum-mode: ENABLED` on GET and
//! HEAD, and answer `BadDigest` to a wrong one (`mismatch`).

use anyhow::{Context, ensure};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};

use super::support::*;
use super::wire::Wire;
use crate::target::Target;

/// The `x-amz-checksum-*` field of `algorithm` in any output or part type.
macro_rules! checksum_of {
    ($out:expr, $algorithm:expr) => {
        match $algorithm {
            ChecksumAlgorithm::Crc32 => $out.checksum_crc32(),
            ChecksumAlgorithm::Crc32C => $out.checksum_crc32_c(),
            ChecksumAlgorithm::Crc64Nvme => $out.checksum_crc64_nvme(),
            ChecksumAlgorithm::Sha1 => $out.checksum_sha1(),
            ChecksumAlgorithm::Sha256 => $out.checksum_sha256(),
            _ => None,
        }
    };
}

/// Sets a precomputed checksum of `algorithm` on a request or part builder.
macro_rules! with_checksum {
    ($builder:expr, $algorithm:expr, $value:expr) => {
        match $algorithm {
            ChecksumAlgorithm::Crc32 => $builder.checksum_crc32($value),
            ChecksumAlgorithm::Crc32C => $builder.checksum_crc32_c($value),
            ChecksumAlgorithm::Crc64Nvme => $builder.checksum_crc64_nvme($value),
            ChecksumAlgorithm::Sha1 => $builder.checksum_sha1($value),
            _ => $builder.checksum_sha256($value),
        }
    };
}

#[derive(Clone, Copy, Debug)]
enum Form {
    Header,
    Trailer,
}

pub async fn algorithm(t: Target, algorithm: ChecksumAlgorithm) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t
        .create_bucket(&format!("sum-{}", algorithm.as_str().to_ascii_lowercase()))
        .await?;
    for (form, size) in [(Form::Header, 300 * KIB + 1), (Form::Trailer, 6 * MIB + 3)] {
        single_part(&c, &bucket, &algorithm, form, size)
            .await
            .with_context(|| format!("single-part, {form:?}"))?;
    }
    for form in [Form::Header, Form::Trailer] {
        multipart(&c, &bucket, &algorithm, form)
            .await
            .with_context(|| format!("multipart, {form:?}"))?;
    }
    Ok(())
}

async fn single_part(
    c: &Client,
    bucket: &str,
    algorithm: &ChecksumAlgorithm,
    form: Form,
    size: usize,
) -> anyhow::Result<()> {
    let key = format!("single-{form:?}");
    let bytes = data(900 + size as u64, size);
    let want = checksum_b64(algorithm, &bytes);
    let wire = Wire::default();
    let put = c.put_object().bucket(bucket).key(&key);
    let put = match form {
        Form::Header => with_checksum!(put, algorithm, &want).body(ByteStream::from(bytes.clone())),
        Form::Trailer => put
            .checksum_algorithm(algorithm.clone())
            .body(streaming(bytes.clone())),
    };
    let out = ok(
        put.customize().interceptor(wire.clone()).send().await,
        "put",
    )?;
    match form {
        Form::Header => wire.ensure_header(algorithm, &want, "put")?,
        Form::Trailer => wire.ensure_trailer(algorithm, "put")?,
    }
    ensure!(
        checksum_of!(out, algorithm) == Some(want.as_str()),
        "PUT echoes {:?}, want {want}",
        checksum_of!(out, algorithm)
    );
    ensure!(
        out.e_tag() == Some(etag_of(&bytes).as_str()),
        "PUT ETag {:?}",
        out.e_tag()
    );
    expect_stored(
        c,
        bucket,
        &key,
        algorithm,
        &want,
        ChecksumType::FullObject,
        &bytes,
    )
    .await
}

/// GET and HEAD with checksum mode return `want` of type `kind`; the body is `bytes`.
async fn expect_stored(
    c: &Client,
    bucket: &str,
    key: &str,
    algorithm: &ChecksumAlgorithm,
    want: &str,
    kind: ChecksumType,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let get = ok(
        c.get_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await,
        "get with checksum mode",
    )?;
    ensure!(
        checksum_of!(get, algorithm) == Some(want),
        "GET returns {:?}, want {want}",
        checksum_of!(get, algorithm)
    );
    ensure!(
        get.checksum_type() == Some(&kind),
        "GET checksum type {:?}, want {kind:?}",
        get.checksum_type()
    );
    ensure_bytes(&body(get).await?, bytes, "GET body")?;
    let head = ok(
        c.head_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await,
        "head with checksum mode",
    )?;
    ensure!(
        checksum_of!(head, algorithm) == Some(want),
        "HEAD returns {:?}, want {want}",
        checksum_of!(head, algorithm)
    );
    ensure!(
        head.checksum_type() == Some(&kind),
        "HEAD checksum type {:?}",
        head.checksum_type()
    );
    Ok(())
}

async fn multipart(
    c: &Client,
    bucket: &str,
    algorithm: &ChecksumAlgorithm,
    form: Form,
) -> anyhow::Result<()> {
    let key = format!("multi-{form:?}");
    let seed = 950 + matches!(form, Form::Trailer) as u64;
    let parts = [data(seed, 5 * MIB), data(seed + 10, 100 * KIB + 3)];
    let create = ok(
        c.create_multipart_upload()
            .bucket(bucket)
            .key(&key)
            .checksum_algorithm(algorithm.clone())
            .send()
            .await,
        "create upload",
    )?;
    let id = create.upload_id().context("no UploadId")?.to_string();
    let mut completed = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let want = checksum_b64(algorithm, part);
        let wire = Wire::default();
        let upload = c
            .upload_part()
            .bucket(bucket)
            .key(&key)
            .upload_id(&id)
            .part_number(n);
        let upload = match form {
            Form::Header => {
                with_checksum!(upload, algorithm, &want).body(ByteStream::from(part.clone()))
            }
            Form::Trailer => upload
                .checksum_algorithm(algorithm.clone())
                .body(streaming(part.clone())),
        };
        let out = ok(
            upload.customize().interceptor(wire.clone()).send().await,
            &format!("upload part {n}"),
        )?;
        match form {
            Form::Header => wire.ensure_header(algorithm, &want, "upload part")?,
            Form::Trailer => wire.ensure_trailer(algorithm, "upload part")?,
        }
        ensure!(
            checksum_of!(out, algorithm) == Some(want.as_str()),
            "part {n} echoes {:?}, want {want}",
            checksum_of!(out, algorithm)
        );
        let done = CompletedPart::builder()
            .part_number(n)
            .set_e_tag(out.e_tag().map(str::to_owned));
        completed.push(with_checksum!(done, algorithm, &want).build());
    }
    let listed = ok(
        c.list_parts()
            .bucket(bucket)
            .key(&key)
            .upload_id(&id)
            .send()
            .await,
        "list parts",
    )?;
    for (i, part) in listed.parts().iter().enumerate() {
        let want = checksum_b64(algorithm, &parts[i]);
        ensure!(
            checksum_of!(part, algorithm) == Some(want.as_str()),
            "ListParts part {} checksum",
            i + 1
        );
    }
    let done = ok(
        c.complete_multipart_upload()
            .bucket(bucket)
            .key(&key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await,
        "complete",
    )?;
    let whole = parts.concat();
    let (want, kind) = if *algorithm == ChecksumAlgorithm::Crc64Nvme {
        (checksum_b64(algorithm, &whole), ChecksumType::FullObject)
    } else {
        let joined: Vec<u8> = parts.iter().flat_map(|p| digest(algorithm, p)).collect();
        (
            format!("{}-{}", checksum_b64(algorithm, &joined), parts.len()),
            ChecksumType::Composite,
        )
    };
    ensure!(
        checksum_of!(done, algorithm) == Some(want.as_str()),
        "CompleteMultipartUpload returns {:?}, want {want}",
        checksum_of!(done, algorithm)
    );
    expect_stored(c, bucket, &key, algorithm, &want, kind, &whole).await
}

pub async fn mismatch(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("sum-bad").await?;
    let bytes = data(990, 200 * KIB);
    let put = || {
        c.put_object()
            .bucket(&bucket)
            .key("bad")
            .body(ByteStream::from(bytes.clone()))
    };
    for algorithm in ALGORITHMS {
        let wrong = checksum_b64(&algorithm, b"some other bytes");
        let result = with_checksum!(put(), &algorithm, wrong).send().await;
        expect_err(
            result,
            400,
            "BadDigest",
            &format!("wrong {}", algorithm.as_str()),
        )?;
    }
    expect_err(
        put().content_md5(b64(&md5_raw(b"other"))).send().await,
        400,
        "BadDigest",
        "wrong Content-MD5",
    )?;
    expect_err(
        c.get_object().bucket(&bucket).key("bad").send().await,
        404,
        "NoSuchKey",
        "nothing stored",
    )?;

    let create = ok(
        c.create_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .send()
            .await,
        "create upload",
    )?;
    let id = create.upload_id().context("no UploadId")?;
    let part = c
        .upload_part()
        .bucket(&bucket)
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .checksum_crc32(checksum_b64(&ChecksumAlgorithm::Crc32, b"other"))
        .body(ByteStream::from(bytes.clone()));
    expect_err(
        part.send().await,
        400,
        "BadDigest",
        "UploadPart with a wrong CRC32",
    )?;
    ok(
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key("mp")
            .upload_id(id)
            .send()
            .await,
        "abort",
    )?;
    Ok(())
}
