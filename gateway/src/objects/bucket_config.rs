//! A bucket's tags, object ownership setting and CORS rules, checked by S3's rules and stored
//! (`index/bucket_config.rs`); the S3 adapter serves them and the front applies CORS.

use crate::index::{BucketConfig, CannedAcl, CorsRule};

use super::error::ObjectError;
use super::service::ObjectService;
use super::tagging::validate_tag_set;

/// S3 allows at most 50 tags per bucket.
pub const MAX_BUCKET_TAGS: usize = 50;

/// The object ownership settings S3 knows.
pub const OWNERSHIP_MODES: [&str; 3] = [
    "BucketOwnerEnforced",
    "BucketOwnerPreferred",
    "ObjectWriter",
];

/// S3 allows at most 100 CORS rules per bucket.
pub const MAX_CORS_RULES: usize = 100;

/// The methods a CORS rule may allow.
const CORS_METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/// Checks CORS rules as S3 does: 1 to 100 rules, each with at least one origin and method,
/// known methods only, at most one `*` per origin or allowed header.
pub fn validate_cors(rules: &[CorsRule]) -> Result<(), ObjectError> {
    let bad = |why: String| Err(ObjectError::MalformedXml(why));
    if rules.is_empty() || rules.len() > MAX_CORS_RULES {
        return bad(format!(
            "a CORS configuration has 1 to {MAX_CORS_RULES} rules"
        ));
    }
    for rule in rules {
        if rule.allowed_origins.is_empty() || rule.allowed_methods.is_empty() {
            return bad("each CORS rule needs an AllowedOrigin and an AllowedMethod".into());
        }
        if let Some(method) = rule
            .allowed_methods
            .iter()
            .find(|m| !CORS_METHODS.contains(&m.as_str()))
        {
            return Err(ObjectError::InvalidRequest(format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {method}"
            )));
        }
        let wildcards = |v: &String| v.matches('*').count() > 1;
        if rule.allowed_origins.iter().any(wildcards) || rule.allowed_headers.iter().any(wildcards)
        {
            return Err(ObjectError::InvalidRequest(
                "an AllowedOrigin or AllowedHeader can have at most one wildcard".into(),
            ));
        }
    }
    Ok(())
}

impl ObjectService {
    /// Bucket `bucket`'s configuration; `NoSuchBucket` if it is absent.
    pub async fn bucket_config(&self, bucket: &str) -> Result<BucketConfig, ObjectError> {
        let bucket = bucket.to_owned();
        self.with_index(move |ix| ix.bucket_config(&bucket)).await
    }

    /// Sets (or, with `None`, removes) the bucket's tag set.
    pub async fn set_bucket_tags(
        &self,
        bucket: &str,
        tags: Option<Vec<(String, String)>>,
    ) -> Result<(), ObjectError> {
        if let Some(tags) = &tags {
            validate_tag_set(tags, MAX_BUCKET_TAGS, "bucket")?;
        }
        self.change_config(bucket, move |c| c.tags = tags.clone())
            .await
    }

    /// Sets (or removes) the bucket's object ownership. `BucketOwnerEnforced` disables ACLs,
    /// so a bucket whose ACL grants the public cannot take it.
    pub async fn set_bucket_ownership(
        &self,
        bucket: &str,
        ownership: Option<String>,
    ) -> Result<(), ObjectError> {
        if let Some(mode) = &ownership {
            if !OWNERSHIP_MODES.contains(&mode.as_str()) {
                return Err(ObjectError::MalformedXml(format!(
                    "ObjectOwnership must be one of {}",
                    OWNERSHIP_MODES.join(", ")
                )));
            }
            if mode == "BucketOwnerEnforced"
                && self.bucket_access(bucket).await?.acl == CannedAcl::PublicRead
            {
                return Err(ObjectError::InvalidBucketAclWithObjectOwnership);
            }
        }
        self.change_config(bucket, move |c| c.ownership = ownership.clone())
            .await
    }

    /// Sets (or removes) the bucket's CORS rules.
    pub async fn set_bucket_cors(
        &self,
        bucket: &str,
        rules: Option<Vec<CorsRule>>,
    ) -> Result<(), ObjectError> {
        if let Some(rules) = &rules {
            validate_cors(rules)?;
        }
        self.change_config(bucket, move |c| c.cors = rules.clone())
            .await
    }

    /// Sets (or removes) the bucket's lifecycle rules (checked by the S3 adapter); the engine
    /// starts over (in the same transaction), so new rules see old uploads.
    pub async fn set_bucket_lifecycle(
        &self,
        bucket: &str,
        rules: Option<Vec<crate::index::LifecycleRule>>,
    ) -> Result<(), ObjectError> {
        self.change_config(bucket, move |c| c.lifecycle = rules.clone())
            .await
    }

    async fn change_config(
        &self,
        bucket: &str,
        change: impl Fn(&mut BucketConfig) + Send + 'static,
    ) -> Result<(), ObjectError> {
        let bucket = bucket.to_owned();
        self.with_index(move |ix| ix.update_bucket_config(&bucket, change))
            .await?;
        self.replicated().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str]) -> CorsRule {
        CorsRule {
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            allowed_methods: methods.iter().map(|m| m.to_string()).collect(),
            ..CorsRule::default()
        }
    }

    #[test]
    fn cors_rules_are_checked_as_s3_does() {
        assert!(validate_cors(&[rule(&["https://a.example"], &["GET", "PUT"])]).is_ok());
        assert!(validate_cors(&[rule(&["*"], &["HEAD"])]).is_ok());
        assert!(validate_cors(&[]).is_err());
        assert!(validate_cors(&[rule(&[], &["GET"])]).is_err());
        assert!(validate_cors(&[rule(&["*"], &[])]).is_err());
        assert!(matches!(
            validate_cors(&[rule(&["*"], &["PATCH"])]),
            Err(ObjectError::InvalidRequest(_))
        ));
        assert!(validate_cors(&[rule(&["https://*.*.example"], &["GET"])]).is_err());
        let many: Vec<CorsRule> = (0..101).map(|_| rule(&["*"], &["GET"])).collect();
        assert!(validate_cors(&many).is_err());
    }
}
