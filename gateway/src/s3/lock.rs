//! Object lock over S3: the bucket's lock configuration, a version's retention and legal hold,
//! and the lock headers of writes and reads.

use s3s::dto::{
    DefaultRetention as DtoDefaultRetention, GetObjectLegalHoldInput, GetObjectLegalHoldOutput,
    GetObjectLockConfigurationInput, GetObjectLockConfigurationOutput, GetObjectRetentionInput,
    GetObjectRetentionOutput, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold,
    ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
    ObjectLockRule, PutObjectLegalHoldInput, PutObjectLegalHoldOutput,
    PutObjectLockConfigurationInput, PutObjectLockConfigurationOutput, PutObjectRetentionInput,
    PutObjectRetentionOutput, Timestamp,
};
use s3s::{S3Request, S3Response, S3Result};

use crate::objects::{
    BucketLock, DefaultRetention, LockChange, ObjectError, ObjectLock, ObjectService, Retention,
    RetentionMode, RetentionPeriod, now_millis,
};

use super::convert::{millis, timestamp, version_id};
use super::errors::malformed_xml;

/// The longest default retention S3 accepts: 100 years, in either unit.
const MAX_DEFAULT_YEARS: i32 = 100;
const MAX_DEFAULT_DAYS: i32 = 36_500;

/// A retention mode as S3 spells it.
fn mode_in(mode: &str) -> Result<RetentionMode, ObjectError> {
    match mode {
        ObjectLockMode::GOVERNANCE => Ok(RetentionMode::Governance),
        ObjectLockMode::COMPLIANCE => Ok(RetentionMode::Compliance),
        _ => Err(ObjectError::InvalidArgument(format!(
            "Unknown object lock mode {mode:?}: GOVERNANCE or COMPLIANCE"
        ))),
    }
}

fn legal_hold_in(status: &str) -> Result<bool, ObjectError> {
    match status {
        ObjectLockLegalHoldStatus::ON => Ok(true),
        ObjectLockLegalHoldStatus::OFF => Ok(false),
        _ => Err(ObjectError::InvalidArgument(format!(
            "Unknown legal hold status {status:?}: ON or OFF"
        ))),
    }
}

/// A retain-until date, which must lie in the future.
fn until_in(date: Timestamp) -> Result<i64, ObjectError> {
    let until = millis(date);
    if until <= now_millis() {
        return Err(ObjectError::InvalidArgument(
            "The retain until date must be in the future!".into(),
        ));
    }
    Ok(until)
}

/// The lock a write's `x-amz-object-lock-*` headers ask for; `None` without any.
pub(super) fn lock_in(
    mode: Option<ObjectLockMode>,
    until: Option<Timestamp>,
    legal_hold: Option<ObjectLockLegalHoldStatus>,
) -> Result<Option<ObjectLock>, ObjectError> {
    let retention = match (mode, until) {
        (None, None) => None,
        (Some(mode), Some(until)) => Some(Retention {
            mode: mode_in(mode.as_str())?,
            until: until_in(until)?,
        }),
        _ => {
            return Err(ObjectError::InvalidArgument(
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be \
                 supplied"
                    .into(),
            ));
        }
    };
    let legal = legal_hold
        .as_ref()
        .map(|s| legal_hold_in(s.as_str()))
        .transpose()?;
    if retention.is_none() && legal.is_none() {
        return Ok(None);
    }
    Ok(Some(ObjectLock {
        retention,
        legal_hold: legal.unwrap_or(false),
    }))
}

/// The lock headers of a read: mode and date with a retention, the hold when it is on.
pub(super) struct LockHeaders {
    pub mode: Option<ObjectLockMode>,
    pub until: Option<Timestamp>,
    pub legal_hold: Option<ObjectLockLegalHoldStatus>,
}

pub(super) fn lock_out(lock: ObjectLock) -> LockHeaders {
    LockHeaders {
        mode: lock
            .retention
            .map(|r| ObjectLockMode::from_static(r.mode.as_str())),
        until: lock.retention.map(|r| timestamp(r.until)),
        legal_hold: lock
            .legal_hold
            .then(|| ObjectLockLegalHoldStatus::from_static(ObjectLockLegalHoldStatus::ON)),
    }
}

pub(super) async fn get_object_lock_configuration(
    svc: &ObjectService,
    req: S3Request<GetObjectLockConfigurationInput>,
) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
    let lock = svc.object_lock_configuration(&req.input.bucket).await?;
    // Without a default retention, no <Rule> at all: clients choke on an empty one.
    let rule = lock.default_retention.map(|d| {
        let (days, years) = match d.period {
            RetentionPeriod::Days(n) => (Some(n as i32), None),
            RetentionPeriod::Years(n) => (None, Some(n as i32)),
        };
        ObjectLockRule {
            default_retention: Some(DtoDefaultRetention {
                days,
                mode: Some(ObjectLockRetentionMode::from_static(d.mode.as_str())),
                years,
            }),
        }
    });
    Ok(S3Response::new(GetObjectLockConfigurationOutput {
        object_lock_configuration: Some(ObjectLockConfiguration {
            object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)),
            rule,
        }),
    }))
}

