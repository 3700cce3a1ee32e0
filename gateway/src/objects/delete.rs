//! DeleteObject and DeleteObjects. Deleting only moves index pointers: the chunks an object
//! leaves unreferenced are queued for the garbage collector in the same transaction.

use super::error::ObjectError;
use super::service::ObjectService;

/// S3 caps DeleteObjects at 1000 keys per request.
pub const MAX_DELETE_KEYS: usize = 1000;

impl ObjectService {
    /// Idempotent: deleting a missing key succeeds.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), ObjectError> {
        self.delete_unreplicated(bucket, key).await?;
        self.replicated().await
    }

    async fn delete_unreplicated(&self, bucket: &str, key: &str) -> Result<(), ObjectError> {
        self.index
            .delete_object_async(bucket.to_string(), key.to_string())
            .await?;
        Ok(())
    }

    /// Deletes each key; a per-key failure does not stop the others.
    pub async fn delete_objects(
        &self,
        bucket: &str,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Result<(), ObjectError>)>, ObjectError> {
        if keys.len() > MAX_DELETE_KEYS {
            return Err(ObjectError::InvalidRequest(format!(
                "at most {MAX_DELETE_KEYS} keys may be deleted per request"
            )));
        }
        self.head_bucket(bucket).await?;
        let mut results = Vec::with_capacity(keys.len());
        for key in keys {
            let outcome = self.delete_unreplicated(bucket, &key).await;
            results.push((key, outcome));
        }
        // One wait for all of them: none is reported deleted before the nodes know.
        if let Err(e) = self.replicated().await {
            let why = e.to_string();
            for (_, outcome) in &mut results {
                if outcome.is_ok() {
                    *outcome = Err(ObjectError::Unavailable(why.clone()));
                }
            }
        }
        Ok(results)
    }
}
