//! A bucket's configuration beyond access: its tags, its object ownership setting, its CORS
//! rules and its lifecycle rules, stored as they were put (S3's validation happens before), in a table of their
//! own and copied to the nodes in the bucket's record.

use serde::{Deserialize, Serialize};

use super::journal::{RecordKind, note_change};
use super::lifecycle_rules::{LifecycleFilter, LifecycleRule};
use super::store::{BUCKET_CONFIG, BUCKETS, decode};
use super::{Index, IndexError, RECORD_FORMAT, encode_record};

/// Format byte of a configuration stored since lifecycle rules carry expirations. Configurations
/// stored before (format [`RECORD_FORMAT`]) hold rules that only abort uploads, and are read
/// through [`LegacyBucketConfig`].
const CONFIG_FORMAT: u8 = 2;

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

/// A configuration as stored before lifecycle rules carried expirations (and as a node's copy
/// of a bucket record of that time holds it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyBucketConfig {
    pub tags: Option<Vec<(String, String)>>,
    pub ownership: Option<String>,
    pub cors: Option<Vec<CorsRule>>,
    pub lifecycle: Option<Vec<LegacyLifecycleRule>>,
}

/// A lifecycle rule of a [`LegacyBucketConfig`]: it could only abort uploads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyLifecycleRule {
    pub id: String,
    pub enabled: bool,
    pub filter: LifecycleFilter,
    pub abort_upload_days: Option<u32>,
}

impl From<LegacyBucketConfig> for BucketConfig {
    fn from(old: LegacyBucketConfig) -> Self {
        Self {
            tags: old.tags,
            ownership: old.ownership,
            cors: old.cors,
            lifecycle: old.lifecycle.map(|rules| {
                rules
                    .into_iter()
                    .map(|r| LifecycleRule {
                        id: r.id,
                        enabled: r.enabled,
                        filter: r.filter,
                        abort_upload_days: r.abort_upload_days,
                        ..LifecycleRule::default()
                    })
                    .collect()
            }),
        }
    }
}

/// A configuration's stored value.
pub(super) fn encode_config(config: &BucketConfig) -> Vec<u8> {
    let mut out = encode_record(config);
    out[0] = CONFIG_FORMAT;
    out
}

/// Reads a stored configuration, of either format.
pub(super) fn decode_config(bucket: &str, bytes: &[u8]) -> Result<BucketConfig, IndexError> {
    let what = format_args!("configuration of bucket {bucket}");
    match bytes.split_first() {
        Some((&CONFIG_FORMAT, body)) => {
            let mut framed = Vec::with_capacity(bytes.len());
            framed.push(RECORD_FORMAT);
            framed.extend_from_slice(body);
            decode(what, &framed)
        }
        Some((&RECORD_FORMAT, _)) => {
            decode::<LegacyBucketConfig>(what, bytes).map(BucketConfig::from)
        }
        Some((format, _)) => Err(IndexError::Corrupt(format!(
            "configuration of bucket {bucket}: unknown format {format}"
        ))),
        None => Err(IndexError::Corrupt(format!(
            "configuration of bucket {bucket}: empty"
        ))),
    }
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
            .map(|v| decode_config(name, v.value()))
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
                Some(v) => decode_config(name, v.value())?,
                None => BucketConfig::default(),
            };
            let rules_before = config.lifecycle.clone();
            change(&mut config);
            if config.lifecycle != rules_before {
                super::lifecycle::rules_changed(t, name, config.lifecycle.as_deref())?;
            }
            t.bucket_config
                .insert(name, encode_config(&config).as_slice())?;
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

    /// A configuration stored before lifecycle rules carried expirations still reads, and the
    /// bucket still takes writes.
    #[test]
    fn configurations_stored_in_the_earlier_layout_still_read() {
        let (_dir, index) = temp_index();
        index.create_bucket("old", &bucket_record()).unwrap();
        let legacy = LegacyBucketConfig {
            tags: Some(vec![("team".into(), "blue".into())]),
            lifecycle: Some(vec![LegacyLifecycleRule {
                id: "abort".into(),
                enabled: true,
                abort_upload_days: Some(2),
                ..LegacyLifecycleRule::default()
            }]),
            ..LegacyBucketConfig::default()
        };
        index
            .write(|t| {
                t.bucket_config
                    .insert("old", encode_record(&legacy).as_slice())?;
                Ok(())
            })
            .unwrap();
        let config = index.bucket_config("old").unwrap();
        assert_eq!(config.tags, legacy.tags);
        let rules = config.lifecycle.unwrap();
        assert_eq!(rules[0].abort_upload_days, Some(2));
        index
            .put_object("old", "k", &object_record("e"), &manifest(&[1]), always)
            .unwrap();
        // Rewritten in the new layout on the next change.
        index
            .update_bucket_config("old", |c| c.ownership = Some("ObjectWriter".into()))
            .unwrap();
        assert_eq!(
            index.bucket_config("old").unwrap().lifecycle.unwrap()[0].id,
            "abort"
        );
    }
}
