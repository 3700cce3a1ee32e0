//! Object tagging: get, put and delete the tag set of an existing object.

use crate::index::VersionId;

use super::error::ObjectError;
use super::service::ObjectService;

/// S3 allows at most 10 tags per object.
pub const MAX_TAGS: usize = 10;

/// Checks S3's tag rules: at most 10, keys up to 128 and values up to 256 characters, unique keys.
pub fn validate_tags(tags: &[(String, String)]) -> Result<(), ObjectError> {
    if tags.len() > MAX_TAGS {
        return Err(ObjectError::BadRequest(format!(
            "object tags cannot be greater than {MAX_TAGS}"
        )));
    }
    validate_tag_set(tags, MAX_TAGS, "object")
}

/// S3's rules for a tag set of at most `max` tags on a `what` (object or bucket).
pub fn validate_tag_set(
    tags: &[(String, String)],
    max: usize,
    what: &str,
) -> Result<(), ObjectError> {
    if tags.len() > max {
        return Err(ObjectError::InvalidTag(format!(
            "{what} tags cannot be greater than {max}"
        )));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(ObjectError::InvalidTag(
                "the TagKey or TagValue you have provided is too long or empty".into(),
            ));
        }
        if tags[..i].iter().any(|(other, _)| other == k) {
            return Err(ObjectError::InvalidTag(
                "cannot provide multiple Tags with the same key".into(),
            ));
        }
    }
    Ok(())
}

impl ObjectService {
    /// The tags of version `version` of an object (without it, the newest), and the id of
    /// the version read.
    pub async fn get_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> Result<(Vec<(String, String)>, Option<String>), ObjectError> {
        let found = match self.find(bucket, key, version, false).await {
            // A delete marker has no tags; S3 answers 405 whether or not it was named.
            Err(ObjectError::DeleteMarker { named: true, .. }) => {
                return Err(ObjectError::MethodNotAllowed);
            }
            other => other?,
        };
        Ok((found.record.tags, found.version))
    }

    pub async fn put_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
        tags: Vec<(String, String)>,
    ) -> Result<(), ObjectError> {
        validate_tags(&tags)?;
        let (b, k) = (bucket.to_string(), key.to_string());
        self.with_index(move |ix| ix.set_tags(&b, &k, version, tags))
            .await?;
        // A tag change is a change of the object's record: on the nodes before it is answered.
        self.replicated().await
    }

    pub async fn delete_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> Result<(), ObjectError> {
        self.put_tags(bucket, key, version, Vec::new()).await
    }
}
