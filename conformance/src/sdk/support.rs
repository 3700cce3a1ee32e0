//! What every SDK scenario needs: deterministic data, digests (MD5 ETags, the five checksum
//! algorithms), error assertions that name the S3 code and HTTP status, and raw HTTP for the
//! requests the SDK will not make (presigned URLs, hand-made headers).

use anyhow::{Context, bail, ensure};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use aws_sdk_s3::types::ChecksumAlgorithm;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use md5::{Digest, Md5};

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// Seeded xorshift64 bytes: the same (seed, len) always gives the same data.
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn md5_raw(data: &[u8]) -> Vec<u8> {
    Md5::digest(data).to_vec()
}

pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(md5_raw(data))
}

/// The quoted ETag of a single-part object: hex MD5 of the body.
pub fn etag_of(data: &[u8]) -> String {
    format!("\"{}\"", md5_hex(data))
}

/// The quoted ETag of a multipart object: MD5 of the concatenated binary part MD5s, then "-N".
pub fn multipart_etag(parts: &[&[u8]]) -> String {
    let joined: Vec<u8> = parts.iter().flat_map(|p| md5_raw(p)).collect();
    format!("\"{}-{}\"", md5_hex(&joined), parts.len())
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The five algorithms S3 supports, in the order the matrix lists them.
pub const ALGORITHMS: [ChecksumAlgorithm; 5] = [
    ChecksumAlgorithm::Crc32,
    ChecksumAlgorithm::Crc32C,
    ChecksumAlgorithm::Crc64Nvme,
    ChecksumAlgorithm::Sha1,
    ChecksumAlgorithm::Sha256,
];

/// Raw (big-endian) digest of `data` under `algorithm`.
pub fn digest(algorithm: &ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    use crc_fast::CrcAlgorithm as C;
    match algorithm {
        ChecksumAlgorithm::Crc32 => (crc_fast::checksum(C::Crc32IsoHdlc, data) as u32)
            .to_be_bytes()
            .to_vec(),
        ChecksumAlgorithm::Crc32C => (crc_fast::checksum(C::Crc32Iscsi, data) as u32)
            .to_be_bytes()
            .to_vec(),
        ChecksumAlgorithm::Crc64Nvme => crc_fast::checksum(C::Crc64Nvme, data)
            .to_be_bytes()
            .to_vec(),
        ChecksumAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        ChecksumAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        other => panic!("no local implementation of {other:?}"),
    }
}

/// The base64 value S3 reports in `x-amz-checksum-*`.
pub fn checksum_b64(algorithm: &ChecksumAlgorithm, data: &[u8]) -> String {
    b64(&digest(algorithm, data))
}

/// The header that carries `algorithm`'s value, e.g. `x-amz-checksum-crc64nvme`.
pub fn checksum_header(algorithm: &ChecksumAlgorithm) -> String {
    format!("x-amz-checksum-{}", algorithm.as_str().to_ascii_lowercase())
}

// `show` and `status` live in the library (the target needs them too).
pub use floe_conformance::target::{show, status};

pub fn code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned)
}

/// Unwraps an SDK result; the error names the step and the whole SDK error chain.
pub fn ok<T, E>(result: Result<T, SdkError<E, HttpResponse>>, what: &str) -> anyhow::Result<T>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    result.map_err(|e| anyhow::anyhow!("{what}: {}", show(&e)))
}

/// The call must fail with exactly this HTTP status and S3 error code.
pub fn expect_err<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    want_status: u16,
    want_code: &str,
    what: &str,
) -> anyhow::Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => bail!("{what}: expected {want_status} {want_code}, but it succeeded"),
        Err(e) => {
            let got = (status(&e), code(&e));
            ensure!(
                got == (Some(want_status), Some(want_code.to_string())),
                "{what}: expected {want_status} {want_code}, got {} {}: {}",
                got.0.map_or("no status".into(), |s| s.to_string()),
                got.1.unwrap_or_else(|| "no code".into()),
                show(&e)
            );
            Ok(())
        }
    }
}

/// The call must fail with this HTTP status (HEAD errors and 304 carry no code).
pub fn expect_status<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    want: u16,
    what: &str,
) -> anyhow::Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => bail!("{what}: expected status {want}, but it succeeded"),
        Err(e) => {
            ensure!(
                status(&e) == Some(want),
                "{what}: expected status {want}, got {}",
                show(&e)
            );
            Ok(())
        }
    }
}

/// A streaming (not in-memory) body: the SDK then sends its checksum as an `aws-chunked`
/// trailer instead of a header, as the AWS CLI and boto3 do for files. Replayable for retries.
pub fn streaming(bytes: Vec<u8>) -> ByteStream {
    let bytes = Bytes::from(bytes);
    ByteStream::new(SdkBody::retryable(move || {
        SdkBody::from_body_1_x(Full::new(bytes.clone()))
    }))
}

pub async fn body(out: GetObjectOutput) -> anyhow::Result<Vec<u8>> {
    Ok(out
        .body
        .collect()
        .await
        .context("reading the body")?
        .into_bytes()
        .to_vec())
}

/// Bodies must be equal; a mismatch names sizes, MD5s and the first differing offset.
pub fn ensure_bytes(got: &[u8], want: &[u8], what: &str) -> anyhow::Result<()> {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        bail!(
            "{what}: bodies differ: got {} bytes (md5 {}), want {} bytes (md5 {}), first \
             difference at {first:?}",
            got.len(),
            md5_hex(got),
            want.len(),
            md5_hex(want)
        );
    }
    Ok(())
}

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

/// One plain HTTP/1.1 request to an absolute URL (hyper-util's client).
pub async fn raw_request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> anyhow::Result<RawResponse> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(Full::new(Bytes::from(body)))
        .context("building a raw request")?;
    let response = client
        .request(request)
        .await
        .with_context(|| format!("{method} {url}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .context("reading a raw response")?
        .to_bytes();
    Ok(RawResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// Percent-encodes all but unreserved characters and `/` (S3's key encoding in URLs and
/// `x-amz-copy-source`).
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

/// Decodes `encoding-type=url` values the way botocore does (`+` is a space).
pub fn url_decode_plus(s: &str) -> anyhow::Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])?;
                out.push(
                    u8::from_str_radix(hex, 16).with_context(|| format!("bad escape in {s:?}"))?,
                );
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8(out)?)
}
