//! A bucket's access configuration over S3: its policy (Put/Get/DeleteBucketPolicy,
//! GetBucketPolicyStatus), Block Public Access (Put/Get/DeletePublicAccessBlock) and canned
//! ACLs (Get/PutBucketAcl, Get/PutObjectAcl). Who may call these is the guard's business
//! (`authorize`); what they store is checked here.

use s3s::dto::{
    BucketCannedACL, DeleteBucketPolicyInput, DeleteBucketPolicyOutput,
    DeletePublicAccessBlockInput, DeletePublicAccessBlockOutput, GetBucketAclInput,
    GetBucketAclOutput, GetBucketPolicyInput, GetBucketPolicyOutput, GetBucketPolicyStatusInput,
    GetBucketPolicyStatusOutput, GetObjectAclInput, GetObjectAclOutput, GetPublicAccessBlockInput,
    GetPublicAccessBlockOutput, Grant, Grantee, Owner, Permission, PolicyStatus,
    PublicAccessBlockConfiguration, PutBucketAclInput, PutBucketAclOutput, PutBucketPolicyInput,
    PutBucketPolicyOutput, PutObjectAclInput, PutObjectAclOutput, PutPublicAccessBlockInput,
    PutPublicAccessBlockOutput, Type,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use s3s_policy::model::Policy;

use crate::access::{PolicyKind, is_public, validate};
use crate::index::{CannedAcl, IndexError, PublicAccessBlock};
use crate::objects::ObjectService;

use super::convert::{owner, version_id};

/// S3's limit on a bucket policy's size.
const MAX_POLICY_BYTES: usize = 20 * 1024;

/// The group every caller belongs to, anonymous ones included, in ACL grants.
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";

fn malformed_policy(why: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::MalformedPolicy,
        format!("Policy has invalid resource or syntax: {why}"),
    )
}

pub(super) async fn put_bucket_policy(
    svc: &ObjectService,
    req: S3Request<PutBucketPolicyInput>,
) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let input = req.input;
    if input.policy.len() > MAX_POLICY_BYTES {
        return Err(malformed_policy("larger than 20 KB"));
    }
    let policy: Policy = serde_json::from_str(&input.policy).map_err(malformed_policy)?;
    validate(&policy, PolicyKind::Bucket).map_err(malformed_policy)?;
    let public = is_public(&policy);
    let text = input.policy;
    svc.change_bucket_access(&input.bucket, move |access| {
        if public && access.public_block.is_some_and(|b| b.block_public_policy) {
            return Err(IndexError::PublicAccessBlocked("The policy"));
        }
        access.policy = Some(text.clone());
        Ok(())
    })
    .await?;
    Ok(S3Response::new(PutBucketPolicyOutput::default()))
}

pub(super) async fn get_bucket_policy(
    svc: &ObjectService,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let access = svc.bucket_access(&req.input.bucket).await?;
    let policy = access.policy.ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::NoSuchBucketPolicy,
            "The bucket policy does not exist",
        )
    })?;
    Ok(S3Response::new(GetBucketPolicyOutput {
        policy: Some(policy),
    }))
}

pub(super) async fn delete_bucket_policy(
    svc: &ObjectService,
    req: S3Request<DeleteBucketPolicyInput>,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    svc.change_bucket_access(&req.input.bucket, |access| {
        access.policy = None;
        Ok(())
    })
    .await?;
    Ok(S3Response::new(DeleteBucketPolicyOutput::default()))
}

/// Whether the bucket is public: its policy grants everyone, or its ACL is public-read, and
/// Block Public Access does not neutralize it.
pub(super) async fn get_bucket_policy_status(
    svc: &ObjectService,
    req: S3Request<GetBucketPolicyStatusInput>,
) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
    let access = svc.bucket_access(&req.input.bucket).await?;
    let Some(text) = access.policy.as_deref() else {
        return Err(S3Error::with_message(
            S3ErrorCode::NoSuchBucketPolicy,
            "The bucket policy does not exist",
        ));
    };
    let block = access.public_block.unwrap_or_default();
    let public = serde_json::from_str::<Policy>(text).is_ok_and(|p| is_public(&p))
        && !block.restrict_public_buckets;
    Ok(S3Response::new(GetBucketPolicyStatusOutput {
        policy_status: Some(PolicyStatus {
            is_public: Some(public),
        }),
    }))
}

pub(super) async fn put_public_access_block(
    svc: &ObjectService,
    req: S3Request<PutPublicAccessBlockInput>,
) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
    let c = req.input.public_access_block_configuration;
    let block = PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    };
    svc.change_bucket_access(&req.input.bucket, move |access| {
        access.public_block = Some(block);
        Ok(())
    })
    .await?;
    Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
}

