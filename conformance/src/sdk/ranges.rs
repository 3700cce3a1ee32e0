//! Range reads: `bytes=a-b`, `bytes=a-`, `bytes=-n` with `Content-Range`, `Content-Length` and
//! `Accept-Ranges`; ranges inside, across and at the edges of 4 MiB boundaries of a 9 MiB
//! object and of a small one; an end past the object is clamped; a start past it is 416
//! `InvalidRange`.

use anyhow::ensure;
use aws_sdk_s3::primitives::ByteStream;

use super::support::*;
use crate::target::Target;

pub async fn ranges(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("ranges").await?;
    for (key, size) in [("small", 10 * KIB + 7), ("large", 9 * MIB + 13)] {
        let bytes = data(700 + size as u64, size);
        ok(
            c.put_object()
                .bucket(&bucket)
                .key(key)
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await,
            "put",
        )?;
        let n = size as u64;
        let boundary = (4 * MIB as u64).min(n / 2);
        // (header, first byte, last byte)
        let cases = [
            ("bytes=0-0".to_string(), 0, 0),
            ("bytes=0-99".to_string(), 0, 99),
            ("bytes=100-".to_string(), 100, n - 1),
            ("bytes=-500".to_string(), n - 500, n - 1),
            (
                format!("bytes={}-{}", boundary - 10, boundary + 10),
                boundary - 10,
                boundary + 10,
            ),
            (
                format!("bytes={}-{}", boundary, boundary),
                boundary,
                boundary,
            ),
            (format!("bytes={}-{}", n - 1, n - 1), n - 1, n - 1),
            // The end is clamped to the object.
            (format!("bytes={}-{}", n - 10, n + 1000), n - 10, n - 1),
            (format!("bytes=-{}", n + 5), 0, n - 1),
        ];
        for (header, first, last) in cases {
            let out = ok(
                c.get_object()
                    .bucket(&bucket)
                    .key(key)
                    .range(&header)
                    .send()
                    .await,
                &format!("{key} {header}"),
            )?;
            let want_range = format!("bytes {first}-{last}/{n}");
            ensure!(
                out.content_range() == Some(want_range.as_str()),
                "{key} {header}: Content-Range {:?}, want {want_range}",
                out.content_range()
            );
            ensure!(
                out.content_length() == Some((last - first + 1) as i64),
                "{key} {header}: Content-Length {:?}",
                out.content_length()
            );
            ensure!(
                out.accept_ranges() == Some("bytes"),
                "{key} {header}: Accept-Ranges {:?}",
                out.accept_ranges()
            );
            ensure!(
                out.e_tag() == Some(etag_of(&bytes).as_str()),
                "{key} {header}: ETag is the whole object's"
            );
            let got = body(out).await?;
            ensure_bytes(
                &got,
                &bytes[first as usize..=last as usize],
                &format!("{key} {header}"),
            )?;
        }
        for header in [
            format!("bytes={n}-"),
            format!("bytes={}-{}", n + 10, n + 20),
        ] {
            expect_err(
                c.get_object()
                    .bucket(&bucket)
                    .key(key)
                    .range(&header)
                    .send()
                    .await,
                416,
                "InvalidRange",
                &format!("{key} {header}"),
            )?;
        }
        // A full GET still says it accepts ranges.
        let whole = ok(
            c.get_object().bucket(&bucket).key(key).send().await,
            "full get",
        )?;
        ensure!(
            whole.accept_ranges() == Some("bytes"),
            "{key}: full GET Accept-Ranges {:?}",
            whole.accept_ranges()
        );
    }
    Ok(())
}
