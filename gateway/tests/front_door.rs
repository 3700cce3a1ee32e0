//! The front door against clients that try to exhaust it, on a `floe serve` process (gateway and
//! embedded nodes) over real sockets: trickling bodies, idle and slow-header connections, more
//! connections than allowed, form uploads, memory-hungry requests, stalled uploads; and the
//! refusals of SigV2, week-long presigned URLs and headers for features Floe lacks. Each test
//! prints the gateway's peak RSS, the figure the memory bound is about.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use support::serve::ServeProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: u64 = 1024 * 1024;

/// A gateway process whose config file holds `[limits]` `limits`.
fn start(limits: &str) -> (tempfile::TempDir, ServeProcess) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, format!("[limits]\n{limits}\n")).expect("config");
    let serve = ServeProcess::start(
        &dir.path().join("data"),
        &["--config", config.to_str().expect("utf-8 path")],
    );
    (dir, serve)
}

fn addr(serve: &ServeProcess) -> String {
    serve
        .endpoint
        .strip_prefix("http://")
        .expect("http endpoint")
        .to_owned()
}

/// An SDK client that does not retry: one refusal is one failure.
fn no_retry_client(serve: &ServeProcess) -> aws_sdk_s3::Client {
    let base = serve.client();
    let config = base
        .config()
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn report_rss(test: &str, serve: &ServeProcess) {
    let peak = serve.peak_rss().unwrap_or(0);
    println!("{test}: gateway peak RSS {} MiB", peak / MIB);
}

/// Reads what the server sends until it closes the connection or `wait` passes; `None` if the
/// connection was still open at the end.
async fn read_to_close(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

/// 1,100 unauthenticated clients (more than the 1,024 requests admitted at once) each start a
/// PUT and send its body one byte every 3 s. They must neither lock out a real client nor keep
/// their connections: each gets its 403 and is closed within the read-out's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_unauthenticated_bodies_lock_no_one_out() {
    let (_dir, serve) = start("");
    let client = no_retry_client(&serve);
    client
        .create_bucket()
        .bucket("busy")
        .send()
        .await
        .expect("create bucket");
    let target = addr(&serve);
    let mut slow = Vec::new();
    for i in 0..1100 {
        let target = target.clone();
        slow.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&target).await.ok()?;
            let head = format!(
                "PUT /busy/slow-{i} HTTP/1.1\r\nHost: {target}\r\nContent-Length: 100000\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.ok()?;
            let started = Instant::now();
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            let mut closed = false;
            // One byte every 3 s, reading whatever comes back in between, for at most 40 s.
            while started.elapsed() < Duration::from_secs(40) {
                if stream.write_all(b"x").await.is_err() {
                    closed = true;
                    break;
                }
                match tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => {
                        closed = true;
                        break;
                    }
                    Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                    Err(_) => {}
                }
            }
            let reply = String::from_utf8_lossy(&got).into_owned();
            Some((started.elapsed(), reply, closed))
        }));
    }
    // Every trickler has connected and sent its head.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let body = vec![7u8; 256 * 1024];
    let started = Instant::now();
    client
        .put_object()
        .bucket("busy")
        .key("real")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("a signed PUT is served while 1,100 bodies trickle in");
    let took = started.elapsed();
    println!("signed PUT during the trickle: {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "the signed PUT took {took:?}"
    );
    let back = client
        .get_object()
        .bucket("busy")
        .key("real")
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert!(back == body, "the object came back different");

    // Each trickler is closed once the read-out's deadline passes. Most read their 403 first;
    // for the others the close arrived as a reset (bytes they sent after the last read were
    // never read), which discards the answer on their side. Either way they are gone.
    let (mut answered, mut closed, mut other) = (0, 0, 0);
    let mut slowest = Duration::ZERO;
    for task in slow {
        let (held, reply, was_closed) = task
            .await
            .expect("trickler task")
            .expect("every trickler connected");
        if reply.starts_with("HTTP/1.1 403") && reply.contains("AccessDenied") {
            answered += 1;
        } else if !reply.is_empty() {
            other += 1;
            println!("unexpected answer to a trickler: {reply:?}");
        }
        closed += usize::from(was_closed);
        slowest = slowest.max(held);
    }
    println!(
        "tricklers closed: {closed}/1100, of which answered 403 first: {answered}; longest held \
         {slowest:?}"
    );
    assert_eq!(closed, 1100, "every trickler's connection is closed");
    assert_eq!(other, 0, "tricklers get nothing but their 403");
    assert!(answered > 0, "no trickler read its answer");
    assert!(
        slowest < Duration::from_secs(30),
        "a trickler kept its connection for {slowest:?}"
    );
    report_rss("trickling bodies", &serve);
}