pub(super) async fn get_public_access_block(
    svc: &ObjectService,
    req: S3Request<GetPublicAccessBlockInput>,
) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
    let access = svc.bucket_access(&req.input.bucket).await?;
    let Some(b) = access.public_block else {
        let mut e = S3Error::with_message(
            S3ErrorCode::Custom("NoSuchPublicAccessBlockConfiguration".into()),
            "The public access block configuration was not found",
        );
        e.set_status_code(http::StatusCode::NOT_FOUND);
        return Err(e);
    };
    Ok(S3Response::new(GetPublicAccessBlockOutput {
        public_access_block_configuration: Some(PublicAccessBlockConfiguration {
            block_public_acls: Some(b.block_public_acls),
            ignore_public_acls: Some(b.ignore_public_acls),
            block_public_policy: Some(b.block_public_policy),
            restrict_public_buckets: Some(b.restrict_public_buckets),
        }),
    }))
}

pub(super) async fn delete_public_access_block(
    svc: &ObjectService,
    req: S3Request<DeletePublicAccessBlockInput>,
) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
    svc.change_bucket_access(&req.input.bucket, |access| {
        access.public_block = None;
        Ok(())
    })
    .await?;
    Ok(S3Response::new(DeletePublicAccessBlockOutput::default()))
}

/// Stores canned ACL `acl` on `bucket` (the guard let only private and public-read through);
/// BlockPublicAcls refuses public-read.
pub(super) async fn set_bucket_acl(
    svc: &ObjectService,
    bucket: &str,
    acl: &BucketCannedACL,
) -> S3Result<()> {
    let acl = match acl.as_str() {
        BucketCannedACL::PUBLIC_READ => CannedAcl::PublicRead,
        _ => CannedAcl::Private,
    };
    if acl == CannedAcl::PublicRead
        && svc.bucket_config(bucket).await?.ownership.as_deref() == Some("BucketOwnerEnforced")
    {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessControlListNotSupported,
            "The bucket does not allow ACLs (object ownership is BucketOwnerEnforced)",
        ));
    }
    svc.change_bucket_access(bucket, move |access| {
        let blocked = access.public_block.is_some_and(|b| b.block_public_acls);
        if acl == CannedAcl::PublicRead && blocked {
            return Err(IndexError::PublicAccessBlocked("The ACL"));
        }
        access.acl = acl;
        Ok(())
    })
    .await?;
    Ok(())
}

pub(super) async fn put_bucket_acl(
    svc: &ObjectService,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let input = req.input;
    let grants = [
        &input.grant_full_control,
        &input.grant_read,
        &input.grant_read_acp,
        &input.grant_write,
        &input.grant_write_acp,
    ];
    if input.access_control_policy.is_some() || grants.iter().any(|g| g.is_some()) {
        return Err(acl_not_supported());
    }
    let acl = input.acl.ok_or_else(|| {
        s3s::s3_error!(
            InvalidRequest,
            "PutBucketAcl needs a canned ACL (x-amz-acl)"
        )
    })?;
    set_bucket_acl(svc, &input.bucket, &acl).await?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}

fn acl_not_supported() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessControlListNotSupported,
        "Grants by id, email or XML are not supported: use a canned ACL or a bucket policy",
    )
}

/// The owner's full control, and everyone's READ when the bucket is public-read.
fn grants(public_read: bool) -> Vec<Grant> {
    let owner: Owner = owner();
    let mut grants = vec![Grant {
        grantee: Some(Grantee {
            display_name: owner.display_name.clone(),
            email_address: None,
            id: owner.id.clone(),
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }];
    if public_read {
        grants.push(Grant {
            grantee: Some(Grantee {
                display_name: None,
                email_address: None,
                id: None,
                type_: Type::from_static(Type::GROUP),
                uri: Some(ALL_USERS.to_owned()),
            }),
            permission: Some(Permission::from_static(Permission::READ)),
        });
    }
    grants
}

pub(super) async fn get_bucket_acl(
    svc: &ObjectService,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    let access = svc.bucket_access(&req.input.bucket).await?;
    Ok(S3Response::new(GetBucketAclOutput {
        grants: Some(grants(access.acl == CannedAcl::PublicRead)),
        owner: Some(owner()),
    }))
}

/// Objects carry no ACL of their own: the owner's full control is what is in force.
pub(super) async fn get_object_acl(
    svc: &ObjectService,
    req: S3Request<GetObjectAclInput>,
) -> S3Result<S3Response<GetObjectAclOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    svc.get_tags(&input.bucket, &input.key, version).await?;
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(grants(false)),
        owner: Some(owner()),
        ..Default::default()
    }))
}

/// Accepts the canned ACLs that grant no more than the owner's access (the guard refused the
/// others); grants by id or email are refused.
pub(super) async fn put_object_acl(
    svc: &ObjectService,
    req: S3Request<PutObjectAclInput>,
) -> S3Result<S3Response<PutObjectAclOutput>> {
    let input = req.input;
    let grants = [
        &input.grant_full_control,
        &input.grant_read,
        &input.grant_read_acp,
        &input.grant_write_acp,
    ];
    if input.access_control_policy.is_some() || grants.iter().any(|g| g.is_some()) {
        return Err(acl_not_supported());
    }
    let version = version_id(input.version_id.as_deref())?;
    svc.get_tags(&input.bucket, &input.key, version).await?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}
