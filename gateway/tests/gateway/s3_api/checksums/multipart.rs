//! Multipart checksums: COMPOSITE (`base64(H(part digests))-N`) with CRC32, FULL_OBJECT with
//! CRC64NVME and CRC32 (the checksum of the whole body), part checksums in ListParts, and the
//! completion errors (wrong part checksum, missing part checksum, wrong whole-object claim,
//! CRC64NVME composite).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};

use crate::s3_api::harness::*;

/// Creates an upload with `algorithm`/`kind`, uploads `parts` with that algorithm and returns
/// (upload id, each part's ETag and checksum).
async fn upload_with_checksums(
    c: &Client,
    key: &str,
    algorithm: ChecksumAlgorithm,
    kind: ChecksumType,
    parts: &[&[u8]],
) -> (String, Vec<(String, String)>) {
    let create = c
        .create_multipart_upload()
        .bucket("sums")
        .key(key)
        .checksum_algorithm(algorithm.clone())
        .checksum_type(kind.clone())
        .send()
        .await;
    let create = ok(create, "create upload with checksum");
    assert_eq!(create.checksum_algorithm(), Some(&algorithm));
    assert_eq!(create.checksum_type(), Some(&kind));
    let id = create.upload_id().unwrap().to_string();
    let mut done = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let out = c
            .upload_part()
            .bucket("sums")
            .key(key)
            .upload_id(&id)
            .part_number(i as i32 + 1)
            .checksum_algorithm(algorithm.clone())
            .body(ByteStream::from(part.to_vec()))
            .send()
            .await;
        let out = ok(out, "upload part with checksum");
        let want = checksum_b64(&algorithm, part);
        assert_eq!(
            checksum_of!(out, &algorithm),
            Some(want.as_str()),
            "part {} checksum",
            i + 1
        );
        done.push((out.e_tag().unwrap().to_string(), want));
    }
    (id, done)
}

fn completed_with(
    algorithm: &ChecksumAlgorithm,
    parts: &[(String, String)],
) -> CompletedMultipartUpload {
    let parts = parts
        .iter()
        .enumerate()
        .map(|(i, (etag, sum))| {
            let p = CompletedPart::builder()
                .part_number(i as i32 + 1)
                .e_tag(etag);
            match algorithm {
                ChecksumAlgorithm::Crc32 => p.checksum_crc32(sum),
                ChecksumAlgorithm::Crc32C => p.checksum_crc32_c(sum),
                ChecksumAlgorithm::Crc64Nvme => p.checksum_crc64_nvme(sum),
                ChecksumAlgorithm::Sha1 => p.checksum_sha1(sum),
                ChecksumAlgorithm::Sha256 => p.checksum_sha256(sum),
                other => panic!("untested algorithm {other:?}"),
            }
            .build()
        })
        .collect();
    CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_crc32_composite() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("sums").await;
    let (p1, p2) = (data(65, 5 * MIB), data(66, 100 * KIB + 3));
    let crc = ChecksumAlgorithm::Crc32;
    let (id, parts) =
        upload_with_checksums(c, "comp", crc.clone(), ChecksumType::Composite, &[&p1, &p2]).await;

    let listed = ok(
        c.list_parts()
            .bucket("sums")
            .key("comp")
            .upload_id(&id)
            .send()
            .await,
        "list parts",
    );
    let sums: Vec<Option<&str>> = listed.parts().iter().map(|p| p.checksum_crc32()).collect();
    assert_eq!(sums, [Some(parts[0].1.as_str()), Some(parts[1].1.as_str())]);

    let joined: Vec<u8> = [digest(&crc, &p1), digest(&crc, &p2)].concat();
    let want = format!("{}-2", checksum_b64(&crc, &joined));
    let done = c
        .complete_multipart_upload()
        .bucket("sums")
        .key("comp")
        .upload_id(&id);
    let done = ok(
        done.multipart_upload(completed_with(&crc, &parts))
            .send()
            .await,
        "complete",
    );
    assert_eq!(done.checksum_crc32(), Some(want.as_str()));
    assert_eq!(done.checksum_type(), Some(&ChecksumType::Composite));

    let get = c
        .get_object()
        .bucket("sums")
        .key("comp")
        .checksum_mode(ChecksumMode::Enabled);
    let get = ok(get.send().await, "get");
    assert_eq!(get.checksum_crc32(), Some(want.as_str()));
    assert_eq!(get.checksum_type(), Some(&ChecksumType::Composite));
    assert_bytes(&body(get).await, &[p1, p2].concat(), "composite object");
    let head = c
        .head_object()
        .bucket("sums")
        .key("comp")
        .checksum_mode(ChecksumMode::Enabled);
    let head = ok(head.send().await, "head");
    assert_eq!(head.checksum_crc32(), Some(want.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::Composite));
    gw.stop().await;
}