/// At most `max_connections` are open; one more is told 503 and closed at once. Silent, idle and
/// slow-header connections are closed after `header_read_timeout_secs`, and the gateway serves
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_and_idle_ones_closed() {
    let (_dir, serve) = start("max_connections = 16\nheader_read_timeout_secs = 2");
    let target = addr(&serve);
    let mut held = Vec::new();
    for _ in 0..15 {
        held.push(TcpStream::connect(&target).await.expect("connect"));
    }
    // One more sends its headers a byte at a time (slow loris).
    let mut loris = TcpStream::connect(&target).await.expect("connect");
    loris
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut over = TcpStream::connect(&target).await.expect("connect");
    let reply = read_to_close(&mut over, Duration::from_secs(2))
        .await
        .expect("the connection over the cap is closed at once");
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply:?}");

    let loris_task = tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if loris.write_all(b"X").await.is_err() {
                return started.elapsed();
            }
            let mut buf = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(400), loris.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
                _ => {}
            }
        }
        started.elapsed()
    });
    for stream in &mut held {
        let closed = read_to_close(stream, Duration::from_secs(6)).await;
        assert!(
            closed.is_some(),
            "an idle connection was kept past the timeout"
        );
    }
    let loris_held = loris_task.await.expect("loris");
    assert!(
        loris_held < Duration::from_secs(6),
        "a slow-header connection was kept {loris_held:?}"
    );
    no_retry_client(&serve)
        .list_buckets()
        .send()
        .await
        .expect("served again once the idle connections are gone");
    report_rss("connection cap", &serve);
}

/// A browser form upload (POST Object, not implemented) is refused before its body is read: a
/// 5 GiB form gets its 501 at once and the connection closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_uploads_are_refused_unread() {
    let (_dir, serve) = start("");
    let target = addr(&serve);
    let mut stream = TcpStream::connect(&target).await.expect("connect");
    let head = format!(
        "POST /forms HTTP/1.1\r\nHost: {target}\r\nContent-Type: multipart/form-data; \
         boundary=XyZ\r\nContent-Length: 5368709120\r\n\r\n--XyZ\r\nContent-Disposition: \
         form-data; name=\"key\"\r\n\r\nk\r\n--XyZ\r\nContent-Disposition: form-data; \
         name=\"file\"; filename=\"f\"\r\n\r\n"
    );
    // The head and the start of the form: the answer must come without the rest of 5 GiB.
    stream.write_all(head.as_bytes()).await.expect("write");
    let reply = read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("the form upload is answered and closed without being read");
    assert!(reply.starts_with("HTTP/1.1 501"), "{reply:?}");
    assert!(reply.contains("<Code>NotImplemented</Code>"), "{reply:?}");
    report_rss("form upload", &serve);
}

/// Admission counts memory: with room for three streamed reads, a fourth is told 503 SlowDown
/// while small requests still pass; once the reads end, reads are served again. A large PUT
/// then stays within its window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_is_bounded_by_memory() {
    // A read holds 3 chunks of 4 MiB (+64 KiB); 40 MiB admits three at once.
    let (_dir, serve) = start("max_inflight_bytes = 41943040");
    let client = no_retry_client(&serve);
    client
        .create_bucket()
        .bucket("mem")
        .send()
        .await
        .expect("create bucket");
    // Past the cache's 32 MiB object limit, so reads stream from the nodes.
    let big: Vec<u8> = (0..40 * MIB as usize).map(|i| (i % 251) as u8).collect();
    client
        .put_object()
        .bucket("mem")
        .key("big")
        .body(ByteStream::from(big.clone()))
        .send()
        .await
        .expect("put big");
    let mut readers = Vec::new();
    for _ in 0..3 {
        // Responses left unread hold their admission until their bodies are sent.
        readers.push(
            client
                .get_object()
                .bucket("mem")
                .key("big")
                .send()
                .await
                .expect("get"),
        );
    }
    let err = client
        .get_object()
        .bucket("mem")
        .key("big")
        .send()
        .await
        .expect_err("a fourth streamed read does not fit");
    assert_eq!(err.code(), Some("SlowDown"), "{err:?}");
    client
        .head_object()
        .bucket("mem")
        .key("big")
        .send()
        .await
        .expect("a small request still fits");
    let first = readers.pop().expect("reader");
    let back = first.body.collect().await.expect("body").into_bytes();
    assert!(back == big, "the streamed read came back different");
    drop(readers);
    // Admissions are returned as the abandoned streams are dropped by the gateway.
    let mut served = false;
    for _ in 0..50 {
        if client
            .get_object()
            .bucket("mem")
            .key("big")
            .send()
            .await
            .is_ok()
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "reads are admitted again once the others ended");
    let large: Vec<u8> = (0..256 * MIB as usize).map(|i| (i % 253) as u8).collect();
    serve
        .client()
        .put_object()
        .bucket("mem")
        .key("large")
        .body(ByteStream::from(large))
        .send()
        .await
        .expect("a 256 MiB PUT");
    report_rss(
        "memory admission (3 held 40 MiB reads, one 256 MiB PUT)",
        &serve,
    );
}

