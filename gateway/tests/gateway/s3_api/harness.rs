//! Shared scaffolding: one in-process gateway per test (tempdir, port 0, 6 embedded storage nodes,
//! k=4 m=2), an aws-sdk-s3 client with the SDK's default settings, raw HTTP (`raw`),
//! deterministic data, digests, and assertions on S3 error codes and HTTP statuses.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Once;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use floe_gateway::runtime::config::{GatewayConfig, GatewayOverrides};
use floe_gateway::runtime::launch::Gateway;
use md5::{Digest, Md5};

mod raw;
pub use raw::*;

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// A gateway of its own for one test, with a client signed by the configured root key.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub client: Client,
    pub config: GatewayConfig,
    gateway: Option<Gateway>,
    _dir: tempfile::TempDir,
}

impl TestGateway {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a gateway after `edit` adjusted the resolved configuration (e.g. `domains`).
    pub async fn start_with(edit: impl FnOnce(&mut GatewayConfig)) -> Self {
        init_tracing();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = GatewayConfig::resolve(
            None,
            GatewayOverrides {
                listen: Some("127.0.0.1:0".parse().unwrap()),
                data_dir: Some(dir.path().to_path_buf()),
                // FLOE_TEST_INDEX=postgres: the same tests on a shared PostgreSQL index.
                index: (std::env::var("FLOE_TEST_INDEX").as_deref() == Ok("postgres"))
                    .then(|| floe_testkit::postgres::fresh_database("s3_api")),
                ..Default::default()
            },
        )
        .expect("gateway configuration");
        edit(&mut config);
        let gateway = Gateway::start(&config).await.expect("gateway starts");
        let addr = gateway.addr;
        let client = client_for(addr, &config.access_key, &config.secret_key);
        Self {
            addr,
            client,
            config,
            gateway: Some(gateway),
            _dir: dir,
        }
    }

    /// A client for the same endpoint with other credentials.
    pub fn client_with(&self, access: &str, secret: &str) -> Client {
        client_for(self.addr, access, secret)
    }

    pub async fn create_bucket(&self, name: &str) {
        self.client
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {name}: {}", DisplayErrorContext(&e)));
    }

    /// PutObject with the SDK's defaults (CRC32 in an aws-chunked trailer).
    pub async fn put(&self, bucket: &str, key: &str, data: &[u8]) -> PutObjectOutput {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(data.to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {bucket}/{key}: {}", DisplayErrorContext(&e)))
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {bucket}/{key}: {}", DisplayErrorContext(&e)));
        body(out).await
    }

    /// Uploads `parts` as one multipart upload (SDK default checksums) and completes it.
    pub async fn multipart(
        &self,
        bucket: &str,
        key: &str,
        parts: &[&[u8]],
    ) -> CompleteMultipartUploadOutput {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create upload: {}", DisplayErrorContext(&e)));
        let upload_id = upload.upload_id().expect("upload id").to_string();
        let mut done = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let n = i as i32 + 1;
            let out = self
                .client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(n)
                .body(ByteStream::from(part.to_vec()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("upload part {n}: {}", DisplayErrorContext(&e)));
            done.push(
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(out.e_tag().unwrap())
                    .build(),
            );
        }
        self.client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("complete: {}", DisplayErrorContext(&e)))
    }

    /// The admin API with the gateway's admin token.
    pub fn admin(&self) -> floe_gateway::admin::AdminClient {
        self.admin_as(&self.config.admin_token)
    }

    /// The admin API with bearer credential `token` (a token, or `ACCESS_KEY:SECRET`).
    pub fn admin_as(&self, token: &str) -> floe_gateway::admin::AdminClient {
        floe_gateway::admin::AdminClient::new(&format!("http://{}", self.admin_addr()), token)
            .expect("admin client")
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.gateway.as_ref().expect("running").admin_addr
    }

    pub async fn stop(mut self) {
        if let Some(gateway) = self.gateway.take() {
            gateway.stop().await;
        }
    }
}

pub fn client_for(addr: SocketAddr, access: &str, secret: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(format!("http://{addr}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access, secret, None, None, "test"))
        .force_path_style(true)
        .behavior_version(BehaviorVersion::latest())
        .build();
    Client::from_conf(config)
}

/// `RUST_LOG=floe_gateway=debug cargo test ...` shows the gateway's logs next to a failure.
fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    });
}

pub async fn body(out: GetObjectOutput) -> Vec<u8> {
    out.body
        .collect()
        .await
        .expect("read body")
        .into_bytes()
        .to_vec()
}

/// Seeded test bytes (`floe_testkit::pattern`): the same (seed, len) always gives the same data.
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    floe_testkit::pattern(len, seed)
}

/// Compares bodies without printing megabytes on a mismatch.
#[track_caller]
pub fn assert_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: bodies differ: got {} bytes (blake3 {}), want {} bytes (blake3 {}), first \
             difference at {first:?}",
            got.len(),
            blake3::hash(got),
            want.len(),
            blake3::hash(want)
        );
    }
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn md5_raw(data: &[u8]) -> Vec<u8> {
    Md5::digest(data).to_vec()
}

pub fn md5_b64(data: &[u8]) -> String {
    b64(&md5_raw(data))
}

/// The quoted ETag S3 gives a single-part object: hex MD5 of the body.
pub fn etag_of(data: &[u8]) -> String {
    format!("\"{}\"", hex::encode(md5_raw(data)))
}

/// The quoted ETag of a multipart object: MD5 of the concatenated binary part MD5s, "-N".
pub fn multipart_etag(parts: &[&[u8]]) -> String {
    let joined: Vec<u8> = parts.iter().flat_map(|p| md5_raw(p)).collect();
    format!("\"{}-{}\"", hex::encode(md5_raw(&joined)), parts.len())
}

/// Raw (big-endian) digest bytes of `data` under `algorithm`.
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

/// The HTTP status of a failed call, if a response arrived.
pub fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// The S3 error code of a failed call, if the response carried one.
pub fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned)
}

/// Asserts that `result` failed with exactly this HTTP status and S3 error code.
#[track_caller]
pub fn expect_err<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    status: u16,
    code: &str,
) -> SdkError<E, HttpResponse>
where
    T: Debug,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let err = match result {
        Ok(out) => panic!("expected {status} {code}, but the call succeeded: {out:?}"),
        Err(e) => e,
    };
    assert_eq!(
        (status_of(&err), code_of(&err).as_deref()),
        (Some(status), Some(code)),
        "wrong error: {}",
        DisplayErrorContext(&err)
    );
    err
}

/// Asserts the HTTP status only: for HEAD (no error body) and 304 (not an error code).
#[track_caller]
pub fn expect_status<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    status: u16,
) -> SdkError<E, HttpResponse>
where
    T: Debug,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let err = match result {
        Ok(out) => panic!("expected status {status}, but the call succeeded: {out:?}"),
        Err(e) => e,
    };
    assert_eq!(
        status_of(&err),
        Some(status),
        "wrong error: {}",
        DisplayErrorContext(&err)
    );
    err
}

/// Unwraps an SDK result, printing the whole error chain on failure.
#[track_caller]
pub fn ok<T, E>(result: Result<T, SdkError<E, HttpResponse>>, what: &str) -> T
where
    E: std::error::Error + Send + Sync + 'static,
{
    result.unwrap_or_else(|e| panic!("{what}: {}", DisplayErrorContext(&e)))
}
