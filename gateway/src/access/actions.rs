//! Which IAM action each S3 operation needs, and on what: the account (ListBuckets), a bucket,
//! or an object. Names follow AWS's "Actions, resources, and condition keys for Amazon S3";
//! reading or changing a named version needs the action's `...Version` form.
//!
//! Some requests need more than their operation's action, checked by the caller beside it:
//! CopyObject and UploadPartCopy also read their source (`s3:GetObject`), DeleteObjects needs
//! `s3:DeleteObject` for each key, and a request that bypasses GOVERNANCE retention needs
//! `s3:BypassGovernanceRetention`.

/// What an action applies to, which decides its resource ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `*`: ListBuckets.
    Account,
    /// `arn:aws:s3:::bucket`.
    Bucket,
    /// `arn:aws:s3:::bucket/key`.
    Object,
}

/// An action and what it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needed {
    pub action: &'static str,
    pub target: Target,
}

/// The action S3 operation `operation` (as s3s names it: `GetObject`) needs; `version` says
/// whether the request names a version id. `None` for an operation Floe does not authorize
/// (one it does not serve): the caller refuses it.
pub fn action_of(operation: &str, version: bool) -> Option<Needed> {
    use Target::{Account, Bucket, Object};
    let (action, target) = match (operation, version) {
        ("ListBuckets", _) => ("s3:ListAllMyBuckets", Account),
        ("CreateBucket", _) => ("s3:CreateBucket", Bucket),
        ("DeleteBucket", _) => ("s3:DeleteBucket", Bucket),
        ("HeadBucket", _) => ("s3:ListBucket", Bucket),
        ("GetBucketLocation", _) => ("s3:GetBucketLocation", Bucket),
        ("GetBucketVersioning", _) => ("s3:GetBucketVersioning", Bucket),
        ("PutBucketVersioning", _) => ("s3:PutBucketVersioning", Bucket),
        ("GetObjectLockConfiguration", _) => ("s3:GetBucketObjectLockConfiguration", Bucket),
        ("PutObjectLockConfiguration", _) => ("s3:PutBucketObjectLockConfiguration", Bucket),
        ("GetBucketPolicy", _) => ("s3:GetBucketPolicy", Bucket),
        ("PutBucketPolicy", _) => ("s3:PutBucketPolicy", Bucket),
        ("DeleteBucketPolicy", _) => ("s3:DeleteBucketPolicy", Bucket),
        ("GetBucketPolicyStatus", _) => ("s3:GetBucketPolicyStatus", Bucket),
        ("GetPublicAccessBlock", _) => ("s3:GetBucketPublicAccessBlock", Bucket),
        ("PutPublicAccessBlock", _) => ("s3:PutBucketPublicAccessBlock", Bucket),
        ("DeletePublicAccessBlock", _) => ("s3:PutBucketPublicAccessBlock", Bucket),
        ("GetBucketAcl", _) => ("s3:GetBucketAcl", Bucket),
        ("PutBucketAcl", _) => ("s3:PutBucketAcl", Bucket),
        ("ListObjects" | "ListObjectsV2", _) => ("s3:ListBucket", Bucket),
        ("ListObjectVersions", _) => ("s3:ListBucketVersions", Bucket),
        ("ListMultipartUploads", _) => ("s3:ListBucketMultipartUploads", Bucket),
        // Each key is authorized as its own DeleteObject.
        ("DeleteObjects", _) => ("s3:DeleteObject", Bucket),
        ("GetObject" | "HeadObject", false) => ("s3:GetObject", Object),
        ("GetObject" | "HeadObject", true) => ("s3:GetObjectVersion", Object),
        ("GetObjectTagging", false) => ("s3:GetObjectTagging", Object),
        ("GetObjectTagging", true) => ("s3:GetObjectVersionTagging", Object),
        ("PutObjectTagging", false) => ("s3:PutObjectTagging", Object),
        ("PutObjectTagging", true) => ("s3:PutObjectVersionTagging", Object),
        ("DeleteObjectTagging", false) => ("s3:DeleteObjectTagging", Object),
        ("DeleteObjectTagging", true) => ("s3:DeleteObjectVersionTagging", Object),
        ("GetObjectAcl", false) => ("s3:GetObjectAcl", Object),
        ("GetObjectAcl", true) => ("s3:GetObjectVersionAcl", Object),
        ("PutObjectAcl", false) => ("s3:PutObjectAcl", Object),
        ("PutObjectAcl", true) => ("s3:PutObjectVersionAcl", Object),
        (
            "PutObject"
            | "CopyObject"
            | "CreateMultipartUpload"
            | "UploadPart"
            | "UploadPartCopy"
            | "CompleteMultipartUpload",
            _,
        ) => ("s3:PutObject", Object),
        ("AbortMultipartUpload", _) => ("s3:AbortMultipartUpload", Object),
        ("ListParts", _) => ("s3:ListMultipartUploadParts", Object),
        ("DeleteObject", false) => ("s3:DeleteObject", Object),
        ("DeleteObject", true) => ("s3:DeleteObjectVersion", Object),
        ("GetObjectAttributes", false) => ("s3:GetObjectAttributes", Object),
        ("GetObjectAttributes", true) => ("s3:GetObjectVersionAttributes", Object),
        ("GetBucketTagging", _) => ("s3:GetBucketTagging", Bucket),
        ("PutBucketTagging" | "DeleteBucketTagging", _) => ("s3:PutBucketTagging", Bucket),
        ("GetBucketOwnershipControls", _) => ("s3:GetBucketOwnershipControls", Bucket),
        ("PutBucketOwnershipControls" | "DeleteBucketOwnershipControls", _) => {
            ("s3:PutBucketOwnershipControls", Bucket)
        }
        ("GetBucketEncryption", _) => ("s3:GetEncryptionConfiguration", Bucket),
        ("GetBucketCors", _) => ("s3:GetBucketCORS", Bucket),
        ("GetBucketLifecycleConfiguration", _) => ("s3:GetLifecycleConfiguration", Bucket),
        ("PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle", _) => {
            ("s3:PutLifecycleConfiguration", Bucket)
        }
        ("PutBucketCors" | "DeleteBucketCors", _) => ("s3:PutBucketCORS", Bucket),
        ("GetObjectRetention", _) => ("s3:GetObjectRetention", Object),
        ("PutObjectRetention", _) => ("s3:PutObjectRetention", Object),
        ("GetObjectLegalHold", _) => ("s3:GetObjectLegalHold", Object),
        ("PutObjectLegalHold", _) => ("s3:PutObjectLegalHold", Object),
        _ => return None,
    };
    Some(Needed { action, target })
}

