//! A request as a policy sees it: who asks (a user, or nobody), the action (`s3:GetObject`),
//! the resource's ARN (`arn:aws:s3:::bucket/key`), and the condition context (`aws:SourceIp`,
//! `s3:prefix`, ...), whose keys are case-insensitive as in AWS.

use std::collections::BTreeMap;

/// The account every Floe user belongs to, in ARNs (Floe has one account).
pub const ACCOUNT: &str = "000000000000";

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No signature: only a bucket policy granting `*` lets it in.
    Anonymous,
    /// A user of this cluster, by name.
    User(String),
}

impl Principal {
    /// The user's ARN, `arn:aws:iam::000000000000:user/NAME`.
    pub fn arn(&self) -> Option<String> {
        match self {
            Self::Anonymous => None,
            Self::User(name) => Some(format!("arn:aws:iam::{ACCOUNT}:user/{name}")),
        }
    }
}

/// The ARN of a bucket.
pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// The ARN of an object.
pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// Condition keys and their values; keys compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    /// Adds `value` to key `key`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.values
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.into());
        self
    }

    /// The values of `key`, if the request has it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
    }
}

/// One request to authorize.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    pub principal: &'a Principal,
    /// `s3:GetObject` and the like.
    pub action: &'a str,
    /// `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`.
    pub resource: &'a str,
    pub context: &'a Context,
}
