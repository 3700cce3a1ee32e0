//! Bucket lifecycle configuration: PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration
//! and DeleteBucketLifecycle, with S3's validation. The engine (`maintenance/lifecycle.rs`)
//! carries the rules out.
//!
//! Floe carries out `AbortIncompleteMultipartUpload` today. A rule asking for an action it does
//! not carry out yet (`Expiration`, `NoncurrentVersionExpiration`) is refused with
//! NotImplemented rather than stored and ignored; `Transition`s need storage classes Floe does
//! not have and are refused too.

use s3s::dto::{
    AbortIncompleteMultipartUpload, DeleteBucketLifecycleInput, DeleteBucketLifecycleOutput,
    ExpirationStatus, GetBucketLifecycleConfigurationInput, GetBucketLifecycleConfigurationOutput,
    LifecycleRule as DtoRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    PutBucketLifecycleConfigurationInput, PutBucketLifecycleConfigurationOutput, Tag,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use crate::index::{LifecycleFilter, LifecycleRule};
use crate::objects::ObjectService;

/// S3's limit on rules per configuration.
const MAX_RULES: usize = 1000;
/// S3's limit on a rule id.
const MAX_ID: usize = 255;

fn malformed(why: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::MalformedXML, why.into())
}

fn invalid(why: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, why.into())
}

/// A rule's filter, from the legacy `Prefix` or `Filter` (Prefix, Tag, size bounds, or And).
fn filter_of(rule: &DtoRule) -> S3Result<LifecycleFilter> {
    let tag = |t: &Tag| {
        (
            t.key.clone().unwrap_or_default(),
            t.value.clone().unwrap_or_default(),
        )
    };
    match (&rule.prefix, &rule.filter) {
        (Some(_), Some(_)) => Err(malformed("a rule takes Prefix or Filter, not both")),
        (Some(prefix), None) => Ok(LifecycleFilter {
            prefix: prefix.clone(),
            ..LifecycleFilter::default()
        }),
        (None, None) => Ok(LifecycleFilter::default()),
        (None, Some(f)) => {
            let LifecycleRuleFilter {
                and,
                object_size_greater_than,
                object_size_less_than,
                prefix,
                tag: single,
            } = f;
            let given = [
                and.is_some(),
                object_size_greater_than.is_some(),
                object_size_less_than.is_some(),
                prefix.is_some(),
                single.is_some(),
            ];
            if given.iter().filter(|g| **g).count() > 1 {
                return Err(malformed(
                    "a Filter holds one condition; combine them with And",
                ));
            }
            let size = |v: &Option<i64>| v.map(|n| u64::try_from(n).unwrap_or(0));
            Ok(match and {
                Some(LifecycleRuleAndOperator {
                    object_size_greater_than,
                    object_size_less_than,
                    prefix,
                    tags,
                }) => LifecycleFilter {
                    prefix: prefix.clone().unwrap_or_default(),
                    tags: tags.iter().flatten().map(tag).collect(),
                    size_greater_than: size(object_size_greater_than),
                    size_less_than: size(object_size_less_than),
                },
                None => LifecycleFilter {
                    prefix: prefix.clone().unwrap_or_default(),
                    tags: single.iter().map(tag).collect(),
                    size_greater_than: size(object_size_greater_than),
                    size_less_than: size(object_size_less_than),
                },
            })
        }
    }
}

/// One rule, checked as S3 checks it.
fn rule_of(rule: &DtoRule, index: usize) -> S3Result<LifecycleRule> {
    let id = match &rule.id {
        Some(id) if id.len() > MAX_ID => {
            return Err(invalid(format!(
                "ID length should not exceed allowed limit of {MAX_ID}"
            )));
        }
        Some(id) if !id.is_empty() => id.clone(),
        _ => format!("rule-{}", index + 1),
    };
    let enabled = match rule.status.as_str() {
        ExpirationStatus::ENABLED => true,
        ExpirationStatus::DISABLED => false,
        other => {
            return Err(malformed(format!(
                "Status must be Enabled or Disabled, not {other:?}"
            )));
        }
    };
    if rule.transitions.as_ref().is_some_and(|t| !t.is_empty())
        || rule
            .noncurrent_version_transitions
            .as_ref()
            .is_some_and(|t| !t.is_empty())
    {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidStorageClass,
            "Transitions are not supported: Floe has one storage class",
        ));
    }
    if rule.expiration.is_some() || rule.noncurrent_version_expiration.is_some() {
        return Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "Expiration and NoncurrentVersionExpiration are not implemented yet; \
             AbortIncompleteMultipartUpload is",
        ));
    }
    let filter = filter_of(rule)?;
    if let (Some(gt), Some(lt)) = (filter.size_greater_than, filter.size_less_than)
        && gt >= lt
    {
        return Err(invalid(
            "ObjectSizeGreaterThan must be less than ObjectSizeLessThan",
        ));
    }
    let abort_upload_days = match &rule.abort_incomplete_multipart_upload {
        None => None,
        Some(AbortIncompleteMultipartUpload {
            days_after_initiation,
        }) => {
            if !filter.tags.is_empty() {
                return Err(invalid(
                    "AbortIncompleteMultipartUpload cannot be specified with Tags",
                ));
            }
            // An upload has no size yet: S3 refuses size filters here too.
            if filter.size_greater_than.is_some() || filter.size_less_than.is_some() {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    "AbortIncompleteMultipartUpload cannot be specified with Object Size",
                ));
            }
            match days_after_initiation {
                Some(days) if *days > 0 => Some(*days as u32),
                _ => {
                    return Err(invalid(
                        "DaysAfterInitiation for AbortIncompleteMultipartUpload action must be a \
                         positive integer",
                    ));
                }
            }
        }
    };
    if abort_upload_days.is_none() {
        return Err(invalid(
            "At least one action needs to be specified in a rule",
        ));
    }
    Ok(LifecycleRule {
        id,
        enabled,
        filter,
        abort_upload_days,
    })
}

