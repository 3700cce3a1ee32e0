//! The endpoint under test: its URL and credentials, SDK clients for it, and the buckets this run
//! created (each named after the run, so a shared server is never touched outside them; all are
//! emptied and deleted at the end).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

#[derive(Clone)]
pub struct Target {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// Short, unique per run: the prefix of every bucket this run creates.
    pub run_id: String,
    buckets: Arc<Mutex<Vec<String>>>,
}

impl Target {
    pub fn new(endpoint: &str, access_key: &str, secret_key: &str, region: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let run_id = format!(
            "{:06x}",
            (nanos ^ u128::from(std::process::id())) & 0xff_ffff
        );
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            region: region.into(),
            run_id,
            buckets: Arc::default(),
        }
    }

    /// `S3_ENDPOINT` (+ `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`), if set.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = var("S3_ENDPOINT")?;
        let access = var("AWS_ACCESS_KEY_ID").unwrap_or_default();
        let secret = var("AWS_SECRET_ACCESS_KEY").unwrap_or_default();
        if access.is_empty() || secret.is_empty() {
            println!(
                "warning: S3_ENDPOINT is set but AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not"
            );
        }
        let region = var("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
        Some(Self::new(&endpoint, &access, &secret, &region))
    }

    /// An SDK client with the SDK's default behaviour (checksums on, standard retries).
    pub fn client(&self) -> Client {
        self.client_with(&self.access_key, &self.secret_key)
    }

    pub fn client_with(&self, access: &str, secret: &str) -> Client {
        Client::from_conf(self.config(access, secret).build())
    }

    /// One attempt, short timeouts: for the failure scenarios, where a retry would blur which
    /// request saw which answer.
    pub fn client_no_retry(&self) -> Client {
        let config = self
            .config(&self.access_key, &self.secret_key)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            )
            .build();
        Client::from_conf(config)
    }

    /// The configuration every client here starts from: endpoint, region, credentials, path
    /// style, the SDK's latest behaviour. Callers adjust it (retries, timeouts) and build.
    pub fn config(&self, access: &str, secret: &str) -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::Config::builder()
            .endpoint_url(&self.endpoint)
            .region(Region::new(self.region.clone()))
            .credentials_provider(Credentials::new(access, secret, None, None, "conformance"))
            .force_path_style(true)
            .behavior_version(BehaviorVersion::latest())
    }

    /// A bucket name unique to this run (`fc-<run>-<purpose>`), remembered for cleanup.
    pub fn bucket_name(&self, purpose: &str) -> String {
        let name = format!("fc-{}-{purpose}", self.run_id);
        self.remember(&name);
        name
    }

    pub fn remember(&self, bucket: &str) {
        let mut buckets = self.buckets.lock().expect("bucket list");
        if !buckets.iter().any(|b| b == bucket) {
            buckets.push(bucket.to_string());
        }
    }

    /// Creates a fresh bucket for one scenario.
    pub async fn create_bucket(&self, purpose: &str) -> anyhow::Result<String> {
        let name = self.bucket_name(purpose);
        self.client()
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("create bucket {name}: {}", show(&e)))?;
        Ok(name)
    }

    /// Best effort: aborts uploads, deletes objects and removes every bucket this run created.
    pub async fn cleanup_buckets(&self) {
        let buckets = self.buckets.lock().expect("bucket list").clone();
        let client = self.client();
        let mut left = Vec::new();
        for bucket in buckets {
            if empty_and_delete(&client, &bucket).await.is_err() {
                left.push(bucket);
            }
        }
        if !left.is_empty() {
            println!("cleanup: could not delete buckets {}", left.join(", "));
        }
    }
}

async fn empty_and_delete(client: &Client, bucket: &str) -> Result<(), ()> {
    if let Ok(uploads) = client.list_multipart_uploads().bucket(bucket).send().await {
        for u in uploads.uploads() {
            let (Some(key), Some(id)) = (u.key(), u.upload_id()) else {
                continue;
            };
            let _ = client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(id)
                .send()
                .await;
        }
    }
    // Listing from the start again after each batch of deletes: no continuation token to go stale.
    for _ in 0..100 {
        let Ok(page) = client.list_objects_v2().bucket(bucket).send().await else {
            break;
        };
        if page.contents().is_empty() {
            break;
        }
        for object in page.contents() {
            if let Some(key) = object.key() {
                let _ = client.delete_object().bucket(bucket).key(key).send().await;
            }
        }
    }
    match client.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        // Already gone (a scenario deleted it, or a client purged it).
        Err(e) if status(&e) == Some(404) => Ok(()),
        Err(_) => Err(()),
    }
}

/// An SDK error in one line: `HTTP 503 ServiceUnavailable: message` when the server answered
/// with an S3 error, else the SDK's whole error chain (timeouts, connection errors, ...).
pub fn show<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match (status(err), err.as_service_error()) {
        (Some(status), Some(service)) => format!(
            "HTTP {status} {}: {}",
            service.code().unwrap_or("(no code)"),
            service.message().unwrap_or("(no message)")
        ),
        _ => DisplayErrorContext(err).to_string(),
    }
}

pub fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}
