//! STS `AssumeRole` on the S3 endpoint, as MinIO serves it: a signed form POST to `/`
//! (`Action=AssumeRole`) answers temporary credentials for the caller itself (the role ARN is
//! not used: Floe has no roles), valid for `DurationSeconds` (15 minutes to 12 hours, default
//! one hour, never past the calling key's own expiry), narrowed by an optional session
//! `Policy`. Their requests must carry the session token; the key is refused once expired or
//! once the calling key is disabled or deleted, and its session policy can only narrow what
//! the caller's own policies allow (see `authorize`). Sessions cannot start sessions.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result, s3_error};
use s3s_policy::model::Policy;

use crate::access::{PolicyKind, validate};
use crate::identity::Directory;
use crate::objects::now_millis;
use crate::runtime::query::parse_query;

/// The bounds AWS sets on `DurationSeconds`.
const MIN_SECONDS: i64 = 900;
const MAX_SECONDS: i64 = 43_200;
const DEFAULT_SECONDS: i64 = 3_600;
/// AWS's limit on a session policy's size.
const MAX_POLICY_BYTES: usize = 2_048;

/// The route, beside the S3 operations.
pub struct Sts {
    directory: Arc<Directory>,
}

impl Sts {
    pub fn new(directory: Arc<Directory>) -> Self {
        Self { directory }
    }
}

fn form(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

#[async_trait::async_trait]
impl S3Route for Sts {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        _: &mut http::Extensions,
    ) -> bool {
        method == Method::POST && uri.path() == "/" && form(headers)
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let credentials = req
            .credentials
            .ok_or_else(|| s3_error!(AccessDenied, "AssumeRole must be signed"))?;
        let mut body = req.input;
        let bytes = body
            .store_all_limited(16 * 1024)
            .await
            .map_err(|_| s3_error!(InvalidRequest, "the STS request body is too large"))?;
        let params = parse_query(Some(&String::from_utf8_lossy(&bytes)));
        match params.get("Action").map(String::as_str) {
            Some("AssumeRole") => {}
            other => {
                return Err(s3_error!(
                    NotImplemented,
                    "STS action {other:?} is not implemented (only AssumeRole)"
                ));
            }
        }
        let seconds = match params.get("DurationSeconds") {
            None => DEFAULT_SECONDS,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|s| (MIN_SECONDS..=MAX_SECONDS).contains(s))
                .ok_or_else(|| {
                    s3_error!(
                        InvalidArgument,
                        "DurationSeconds must be between {MIN_SECONDS} and {MAX_SECONDS}"
                    )
                })?,
        };
        let policy = match params.get("Policy").filter(|p| !p.is_empty()) {
            None => None,
            Some(text) => {
                let malformed = |why: String| s3_error!(MalformedPolicy, "session policy: {why}");
                if text.len() > MAX_POLICY_BYTES {
                    return Err(malformed("longer than 2048 characters".into()));
                }
                let parsed: Policy =
                    serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
                validate(&parsed, PolicyKind::Identity).map_err(malformed)?;
                Some(text.clone())
            }
        };
        let now = now_millis();
        let (key, token) = self
            .directory
            .assume_role(&credentials.access_key, seconds, policy, now)
            .await
            .map_err(|e| match e {
                crate::identity::DirectoryError::Invalid(why) => s3_error!(AccessDenied, "{why}"),
                other => s3_error!(InternalError, "{other}"),
            })?;
        let session = params.get("RoleSessionName").cloned().unwrap_or_default();
        tracing::info!(
            user = key.user,
            parent = credentials.access_key,
            access_key = key.access_key,
            seconds,
            "STS session credentials issued"
        );
        let xml = answer(
            &key.access_key,
            &key.secret_key,
            &token,
            key.expires.unwrap_or(now + seconds * 1000),
            &session,
        );
        let mut response = S3Response::new(Body::from(Bytes::from(xml)));
        response.status = Some(StatusCode::OK);
        response.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/xml"),
        );
        Ok(response)
    }
}

/// The AssumeRoleResponse document.
fn answer(access_key: &str, secret: &str, token: &str, expires: i64, session: &str) -> String {
    let expiration = time::OffsetDateTime::from_unix_timestamp(expires / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let session = xml_escape(session);
    format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <AssumeRoleResult>\
         <AssumedRoleUser><Arn>arn:aws:sts::{account}:assumed-role/floe/{session}</Arn>\
         <AssumedRoleId>{access_key}:{session}</AssumedRoleId></AssumedRoleUser>\
         <Credentials><AccessKeyId>{access_key}</AccessKeyId>\
         <SecretAccessKey>{secret}</SecretAccessKey>\
         <SessionToken>{token}</SessionToken>\
         <Expiration>{expiration}</Expiration></Credentials>\
         </AssumeRoleResult>\
         <ResponseMetadata><RequestId>{access_key}</RequestId></ResponseMetadata>\
         </AssumeRoleResponse>",
        account = crate::access::request::ACCOUNT,
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