pub(super) async fn put_bucket_lifecycle_configuration(
    svc: &ObjectService,
    req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    let input = req.input;
    let config = input
        .lifecycle_configuration
        .ok_or_else(|| malformed("a LifecycleConfiguration is required"))?;
    if config.rules.is_empty() || config.rules.len() > MAX_RULES {
        return Err(malformed(format!(
            "a configuration has 1 to {MAX_RULES} rules"
        )));
    }
    let mut rules = Vec::with_capacity(config.rules.len());
    for (i, rule) in config.rules.iter().enumerate() {
        let rule = rule_of(rule, i)?;
        if rules.iter().any(|r: &LifecycleRule| r.id == rule.id) {
            return Err(invalid(
                "Rule ID must be unique. Found same ID for more than one rule",
            ));
        }
        rules.push(rule);
    }
    svc.set_bucket_lifecycle(&input.bucket, Some(rules)).await?;
    Ok(S3Response::new(
        PutBucketLifecycleConfigurationOutput::default(),
    ))
}

pub(super) async fn get_bucket_lifecycle_configuration(
    svc: &ObjectService,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    let config = svc.bucket_config(&req.input.bucket).await?;
    let rules = config.lifecycle.ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::NoSuchLifecycleConfiguration,
            "The lifecycle configuration does not exist",
        )
    })?;
    let rules = rules.into_iter().map(rule_out).collect();
    Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
        rules: Some(rules),
        ..Default::default()
    }))
}

fn rule_out(rule: LifecycleRule) -> DtoRule {
    let f = rule.filter;
    let tags: Vec<Tag> = f
        .tags
        .into_iter()
        .map(|(k, v)| Tag {
            key: Some(k),
            value: Some(v),
        })
        .collect();
    let size = |v: Option<u64>| v.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let conditions = usize::from(!f.prefix.is_empty())
        + tags.len()
        + usize::from(f.size_greater_than.is_some())
        + usize::from(f.size_less_than.is_some());
    let filter = match conditions {
        0 | 1 if tags.len() <= 1 => LifecycleRuleFilter {
            prefix: Some(f.prefix),
            tag: tags.into_iter().next(),
            object_size_greater_than: size(f.size_greater_than),
            object_size_less_than: size(f.size_less_than),
            and: None,
        },
        _ => LifecycleRuleFilter {
            and: Some(LifecycleRuleAndOperator {
                prefix: Some(f.prefix),
                tags: Some(tags),
                object_size_greater_than: size(f.size_greater_than),
                object_size_less_than: size(f.size_less_than),
            }),
            ..Default::default()
        },
    };
    DtoRule {
        id: Some(rule.id),
        status: ExpirationStatus::from_static(match rule.enabled {
            true => ExpirationStatus::ENABLED,
            false => ExpirationStatus::DISABLED,
        }),
        filter: Some(filter),
        abort_incomplete_multipart_upload: rule.abort_upload_days.map(|days| {
            AbortIncompleteMultipartUpload {
                days_after_initiation: Some(days as i32),
            }
        }),
        expiration: None,
        noncurrent_version_expiration: None,
        noncurrent_version_transitions: None,
        prefix: None,
        transitions: None,
    }
}

pub(super) async fn delete_bucket_lifecycle(
    svc: &ObjectService,
    req: S3Request<DeleteBucketLifecycleInput>,
) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
    svc.set_bucket_lifecycle(&req.input.bucket, None).await?;
    Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
}
