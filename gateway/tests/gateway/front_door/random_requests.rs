//! Random and mutated requests over the socket, signed (presigned URLs, with unsigned headers
//! and bodies added at random) and not: methods, paths, query strings, headers, bodies,
//! aws-chunked framing, truncated streams. No answer may be a 500, nothing may panic, and the
//! gateway serves a correct PUT and GET afterwards.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use proptest::prelude::*;

use super::*;

/// A request line target: a presigned one (authenticated) or a made-up one.
#[derive(Debug, Clone)]
struct Target {
    method: String,
    path_and_query: String,
}

async fn presigned_targets(client: &aws_sdk_s3::Client) -> Vec<Target> {
    let cfg = || PresigningConfig::expires_in(Duration::from_secs(900)).expect("presign");
    let upload = client
        .create_multipart_upload()
        .bucket("fuzz")
        .key("mp")
        .send()
        .await
        .expect("create upload");
    let upload_id = upload.upload_id().expect("upload id").to_owned();
    let requests = vec![
        client
            .put_object()
            .bucket("fuzz")
            .key("p")
            .presigned(cfg())
            .await
            .expect("presign"),
        client
            .get_object()
            .bucket("fuzz")
            .key("seed")
            .presigned(cfg())
            .await
            .expect("presign"),
        client
            .head_object()
            .bucket("fuzz")
            .key("seed")
            .presigned(cfg())
            .await
            .expect("presign"),
        client
            .delete_object()
            .bucket("fuzz")
            .key("d")
            .presigned(cfg())
            .await
            .expect("presign"),
        client
            .upload_part()
            .bucket("fuzz")
            .key("mp")
            .upload_id(&upload_id)
            .part_number(1)
            .presigned(cfg())
            .await
            .expect("presign"),
    ];
    requests
        .into_iter()
        .map(|r| {
            let uri: http::Uri = r.uri().parse().expect("uri");
            Target {
                method: r.method().to_owned(),
                path_and_query: uri.path_and_query().expect("path").to_string(),
            }
        })
        .collect()
}

fn made_up_target() -> impl Strategy<Value = Target> {
    let method = prop_oneof![
        Just("GET".to_owned()),
        Just("PUT".to_owned()),
        Just("POST".to_owned()),
        Just("DELETE".to_owned()),
        Just("HEAD".to_owned()),
        Just("OPTIONS".to_owned()),
        "[A-Z]{1,8}",
    ];
    let path = prop_oneof![
        Just("/".to_owned()),
        Just("/fuzz".to_owned()),
        Just("/fuzz/seed".to_owned()),
        Just("//fuzz//x/".to_owned()),
        Just("/fuzz/%ZZ%2".to_owned()),
        "/[a-z0-9%./-]{0,40}",
    ];
    let query = prop::collection::vec(
        prop_oneof![
            Just("uploads".to_owned()),
            Just("uploadId=nope".to_owned()),
            Just("partNumber=0".to_owned()),
            Just("partNumber=99999999999".to_owned()),
            Just("tagging".to_owned()),
            Just("versioning".to_owned()),
            Just("versionId=null".to_owned()),
            Just("acl".to_owned()),
            Just("delete".to_owned()),
            Just("list-type=2".to_owned()),
            Just("max-keys=-1".to_owned()),
            Just("continuation-token=%%%".to_owned()),
            Just("X-Amz-Expires=99999999999999999999".to_owned()),
            Just("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x".to_owned()),
            "[a-zA-Z-]{1,12}=[ -~]{0,12}".prop_map(|s| s.replace([' ', '#'], "+")),
        ],
        0..4,
    );
    (method, path, query).prop_map(|(method, path, query)| {
        let path_and_query = if query.is_empty() {
            path
        } else {
            format!("{path}?{}", query.join("&"))
        };
        Target {
            method,
            path_and_query,
        }
    })
}

