//! The one place where object-service errors become S3 errors.
//!
//! Every handler returns `Result<_, S3Error>` and uses `?` on [`ObjectError`]s; the `From` impl
//! below decides the S3 code, the HTTP status (carried by the code) and the message. Internal
//! details (index or blob failures) are logged, never sent to the client. The few errors that
//! belong to the protocol itself (a malformed document, an unknown access key) are made here too.

use http::header::{CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use http::{HeaderMap, HeaderValue};
use s3s::{S3Error, S3ErrorCode};

use crate::objects::ObjectError;

use super::convert::http_date;

impl From<ObjectError> for S3Error {
    fn from(err: ObjectError) -> Self {
        use S3ErrorCode as C;
        let code = match &err {
            ObjectError::NoSuchBucket => C::NoSuchBucket,
            ObjectError::NoSuchKey => C::NoSuchKey,
            ObjectError::NoSuchUpload => C::NoSuchUpload,
            ObjectError::NoSuchVersion => C::NoSuchVersion,
            ObjectError::DeleteMarker { version, named } => {
                return delete_marker(version.as_deref(), *named);
            }
            ObjectError::InvalidBucketState(_) => C::InvalidBucketState,
            ObjectError::AccessDenied(_) => C::AccessDenied,
            ObjectError::ObjectLockConfigurationNotFound => C::ObjectLockConfigurationNotFoundError,
            ObjectError::NoSuchObjectLockConfiguration => C::NoSuchObjectLockConfiguration,
            ObjectError::MethodNotAllowed => C::MethodNotAllowed,
            ObjectError::NotImplemented(_) => C::NotImplemented,
            ObjectError::BucketAlreadyOwnedByYou => C::BucketAlreadyOwnedByYou,
            ObjectError::BucketAlreadyExists => C::BucketAlreadyExists,
            ObjectError::BucketNotEmpty => C::BucketNotEmpty,
            ObjectError::InvalidBucketName(_) => C::InvalidBucketName,
            ObjectError::PreconditionFailed => C::PreconditionFailed,
            ObjectError::NotModified { etag, modified } => return not_modified(etag, *modified),
            ObjectError::InvalidRange { size } => return invalid_range(*size),
            ObjectError::InvalidPart(_) => C::InvalidPart,
            ObjectError::InvalidPartOrder => C::InvalidPartOrder,
            ObjectError::EntityTooSmall => C::EntityTooSmall,
            ObjectError::EntityTooLarge => C::EntityTooLarge,
            ObjectError::BadDigest(_) => C::BadDigest,
            ObjectError::InvalidDigest => C::InvalidDigest,
            ObjectError::InvalidRequest(_) => C::InvalidRequest,
            ObjectError::MalformedXml(_) => C::MalformedXML,
            ObjectError::InvalidBucketAclWithObjectOwnership => {
                let mut e = S3Error::with_message(
                    C::Custom("InvalidBucketAclWithObjectOwnership".into()),
                    err.to_string(),
                );
                e.set_status_code(http::StatusCode::BAD_REQUEST);
                return e;
            }
            ObjectError::InvalidArgument(_) => C::InvalidArgument,
            ObjectError::InvalidTag(_) => C::InvalidTag,
            ObjectError::BadRequest(message) => {
                // Not in s3s's list of codes: a custom code needs its status set by hand.
                let mut e = S3Error::with_message(C::Custom("BadRequest".into()), message.clone());
                e.set_status_code(http::StatusCode::BAD_REQUEST);
                return e;
            }
            ObjectError::KeyTooLongError => C::KeyTooLongError,
            ObjectError::MetadataTooLarge => C::MetadataTooLarge,
            // S3 has no code for a body that broke off mid-stream; IncompleteBody is what
            // clients already retry on.
            ObjectError::IncompleteBody | ObjectError::BodyRead(_) => C::IncompleteBody,
            ObjectError::Blob(e) if e.is_unavailable() => return unavailable(&err),
            ObjectError::Unavailable(_)
            | ObjectError::NotReplicated(_)
            | ObjectError::SourceRead(_) => return unavailable(&err),
            ObjectError::Internal(_)
            | ObjectError::Blob(_)
            | ObjectError::Index(_)
            | ObjectError::Task(_) => {
                // The detail may name files, nodes or shards: log it, answer generically.
                tracing::error!(detail = %err, "internal error");
                return S3Error::with_message(
                    C::InternalError,
                    "We encountered an internal error. Please try again.",
                );
            }
        };
        S3Error::with_message(code, err.to_string())
    }
}

/// 503: the detail goes to the log, the client is told to retry.
fn unavailable(err: &ObjectError) -> S3Error {
    tracing::warn!(detail = %err, "storage unavailable");
    S3Error::with_message(
        S3ErrorCode::ServiceUnavailable,
        "Storage is temporarily unavailable. Please retry.",
    )
}

/// 304: no body (hyper drops it for 304), but the validators a cache needs.
fn not_modified(etag: &str, modified: i64) -> S3Error {
    let mut err = S3Error::new(S3ErrorCode::NotModified);
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::try_from(format!("\"{etag}\"")) {
        headers.insert(ETAG, v);
    }
    if let Some(v) = http_date(modified).and_then(|d| HeaderValue::try_from(d).ok()) {
        headers.insert(LAST_MODIFIED, v);
    }
    err.set_headers(headers);
    err
}

/// 416 with `Content-Range: bytes */size`, as RFC 9110 asks. Error headers replace the
/// response's headers in s3s, so the XML content type must be restated.
fn invalid_range(size: u64) -> S3Error {
    let mut err = S3Error::with_message(
        S3ErrorCode::InvalidRange,
        "The requested range is not satisfiable",
    );
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    if let Ok(v) = HeaderValue::try_from(format!("bytes */{size}")) {
        headers.insert(CONTENT_RANGE, v);
    }
    err.set_headers(headers);
    err
}

/// A read that found a delete marker: 404 NoSuchKey for the newest version, 405
/// MethodNotAllowed for a version named by id, both saying `x-amz-delete-marker: true`.
fn delete_marker(version: Option<&str>, named: bool) -> S3Error {
    let mut err = match named {
        true => S3Error::with_message(
            S3ErrorCode::MethodNotAllowed,
            "The specified method is not allowed against this resource.",
        ),
        false => S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist."),
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    headers.insert("x-amz-delete-marker", HeaderValue::from_static("true"));
    if let Some(v) = version.and_then(|v| HeaderValue::try_from(v).ok()) {
        headers.insert("x-amz-version-id", v);
    }
    if named {
        headers.insert(http::header::ALLOW, HeaderValue::from_static("DELETE"));
    }
    err.set_headers(headers);
    err
}

/// A request document that parsed but does not have the shape S3 requires.
pub(super) fn malformed_xml() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )
}

