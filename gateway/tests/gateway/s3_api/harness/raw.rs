//! Raw HTTP to the gateway through hyper-util's client: plain requests, presigned requests
//! (sent to the socket with the URL's authority as Host), and copy-source encoding.

use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};

pub struct RawResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one plain HTTP/1.1 request to the gateway (hyper-util's client). A `host` header in
/// `headers` replaces the default one (the socket address).
pub async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> RawResponse {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path_and_query}"));
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(Full::new(Bytes::from(body)))
        .expect("raw request");
    let response = client.request(request).await.expect("raw request sent");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("raw body").to_bytes();
    RawResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// Sends a presigned request to the gateway's socket, with the presigned URL's authority as the
/// Host header (so virtual-hosted URLs work without DNS).
pub async fn send_presigned(
    addr: SocketAddr,
    presigned: &PresignedRequest,
    body: Vec<u8>,
) -> RawResponse {
    let uri: http::Uri = presigned.uri().parse().expect("presigned uri");
    let mut headers: Vec<(String, String)> = presigned
        .headers()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    headers.push((
        "host".into(),
        uri.authority().expect("authority").to_string(),
    ));
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    raw_request(addr, presigned.method(), path, &headers, body).await
}

/// The request line and headers (without the blank line that ends them) of a presigned PUT of
/// `len` bytes to `bucket/key`, for tests that write to the socket by hand.
pub async fn presigned_put_head(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    len: usize,
) -> String {
    let presigned = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .expect("presign");
    let uri: http::Uri = presigned.uri().parse().unwrap();
    let mut head = format!(
        "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {len}\r\n",
        uri.path_and_query().unwrap(),
        uri.authority().unwrap(),
    );
    for (name, value) in presigned.headers() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head
}

/// Percent-encodes everything but unreserved characters and `/` (for `x-amz-copy-source`).
pub fn url_encode_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
