//! [`AdminClient`]: a typed client for the admin API, used by `floe admin` and by tests.
//!
//! Requests have no deadline: a repair or scrub of a large cluster legitimately takes long, and
//! the server answers only when it is done. Progress is a separate, quick request.

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use super::{ErrorBody, GcReport, StatusReport};
use crate::maintenance::recovery::RebuildReport;
use crate::maintenance::repair::{DrainReport, ProgressSnapshot, RepairReport, ScrubReport};

/// What went wrong talking to the admin API.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid gateway url {0:?}: expected http://host:port")]
    InvalidUrl(String),
    #[error("cannot reach the admin API at {url}: {message}")]
    Unavailable { url: String, message: String },
    #[error("the gateway refused: {status}: {message}")]
    Refused { status: StatusCode, message: String },
    #[error("the admin token is not a valid header value")]
    InvalidToken,
    #[error("unexpected answer from the gateway to {what}: {source}")]
    Protocol {
        what: String,
        source: serde_json::Error,
    },
}

/// A client for one gateway's admin API. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AdminClient {
    base: String,
    token: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl AdminClient {
    /// A client for `base_url` (`http://host:port`) sending `token` as the bearer token.
    pub fn new(base_url: &str, token: &str) -> Result<Self, AdminError> {
        let base = base_url.trim_end_matches('/').to_owned();
        let uri: Uri = base
            .parse()
            .map_err(|_| AdminError::InvalidUrl(base_url.to_owned()))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(AdminError::InvalidUrl(base_url.to_owned()));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Ok(Self {
            base,
            token: token.to_owned(),
            http: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    pub async fn status(&self) -> Result<StatusReport, AdminError> {
        self.call(Method::GET, "/admin/status").await
    }

    /// The operation the gateway is running, if any.
    pub async fn progress(&self) -> Result<Option<ProgressSnapshot>, AdminError> {
        self.call(Method::GET, "/admin/progress").await
    }

    /// A full repair sweep.
    pub async fn repair(&self) -> Result<RepairReport, AdminError> {
        self.call(Method::POST, "/admin/repair").await
    }

    /// A scrub of every node at `max_bytes_per_sec` per node [default: the gateway's setting;
    /// 0: no cap], then the repair of what it found.
    pub async fn scrub(&self, max_bytes_per_sec: Option<u64>) -> Result<ScrubReport, AdminError> {
        let path = match max_bytes_per_sec {
            Some(rate) => format!("/admin/scrub?max_bytes_per_sec={rate}"),
            None => "/admin/scrub".to_owned(),
        };
        self.call(Method::POST, &path).await
    }

    /// Garbage collection with `grace_secs` instead of the configured grace period.
    pub async fn gc(&self, grace_secs: Option<u64>) -> Result<GcReport, AdminError> {
        let path = match grace_secs {
            Some(secs) => format!("/admin/gc?grace_secs={secs}"),
            None => "/admin/gc".to_owned(),
        };
        self.call(Method::POST, &path).await
    }

    /// Drains the node `node` (URL or placement key).
    pub async fn drain(&self, node: &str) -> Result<DrainReport, AdminError> {
        let path = format!("/admin/drain?node={}", percent_encode(node));
        self.call(Method::POST, &path).await
    }

    /// Every version and delete marker of `bucket/key`, newest first.
    pub async fn versions(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<super::VersionLine>, AdminError> {
        let path = format!(
            "/admin/versions?bucket={}&key={}",
            percent_encode(bucket),
            percent_encode(key)
        );
        self.call(Method::GET, &path).await
    }

    /// Removes version `version` of `bucket/key`, as its lock allows.
    pub async fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version: &str,
        bypass_governance: bool,
    ) -> Result<super::DeletedVersion, AdminError> {
        let path = format!(
            "/admin/versions?bucket={}&key={}&version={}&bypass_governance={bypass_governance}",
            percent_encode(bucket),
            percent_encode(key),
            percent_encode(version)
        );
        self.call(Method::DELETE, &path).await
    }

    /// Rebuilds the gateway's index from the metadata records on the nodes.
    pub async fn rebuild_index(&self) -> Result<RebuildReport, AdminError> {
        self.call(Method::POST, "/admin/rebuild-index").await
    }

    /// Runs the lifecycle engine once, now.
    pub async fn lifecycle_run(
        &self,
    ) -> Result<crate::maintenance::lifecycle::LifecycleReport, AdminError> {
        self.call(Method::POST, "/admin/lifecycle/run").await
    }

    /// Every user with its keys (no secrets).
    pub async fn users(&self) -> Result<Vec<super::UserLine>, AdminError> {
        self.call(Method::GET, "/admin/users").await
    }

    /// Creates or updates user `name` with `policies` (canned or stored names).
    pub async fn put_user(
        &self,
        name: &str,
        policies: &[String],
    ) -> Result<super::UserLine, AdminError> {
        let path = format!(
            "/admin/users?name={}&policies={}",
            percent_encode(name),
            percent_encode(&policies.join(","))
        );
        self.call(Method::PUT, &path).await
    }

    /// Deletes user `name` and its keys.
    pub async fn delete_user(&self, name: &str) -> Result<String, AdminError> {
        let path = format!("/admin/users?name={}", percent_encode(name));
        self.call(Method::DELETE, &path).await
    }

    /// A new access key for `user`; temporary with `expires_secs`. The answer is the only
    /// place its secret appears.
    pub async fn create_key(
        &self,
        user: &str,
        expires_secs: Option<u64>,
    ) -> Result<crate::identity::NewKey, AdminError> {
        let mut path = format!("/admin/keys?user={}", percent_encode(user));
        if let Some(secs) = expires_secs {
            path.push_str(&format!("&expires_secs={secs}"));
        }
        self.call(Method::POST, &path).await
    }

    /// The access keys of `user` (every user's without one).
    pub async fn keys(&self, user: Option<&str>) -> Result<Vec<super::KeyLine>, AdminError> {
        let path = match user {
            Some(user) => format!("/admin/keys?user={}", percent_encode(user)),
            None => "/admin/keys".to_owned(),
        };
        self.call(Method::GET, &path).await
    }

    /// Enables or disables access key `key`.
    pub async fn set_key_enabled(
        &self,
        key: &str,
        enabled: bool,
    ) -> Result<super::KeyLine, AdminError> {
        let path = format!(
            "/admin/keys/state?key={}&enabled={enabled}",
            percent_encode(key)
        );
        self.call(Method::POST, &path).await
    }

    /// Deletes access key `key`.
    pub async fn delete_key(&self, key: &str) -> Result<String, AdminError> {
        let path = format!("/admin/keys?key={}", percent_encode(key));
        self.call(Method::DELETE, &path).await
    }

    /// The canned and stored policies.
    pub async fn policies(&self) -> Result<Vec<super::PolicyLine>, AdminError> {
        self.call(Method::GET, "/admin/policies").await
    }

    /// Stores identity policy `name` (its JSON document).
    pub async fn put_policy(
        &self,
        name: &str,
        document: &str,
    ) -> Result<super::PolicyLine, AdminError> {
        let path = format!("/admin/policies?name={}", percent_encode(name));
        self.send(Method::PUT, &path, Bytes::from(document.to_owned()))
            .await
    }

    /// Deletes stored policy `name`.
    pub async fn delete_policy(&self, name: &str) -> Result<String, AdminError> {
        let path = format!("/admin/policies?name={}", percent_encode(name));
        self.call(Method::DELETE, &path).await
    }

    /// Sends a request and decodes the JSON answer; error answers become `Refused`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
    ) -> Result<T, AdminError> {
        self.send(method, path_and_query, Bytes::new()).await
    }

    /// [`Self::call`] with a request body.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Bytes,
    ) -> Result<T, AdminError> {
        let url = format!("{}{path_and_query}", self.base);
        let uri: Uri = url
            .parse()
            .map_err(|_| AdminError::InvalidUrl(url.clone()))?;
        let length = body.len();
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let bearer = http::HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| AdminError::InvalidToken)?;
        request.headers_mut().insert(AUTHORIZATION, bearer);
        request
            .headers_mut()
            .insert(CONTENT_LENGTH, http::HeaderValue::from(length));
        let unavailable = |message: String| AdminError::Unavailable {
            url: self.base.clone(),
            message,
        };
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| unavailable(error_chain(&e)))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unavailable(error_chain(&e)))?
            .to_bytes();
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            return Err(AdminError::Refused { status, message });
        }
        serde_json::from_slice(&body).map_err(|source| AdminError::Protocol {
            what: path_and_query.to_string(),
            source,
        })
    }
}

/// Percent-encodes everything but unreserved characters, for a query value.
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
