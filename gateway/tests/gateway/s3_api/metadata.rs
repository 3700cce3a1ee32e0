//! Metadata: the representation headers (Content-Type, Content-Encoding, Cache-Control,
//! Content-Disposition, Content-Language, Expires) come back as sent, `aws-chunked` is stripped
//! from Content-Encoding, `x-amz-meta-*` names are lower-cased, non-ASCII values travel
//! RFC 2047-encoded, and user metadata is limited to 2 KiB (MetadataTooLarge beyond).

use std::collections::HashMap;

use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use base64::Engine as _;

use crate::s3_api::harness::*;

const EXPIRES: i64 = 1_900_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn representation_headers_round_trip() {
    let gw = TestGateway::start().await;
    gw.create_bucket("meta").await;
    for (key, size) in [("small", 100), ("large", 5 * MIB)] {
        // The SDK's aws-chunked upload turns Content-Encoding into "gzip,aws-chunked"; S3 stores
        // and returns "gzip".
        let put = gw
            .client
            .put_object()
            .bucket("meta")
            .key(key)
            .content_type("text/plain; charset=utf-8")
            .content_encoding("gzip")
            .cache_control("max-age=3600, public")
            .content_disposition("attachment; filename=\"report.txt\"")
            .content_language("fr-CA")
            .expires(DateTime::from_secs(EXPIRES))
            .body(ByteStream::from(data(81, size)))
            .send()
            .await;
        ok(put, "put with headers");
        let get = ok(
            gw.client.get_object().bucket("meta").key(key).send().await,
            "get",
        );
        let head = ok(
            gw.client.head_object().bucket("meta").key(key).send().await,
            "head",
        );
        let seen = [
            (get.content_type(), head.content_type()),
            (get.content_encoding(), head.content_encoding()),
            (get.cache_control(), head.cache_control()),
            (get.content_disposition(), head.content_disposition()),
            (get.content_language(), head.content_language()),
        ];
        let want = [
            "text/plain; charset=utf-8",
            "gzip",
            "max-age=3600, public",
            "attachment; filename=\"report.txt\"",
            "fr-CA",
        ];
        for ((from_get, from_head), want) in seen.into_iter().zip(want) {
            assert_eq!(from_get, Some(want), "GET {key}");
            assert_eq!(from_head, Some(want), "HEAD {key}");
        }
        for expires in [get.expires_string(), head.expires_string()] {
            let parsed = DateTime::from_str(expires.expect("Expires"), DateTimeFormat::HttpDate)
                .expect("Expires is an HTTP date");
            assert_eq!(parsed.secs(), EXPIRES);
        }
        assert_bytes(&body(get).await, &data(81, size), key);
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_metadata_names_are_lower_cased() {
    let gw = TestGateway::start().await;
    gw.create_bucket("meta").await;
    gw.client
        .put_object()
        .bucket("meta")
        .key("k")
        .metadata("Mtime", "1700000000.123456789")
        .metadata("Md5chksum", "1B2M2Y8AsgTpgAmY7PhCfg==")
        .metadata("Mixed-Case-Name", "Value With  Spaces")
        .metadata("empty", "")
        .body(ByteStream::from_static(b"payload"))
        .send()
        .await
        .expect("put with metadata");
    let want: HashMap<String, String> = [
        ("mtime", "1700000000.123456789"),
        ("md5chksum", "1B2M2Y8AsgTpgAmY7PhCfg=="),
        ("mixed-case-name", "Value With  Spaces"),
        ("empty", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let get = ok(
        gw.client.get_object().bucket("meta").key("k").send().await,
        "get",
    );
    assert_eq!(get.metadata(), Some(&want));
    let head = ok(
        gw.client.head_object().bucket("meta").key("k").send().await,
        "head",
    );
    assert_eq!(head.metadata(), Some(&want));
    // Overwriting without metadata drops it.
    gw.put("meta", "k", b"plain").await;
    let head = ok(
        gw.client.head_object().bucket("meta").key("k").send().await,
        "head",
    );
    assert!(
        head.metadata().is_none_or(|m| m.is_empty()),
        "{:?}",
        head.metadata()
    );
    gw.stop().await;
}

/// Decodes RFC 2047 encoded-words (`=?UTF-8?B?...?=` / `=?UTF-8?Q?...?=`); plain text passes.
fn rfc2047_decode(value: &str) -> String {
    let mut out = String::new();
    for (i, word) in value.split(' ').enumerate() {
        let inner = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?="));
        let Some(inner) = inner else {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
            continue;
        };
        let mut fields = inner.splitn(3, '?');
        let (charset, encoding, text) = (fields.next(), fields.next(), fields.next());
        assert!(
            charset.is_some_and(|c| c.eq_ignore_ascii_case("utf-8")),
            "charset of {word}"
        );
        let bytes = match encoding.map(|e| e.to_ascii_uppercase()).as_deref() {
            Some("B") => base64::engine::general_purpose::STANDARD
                .decode(text.unwrap())
                .unwrap(),
            Some("Q") => {
                let t = text.unwrap().as_bytes();
                let mut bytes = Vec::new();
                let mut j = 0;
                while j < t.len() {
                    match t[j] {
                        b'_' => bytes.push(b' '),
                        b'=' => {
                            let hex = std::str::from_utf8(&t[j + 1..j + 3]).unwrap();
                            bytes.push(u8::from_str_radix(hex, 16).unwrap());
                            j += 2;
                        }
                        b => bytes.push(b),
                    }
                    j += 1;
                }
                bytes
            }
            other => panic!("unknown RFC 2047 encoding {other:?} in {value}"),
        };
        out.push_str(&String::from_utf8(bytes).expect("UTF-8"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_value_round_trips_rfc2047() {
    let gw = TestGateway::start().await;
    gw.create_bucket("meta").await;
    let text = "café ☕";
    // HTTP header values are ASCII: the SDK refuses raw UTF-8, so clients send the RFC 2047 form.
    let encoded = format!("=?UTF-8?B?{}?=", b64(text.as_bytes()));
    ok(
        gw.client
            .put_object()
            .bucket("meta")
            .key("k")
            .metadata("note", &encoded)
            .metadata("plain", "ascii only")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "put with encoded metadata",
    );
    let get = ok(
        gw.client.get_object().bucket("meta").key("k").send().await,
        "get",
    );
    let head = ok(
        gw.client.head_object().bucket("meta").key("k").send().await,
        "head",
    );
    for meta in [get.metadata().unwrap(), head.metadata().unwrap()] {
        let note = meta.get("note").expect("x-amz-meta-note");
        assert!(note.is_ascii(), "returned value is mail-safe: {note:?}");
        assert_eq!(rfc2047_decode(note), text);
        assert_eq!(meta.get("plain").map(String::as_str), Some("ascii only"));
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_size_limit() {
    let gw = TestGateway::start().await;
    gw.create_bucket("meta").await;
    // S3 counts the UTF-8 bytes of every name and value (without "x-amz-meta-"): 2 KiB at most.
    let put = |name: &str, value: String| {
        gw.client
            .put_object()
            .bucket("meta")
            .key(name)
            .metadata(name, value)
            .body(ByteStream::from_static(b"x"))
            .send()
    };
    ok(
        put("big", "v".repeat(2048 - 3)).await,
        "exactly 2 KiB of metadata",
    );
    expect_err(
        put("bigger", "v".repeat(2048 - 6 + 1)).await,
        400,
        "MetadataTooLarge",
    );
    let spread = (0..4).fold(
        gw.client.put_object().bucket("meta").key("spread"),
        |p, i| p.metadata(format!("m{i}"), "w".repeat(600)),
    );
    let spread = spread.body(ByteStream::from_static(b"x")).send().await;
    expect_err(spread, 400, "MetadataTooLarge");
    expect_err(
        gw.client
            .get_object()
            .bucket("meta")
            .key("spread")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    // Multipart uploads carry the same limit, and their metadata reaches the object.
    let create = gw
        .client
        .create_multipart_upload()
        .bucket("meta")
        .key("mp")
        .metadata("huge", "h".repeat(3000))
        .send()
        .await;
    expect_err(create, 400, "MetadataTooLarge");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_keeps_headers_and_metadata() {
    let gw = TestGateway::start().await;
    gw.create_bucket("meta").await;
    let c = &gw.client;
    let create = c
        .create_multipart_upload()
        .bucket("meta")
        .key("mp")
        .content_type("application/x-tar")
        .content_disposition("inline")
        .metadata("Origin", "multipart")
        .send()
        .await;
    let id = ok(create, "create").upload_id().unwrap().to_string();
    let part = c
        .upload_part()
        .bucket("meta")
        .key("mp")
        .upload_id(&id)
        .part_number(1);
    let part = ok(
        part.body(ByteStream::from_static(b"tarball")).send().await,
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
    let done = c
        .complete_multipart_upload()
        .bucket("meta")
        .key("mp")
        .upload_id(&id);
    ok(done.multipart_upload(parts).send().await, "complete");
    let head = ok(
        c.head_object().bucket("meta").key("mp").send().await,
        "head",
    );
    assert_eq!(head.content_type(), Some("application/x-tar"));
    assert_eq!(head.content_disposition(), Some("inline"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str),
        Some("multipart")
    );
    gw.stop().await;
}
