//! Ranged reads: `bytes=a-b`, `a-`, `-n`, clamping, 416 InvalidRange, `Content-Range` and
//! `Accept-Ranges`, reads across the 4 MiB chunk boundaries of a 9 MiB object, and `partNumber`
//! on multipart and single-part objects.

use crate::s3_api::harness::*;

/// GETs `range` and checks the body against `want[first..=last]` and the Content-Range header.
async fn check_range(
    gw: &TestGateway,
    key: &str,
    want: &[u8],
    range: &str,
    first: usize,
    last: usize,
) {
    let out = ok(
        gw.client
            .get_object()
            .bucket("ranges")
            .key(key)
            .range(range)
            .send()
            .await,
        range,
    );
    let size = want.len();
    assert_eq!(
        out.content_range(),
        Some(format!("bytes {first}-{last}/{size}").as_str()),
        "Content-Range of {range}"
    );
    assert_eq!(
        out.content_length(),
        Some((last - first + 1) as i64),
        "Content-Length of {range}"
    );
    assert_eq!(
        out.accept_ranges(),
        Some("bytes"),
        "Accept-Ranges of {range}"
    );
    // The whole object's ETag, not the slice's.
    assert_eq!(out.e_tag(), Some(etag_of(want).as_str()), "ETag of {range}");
    assert_bytes(&body(out).await, &want[first..=last], range);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_forms_on_small_object() {
    let gw = TestGateway::start().await;
    gw.create_bucket("ranges").await;
    let want = data(21, 1000);
    gw.put("ranges", "small", &want).await;
    check_range(&gw, "small", &want, "bytes=0-0", 0, 0).await;
    check_range(&gw, "small", &want, "bytes=10-19", 10, 19).await;
    check_range(&gw, "small", &want, "bytes=990-", 990, 999).await;
    check_range(&gw, "small", &want, "bytes=-7", 993, 999).await;
    check_range(&gw, "small", &want, "bytes=999-999", 999, 999).await;
    // A last byte past the end is clamped; a suffix longer than the object is the whole object.
    check_range(&gw, "small", &want, "bytes=500-5000", 500, 999).await;
    check_range(&gw, "small", &want, "bytes=-5000", 0, 999).await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsatisfiable_ranges_are_416() {
    let gw = TestGateway::start().await;
    gw.create_bucket("ranges").await;
    gw.put("ranges", "small", &data(22, 1000)).await;
    gw.put("ranges", "big", &data(23, 5 * MIB)).await;
    for (key, range) in [
        ("small", "bytes=1000-"),
        ("small", "bytes=1000-2000"),
        ("small", "bytes=5000-"),
        ("big", "bytes=5242880-"),
    ] {
        let get = gw
            .client
            .get_object()
            .bucket("ranges")
            .key(key)
            .range(range)
            .send()
            .await;
        let err = expect_err(get, 416, "InvalidRange");
        let raw = err.raw_response().unwrap();
        let size = if key == "small" { 1000 } else { 5 * MIB };
        assert_eq!(
            raw.headers().get("content-range"),
            Some(format!("bytes */{size}").as_str()),
            "416 for {key} {range} carries Content-Range: bytes */size"
        );
    }
    // HEAD with an unsatisfiable range is 416 as well (no body).
    let head = gw
        .client
        .head_object()
        .bucket("ranges")
        .key("small")
        .range("bytes=2000-")
        .send()
        .await;
    expect_status(head, 416);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_across_chunk_boundaries() {
    let gw = TestGateway::start().await;
    gw.create_bucket("ranges").await;
    let size = 9 * MIB + 3;
    let want = data(24, size);
    gw.put("ranges", "nine", &want).await;
    let four = 4 * MIB;
    for (first, last) in [
        (four - 10, four + 10),
        (four - 1, four),
        (four, four),
        (2 * four - 1, 2 * four),
        (four - 5, 2 * four + 5),
        (1, size - 2),
        (size - 3, size - 1),
        (0, four - 1),
    ] {
        check_range(
            &gw,
            "nine",
            &want,
            &format!("bytes={first}-{last}"),
            first,
            last,
        )
        .await;
    }
    let tail = 5 * MIB + 3;
    check_range(
        &gw,
        "nine",
        &want,
        &format!("bytes=-{tail}"),
        size - tail,
        size - 1,
    )
    .await;
    check_range(
        &gw,
        "nine",
        &want,
        &format!("bytes={}-", 2 * four - 7),
        2 * four - 7,
        size - 1,
    )
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_number_on_multipart_object() {
    let gw = TestGateway::start().await;
    gw.create_bucket("ranges").await;
    let p1 = data(25, 5 * MIB);
    let p2 = data(26, 5 * MIB + 17);
    let p3 = data(27, 1000);
    gw.multipart("ranges", "mp", &[&p1, &p2, &p3]).await;
    let total = p1.len() + p2.len() + p3.len();
    let mut start = 0;
    for (n, part) in [&p1, &p2, &p3].into_iter().enumerate() {
        let n = n as i32 + 1;
        let out = ok(
            gw.client
                .get_object()
                .bucket("ranges")
                .key("mp")
                .part_number(n)
                .send()
                .await,
            "get part",
        );
        assert_eq!(
            out.parts_count(),
            Some(3),
            "x-amz-mp-parts-count of part {n}"
        );
        assert_eq!(
            out.content_length(),
            Some(part.len() as i64),
            "Content-Length of part {n}"
        );
        let last = start + part.len() - 1;
        assert_eq!(
            out.content_range(),
            Some(format!("bytes {start}-{last}/{total}").as_str()),
            "Content-Range of part {n}"
        );
        assert_eq!(out.e_tag(), Some(multipart_etag(&[&p1, &p2, &p3]).as_str()));
        assert_bytes(&body(out).await, part, &format!("part {n}"));

        let head = ok(
            gw.client
                .head_object()
                .bucket("ranges")
                .key("mp")
                .part_number(n)
                .send()
                .await,
            "head part",
        );
        assert_eq!(head.parts_count(), Some(3));
        assert_eq!(
            head.content_length(),
            Some(part.len() as i64),
            "HEAD Content-Length of part {n}"
        );
        start += part.len();
    }
    // Without partNumber, the whole object and its parts count.
    let head = ok(
        gw.client
            .head_object()
            .bucket("ranges")
            .key("mp")
            .send()
            .await,
        "head",
    );
    assert_eq!(head.content_length(), Some(total as i64));
    // A part number past the last part (S3, and ceph's s3-tests: 400 InvalidPart).
    let get = gw
        .client
        .get_object()
        .bucket("ranges")
        .key("mp")
        .part_number(4)
        .send()
        .await;
    expect_err(get, 400, "InvalidPart");
    // Range and partNumber together are refused.
    let get = gw
        .client
        .get_object()
        .bucket("ranges")
        .key("mp")
        .part_number(1)
        .range("bytes=0-9");
    expect_err(get.send().await, 400, "InvalidRequest");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_number_one_on_single_part_object_is_whole_object() {
    let gw = TestGateway::start().await;
    gw.create_bucket("ranges").await;
    for (key, size) in [("inline", 100), ("chunked", 5 * MIB + 1)] {
        let want = data(28, size);
        gw.put("ranges", key, &want).await;
        let out = ok(
            gw.client
                .get_object()
                .bucket("ranges")
                .key(key)
                .part_number(1)
                .send()
                .await,
            "get part 1",
        );
        assert_eq!(out.content_length(), Some(size as i64), "{key}");
        assert_eq!(out.e_tag(), Some(etag_of(&want).as_str()));
        assert_bytes(&body(out).await, &want, key);
        let get = gw
            .client
            .get_object()
            .bucket("ranges")
            .key(key)
            .part_number(2)
            .send()
            .await;
        expect_err(get, 400, "InvalidPart");
    }
    gw.stop().await;
}
