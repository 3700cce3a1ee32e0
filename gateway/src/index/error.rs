//! The error type of the index boundary.
//!
//! The object service branches on the S3-meaningful variants; everything redb can report becomes
//! [`IndexError::Storage`], keeping redb's error as its source: no caller can do anything finer
//! with it than answer 500 and log the chain.

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
    /// A version id that names no version of the key.
    #[error("no such version")]
    NoSuchVersion,
    /// The version named is a delete marker, which has no body, tags or attributes.
    #[error("the version is a delete marker")]
    IsDeleteMarker,
    /// The version is under retention or legal hold (S3's 403 AccessDenied).
    #[error("{0}")]
    ObjectLocked(#[from] super::lock::LockRefusal),
    /// Lock settings were given for a bucket without object lock.
    #[error("bucket is missing Object Lock Configuration")]
    LockNotEnabled,
    /// Block Public Access refuses a public grant (`what`: the policy or the ACL).
    #[error("{0} is public and this bucket's Block Public Access settings refuse it")]
    PublicAccessBlocked(&'static str),
    #[error("no such user")]
    NoSuchUser,
    #[error("no such access key")]
    NoSuchAccessKey,
    /// An access key id is unique across all users.
    #[error("the access key id is taken")]
    AccessKeyExists,
    #[error("no such upload")]
    NoSuchUpload,
    #[error("precondition failed")]
    PreconditionFailed,
    /// The bucket's state forbids the change (S3's `InvalidBucketState`).
    #[error("{0}")]
    InvalidBucketState(String),
    /// A stored record (or the index file's format marker) could not be understood. The index
    /// reports it rather than guessing, so nothing is overwritten or freed on a misreading.
    #[error("corrupt index: {0}")]
    Corrupt(String),
    #[error("index storage: {0}")]
    Storage(#[source] redb::Error),
    /// The write path failed around the transaction (the writer thread, a commit shared with
    /// others); what happened is the message.
    #[error("index writer: {0}")]
    Writer(String),
    /// A write would reference a chunk whose shards another gateway is deleting or deleted
    /// after the write sent its own: it must store the chunk again (see `deletion`).
    #[error("chunk {0} was deleted while this write was in flight; retry")]
    ChunkDeleted(floe_codec::ChunkId),
    /// The shared database failed (connection, statement).
    #[error("index database: {0}")]
    Database(#[source] tokio_postgres::Error),
    /// A concurrent transaction won; the store runs the transaction again (a caller only sees
    /// this after every retry lost).
    #[error("index transaction conflict: {0}")]
    Conflict(#[source] tokio_postgres::Error),
    /// No connection to the shared database could be had.
    #[error("index database pool: {0}")]
    Pool(#[source] deadpool_postgres::PoolError),
    /// The index cannot be opened as configured (its URL, its table name).
    #[error("index configuration: {0}")]
    Config(String),
    /// A blocking index call's thread ended without an answer (it panicked or was cancelled).
    #[error("index task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl IndexError {
    /// Whether running the transaction again may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict(_))
    }

    /// A `Corrupt` naming what was being read and why it failed.
    pub(crate) fn corrupt(what: impl Display, why: impl Display) -> Self {
        Self::Corrupt(format!("{what}: {why}"))
    }
}

/// redb splits its failures by the call that can raise them; callers of the index only need one
/// type, so they all become `Storage` (as redb's umbrella [`redb::Error`]).
macro_rules! storage_errors {
    ($($error:ty),+ $(,)?) => {
        $(
            impl From<$error> for IndexError {
                fn from(e: $error) -> Self {
                    Self::Storage(redb::Error::from(e))
                }
            }
        )+
    };
}

impl From<redb::Error> for IndexError {
    fn from(e: redb::Error) -> Self {
        Self::Storage(e)
    }
}

storage_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError,
);

impl From<tokio_postgres::Error> for IndexError {
    fn from(e: tokio_postgres::Error) -> Self {
        if super::kv::postgres_conflict(&e) {
            Self::Conflict(e)
        } else {
            Self::Database(e)
        }
    }
}

impl From<deadpool_postgres::PoolError> for IndexError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Pool(e)
    }
}
