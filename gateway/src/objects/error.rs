//! Errors of the object service. Each variant is one S3 error code; the S3 adapter maps them in
//! one place.

use crate::blobs::BlobError;
use crate::index::IndexError;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("the specified bucket does not exist")]
    NoSuchBucket,
    #[error("the specified key does not exist")]
    NoSuchKey,
    #[error("the specified multipart upload does not exist")]
    NoSuchUpload,
    #[error("the bucket already exists and you own it")]
    BucketAlreadyOwnedByYou,
    #[error("the bucket you tried to delete is not empty")]
    BucketNotEmpty,
    #[error("invalid bucket name: {0}")]
    InvalidBucketName(String),
    #[error("at least one of the preconditions you specified did not hold")]
    PreconditionFailed,
    /// Not an error to the client: 304 with the object's ETag and date.
    #[error("not modified")]
    NotModified { etag: String, modified: i64 },
    #[error("the requested range is not satisfiable")]
    InvalidRange { size: u64 },
    #[error("invalid part: {0}")]
    InvalidPart(String),
    #[error("the list of parts was not in ascending order")]
    InvalidPartOrder,
    #[error("your proposed upload is smaller than the minimum allowed size")]
    EntityTooSmall,
    #[error("your proposed upload exceeds the maximum allowed size")]
    EntityTooLarge,
    #[error("the digest you specified did not match what we received: {0}")]
    BadDigest(String),
    #[error("the Content-MD5 or checksum you specified is not valid")]
    InvalidDigest,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    InvalidTag(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("your key is too long")]
    KeyTooLongError,
    #[error("your metadata headers exceed the maximum allowed metadata size")]
    MetadataTooLarge,
    #[error("you did not provide the number of bytes specified by the Content-Length header")]
    IncompleteBody,
    #[error("the request body could not be read: {0}")]
    BodyRead(String),
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<IndexError> for ObjectError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::NoSuchBucket => Self::NoSuchBucket,
            IndexError::NoSuchKey => Self::NoSuchKey,
            IndexError::NoSuchUpload => Self::NoSuchUpload,
            IndexError::BucketAlreadyExists => Self::BucketAlreadyOwnedByYou,
            IndexError::BucketNotEmpty => Self::BucketNotEmpty,
            IndexError::PreconditionFailed => Self::PreconditionFailed,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<BlobError> for ObjectError {
    fn from(e: BlobError) -> Self {
        if e.is_unavailable() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}