async fn full_object_multipart(algorithm: ChecksumAlgorithm) {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("sums").await;
    let (p1, p2, p3) = (data(67, 5 * MIB), data(68, 5 * MIB + 1), data(69, 777));
    let kind = ChecksumType::FullObject;
    let (id, parts) =
        upload_with_checksums(c, "full", algorithm.clone(), kind, &[&p1, &p2, &p3]).await;
    let whole = [p1, p2, p3].concat();
    let want = checksum_b64(&algorithm, &whole);
    let done = c
        .complete_multipart_upload()
        .bucket("sums")
        .key("full")
        .upload_id(&id);
    let done = ok(
        done.multipart_upload(completed_with(&algorithm, &parts))
            .send()
            .await,
        "complete",
    );
    assert_eq!(
        checksum_of!(done, &algorithm),
        Some(want.as_str()),
        "checksum of the whole body"
    );
    assert_eq!(done.checksum_type(), Some(&ChecksumType::FullObject));

    let get = c
        .get_object()
        .bucket("sums")
        .key("full")
        .checksum_mode(ChecksumMode::Enabled);
    let get = ok(get.send().await, "get");
    assert_eq!(checksum_of!(get, &algorithm), Some(want.as_str()));
    assert_eq!(get.checksum_type(), Some(&ChecksumType::FullObject));
    assert_bytes(&body(get).await, &whole, "full-object checksummed object");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_crc64nvme_full_object() {
    full_object_multipart(ChecksumAlgorithm::Crc64Nvme).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_crc32_full_object() {
    full_object_multipart(ChecksumAlgorithm::Crc32).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_checksum_errors() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("sums").await;
    let crc = ChecksumAlgorithm::Crc32;
    let (p1, p2) = (data(70, 5 * MIB), data(71, 10));
    let (id, mut parts) =
        upload_with_checksums(c, "bad", crc.clone(), ChecksumType::Composite, &[&p1, &p2]).await;
    let complete = || {
        c.complete_multipart_upload()
            .bucket("sums")
            .key("bad")
            .upload_id(&id)
    };

    let right = parts[1].1.clone();
    parts[1].1 = checksum_b64(&crc, b"not part two");
    expect_err(
        complete()
            .multipart_upload(completed_with(&crc, &parts))
            .send()
            .await,
        400,
        "BadDigest",
    );
    // A composite completion must name every part's checksum.
    let without: Vec<CompletedPart> = parts
        .iter()
        .enumerate()
        .map(|(i, (etag, _))| {
            CompletedPart::builder()
                .part_number(i as i32 + 1)
                .e_tag(etag)
                .build()
        })
        .collect();
    let bare = CompletedMultipartUpload::builder()
        .set_parts(Some(without))
        .build();
    expect_err(
        complete().multipart_upload(bare).send().await,
        400,
        "InvalidRequest",
    );
    parts[1].1 = right;
    ok(
        complete()
            .multipart_upload(completed_with(&crc, &parts))
            .send()
            .await,
        "complete after errors",
    );

    // A full-object checksum claimed for the whole object is checked too.
    let nv = ChecksumAlgorithm::Crc64Nvme;
    let (id, parts) = upload_with_checksums(
        c,
        "claim",
        nv.clone(),
        ChecksumType::FullObject,
        &[&p1, &p2],
    )
    .await;
    let wrong_whole = checksum_b64(&nv, b"not the object");
    let claim = c
        .complete_multipart_upload()
        .bucket("sums")
        .key("claim")
        .upload_id(&id);
    let claim = claim
        .checksum_crc64_nvme(wrong_whole)
        .checksum_type(ChecksumType::FullObject);
    expect_err(
        claim
            .multipart_upload(completed_with(&nv, &parts))
            .send()
            .await,
        400,
        "BadDigest",
    );
    expect_err(
        c.get_object().bucket("sums").key("claim").send().await,
        404,
        "NoSuchKey",
    );

    // CRC64NVME has no composite form.
    let create = c
        .create_multipart_upload()
        .bucket("sums")
        .key("nope")
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .checksum_type(ChecksumType::Composite)
        .send()
        .await;
    expect_err(create, 400, "InvalidRequest");
    gw.stop().await;
}
