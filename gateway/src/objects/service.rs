//! The [`ObjectService`] handle: shared state of the object layer and the small helpers every
//! operation uses (index calls on blocking threads, clocks, validation of keys and metadata).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::blobs::BlobStore;
use crate::cache::CachedBlobs;
use crate::index::{Index, IndexError, UnixMillis};

use super::error::ObjectError;
use super::replication::{NotReplicated, Replication};
use super::types::ObjectAttributes;

/// Limits and thresholds of the object layer.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Objects up to this size are stored inline in the index record instead of as shards.
    pub inline_threshold: usize,
    /// Smallest part allowed except the last (S3: 5 MiB).
    pub min_part_size: u64,
    /// Largest single PUT or part (S3: 5 GiB).
    pub max_put_size: u64,
    /// Largest object (S3: 5 TiB).
    pub max_object_size: u64,
    pub max_key_len: usize,
    /// Total bytes of user metadata (names + values) allowed (S3: 2 KiB).
    pub max_metadata_size: usize,
    /// Highest part number of a multipart upload (S3: 10,000).
    pub max_part_number: u32,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            inline_threshold: 16 * 1024,
            min_part_size: 5 * 1024 * 1024,
            max_put_size: 5 * 1024 * 1024 * 1024,
            max_object_size: 5 * 1024 * 1024 * 1024 * 1024,
            max_key_len: 1024,
            max_metadata_size: 2048,
            max_part_number: 10_000,
        }
    }
}

/// The object layer. Cheap to clone.
#[derive(Clone)]
pub struct ObjectService {
    pub(super) index: Arc<Index>,
    pub(super) reader: Arc<CachedBlobs>,
    pub(super) config: ServiceConfig,
    replication: Arc<dyn Replication>,
}

impl ObjectService {
    pub fn new(index: Arc<Index>, reader: Arc<CachedBlobs>, config: ServiceConfig) -> Self {
        Self {
            index,
            reader,
            config,
            replication: Arc::new(NotReplicated),
        }
    }

    /// Acknowledges changes only once `replication` says the nodes hold them.
    pub fn with_replication(mut self, replication: Arc<dyn Replication>) -> Self {
        self.replication = replication;
        self
    }

    /// The object from the nodes' copy of its record, when the index's entry is damaged.
    pub(super) async fn recover_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Option<(crate::index::ObjectRecord, floe_codec::Manifest)> {
        self.replication.recover_object(bucket, key).await
    }

    /// Waits until the changes committed so far are on enough nodes to be acknowledged.
    pub(super) async fn replicated(&self) -> Result<(), ObjectError> {
        Ok(self.replication.replicated().await?)
    }

    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    pub fn blobs(&self) -> &Arc<BlobStore> {
        self.reader.blobs()
    }

    pub fn cache(&self) -> &Arc<CachedBlobs> {
        &self.reader
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The deletion epoch a write takes before sending shards when other gateways share the
    /// index (`index/deletion.rs`); `None` (and no index call) when this gateway is alone.
    pub(super) async fn write_epoch(&self) -> Result<Option<u64>, ObjectError> {
        if !self.index.is_shared() {
            return Ok(None);
        }
        self.with_index(|ix| ix.write_epoch()).await
    }

    /// Runs an index call on a blocking thread ([`Index::call`]).
    pub(super) async fn with_index<T, F>(&self, f: F) -> Result<T, ObjectError>
    where
        T: Send + 'static,
        F: FnOnce(&Index) -> Result<T, IndexError> + Send + 'static,
    {
        Ok(self.index.call(f).await?)
    }

    pub(super) fn check_key(&self, key: &str) -> Result<(), ObjectError> {
        if key.is_empty() {
            return Err(ObjectError::InvalidArgument(
                "the key must not be empty".into(),
            ));
        }
        if key.len() > self.config.max_key_len {
            return Err(ObjectError::KeyTooLongError);
        }
        Ok(())
    }

    pub(super) fn check_attributes(
        &self,
        attributes: &ObjectAttributes,
    ) -> Result<(), ObjectError> {
        let size: usize = attributes
            .metadata
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        if size > self.config.max_metadata_size {
            return Err(ObjectError::MetadataTooLarge);
        }
        Ok(())
    }
}

/// The wall clock in milliseconds since the Unix epoch, as records store it.
pub fn now_millis() -> UnixMillis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
