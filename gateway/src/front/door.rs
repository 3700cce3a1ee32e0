//! Requests refused from their head alone, before admission, s3s or a handler spends anything
//! on them:
//! - an XML body announced over the limit (`xml_limit`), 400 `MaxMessageLengthExceeded`;
//! - a browser form upload (`multipart/form-data` POST): POST Object is not implemented, and
//!   s3s would buffer the form's file part in memory; refused unread;
//! - AWS Signature Version 2 in an `Authorization` header, unless `allow_sigv2`: s3s checks no
//!   request date for it, so a captured request could be replayed forever. Presigned V2 URLs
//!   (aws cli v1's `s3 presign`) carry an `Expires` that s3s does check, so they stay accepted,
//!   like V4 ones, within a week;
//! - a presigned URL valid for more than 7 days, as AWS refuses it;
//! - a header asking for a feature Floe lacks (`unsupported`).

use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};

use super::unsupported::refuse_unsupported;
use super::xml_limit::carries_xml;

/// The longest validity of a presigned URL, in seconds (AWS: one week).
pub const MAX_PRESIGNED_EXPIRY_SECS: u64 = 7 * 24 * 3600;

/// Why a request is answered without being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Whether the request body may be read out so the client sees the answer (see
    /// `unread_body`); a form upload's body is never read.
    pub read_body: bool,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            read_body: true,
        }
    }
}

/// The front door's settings.
#[derive(Debug, Clone)]
pub struct FrontDoor {
    pub max_xml_body_bytes: usize,
    pub allow_sigv2: bool,
}

impl FrontDoor {
    /// The refusal for a request with this head, if it is refused.
    pub fn check(&self, head: &Parts, declared_length: Option<u64>) -> Option<Refusal> {
        let content_type = header(&head.headers, http::header::CONTENT_TYPE);
        if head.method == Method::POST
            && content_type.is_some_and(|t| {
                t.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            })
        {
            return Some(Refusal {
                read_body: false,
                ..Refusal::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "NotImplemented",
                    "POST Object (browser form upload) is not implemented; use PUT or a \
                     presigned PUT URL.",
                )
            });
        }
        if declared_length.is_some_and(|n| n > self.max_xml_body_bytes as u64)
            && carries_xml(&head.method, &head.uri, content_type)
        {
            return Some(Refusal::new(
                StatusCode::BAD_REQUEST,
                "MaxMessageLengthExceeded",
                "Your request was too big.",
            ));
        }
        let query = head.uri.query().unwrap_or("");
        if !self.allow_sigv2 && signed_with_v2(&head.headers) {
            return Some(Refusal::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. Please use \
                 AWS4-HMAC-SHA256.",
            ));
        }
        let v4_too_long = query_value(query, "X-Amz-Expires")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|secs| secs > MAX_PRESIGNED_EXPIRY_SECS);
        // V2 names the moment it expires, in unix seconds.
        let v2_too_long = query_value(query, "AWSAccessKeyId").is_some()
            && query_value(query, "Expires")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|at| at > unix_now().saturating_add(MAX_PRESIGNED_EXPIRY_SECS));
        if v4_too_long || v2_too_long {
            return Some(Refusal::new(
                StatusCode::BAD_REQUEST,
                "AuthorizationQueryParametersError",
                format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is \
                     {MAX_PRESIGNED_EXPIRY_SECS}"
                ),
            ));
        }
        refuse_unsupported(&head.headers)
    }
}

fn header(headers: &HeaderMap, name: http::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Authorization: AWS key:signature`, the replayable form of SigV2.
fn signed_with_v2(headers: &HeaderMap) -> bool {
    header(headers, http::header::AUTHORIZATION).is_some_and(|v| v.trim_start().starts_with("AWS "))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The raw value of `name` in a query string (names compared exactly, as S3 does).
fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        len: Option<u64>,
    ) -> Option<Refusal> {
        let mut req = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (head, ()) = req.body(()).unwrap().into_parts();
        let door = FrontDoor {
            max_xml_body_bytes: 1024,
            allow_sigv2: false,
        };
        door.check(&head, len)
    }

    fn code(r: Option<Refusal>) -> Option<&'static str> {
        r.map(|r| r.code)
    }

    #[test]
    fn form_posts_are_refused_unread() {
        let r = check(
            "POST",
            "/bucket",
            &[("content-type", "multipart/form-data; boundary=x")],
            Some(5 << 30),
        )
        .unwrap();
        assert_eq!(
            (r.status.as_u16(), r.code, r.read_body),
            (501, "NotImplemented", false)
        );
        assert_eq!(code(check("POST", "/b?delete", &[], Some(10))), None);
    }

    #[test]
    fn sigv2_is_off_by_default() {
        let v2 = [("authorization", "AWS AKID:c2lnbmF0dXJl")];
        assert_eq!(
            code(check("GET", "/b/k", &v2, None)),
            Some("InvalidRequest")
        );
        // Presigned V2 URLs expire, and s3s checks it: accepted within a week.
        let at = unix_now() + 3600;
        let presigned = format!("/b/k?AWSAccessKeyId=AKID&Expires={at}&Signature=abc");
        assert_eq!(code(check("GET", &presigned, &[], None)), None);
        let at = unix_now() + 8 * 24 * 3600;
        let far = format!("/b/k?AWSAccessKeyId=AKID&Expires={at}&Signature=abc");
        assert_eq!(
            code(check("GET", &far, &[], None)),
            Some("AuthorizationQueryParametersError")
        );
        let v4 = [("authorization", "AWS4-HMAC-SHA256 Credential=a/b")];
        assert_eq!(code(check("GET", "/b/k", &v4, None)), None);
        let head = http::Request::get("/b/k")
            .header("authorization", "AWS AKID:sig")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let legacy = FrontDoor {
            max_xml_body_bytes: 1024,
            allow_sigv2: true,
        };
        assert_eq!(legacy.check(&head, None), None);
    }

    #[test]
    fn presigned_urls_live_at_most_a_week() {
        let url = |secs: u64| format!("/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={secs}");
        assert_eq!(code(check("GET", &url(604_800), &[], None)), None);
        assert_eq!(
            code(check("GET", &url(604_801), &[], None)),
            Some("AuthorizationQueryParametersError")
        );
    }

    #[test]
    fn xml_bodies_over_the_limit_and_feature_headers() {
        assert_eq!(
            code(check("POST", "/b?delete", &[], Some(2048))),
            Some("MaxMessageLengthExceeded")
        );
        assert_eq!(code(check("PUT", "/b/k", &[], Some(1 << 30))), None);
        let kms = [("x-amz-server-side-encryption", "aws:kms")];
        assert_eq!(
            code(check("PUT", "/b/k", &kms, Some(3))),
            Some("NotImplemented")
        );
    }
}
