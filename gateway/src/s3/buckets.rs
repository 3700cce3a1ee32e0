//! Bucket operations: ListBuckets, HeadBucket, GetBucketLocation, CreateBucket, DeleteBucket,
//! and the bucket's versioning state.

use s3s::dto::{
    Bucket, BucketLocationConstraint, BucketVersioningStatus, CreateBucketInput,
    CreateBucketOutput, DeleteBucketInput, DeleteBucketOutput, GetBucketLocationInput,
    GetBucketLocationOutput, GetBucketVersioningInput, GetBucketVersioningOutput, HeadBucketInput,
    HeadBucketOutput, ListBucketsInput, ListBucketsOutput, MFADelete, MFADeleteStatus,
    PutBucketVersioningInput, PutBucketVersioningOutput,
};
use s3s::{S3Request, S3Response, S3Result};

use crate::objects::{ObjectService, Versioning};

use super::errors::malformed_xml;

use super::convert::{decode_token, encode_token, owner, page_limit, timestamp};

/// The default region: stored as "" and reported as an empty LocationConstraint.
const DEFAULT_REGION: &str = "us-east-1";

pub(super) async fn list_buckets(
    svc: &ObjectService,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let caller = super::authorize::caller_of(&req)?;
    let input = req.input;
    let prefix = input.prefix.unwrap_or_default();
    let after = input
        .continuation_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    // Unpaged unless the client asks: SDK defaults send no max-buckets.
    let limit = match input.max_buckets {
        Some(n) => page_limit(Some(n), "max-buckets")?.max(1),
        None => usize::MAX,
    };

    let mut buckets = svc.list_buckets().await?;
    buckets.sort_by(|a, b| a.0.cmp(&b.0));
    // A user sees the buckets it may list (s3:ListBucket), by its policies or theirs.
    if !caller.unrestricted() {
        let mut visible = Vec::with_capacity(buckets.len());
        for (name, record) in buckets {
            let on = super::authorize::On::bucket(&name);
            if caller.allows("s3:ListBucket", on).await? {
                visible.push((name, record));
            }
        }
        buckets = visible;
    }
    let mut matching = buckets.into_iter().filter(|(name, _)| {
        name.starts_with(&prefix) && after.as_deref().is_none_or(|a| name.as_str() > a)
    });
    let page: Vec<Bucket> = matching
        .by_ref()
        .take(limit)
        .map(|(name, record)| Bucket {
            bucket_region: Some(region_name(&record.region).to_owned()),
            creation_date: Some(timestamp(record.created)),
            name: Some(name),
        })
        .collect();
    let continuation_token = match (matching.next(), page.last()) {
        (Some(_), Some(last)) => last.name.as_deref().map(encode_token),
        _ => None,
    };

    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(page),
        continuation_token,
        owner: Some(owner()),
        prefix: (!prefix.is_empty()).then_some(prefix),
    }))
}

pub(super) async fn head_bucket(
    svc: &ObjectService,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    let record = svc.head_bucket(&req.input.bucket).await?;
    // SDKs read x-amz-bucket-region to pick the signing region.
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(region_name(&record.region).to_owned()),
        ..Default::default()
    }))
}

pub(super) async fn get_bucket_location(
    svc: &ObjectService,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let record = svc.head_bucket(&req.input.bucket).await?;
    let location_constraint =
        (!is_default_region(&record.region)).then(|| BucketLocationConstraint::from(record.region));
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint,
    }))
}

/// A bucket's versioning state. S3 answers a bucket never versioned with an empty
/// configuration: no `Status`. Backup software (Veeam) asks even with immutability off.
pub(super) async fn get_bucket_versioning(
    svc: &ObjectService,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let status = match svc.versioning(&req.input.bucket).await? {
        Versioning::Unversioned => None,
        Versioning::Enabled => Some(BucketVersioningStatus::ENABLED),
        Versioning::Suspended => Some(BucketVersioningStatus::SUSPENDED),
    };
    Ok(S3Response::new(GetBucketVersioningOutput {
        status: status.map(BucketVersioningStatus::from_static),
        // MFA Delete is never enabled: S3 then says so only once versioning was set.
        mfa_delete: status.map(|_| MFADeleteStatus::from_static(MFADeleteStatus::DISABLED)),
    }))
}

/// Enables or suspends versioning. MFA Delete needs an MFA device, which Floe does not have:
/// asking for it without `x-amz-mfa` is the 400 S3 gives a request lacking MFA, and with it a
/// plain NotImplemented.
pub(super) async fn put_bucket_versioning(
    svc: &ObjectService,
    req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let input = req.input;
    let config = input.versioning_configuration;
    let mfa_delete = config.mfa_delete.as_ref().map(|m| m.as_str().to_owned());
    match (mfa_delete.as_deref(), input.mfa.is_some()) {
        (Some(MFADelete::ENABLED), false) => {
            return Err(s3s::s3_error!(
                InvalidRequest,
                "MFA Delete requires the x-amz-mfa header, and Floe has no MFA devices."
            ));
        }
        (_, true) => {
            return Err(s3s::s3_error!(
                NotImplemented,
                "MFA Delete is not implemented: the x-amz-mfa header is refused."
            ));
        }
        (None | Some(MFADelete::DISABLED), false) => {}
        (Some(_), false) => return Err(malformed_xml()),
    }
    let versioning = match config.status.as_ref().map(|s| s.as_str()) {
        Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
        Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
        _ => return Err(malformed_xml()),
    };
    svc.set_versioning(&input.bucket, versioning).await?;
    Ok(S3Response::new(PutBucketVersioningOutput::default()))
}

pub(super) async fn create_bucket(
    svc: &ObjectService,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let caller = super::authorize::caller_of(&req)?;
    let input = req.input;
    let region = input
        .create_bucket_configuration
        .and_then(|c| c.location_constraint)
        .map(|c| c.as_str().to_owned())
        .filter(|r| !is_default_region(r))
        .unwrap_or_default();
    let object_lock = input.object_lock_enabled_for_bucket.unwrap_or(false);
    svc.create_bucket_with_lock(&input.bucket, &region, object_lock, caller.user())
        .await?;
    if let Some(acl) = &input.acl {
        super::policy::set_bucket_acl(svc, &input.bucket, acl).await?;
    }
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(format!("/{}", input.bucket)),
    }))
}

pub(super) async fn delete_bucket(
    svc: &ObjectService,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    svc.delete_bucket(&req.input.bucket).await?;
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

fn is_default_region(region: &str) -> bool {
    region.is_empty() || region == DEFAULT_REGION
}

fn region_name(stored: &str) -> &str {
    if stored.is_empty() {
        DEFAULT_REGION
    } else {
        stored
    }
}
