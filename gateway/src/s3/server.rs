//! Serving S3: building the s3s service (auth, virtual hosts) and the accept loop.
//!
//! [`run`] sets TCP_NODELAY on every connection: s3s writes headers and body separately, and
//! without it Nagle plus delayed ACK stalls every small GET by ~44 ms (see docs/architecture.md).

use std::future::Future;
use std::sync::Arc;

use s3s::S3Result;
use s3s::auth::{S3Auth, SecretKey};
use s3s::config::{S3Config, StaticConfigProvider};
use s3s::host::{S3Host, VirtualHost};
use s3s::service::S3ServiceBuilder;

use crate::identity::Directory;
use crate::objects::{ObjectService, now_millis};

use super::FloeS3;
use super::authorize::Guard;
use super::errors::unknown_access_key;
use crate::front::{FrontDoor, FrontSettings, MemoryModel, S3Front};
use crate::runtime::http_server::{Listener, accept_until};

/// How the S3 endpoint authenticates and addresses buckets.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The root key and the users' keys.
    pub directory: Arc<Directory>,
    /// Virtual-hosted-style base domains (e.g. "localhost", "s3.example.com"); path style
    /// always works.
    pub domains: Vec<String>,
    /// Largest XML request body s3s reads (CompleteMultipartUpload, DeleteObjects, tagging).
    pub max_xml_body_bytes: usize,
    /// Requests served at once; more get 503 SlowDown (see `admission`).
    pub max_concurrent_requests: usize,
    /// Memory that admitted requests may hold together; more get 503 SlowDown.
    pub max_inflight_bytes: u64,
    /// What one request may hold, by kind (see `admission`).
    pub memory: MemoryModel,
    /// A request body silent this long fails (the client gets `IncompleteBody`).
    pub body_idle_timeout: std::time::Duration,
    /// Accept AWS Signature Version 2 (off by default: no replay protection).
    pub allow_sigv2: bool,
}

/// The s3s service over `service`, behind the front (request ids, front door, admission).
/// Requests are signed by the root key or a user's key, and authorized by [`Guard`]: an
/// unsigned request only gets what a bucket policy grants everyone.
pub fn build_service(service: ObjectService, settings: &S3Settings) -> S3Front {
    let guard = Guard::new(service.clone(), settings.directory.clone());
    let cors_service = service.clone();
    let mut builder = S3ServiceBuilder::new(FloeS3::new(service));
    let mut limits = S3Config::default();
    limits.xml_max_body_size = settings.max_xml_body_bytes;
    // POST Object is not implemented and the front door refuses form uploads unread; should one
    // ever reach s3s, it must not buffer a file part (s3s's default allows 5 GiB in memory).
    limits.post_object_max_file_size = 0;
    limits.form_max_field_size = 64 * 1024;
    limits.form_max_fields_size = 256 * 1024;
    limits.form_max_parts = 64;
    builder.set_config(Arc::new(StaticConfigProvider::new(Arc::new(limits))));
    builder.set_auth(AccessKeys(settings.directory.clone()));
    builder.set_access(guard);
    builder.set_route(super::sts::Sts::new(settings.directory.clone()));
    let hosts = (!settings.domains.is_empty()).then(|| VirtualHosts::new(&settings.domains));
    if let Some(hosts) = &hosts {
        builder.set_host(hosts.clone());
    }
    let cors = super::cors::BucketCors::new(cors_service, hosts);
    S3Front::new(
        builder.build(),
        FrontSettings {
            door: FrontDoor {
                max_xml_body_bytes: settings.max_xml_body_bytes,
                allow_sigv2: settings.allow_sigv2,
            },
            max_concurrent_requests: settings.max_concurrent_requests,
            max_inflight_bytes: settings.max_inflight_bytes,
            memory: settings.memory,
            body_idle_timeout: settings.body_idle_timeout,
        },
    )
    .with_cors(Arc::new(cors))
}

/// Serves `service` on `listener` until `shutdown` completes, then stops accepting and waits
/// for in-flight requests to finish (idle keep-alive connections are closed at once). Callers
/// wanting a bound on that wait wrap this future in a timeout.
pub async fn run(
    listener: impl Into<Listener>,
    service: S3Front,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = accept_until("s3", listener, service, shutdown).await;
    tracing::info!("S3 endpoint draining in-flight requests");
    graceful.shutdown().await;
    Ok(())
}

/// The root key and the enabled, unexpired keys of the index, refusing other keys as S3 does
/// (`InvalidAccessKeyId`, which SDKs know) rather than with s3s's `NotSignedUp`. Read from the
/// index on every request, so a disabled key stops working at once on every gateway.
struct AccessKeys(Arc<Directory>);

#[async_trait::async_trait]
impl S3Auth for AccessKeys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.signer(access_key, now_millis()).await {
            Ok(Some(signer)) => Ok(SecretKey::from(signer.secret)),
            Ok(None) => Err(unknown_access_key()),
            Err(e) => Err(crate::objects::ObjectError::from(e).into()),
        }
    }
}

/// Virtual-hosted-style addressing for the configured base domains.
///
/// Unlike s3s's `MultiDomain`, a host that is not one of ours (or has a port, as
/// `localhost:9000` does) stays path-style instead of being read as a CNAME bucket name.
#[derive(Debug, Clone)]
pub(super) struct VirtualHosts {
    domains: Vec<String>,
}

impl VirtualHosts {
    fn new(domains: &[String]) -> Self {
        let domains = domains
            .iter()
            .map(|d| strip_port(d.trim().trim_end_matches('.')).to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        Self { domains }
    }

    /// The bucket named by `host`, if it is `bucket.<one of our domains>`.
    pub(super) fn bucket_of(&self, host: &str) -> Option<(String, &str)> {
        let name = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
        self.domains.iter().find_map(|domain| {
            let bucket = name.strip_suffix(domain.as_str())?.strip_suffix('.')?;
            (!bucket.is_empty()).then(|| (bucket.to_owned(), domain.as_str()))
        })
    }
}

impl S3Host for VirtualHosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match self.bucket_of(host) {
            Some((bucket, domain)) => VirtualHost::new(domain).with_bucket(bucket),
            None => VirtualHost::new(host),
        })
    }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(hosts: &VirtualHosts, host: &str) -> Option<String> {
        hosts
            .parse_host_header(host)
            .ok()
            .and_then(|vh| vh.bucket().map(str::to_owned))
    }

    #[test]
    fn virtual_hosts() {
        let hosts = VirtualHosts::new(&["localhost".into(), "S3.Example.com:443".into()]);
        assert_eq!(bucket(&hosts, "localhost:9000"), None);
        assert_eq!(bucket(&hosts, "localhost"), None);
        assert_eq!(
            bucket(&hosts, "photos.localhost:9000").as_deref(),
            Some("photos")
        );
        assert_eq!(
            bucket(&hosts, "my.dotted.bucket.s3.example.com").as_deref(),
            Some("my.dotted.bucket")
        );
        assert_eq!(
            bucket(&hosts, "Photos.S3.EXAMPLE.com.").as_deref(),
            Some("photos")
        );
        assert_eq!(bucket(&hosts, "gateway.internal:9000"), None);
        assert_eq!(bucket(&hosts, "notlocalhost"), None);
        assert_eq!(bucket(&hosts, ".localhost"), None);
    }
}
