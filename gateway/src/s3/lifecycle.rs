//! Bucket lifecycle configuration: PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration
//! and DeleteBucketLifecycle, with S3's validation. The engine (`maintenance/lifecycle.rs`)
//! carries the rules out.
//!
//! Floe carries out `Expiration` (Days, Date, ExpiredObjectDeleteMarker),
//! `NoncurrentVersionExpiration` (NoncurrentDays, NewerNoncurrentVersions) and
//! `AbortIncompleteMultipartUpload`. `Transition`s need storage classes Floe does not have and
//! are refused rather than stored and ignored.

use s3s::dto::{
    AbortIncompleteMultipartUpload, DeleteBucketLifecycleInput, DeleteBucketLifecycleOutput,
    ExpirationStatus, GetBucketLifecycleConfigurationInput, GetBucketLifecycleConfigurationOutput,
    LifecycleExpiration, LifecycleRule as DtoRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, PutBucketLifecycleConfigurationInput,
    PutBucketLifecycleConfigurationOutput, Tag,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use crate::index::{Expiration, LifecycleFilter, LifecycleRule, NoncurrentExpiration};
use crate::objects::ObjectService;

/// S3's limit on rules per configuration.
const MAX_RULES: usize = 1000;
/// S3's limit on a rule id.
const MAX_ID: usize = 255;
/// S3's limit on NewerNoncurrentVersions.
const MAX_NEWER: i32 = 100;

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
            for bound in [object_size_greater_than, object_size_less_than]
                .into_iter()
                .chain(
                    and.iter()
                        .flat_map(|a| [&a.object_size_greater_than, &a.object_size_less_than]),
                )
            {
                if bound.is_some_and(|n| n < 0) {
                    return Err(invalid("ObjectSize bounds must not be negative"));
                }
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
    let expiration = rule
        .expiration
        .as_ref()
        .map(expiration_of)
        .transpose()?
        .flatten();
    if expiration == Some(Expiration::ExpiredMarker) && !filter.tags.is_empty() {
        return Err(invalid(
            "ExpiredObjectDeleteMarker cannot be specified with a Tag filter",
        ));
    }
    let noncurrent = rule
        .noncurrent_version_expiration
        .as_ref()
        .map(noncurrent_of)
        .transpose()?;
    if abort_upload_days.is_none() && expiration.is_none() && noncurrent.is_none() {
        return Err(invalid(
            "At least one action needs to be specified in a rule",
        ));
    }
    Ok(LifecycleRule {
        id,
        enabled,
        filter,
        abort_upload_days,
        expiration,
        noncurrent,
    })
}

/// A positive number of days, or S3's message for `what`.
fn positive_days(days: Option<i32>, what: &str) -> S3Result<u32> {
    match days {
        Some(days) if days > 0 => Ok(days as u32),
        _ => Err(invalid(format!("{what} must be a positive integer"))),
    }
}

/// An `Expiration`: exactly one of Days, Date and ExpiredObjectDeleteMarker (`None`: a marker
/// rule set to false, which S3 keeps as "no action").
fn expiration_of(given: &LifecycleExpiration) -> S3Result<Option<Expiration>> {
    let marker = given.expired_object_delete_marker;
    let chosen = usize::from(given.days.is_some())
        + usize::from(given.date.is_some())
        + usize::from(marker.is_some());
    if chosen == 0 {
        return Err(malformed(
            "Expiration needs Days, Date or ExpiredObjectDeleteMarker",
        ));
    }
    if marker.is_some() && chosen > 1 {
        return Err(invalid(
            "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle \
             Expiration Policy",
        ));
    }
    if chosen > 1 {
        return Err(malformed("Expiration takes Days or Date, not both"));
    }
    if let Some(marker) = marker {
        return Ok(marker.then_some(Expiration::ExpiredMarker));
    }
    if let Some(date) = &given.date {
        let at = time::OffsetDateTime::from(date.clone());
        if at.unix_timestamp().rem_euclid(86_400) != 0 || at.nanosecond() != 0 {
            return Err(invalid("'Date' must be at midnight GMT"));
        }
        let ms = at.unix_timestamp().saturating_mul(1000);
        return Ok(Some(Expiration::Date(ms)));
    }
    let days = positive_days(given.days, "'Days' for Expiration action")?;
    Ok(Some(Expiration::Days(days)))
}

/// A `NoncurrentVersionExpiration`.
fn noncurrent_of(given: &NoncurrentVersionExpiration) -> S3Result<NoncurrentExpiration> {
    let days = positive_days(
        given.noncurrent_days,
        "'NoncurrentDays' for NoncurrentVersionExpiration action",
    )?;
    let keep_newer = match given.newer_noncurrent_versions {
        None => 0,
        Some(n @ 1..=MAX_NEWER) => n as u32,
        Some(_) => {
            return Err(invalid(format!(
                "NewerNoncurrentVersions must be between 1 and {MAX_NEWER}"
            )));
        }
    };
    Ok(NoncurrentExpiration { days, keep_newer })
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
        // One condition stands alone; an empty prefix is written only when it is the whole
        // filter (else the answer would not be a valid PUT).
        0 | 1 if tags.len() <= 1 => LifecycleRuleFilter {
            prefix: (conditions == 0 || !f.prefix.is_empty()).then_some(f.prefix),
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
        expiration: rule.expiration.map(|e| match e {
            Expiration::Days(days) => LifecycleExpiration {
                days: Some(days as i32),
                ..Default::default()
            },
            Expiration::Date(ms) => LifecycleExpiration {
                date: time::OffsetDateTime::from_unix_timestamp(ms / 1000)
                    .ok()
                    .map(Into::into),
                ..Default::default()
            },
            Expiration::ExpiredMarker => LifecycleExpiration {
                expired_object_delete_marker: Some(true),
                ..Default::default()
            },
        }),
        noncurrent_version_expiration: rule.noncurrent.map(|n| NoncurrentVersionExpiration {
            noncurrent_days: Some(n.days as i32),
            newer_noncurrent_versions: (n.keep_newer > 0).then_some(n.keep_newer as i32),
        }),
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

/// `x-amz-expiration` for a version a rule expires at `at` (ms): as S3 writes it.
pub(super) fn expiration_header(expiration: Option<(i64, String)>) -> Option<String> {
    let (at, rule) = expiration?;
    let date = time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000)).ok()?;
    let mut text = Vec::new();
    s3s::dto::Timestamp::from(date)
        .format(s3s::dto::TimestampFormat::HttpDate, &mut text)
        .ok()?;
    let date = String::from_utf8(text).ok()?;
    // A rule id may hold anything XML does; a header value may not.
    let rule: String = rule
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'%' => format!("%{b:02X}"),
            0x20..0x7f => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    Some(format!("expiry-date=\"{date}\", rule-id=\"{rule}\""))
}