fn header() -> impl Strategy<Value = (String, String)> {
    let value = "[ -~]{0,40}";
    prop_oneof![
        (Just("content-length"), "[0-9]{1,12}|-1|abc"),
        (Just("content-md5"), "[A-Za-z0-9+/=]{0,30}"),
        (
            Just("x-amz-content-sha256"),
            prop_oneof![
                Just("UNSIGNED-PAYLOAD".to_owned()),
                Just("STREAMING-UNSIGNED-PAYLOAD-TRAILER".to_owned()),
                Just("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_owned()),
                "[0-9a-f]{64}",
            ]
        ),
        (
            Just("content-encoding"),
            prop_oneof![Just("aws-chunked".to_owned()), value.prop_map(String::from)]
        ),
        (Just("x-amz-decoded-content-length"), "[0-9]{1,10}|x"),
        (
            Just("x-amz-trailer"),
            prop_oneof![
                Just("x-amz-checksum-crc32".to_owned()),
                value.prop_map(String::from)
            ]
        ),
        (
            Just("range"),
            "bytes=[0-9-]{0,12}(,[0-9-]{0,6})?|[ -~]{0,12}"
        ),
        (Just("if-match"), "\"?[0-9a-f*]{0,32}\"?"),
        (Just("if-none-match"), "\\*|[ -~]{0,10}"),
        (Just("if-modified-since"), value),
        (Just("x-amz-copy-source"), "/?(fuzz/seed|[ -~]{0,30})"),
        (Just("x-amz-copy-source-range"), "bytes=[0-9-]{0,12}"),
        (Just("x-amz-checksum-crc32"), "[A-Za-z0-9+/=]{0,12}"),
        (Just("x-amz-checksum-sha256"), "[A-Za-z0-9+/=]{0,50}"),
        (
            Just("x-amz-sdk-checksum-algorithm"),
            "CRC32|SHA1|CRC64NVME|[A-Z0-9]{0,8}"
        ),
        (Just("x-amz-checksum-mode"), "ENABLED|[a-z]{0,5}"),
        (Just("x-amz-tagging"), "[ -~]{0,40}"),
        (Just("x-amz-meta-fuzz"), value),
        (Just("x-amz-metadata-directive"), "COPY|REPLACE|[A-Z]{0,6}"),
        (Just("x-amz-storage-class"), "STANDARD|GLACIER|[A-Z_]{0,10}"),
        (
            Just("content-type"),
            "multipart/form-data; boundary=x|application/xml|[ -~]{0,20}"
        ),
        (
            Just("authorization"),
            "AWS4-HMAC-SHA256 [ -~]{0,60}|AWS [ -~]{0,20}"
        ),
        (Just("x-amz-date"), "[0-9TZ]{0,16}"),
        (Just("expect"), "100-continue|[a-z-]{0,10}"),
        (Just("x-amz-acl"), "private|public-read|[a-z-]{0,12}"),
    ]
    .prop_map(|(n, v)| (n.to_owned(), v))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let framed = (
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..4),
        "[0-9a-fA-F;=x -]{0,12}",
    )
        .prop_map(|(chunks, junk)| {
            let mut out = Vec::new();
            for chunk in chunks {
                out.extend_from_slice(format!("{:x}{junk}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(&chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
            out
        });
    let xml = prop_oneof![
        Just(b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>".to_vec()),
        Just(b"<Delete><Object><Key>seed</Key></Object></Delete>".to_vec()),
        Just(b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>".to_vec()),
        Just(b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>".to_vec()),
    ];
    prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), framed, xml,]
}

#[derive(Debug, Clone)]
struct Case {
    target: Target,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes, then half-close.
    truncate: Option<usize>,
    /// Announce the body's length (else chunked transfer encoding or nothing).
    framing: u8,
}

fn case(signed: Vec<Target>) -> impl Strategy<Value = Case> {
    let target = prop_oneof![prop::sample::select(signed), made_up_target(),];
    (
        target,
        prop::collection::vec(header(), 0..5),
        body(),
        prop::option::of(0usize..64),
        0u8..3,
    )
        .prop_map(|(target, headers, body, truncate, framing)| Case {
            target,
            headers,
            body,
            truncate,
            framing,
        })
}

/// Sends `case` and returns the status of the answer, if there was one before the server
/// closed the connection.
fn send(addr: &str, case: &Case) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        case.target.method, case.target.path_and_query
    );
    for (name, value) in &case.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let explicit_length = case.headers.iter().any(|(n, _)| n == "content-length");
    let mut body = case.body.clone();
    match case.framing {
        0 if !explicit_length => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
        1 if !explicit_length => {
            head.push_str("Transfer-Encoding: chunked\r\n");
            let mut chunked = format!("{:x}\r\n", body.len()).into_bytes();
            chunked.extend_from_slice(&body);
            chunked.extend_from_slice(b"\r\n0\r\n\r\n");
            body = chunked;
        }
        _ => {}
    }
    head.push_str("\r\n");
    let mut wire = head.into_bytes();
    let keep = case.truncate.map_or(body.len(), |n| n.min(body.len()));
    wire.extend_from_slice(&body[..keep]);
    // The server may answer and close before reading everything: not an error.
    let _ = stream.write_all(&wire);
    if case.truncate.is_some() {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                reply.extend_from_slice(&buf[..n]);
                if reply.len() > 64 * 1024 {
                    break;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!("no answer and no close within 20 s: {case:?}")
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&reply);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

#[test]
fn random_requests_never_break_the_gateway() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (_dir, serve) = start("header_read_timeout_secs = 5\nbody_idle_timeout_secs = 2");
    let client = serve.client();
    let signed = runtime.block_on(async {
        client
            .create_bucket()
            .bucket("fuzz")
            .send()
            .await
            .expect("bucket");
        client
            .put_object()
            .bucket("fuzz")
            .key("seed")
            .body(ByteStream::from_static(b"seed object"))
            .send()
            .await
            .expect("seed");
        presigned_targets(&client).await
    });
    let target = addr(&serve);
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<Option<u16>, usize>::new());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&case(signed), |case| {
            let status = send(&target, &case);
            *statuses.borrow_mut().entry(status).or_default() += 1;
            prop_assert!(
                !matches!(status, Some(500 | 502 | 504..=599)),
                "answered {status:?}: {case:?}"
            );
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let statuses = statuses.into_inner();
    println!("answers to random requests (status: count): {statuses:?}");
    assert!(
        statuses.keys().any(|s| matches!(s, Some(200..=299))),
        "no random request was served at all: {statuses:?}"
    );
    runtime.block_on(async {
        let body = b"still serving".to_vec();
        client
            .put_object()
            .bucket("fuzz")
            .key("after")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .expect("PUT after the random requests");
        let back = client
            .get_object()
            .bucket("fuzz")
            .key("after")
            .send()
            .await
            .expect("GET after the random requests")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
        assert_eq!(back.as_ref(), body.as_slice());
    });
    let log = std::fs::read_to_string(serve.data.join("serve.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "the gateway panicked:\n{log}");
}
