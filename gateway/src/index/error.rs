//! The error type of the index boundary.
//!
//! The object service branches on the S3-meaningful variants; everything redb can report is
//! flattened into [`IndexError::Storage`] because no caller can do anything finer with it than
//! answer 500 and log.

use std::fmt::Display;

/// Why an index operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("no such bucket")]
    NoSuchBucket,
    /// The bucket exists. There is a single owner, so S3 calls this `BucketAlreadyOwnedByYou`.
    #[error("bucket already exists")]
    BucketAlreadyExists,
    /// Objects or in-progress multipart uploads remain in the bucket.
    #[error("bucket is not empty")]
    BucketNotEmpty,
    #[error("no such key")]
    NoSuchKey,
    #[error("no such upload")]
    NoSuchUpload,
    #[error("precondition failed")]
    PreconditionFailed,
    /// A stored record (or the index file's format marker) could not be understood. The index
    /// reports it rather than guessing, so nothing is overwritten or freed on a misreading.
    #[error("corrupt index: {0}")]
    Corrupt(String),
    #[error("index storage: {0}")]
    Storage(String),
}

impl IndexError {
    /// A `Corrupt` naming what was being read and why it failed.
    pub(crate) fn corrupt(what: impl Display, why: impl Display) -> Self {
        Self::Corrupt(format!("{what}: {why}"))
    }
}

/// redb splits its failures by the call that can raise them; callers of the index only need the
/// message, so they all become `Storage`.
macro_rules! storage_errors {
    ($($error:ty),+ $(,)?) => {
        $(
            impl From<$error> for IndexError {
                fn from(e: $error) -> Self {
                    Self::Storage(e.to_string())
                }
            }
        )+
    };
}

storage_errors!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError,
);
