//! Who may reach a bucket besides its users' own policies: its owner, its bucket policy (JSON,
//! stored as sent), its canned ACL and its Block Public Access settings; and the cluster's
//! stored identity policies, by name. Both travel to the nodes: a bucket's settings in its
//! record, policies as `Identity` entries (`users_journal`). The index only keeps them: what they mean is
//! `crate::access`'s business.

use serde::{Deserialize, Serialize};

use super::journal::{RecordKind, note_change};
use super::store::{BUCKET_ACCESS, BUCKETS, POLICIES, decode};
use super::users_journal::{Identity, note_identity};
use super::{Index, IndexError, encode_record};

/// The canned ACLs Floe keeps on a bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CannedAcl {
    /// The owner only (what users' policies and the bucket policy grant still applies).
    #[default]
    Private,
    /// Everyone, anonymous callers included, may list the bucket and read its objects.
    PublicRead,
}

/// Block Public Access, bucket level: each flag as S3 names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    /// Refuse setting a public ACL.
    pub block_public_acls: bool,
    /// Ignore public ACLs in force.
    pub ignore_public_acls: bool,
    /// Refuse storing a public bucket policy.
    pub block_public_policy: bool,
    /// Ignore a public bucket policy for callers outside the account (anonymous ones).
    pub restrict_public_buckets: bool,
}

/// A bucket's access settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketAccess {
    /// The user that created it; `None` for the root key's buckets (and older ones).
    pub owner: Option<String>,
    /// The bucket policy's JSON, as it was put.
    pub policy: Option<String>,
    pub acl: CannedAcl,
    pub public_block: Option<PublicAccessBlock>,
}

impl Index {
    /// The access settings of bucket `name`; `NoSuchBucket` if it is absent.
    pub fn bucket_access(&self, name: &str) -> Result<BucketAccess, IndexError> {
        let txn = self.read()?;
        if txn.open_table(BUCKETS)?.get(name)?.is_none() {
            return Err(IndexError::NoSuchBucket);
        }
        let table = txn.open_table(BUCKET_ACCESS)?;
        let stored = table.get(name)?;
        stored
            .map(|v| decode(format_args!("access of bucket {name}"), v.value()))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Changes bucket `name`'s access settings with `change`; `NoSuchBucket` if it is absent.
    /// `change` may refuse, with the error returned as it is.
    pub fn update_bucket_access(
        &self,
        name: &str,
        change: impl Fn(&mut BucketAccess) -> Result<(), IndexError>,
    ) -> Result<BucketAccess, IndexError> {
        self.write(|t| {
            if t.buckets.get(name)?.is_none() {
                return Err(IndexError::NoSuchBucket);
            }
            let mut access: BucketAccess = match t.bucket_access.get(name)? {
                Some(v) => decode(format_args!("access of bucket {name}"), v.value())?,
                None => BucketAccess::default(),
            };
            change(&mut access)?;
            t.bucket_access
                .insert(name, encode_record(&access).as_slice())?;
            // The bucket's record on the nodes carries its access settings.
            note_change(t, RecordKind::Bucket, name, "", true)?;
            Ok(access)
        })
    }

    /// Stores identity policy `name` (its JSON, checked by the caller); whether it is new.
    pub fn put_policy(&self, name: &str, json: &str) -> Result<bool, IndexError> {
        self.write(|t| {
            let created = t.policies.get(name)?.is_none();
            t.policies.insert(name, json.as_bytes())?;
            note_identity(t, Identity::Policy(name), true)?;
            Ok(created)
        })
    }

    /// The JSON of stored policy `name`.
    pub fn policy(&self, name: &str) -> Result<Option<String>, IndexError> {
        let txn = self.read()?;
        let table = txn.open_table(POLICIES)?;
        let stored = table.get(name)?;
        Ok(stored.map(|v| String::from_utf8_lossy(v.value()).into_owned()))
    }

    /// Every stored policy's name, in order.
    pub fn policy_names(&self) -> Result<Vec<String>, IndexError> {
        let txn = self.read()?;
        let table = txn.open_table(POLICIES)?;
        let mut out = Vec::new();
        for entry in table.range(..)? {
            out.push(entry?.0.value().to_owned());
        }
        Ok(out)
    }

    /// Deletes stored policy `name`; whether there was one.
    pub fn delete_policy(&self, name: &str) -> Result<bool, IndexError> {
        self.write(|t| {
            let existed = t.policies.remove(name)?.is_some();
            if existed {
                note_identity(t, Identity::Policy(name), false)?;
            }
            Ok(existed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::*;

    #[test]
    fn bucket_access_lives_and_dies_with_its_bucket() {
        let (_dir, index) = temp_index();
        assert!(matches!(
            index.bucket_access("nope"),
            Err(IndexError::NoSuchBucket)
        ));
        index.create_bucket("web", &bucket_record()).unwrap();
        assert_eq!(index.bucket_access("web").unwrap(), BucketAccess::default());
        index
            .update_bucket_access("web", |a| {
                a.policy = Some("{}".into());
                a.acl = CannedAcl::PublicRead;
                Ok(())
            })
            .unwrap();
        assert_eq!(
            index.bucket_access("web").unwrap().acl,
            CannedAcl::PublicRead
        );
        index.delete_bucket("web").unwrap();
        index.create_bucket("web", &bucket_record()).unwrap();
        assert_eq!(
            index.bucket_access("web").unwrap(),
            BucketAccess::default(),
            "a bucket made again under the same name starts private"
        );
    }

    #[test]
    fn stored_policies() {
        let (_dir, index) = temp_index();
        assert!(index.put_policy("p", "{\"a\":1}").unwrap());
        assert!(!index.put_policy("p", "{\"a\":2}").unwrap());
        index.put_policy("o", "{}").unwrap();
        assert_eq!(index.policy("p").unwrap().as_deref(), Some("{\"a\":2}"));
        assert_eq!(index.policy_names().unwrap(), ["o", "p"]);
        assert!(index.delete_policy("p").unwrap());
        assert!(!index.delete_policy("p").unwrap());
        assert_eq!(index.policy("p").unwrap(), None);
    }
}
