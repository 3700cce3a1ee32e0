//! DeleteObject and DeleteObjects. Deleting only moves index pointers: the chunks an object
//! leaves unreferenced are queued for the garbage collector in the same transaction. In a
//! versioned bucket a delete without a version id removes nothing: it adds a delete marker.

use crate::index::Removed;

use super::conditions::write_allowed;
use super::error::ObjectError;
use super::service::ObjectService;
use super::types::{DeleteOutcome, DeleteRequest, WriteConditions};

/// S3 caps DeleteObjects at 1000 keys per request.
pub const MAX_DELETE_KEYS: usize = 1000;

impl ObjectService {
    /// Idempotent: deleting a missing key or version succeeds.
    pub async fn delete_object(
        &self,
        bucket: &str,
        req: DeleteRequest,
    ) -> Result<DeleteOutcome, ObjectError> {
        let outcome = self.delete_unreplicated(bucket, req).await?;
        self.replicated().await?;
        Ok(outcome)
    }

    async fn delete_unreplicated(
        &self,
        bucket: &str,
        req: DeleteRequest,
    ) -> Result<DeleteOutcome, ObjectError> {
        let precondition = req.if_match.map(|if_match| {
            let conditions = WriteConditions {
                if_match: Some(if_match),
                if_none_match: None,
            };
            Box::new(move |current: Option<&_>| write_allowed(&conditions, current)) as _
        });
        let removed = self
            .index
            .delete_object_async(
                bucket.to_string(),
                req.key,
                req.version,
                precondition,
                req.bypass_governance,
            )
            .await?;
        Ok(outcome(removed))
    }

    /// Deletes each key (or version); a per-key failure does not stop the others.
    pub async fn delete_objects(
        &self,
        bucket: &str,
        requests: Vec<DeleteRequest>,
    ) -> Result<Vec<(DeleteRequest, Result<DeleteOutcome, ObjectError>)>, ObjectError> {
        if requests.len() > MAX_DELETE_KEYS {
            return Err(ObjectError::InvalidRequest(format!(
                "at most {MAX_DELETE_KEYS} keys may be deleted per request"
            )));
        }
        self.head_bucket(bucket).await?;
        let mut results = Vec::with_capacity(requests.len());
        for req in requests {
            let outcome = self.delete_unreplicated(bucket, req.clone()).await;
            results.push((req, outcome));
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

/// What S3 reports of a delete: the version removed or the marker made. A version removed by
/// id is reported as named, even `null`; a delete in an unversioned bucket reports none.
fn outcome(removed: Removed) -> DeleteOutcome {
    DeleteOutcome {
        version: removed.version.map(|id| id.to_string()),
        marker: removed.marker,
    }
}
