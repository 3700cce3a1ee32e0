//! A bucket's configuration beyond access: its tags, its object ownership setting, its CORS
//! rules and its lifecycle rules, stored as they were put (S3's validation happens before), in a table of their
//! own and copied to the nodes in the bucket's record.

use serde::{Deserialize, Serialize};

use super::journal::{RecordKind, note_change};
use super::store::{BUCKET_CONFIG, BUCKETS, decode};
use super::{Index, IndexError, encode_record};

/// One CORS rule, as PutBucketCors gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    pub id: Option<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

/// A bucket's tags, ownership setting and CORS rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketConfig {
    /// `None`: no tag set (GetBucketTagging answers NoSuchTagSet).
    pub tags: Option<Vec<(String, String)>>,
    /// `BucketOwnerEnforced`, `BucketOwnerPreferred` or `ObjectWriter`; `None`: not set.
    pub ownership: Option<String>,
    /// `None`: no CORS configuration.
    pub cors: Option<Vec<CorsRule>>,
    /// `None`: no lifecycle configuration.
    pub lifecycle: Option<Vec<super::LifecycleRule>>,
}

impl Index {
    /// The configuration of bucket `name`; `NoSuchBucket` if it is absent.
    pub fn bucket_config(&self, name: &str) -> Result<BucketConfig, IndexError> {
        let txn = self.read()?;
        if txn.open_table(BUCKETS)?.get(name)?.is_none() {
            return Err(IndexError::NoSuchBucket);
        }
        let table = txn.open_table(BUCKET_CONFIG)?;
        let stored = table.get(name)?;
        stored
            .map(|v| decode(format_args!("configuration of bucket {name}"), v.value()))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Changes bucket `name`'s configuration with `change`; `NoSuchBucket` if it is absent.
    pub fn update_bucket_config(
        &self,
        name: &str,
        change: impl Fn(&mut BucketConfig),
    ) -> Result<BucketConfig, IndexError> {
        self.write(|t| {
            if t.buckets.get(name)?.is_none() {
                return Err(IndexError::NoSuchBucket);
            }
            let mut config: BucketConfig = match t.bucket_config.get(name)? {
                Some(v) => decode(format_args!("configuration of bucket {name}"), v.value())?,
                None => BucketConfig::default(),
            };
            let rules_before = config.lifecycle.clone();
            change(&mut config);
            if config.lifecycle != rules_before {
                super::lifecycle::rules_changed(t, name, config.lifecycle.as_deref())?;
            }
            t.bucket_config
                .insert(name, encode_record(&config).as_slice())?;
            // The bucket's record on the nodes carries its configuration.
            note_change(t, RecordKind::Bucket, name, "", true)?;
            Ok(config)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::*;

    #[test]
    fn bucket_config_lives_and_dies_with_its_bucket_and_is_journaled() {
        let (_dir, index) = temp_index();
        assert!(matches!(
            index.bucket_config("nope"),
            Err(IndexError::NoSuchBucket)
        ));
        index.create_bucket("web", &bucket_record()).unwrap();
        assert_eq!(index.bucket_config("web").unwrap(), BucketConfig::default());
        let rule = CorsRule {
            allowed_origins: vec!["https://app.example".into()],
            allowed_methods: vec!["GET".into(), "PUT".into()],
            ..CorsRule::default()
        };
        index
            .update_bucket_config("web", |c| {
                c.tags = Some(vec![("team".into(), "blue".into())]);
                c.ownership = Some("BucketOwnerEnforced".into());
                c.cors = Some(vec![rule.clone()]);
            })
            .unwrap();
        let entries = index.pending_records(10).unwrap();
        let (_dir2, target) = temp_index();
        target.restore(&entries).unwrap();
        let restored = target.bucket_config("web").unwrap();
        assert_eq!(restored.cors, Some(vec![rule]));
        assert_eq!(restored.tags, Some(vec![("team".into(), "blue".into())]));
        index.delete_bucket("web").unwrap();
        index.create_bucket("web", &bucket_record()).unwrap();
        assert_eq!(
            index.bucket_config("web").unwrap(),
            BucketConfig::default(),
            "a bucket made again under the same name starts bare"
        );
    }
}
