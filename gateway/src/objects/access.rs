//! A bucket's access settings (owner, policy, canned ACL, Block Public Access), stored as they
//! are set; `crate::access` judges them and the S3 adapter's guard applies them.
//! They travel to the nodes in the bucket's record, so a rebuilt index keeps them.

use crate::index::{BucketAccess, IndexError};

use super::error::ObjectError;
use super::service::ObjectService;

impl ObjectService {
    /// Bucket `bucket`'s access settings; `NoSuchBucket` if it is absent.
    pub async fn bucket_access(&self, bucket: &str) -> Result<BucketAccess, ObjectError> {
        let bucket = bucket.to_owned();
        self.with_index(move |ix| ix.bucket_access(&bucket)).await
    }

    /// Changes bucket `bucket`'s access settings with `change`, which may refuse (a refusal
    /// is its index error, say `PublicAccessBlocked`).
    pub async fn change_bucket_access(
        &self,
        bucket: &str,
        change: impl Fn(&mut BucketAccess) -> Result<(), IndexError> + Send + 'static,
    ) -> Result<BucketAccess, ObjectError> {
        let bucket = bucket.to_owned();
        let access = self
            .with_index(move |ix| ix.update_bucket_access(&bucket, change))
            .await?;
        self.replicated().await?;
        Ok(access)
    }
}
