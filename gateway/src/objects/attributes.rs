//! GetObjectAttributes: the record of an object version, without its body.

use crate::index::{ObjectRecord, VersionId};

use super::error::ObjectError;
use super::service::ObjectService;

impl ObjectService {
    /// The record of version `version` of an object (without it, the newest), and the id of
    /// the version read; a delete marker answers as GetObject does.
    pub async fn object_attributes(
        &self,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> Result<(ObjectRecord, Option<String>), ObjectError> {
        let found = self.find(bucket, key, version, false).await?;
        Ok((found.record, found.version))
    }
}
