//! Errors of the object service. Each variant is one S3 error code; the S3 adapter maps them in
//! one place.

use crate::blobs::BlobError;
use crate::index::IndexError;

use super::replication::ReplicationError;
use super::types::BodyError;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("the specified bucket does not exist")]
    NoSuchBucket,
    #[error("the specified key does not exist")]
    NoSuchKey,
    #[error("the specified multipart upload does not exist")]
    NoSuchUpload,
    #[error("the specified version does not exist")]
    NoSuchVersion,
    /// The version read is a delete marker: 404 for the newest version, 405 when named.
    #[error("the specified {} is a delete marker", if *named { "version" } else { "key" })]
    DeleteMarker {
        /// Its id, as reported.
        version: Option<String>,
        /// Whether the request named it by version id.
        named: bool,
    },
    #[error("{0}")]
    InvalidBucketState(String),
    /// A version its retention or legal hold protects (403).
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// GetObjectLockConfiguration on a bucket without object lock.
    #[error("object lock configuration does not exist for this bucket")]
    ObjectLockConfigurationNotFound,
    /// GetObjectRetention on a version without retention (or GetObjectLegalHold without hold).
    #[error("the specified object does not have an ObjectLock configuration")]
    NoSuchObjectLockConfiguration,
    /// The operation does not apply to the version named (a delete marker's tags).
    #[error("the specified method is not allowed against this resource")]
    MethodNotAllowed,
    #[error("the bucket already exists and you own it")]
    BucketAlreadyOwnedByYou,
    /// The name is another user's bucket.
    #[error("the requested bucket name is not available: it belongs to another user")]
    BucketAlreadyExists,
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
    #[error("malformed XML: {0}")]
    MalformedXml(String),
    /// BucketOwnerEnforced asked of a bucket whose ACL grants more than the owner.
    #[error("the bucket ACL grants the public: BucketOwnerEnforced disables ACLs")]
    InvalidBucketAclWithObjectOwnership,
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
    BodyRead(#[source] BodyError),
    /// The copy source's bytes could not be read back: 503, the client retries.
    #[error("the copy source could not be read: {0}")]
    SourceRead(#[source] BodyError),
    /// The blob layer failed; [`BlobError::is_unavailable`] tells a retryable lack of nodes
    /// (503) from a fault (500).
    #[error("blob layer: {0}")]
    Blob(#[source] BlobError),
    /// The index failed for a reason S3 has no code for (storage, corruption): 500.
    #[error("index: {0}")]
    Index(#[source] IndexError),
    /// The change is committed but not confirmed on enough nodes to acknowledge: 503.
    #[error("the change is committed but not yet on enough storage nodes: {0}")]
    NotReplicated(#[from] ReplicationError),
    /// A blocking worker (hashing) panicked or was cancelled.
    #[error("worker task: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A request option Floe does not implement: refused, never ignored.
    #[error("{0}")]
    NotImplemented(String),
}

impl From<IndexError> for ObjectError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::NoSuchBucket => Self::NoSuchBucket,
            IndexError::NoSuchKey => Self::NoSuchKey,
            IndexError::NoSuchUpload => Self::NoSuchUpload,
            IndexError::NoSuchVersion => Self::NoSuchVersion,
            IndexError::IsDeleteMarker => Self::MethodNotAllowed,
            IndexError::InvalidBucketState(why) => Self::InvalidBucketState(why),
            IndexError::ObjectLocked(why) => Self::AccessDenied(why.to_string()),
            e @ IndexError::PublicAccessBlocked(_) => Self::AccessDenied(e.to_string()),
            IndexError::LockNotEnabled => {
                Self::InvalidRequest("Bucket is missing Object Lock Configuration".into())
            }
            IndexError::BucketAlreadyExists => Self::BucketAlreadyOwnedByYou,
            IndexError::BucketNotEmpty => Self::BucketNotEmpty,
            IndexError::PreconditionFailed => Self::PreconditionFailed,
            // Another gateway deleted a chunk this write deduplicated onto while it was in
            // flight: the client retries, and the retry stores the chunk again.
            e @ IndexError::ChunkDeleted(_) => Self::Unavailable(e.to_string()),
            other => Self::Index(other),
        }
    }
}

impl From<BlobError> for ObjectError {
    fn from(e: BlobError) -> Self {
        Self::Blob(e)
    }
}
