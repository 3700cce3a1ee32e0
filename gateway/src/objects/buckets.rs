//! Bucket operations and S3's bucket naming rules.

use crate::index::{BucketLock, BucketRecord, BucketSettings, IndexError, Versioning};

use super::error::ObjectError;
use super::service::{ObjectService, now_millis};

/// S3's rules for new bucket names (general purpose buckets).
pub fn validate_bucket_name(name: &str) -> Result<(), ObjectError> {
    let bad = |why: &str| Err(ObjectError::InvalidBucketName(format!("{name:?}: {why}")));
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("only lowercase letters, digits, dots and hyphens are allowed");
    }
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge(name.as_bytes()[0]) || !edge(name.as_bytes()[name.len() - 1]) {
        return bad("must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("dots may not be adjacent to dots or hyphens");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be formatted as an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.ends_with("-s3alias") {
        return bad("uses a reserved prefix or suffix");
    }
    Ok(())
}

impl ObjectService {
    pub async fn create_bucket(&self, name: &str, region: &str) -> Result<(), ObjectError> {
        self.create_bucket_with_lock(name, region, false, None)
            .await
    }

    /// Creates a bucket owned by user `owner` (`None`: the root key); with `object_lock`, with
    /// object lock and versioning enabled from the start (S3's
    /// `x-amz-bucket-object-lock-enabled: true`). A name taken by this owner is
    /// `BucketAlreadyOwnedByYou`, by another, `BucketAlreadyExists`.
    pub async fn create_bucket_with_lock(
        &self,
        name: &str,
        region: &str,
        object_lock: bool,
        owner: Option<&str>,
    ) -> Result<(), ObjectError> {
        validate_bucket_name(name)?;
        let record = BucketRecord {
            created: now_millis(),
            region: region.to_string(),
        };
        let settings = match object_lock {
            true => BucketSettings {
                versioning: Versioning::Enabled,
                lock: Some(BucketLock::default()),
                access: None,
                config: None,
            },
            false => BucketSettings::default(),
        };
        let (name, owner) = (name.to_string(), owner.map(str::to_owned));
        let created = self
            .with_index(move |ix| {
                match ix.create_owned_bucket(&name, &record, &settings, owner.as_deref()) {
                    Err(IndexError::BucketAlreadyExists) => {
                        let access = ix.bucket_access(&name)?;
                        Ok(Some(access.owner == owner))
                    }
                    other => other.map(|()| None),
                }
            })
            .await?;
        match created {
            None => self.replicated().await,
            Some(true) => Err(ObjectError::BucketAlreadyOwnedByYou),
            Some(false) => Err(ObjectError::BucketAlreadyExists),
        }
    }

    pub async fn head_bucket(&self, name: &str) -> Result<BucketRecord, ObjectError> {
        let name = name.to_string();
        self.with_index(move |ix| ix.bucket(&name))
            .await?
            .ok_or(ObjectError::NoSuchBucket)
    }

    pub async fn delete_bucket(&self, name: &str) -> Result<(), ObjectError> {
        let name = name.to_string();
        self.with_index(move |ix| ix.delete_bucket(&name)).await?;
        self.replicated().await
    }

    pub async fn list_buckets(&self) -> Result<Vec<(String, BucketRecord)>, ObjectError> {
        self.with_index(|ix| ix.list_buckets()).await
    }
}

#[cfg(test)]
mod tests {
    use super::validate_bucket_name;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.1", "a1b", &"a".repeat(63)] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "ABC",
            "a_b",
            "-ab",
            "ab-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--ab",
            "ab-s3alias",
            &"a".repeat(64),
        ] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }
}