/// The configuration must say `Enabled`; a default retention needs a mode and exactly one of
/// a positive Days or Years.
pub(super) async fn put_object_lock_configuration(
    svc: &ObjectService,
    req: S3Request<PutObjectLockConfigurationInput>,
) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
    let input = req.input;
    if input.token.is_some() {
        return Err(ObjectError::NotImplemented(
            "x-amz-bucket-object-lock-token is not implemented".into(),
        )
        .into());
    }
    let config = input.object_lock_configuration.ok_or_else(malformed_xml)?;
    if config.object_lock_enabled.as_ref().map(|e| e.as_str()) != Some(ObjectLockEnabled::ENABLED) {
        return Err(malformed_xml());
    }
    // A <Rule> must hold a <DefaultRetention>; no rule clears the default.
    let default_retention = match config.rule.map(|r| r.default_retention) {
        None => None,
        Some(None) => return Err(malformed_xml()),
        Some(Some(d)) => {
            let mode = d.mode.as_ref().ok_or_else(malformed_xml)?;
            let period = match (d.days, d.years) {
                (Some(n @ 1..=MAX_DEFAULT_DAYS), None) => RetentionPeriod::Days(n as u32),
                (None, Some(n @ 1..=MAX_DEFAULT_YEARS)) => RetentionPeriod::Years(n as u32),
                (Some(_), None) | (None, Some(_)) => {
                    return Err(ObjectError::InvalidArgument(format!(
                        "Default retention period must be a positive integer value, at most \
                         {MAX_DEFAULT_DAYS} days or {MAX_DEFAULT_YEARS} years"
                    ))
                    .into());
                }
                _ => return Err(malformed_xml()),
            };
            Some(DefaultRetention {
                mode: mode_in(mode.as_str()).map_err(|_| malformed_xml())?,
                period,
            })
        }
    };
    svc.set_object_lock_configuration(&input.bucket, BucketLock { default_retention })
        .await?;
    Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
}

pub(super) async fn get_object_retention(
    svc: &ObjectService,
    req: S3Request<GetObjectRetentionInput>,
) -> S3Result<S3Response<GetObjectRetentionOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    let lock = svc.object_lock(&input.bucket, &input.key, version).await?;
    let retention = lock
        .retention
        .ok_or(ObjectError::NoSuchObjectLockConfiguration)?;
    Ok(S3Response::new(GetObjectRetentionOutput {
        retention: Some(ObjectLockRetention {
            mode: Some(ObjectLockRetentionMode::from_static(
                retention.mode.as_str(),
            )),
            retain_until_date: Some(timestamp(retention.until)),
        }),
    }))
}

/// A retention with neither mode nor date removes it (GOVERNANCE only, with bypass).
pub(super) async fn put_object_retention(
    svc: &ObjectService,
    req: S3Request<PutObjectRetentionInput>,
) -> S3Result<S3Response<PutObjectRetentionOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    let retention = input.retention.ok_or_else(malformed_xml)?;
    let retention = match (retention.mode, retention.retain_until_date) {
        (None, None) => None,
        (Some(mode), Some(until)) => Some(Retention {
            mode: mode_in(mode.as_str()).map_err(|_| malformed_xml())?,
            until: until_in(until)?,
        }),
        _ => return Err(malformed_xml()),
    };
    let change = LockChange::Retention {
        retention,
        bypass_governance: input.bypass_governance_retention.unwrap_or(false),
    };
    svc.change_object_lock(&input.bucket, &input.key, version, change)
        .await?;
    Ok(S3Response::new(PutObjectRetentionOutput::default()))
}

pub(super) async fn get_object_legal_hold(
    svc: &ObjectService,
    req: S3Request<GetObjectLegalHoldInput>,
) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    let lock = svc.object_lock(&input.bucket, &input.key, version).await?;
    let status = match lock.legal_hold {
        true => ObjectLockLegalHoldStatus::ON,
        false => ObjectLockLegalHoldStatus::OFF,
    };
    Ok(S3Response::new(GetObjectLegalHoldOutput {
        legal_hold: Some(ObjectLockLegalHold {
            status: Some(ObjectLockLegalHoldStatus::from_static(status)),
        }),
    }))
}

pub(super) async fn put_object_legal_hold(
    svc: &ObjectService,
    req: S3Request<PutObjectLegalHoldInput>,
) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    let status = input
        .legal_hold
        .and_then(|h| h.status)
        .ok_or_else(malformed_xml)?;
    let on = legal_hold_in(status.as_str()).map_err(|_| malformed_xml())?;
    svc.change_object_lock(
        &input.bucket,
        &input.key,
        version,
        LockChange::LegalHold(on),
    )
    .await?;
    Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
}