/// S3's answer for a signature by a key it does not know (s3s says NotSignedUp).
pub(super) fn unknown_access_key() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidAccessKeyId,
        "The AWS Access Key Id you provided does not exist in our records.",
    )
}

/// Code and message of an error inside a DeleteObjects result, which S3 reports per key.
pub(super) fn code_and_message(err: ObjectError) -> (String, String) {
    let err = S3Error::from(err);
    let message = err.message().unwrap_or_default().to_owned();
    (err.code().as_str().to_owned(), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn statuses() {
        let cases = [
            (ObjectError::NoSuchKey, StatusCode::NOT_FOUND),
            (ObjectError::BucketNotEmpty, StatusCode::CONFLICT),
            (
                ObjectError::PreconditionFailed,
                StatusCode::PRECONDITION_FAILED,
            ),
            (
                ObjectError::InvalidRange { size: 3 },
                StatusCode::RANGE_NOT_SATISFIABLE,
            ),
            (ObjectError::BodyRead("eof".into()), StatusCode::BAD_REQUEST),
            (
                ObjectError::Unavailable("x".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                ObjectError::NotModified {
                    etag: "abc".into(),
                    modified: 0,
                },
                StatusCode::NOT_MODIFIED,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(S3Error::from(err).status_code(), Some(status));
        }
    }

    #[test]
    fn internal_detail_is_not_leaked() {
        let err = S3Error::from(ObjectError::Internal("/var/lib/floe/secret".into()));
        assert_eq!(err.code(), &S3ErrorCode::InternalError);
        assert!(!err.message().unwrap_or_default().contains("secret"));
    }

    #[test]
    fn not_modified_carries_validators() {
        let err = S3Error::from(ObjectError::NotModified {
            etag: "abc".into(),
            modified: 1_700_000_000_000,
        });
        let headers = err.headers().cloned().unwrap_or_default();
        assert_eq!(
            headers.get(ETAG).map(|v| v.as_bytes()),
            Some(&b"\"abc\""[..])
        );
        assert!(headers.contains_key(LAST_MODIFIED));
    }
}