/// An upload whose client stops sending fails after `body_idle_timeout_secs` with
/// `IncompleteBody`, rather than holding its buffers and admission indefinitely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_uploads_fail() {
    let (_dir, serve) = start("body_idle_timeout_secs = 2");
    let client = serve.client();
    client
        .create_bucket()
        .bucket("stall")
        .send()
        .await
        .expect("create bucket");
    let presigned = client
        .put_object()
        .bucket("stall")
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).expect("presign"))
        .await
        .expect("presign");
    let uri: http::Uri = presigned.uri().parse().expect("uri");
    let target = addr(&serve);
    let mut stream = TcpStream::connect(&target).await.expect("connect");
    let mut head = format!(
        "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000000\r\n",
        uri.path_and_query().expect("path"),
        uri.authority().expect("authority"),
    );
    for (name, value) in presigned.headers() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&[1u8; 1000]).await.expect("write");
    let started = Instant::now();
    let reply = read_to_close(&mut stream, Duration::from_secs(15))
        .await
        .expect("the stalled upload is answered");
    println!("stalled upload answered after {:?}", started.elapsed());
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply:?}");
    assert!(reply.contains("IncompleteBody"), "{reply:?}");
    let missing = client.head_object().bucket("stall").key("k").send().await;
    assert!(missing.is_err(), "nothing of the stalled upload was stored");
}

/// Requests the gateway must not take at face value: SigV2 (no replay protection) unless
/// enabled, presigned URLs valid past a week, and headers of features Floe does not have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_and_unsupported_requests_are_refused() {
    let (_dir, serve) = start("");
    let client = serve.client();
    client
        .create_bucket()
        .bucket("honest")
        .send()
        .await
        .expect("create bucket");
    let target = addr(&serve);
    let raw = |request: String| {
        let target = target.clone();
        async move {
            let mut stream = TcpStream::connect(&target).await.expect("connect");
            stream.write_all(request.as_bytes()).await.expect("write");
            read_to_close(&mut stream, Duration::from_secs(5))
                .await
                .expect("answered")
        }
    };
    let v2 = raw(format!(
        "GET /honest/k HTTP/1.1\r\nHost: {target}\r\nDate: Sun, 06 Dec 2026 10:00:00 GMT\r\n\
         Authorization: AWS floeadmin:bm90IGEgc2lnbmF0dXJl\r\nConnection: close\r\n\r\n"
    ))
    .await;
    assert!(v2.starts_with("HTTP/1.1 400"), "{v2}");
    assert!(v2.contains("AWS4-HMAC-SHA256"), "{v2}");

    let presigned = client
        .get_object()
        .bucket("honest")
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(3600)).expect("presign"))
        .await
        .expect("presign");
    let uri: http::Uri = presigned.uri().parse().expect("uri");
    let eight_days = uri
        .path_and_query()
        .expect("path")
        .as_str()
        .replace("X-Amz-Expires=3600", "X-Amz-Expires=691200");
    let week_plus = raw(format!(
        "GET {eight_days} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        uri.authority().expect("authority")
    ))
    .await;
    assert!(week_plus.starts_with("HTTP/1.1 400"), "{week_plus}");
    assert!(
        week_plus.contains("AuthorizationQueryParametersError"),
        "{week_plus}"
    );

    use aws_sdk_s3::types::{ObjectCannedAcl, ObjectLockMode, ServerSideEncryption};
    let put = || {
        client
            .put_object()
            .bucket("honest")
            .key("k")
            .body(ByteStream::from_static(b"data"))
    };
    let refused = [
        (
            put().server_side_encryption(ServerSideEncryption::AwsKms),
            "NotImplemented",
        ),
        (
            put()
                .sse_customer_algorithm("AES256")
                .sse_customer_key("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
                .sse_customer_key_md5("ZrmWIiJvzVv+6Qh/3Jqg2w=="),
            "NotImplemented",
        ),
        (
            put()
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                    4_000_000_000,
                )),
            "InvalidRequest",
        ),
        (
            put().acl(ObjectCannedAcl::PublicRead),
            "AccessControlListNotSupported",
        ),
        (
            put().grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""),
            "AccessControlListNotSupported",
        ),
    ];
    for (request, code) in refused {
        let err = request.send().await.expect_err("refused");
        assert_eq!(err.code(), Some(code), "{err:?}");
    }
    assert!(
        client
            .head_object()
            .bucket("honest")
            .key("k")
            .send()
            .await
            .is_err(),
        "a refused PUT stored nothing"
    );
    let err = client
        .create_bucket()
        .bucket("locked")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect_err("object lock is refused");
    assert_eq!(err.code(), Some("NotImplemented"), "{err:?}");
    // The harmless canned ACL is accepted.
    put()
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .expect("private ACL");
}

/// Random and mutated requests over the socket, signed (presigned URLs, with unsigned headers
/// and bodies added at random) and not: methods, paths, query strings, headers, bodies,
/// aws-chunked framing, truncated streams. No answer may be a 500, nothing may panic, and the
/// gateway serves a correct PUT and GET afterwards.
mod random_requests {
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
        let statuses =
            std::cell::RefCell::new(std::collections::BTreeMap::<Option<u16>, usize>::new());
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
}
