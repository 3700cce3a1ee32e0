//! The canned identity policies users start from, by name:
//!
//! - `readonly`: read and list everything;
//! - `readwrite`: also write, delete, create and delete buckets, change tags, retention and
//!   legal holds; not bucket configuration (policies, versioning, lock, public access);
//! - `writeonly`: a backup server's: upload (single and multipart) and nothing else, so a
//!   stolen key can neither read nor delete what it wrote;
//! - `admin`: everything.

use s3s_policy::model::Policy;

const READONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["s3:Get*","s3:List*"],"Resource":"*"}]}"#;

const READWRITE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["s3:Get*","s3:List*","s3:PutObject*","s3:DeleteObject*","s3:AbortMultipartUpload",
            "s3:CreateBucket","s3:DeleteBucket"],
  "Resource":"*"}]}"#;

const WRITEONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["s3:PutObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts",
            "s3:GetBucketLocation"],
  "Resource":"*"}]}"#;

const ADMIN: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":"s3:*","Resource":"*"}]}"#;

/// The names of the canned policies.
pub const CANNED: [&str; 4] = ["readonly", "readwrite", "writeonly", "admin"];

/// The canned policy `name`, if there is one.
pub fn canned(name: &str) -> Option<Policy> {
    let json = match name {
        "readonly" => READONLY,
        "readwrite" => READWRITE,
        "writeonly" => WRITEONLY,
        "admin" => ADMIN,
        _ => return None,
    };
    // The texts above are fixed and parse (tested); a failure would be a build defect.
    serde_json::from_str(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::actions::{Target, action_of};
    use crate::access::evaluate::{PolicyKind, decide, validate};
    use crate::access::request::{AccessRequest, Context, Principal, bucket_arn, object_arn};

    /// Whether a user with only policy `name` may run `operation` (on a version, if `version`).
    fn may(name: &str, operation: &str, version: bool) -> bool {
        let policy = canned(name).unwrap();
        let needed = action_of(operation, version).unwrap();
        let resource = match needed.target {
            Target::Account => "*".to_owned(),
            Target::Bucket => bucket_arn("b"),
            Target::Object => object_arn("b", "k"),
        };
        let who = Principal::User("u".into());
        let context = Context::default();
        let req = AccessRequest {
            principal: &who,
            action: needed.action,
            resource: &resource,
            context: &context,
        };
        decide(&[&policy], None, &req).allowed()
    }

    #[test]
    fn every_canned_policy_parses_and_validates() {
        for name in CANNED {
            let policy = canned(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(validate(&policy, PolicyKind::Identity), Ok(()), "{name}");
        }
        assert!(canned("root").is_none());
    }

    #[test]
    fn each_canned_policy_grants_what_its_name_says() {
        let reads = [
            "GetObject",
            "HeadObject",
            "ListObjectsV2",
            "ListObjectVersions",
            "ListBuckets",
        ];
        let writes = [
            "PutObject",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
        ];
        let deletes = ["DeleteObject", "DeleteObjects"];
        let config = [
            "PutBucketPolicy",
            "PutBucketVersioning",
            "PutObjectLockConfiguration",
        ];
        for version in [false, true] {
            for op in reads {
                assert!(may("readonly", op, version), "readonly {op}");
                assert!(may("readwrite", op, version), "readwrite {op}");
                assert!(!may("writeonly", op, version), "writeonly {op}");
            }
            for op in writes {
                assert!(!may("readonly", op, version), "readonly {op}");
                assert!(may("readwrite", op, version), "readwrite {op}");
                assert!(may("writeonly", op, version), "writeonly {op}");
            }
            for op in deletes {
                assert!(!may("readonly", op, version), "readonly {op}");
                assert!(may("readwrite", op, version), "readwrite {op}");
                assert!(!may("writeonly", op, version), "writeonly {op}");
            }
            for op in config {
                assert!(!may("readwrite", op, version), "readwrite {op}");
                assert!(may("admin", op, version), "admin {op}");
            }
        }
        // The backup server can neither tag, change retention nor read what it wrote.
        for op in [
            "PutObjectTagging",
            "PutObjectRetention",
            "GetObjectRetention",
            "GetObject",
        ] {
            assert!(!may("writeonly", op, false), "writeonly {op}");
        }
    }
}
