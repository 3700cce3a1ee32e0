//! The XML body limit, checked before s3s reads the body.
//!
//! s3s enforces `xml_max_body_size` while collecting a body, but a streamed body that goes over
//! it surfaces as 500 InternalError (s3s 0.14 only recognises its own error type, not
//! http-body-util's `LengthLimitError`). So requests that carry an XML document and announce a
//! `Content-Length` over the limit are answered here with S3's 400 `MaxMessageLengthExceeded`;
//! s3s's own check still bounds memory for the rest (chunked bodies).

use http::{Method, Uri};

/// Subresources whose PUT body is an XML document. Only these are checked, so a data upload
/// with a query key this list does not know is never refused here.
const XML_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "retention",
    "tagging",
    "versioning",
    "website",
];

/// Whether this request's body is an XML document for s3s to parse (rather than object data):
/// any POST but a browser form upload, or a PUT to an XML subresource such as `?tagging`. A PUT
/// to a bare bucket (CreateBucketConfiguration) is left to s3s: with virtual-hosted addressing
/// its path looks like an object key, and such documents are tiny.
pub fn carries_xml(method: &Method, uri: &Uri, content_type: Option<&str>) -> bool {
    match *method {
        Method::POST => !content_type.is_some_and(|t| t.starts_with("multipart/form-data")),
        Method::PUT => uri.query().is_some_and(|q| {
            q.split('&')
                .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
                .any(|key| XML_SUBRESOURCES.contains(&key))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(method: Method, uri: &str) -> bool {
        carries_xml(&method, &uri.parse().unwrap(), None)
    }

    #[test]
    fn xml_requests_are_told_from_data_uploads() {
        assert!(xml(Method::POST, "/b?delete"));
        assert!(xml(Method::POST, "/b/k?uploadId=abc"));
        assert!(xml(Method::PUT, "/b/k?tagging"));
        assert!(!xml(Method::PUT, "/b/k"));
        assert!(!xml(Method::PUT, "/b/dir/"));
        assert!(!xml(Method::PUT, "/b/k?partNumber=1&uploadId=abc"));
        assert!(!xml(
            Method::PUT,
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ff&x-id=PutObject"
        ));
        assert!(!xml(Method::GET, "/b?list-type=2"));
        assert!(!xml(Method::PUT, "/b/k?some-future-param=1"));
        assert!(xml(Method::PUT, "/b/k?acl"));
        assert!(!carries_xml(
            &Method::POST,
            &"/b".parse().unwrap(),
            Some("multipart/form-data; boundary=x")
        ));
    }
}
