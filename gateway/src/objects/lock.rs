//! Object lock, the service's side: a bucket's lock configuration, and the retention and legal
//! hold of one version. What a lock allows is decided by the index's rules (`index/lock.rs`),
//! inside the transaction that applies the change, so no concurrent change slips between the
//! check and the write.

use crate::index::{BucketLock, LockChange, ObjectLock, VersionId};

use super::error::ObjectError;
use super::service::{ObjectService, now_millis};

impl ObjectService {
    /// The bucket's lock configuration; `ObjectLockConfigurationNotFound` without object lock.
    pub async fn object_lock_configuration(&self, bucket: &str) -> Result<BucketLock, ObjectError> {
        let b = bucket.to_string();
        self.with_index(move |ix| ix.bucket_settings(&b))
            .await?
            .lock
            .ok_or(ObjectError::ObjectLockConfigurationNotFound)
    }

    /// Enables object lock (never undone) and sets or clears its default retention.
    pub async fn set_object_lock_configuration(
        &self,
        bucket: &str,
        lock: BucketLock,
    ) -> Result<(), ObjectError> {
        let b = bucket.to_string();
        self.with_index(move |ix| ix.set_object_lock(&b, lock))
            .await?;
        self.replicated().await
    }

    /// The lock of version `version` of an object (without it, the newest); a delete marker
    /// has none (405 when named, 404 otherwise, as for its tags).
    pub async fn object_lock(
        &self,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> Result<ObjectLock, ObjectError> {
        self.require_object_lock(bucket).await?;
        match self.find(bucket, key, version, false).await {
            Ok(found) => Ok(found.lock),
            Err(ObjectError::DeleteMarker { named: true, .. }) => {
                Err(ObjectError::MethodNotAllowed)
            }
            Err(e) => Err(e),
        }
    }

    /// Changes the retention or legal hold of version `version` (without it, the newest
    /// object), judged by this gateway's clock. The adapter has checked a new date lies ahead.
    pub async fn change_object_lock(
        &self,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
        change: LockChange,
    ) -> Result<ObjectLock, ObjectError> {
        let (b, k) = (bucket.to_string(), key.to_string());
        let lock = self
            .with_index(move |ix| ix.set_lock(&b, &k, version, change, now_millis()))
            .await?;
        self.replicated().await?;
        Ok(lock)
    }

    /// `InvalidRequest` unless the bucket has object lock (S3 asks this before the version).
    async fn require_object_lock(&self, bucket: &str) -> Result<(), ObjectError> {
        match self.object_lock_configuration(bucket).await {
            Err(ObjectError::ObjectLockConfigurationNotFound) => Err(ObjectError::InvalidRequest(
                "Bucket is missing Object Lock Configuration".into(),
            )),
            other => other.map(|_| ()),
        }
    }
}