/// What a copy needs of its source: reading it (the named version, if any).
pub fn copy_source_action(version: bool) -> &'static str {
    match version {
        true => "s3:GetObjectVersion",
        false => "s3:GetObject",
    }
}

/// What bypassing GOVERNANCE retention needs, beside the operation's own action.
pub const BYPASS_GOVERNANCE: &str = "s3:BypassGovernanceRetention";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation Floe serves (the `s3` adapter's list) has an action.
    #[test]
    fn every_served_operation_is_authorized() {
        let served = [
            "ListBuckets",
            "HeadBucket",
            "GetBucketLocation",
            "GetBucketVersioning",
            "PutBucketVersioning",
            "CreateBucket",
            "DeleteBucket",
            "PutObject",
            "CopyObject",
            "DeleteObject",
            "DeleteObjects",
            "GetObject",
            "HeadObject",
            "ListObjects",
            "ListObjectsV2",
            "ListObjectVersions",
            "CreateMultipartUpload",
            "UploadPart",
            "UploadPartCopy",
            "CompleteMultipartUpload",
            "AbortMultipartUpload",
            "ListParts",
            "ListMultipartUploads",
            "GetObjectTagging",
            "PutObjectTagging",
            "DeleteObjectTagging",
            "GetObjectLockConfiguration",
            "PutObjectLockConfiguration",
            "GetObjectRetention",
            "PutObjectRetention",
            "GetObjectLegalHold",
            "PutObjectLegalHold",
            "GetBucketPolicy",
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "GetBucketPolicyStatus",
            "GetPublicAccessBlock",
            "PutPublicAccessBlock",
            "DeletePublicAccessBlock",
            "GetBucketAcl",
            "PutBucketAcl",
            "GetObjectAcl",
            "PutObjectAcl",
            "GetBucketTagging",
            "PutBucketTagging",
            "DeleteBucketTagging",
            "GetBucketOwnershipControls",
            "PutBucketOwnershipControls",
            "DeleteBucketOwnershipControls",
            "GetBucketEncryption",
            "GetBucketCors",
            "PutBucketCors",
            "DeleteBucketCors",
            "GetObjectAttributes",
            "GetBucketLifecycleConfiguration",
            "PutBucketLifecycleConfiguration",
            "DeleteBucketLifecycle",
        ];
        for op in served {
            for version in [false, true] {
                let needed = action_of(op, version).unwrap_or_else(|| panic!("{op}"));
                assert!(needed.action.starts_with("s3:"), "{op}");
            }
        }
        assert_eq!(action_of("SelectObjectContent", false), None);
    }

    #[test]
    fn named_versions_need_the_version_actions() {
        let pairs = [
            ("GetObject", "s3:GetObject", "s3:GetObjectVersion"),
            ("DeleteObject", "s3:DeleteObject", "s3:DeleteObjectVersion"),
            (
                "PutObjectTagging",
                "s3:PutObjectTagging",
                "s3:PutObjectVersionTagging",
            ),
        ];
        for (op, plain, versioned) in pairs {
            assert_eq!(action_of(op, false).unwrap().action, plain);
            assert_eq!(action_of(op, true).unwrap().action, versioned);
        }
        assert_eq!(
            action_of("ListBuckets", false).unwrap().target,
            Target::Account
        );
        assert_eq!(
            action_of("ListObjectsV2", false).unwrap().target,
            Target::Bucket
        );
        assert_eq!(
            action_of("UploadPart", false).unwrap().target,
            Target::Object
        );
    }
}
