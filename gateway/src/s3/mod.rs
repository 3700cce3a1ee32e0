//! The S3 protocol adapter: s3s in front, [`ObjectService`] behind. It only translates; it owns
//! no state and makes no storage decisions. `s3s::dto` appears nowhere else in the crate.
//!
//! - [`FloeS3`]: the `s3s::S3` implementation; each operation forwards to its family:
//!   - `buckets`: ListBuckets, HeadBucket, GetBucketLocation, CreateBucket, DeleteBucket;
//!   - `objects`: PutObject, CopyObject, DeleteObject, DeleteObjects;
//!   - `reads`: GetObject, HeadObject;
//!   - `list`: ListObjects, ListObjectsV2;
//!   - `multipart`: Create/UploadPart/UploadPartCopy/Complete/Abort, ListParts, ListMultipartUploads;
//!   - `tagging`: Get/Put/DeleteObjectTagging;
//!   - `lock`: object lock configuration, retention, legal hold;
//!   - `policy`: bucket policies, Block Public Access, canned ACLs;
//!   - `bucket_config`: bucket tagging, ownership controls, CORS rules, encryption (none);
//!   - `attributes`: GetObjectAttributes;
//!   - `lifecycle`: bucket lifecycle configuration;
//! - `authorize`: who signed, and whether the policies allow what a request needs;
//! - `sts`: STS AssumeRole (temporary credentials) on the same endpoint;
//! - `cors`: which bucket rule grants a cross-origin request (the front asks);
//! - helpers: `convert` (pure value conversions), `checksum` (flexible checksums in and out),
//!   `body` (stream adapters), `errors` (the one `ObjectError -> S3Error` mapping);
//! - serving: `server` ([`build_service`], [`run`]): the s3s service behind
//!   [`crate::front::S3Front`], the HTTP middleware (request ids, refusals, admission, read-out).
//!
//! Operations not listed answer `NotImplemented` (s3s's default).

mod attributes;
pub mod authorize;
mod body;
mod bucket_config;
mod buckets;
mod checksum;
mod convert;
mod cors;
mod errors;
#[cfg(test)]
mod fuzz_tests;
mod lifecycle;
mod list;
mod lock;
mod multipart;
mod objects;
mod policy;
mod reads;
pub mod server;
mod sts;
mod tagging;

use crate::front::RequestId;
pub use server::{S3Settings, build_service, run};

use s3s::dto;
use s3s::{S3, S3Request, S3Response, S3Result};

use crate::objects::ObjectService;

/// Floe's `s3s::S3` implementation.
pub struct FloeS3 {
    service: ObjectService,
}

impl FloeS3 {
    pub fn new(service: ObjectService) -> Self {
        Self { service }
    }
}

/// Emits the `S3` impl: one forwarding method per operation. The wrapper is also where every
/// error gets its `<RequestId>`, so handlers need not think about it.
macro_rules! operations {
    ($($family:ident::$op:ident($input:ident) -> $output:ident;)*) => {
        #[async_trait::async_trait]
        impl S3 for FloeS3 {
            $(
                async fn $op(
                    &self,
                    req: S3Request<dto::$input>,
                ) -> S3Result<S3Response<dto::$output>> {
                    let id = RequestId::of(&req.extensions);
                    let started = std::time::Instant::now();
                    let result = $family::$op(&self.service, req).await;
                    let status = match &result {
                        Ok(_) => 200,
                        Err(e) => e.status_code().map_or(500, |s| s.as_u16()),
                    };
                    crate::metrics::metrics().observe_request(
                        stringify!($input).trim_end_matches("Input"),
                        status,
                        started.elapsed(),
                    );
                    result.map_err(|e| RequestId::stamp(id.as_ref(), e))
                }
            )*
        }
    };
}

operations! {
    buckets::list_buckets(ListBucketsInput) -> ListBucketsOutput;
    buckets::head_bucket(HeadBucketInput) -> HeadBucketOutput;
    buckets::get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    buckets::get_bucket_versioning(GetBucketVersioningInput) -> GetBucketVersioningOutput;
    buckets::put_bucket_versioning(PutBucketVersioningInput) -> PutBucketVersioningOutput;
    buckets::create_bucket(CreateBucketInput) -> CreateBucketOutput;
    buckets::delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;

    objects::put_object(PutObjectInput) -> PutObjectOutput;
    objects::copy_object(CopyObjectInput) -> CopyObjectOutput;
    objects::delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    objects::delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;

    reads::get_object(GetObjectInput) -> GetObjectOutput;
    reads::head_object(HeadObjectInput) -> HeadObjectOutput;

    list::list_objects(ListObjectsInput) -> ListObjectsOutput;
    list::list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
    list::list_object_versions(ListObjectVersionsInput) -> ListObjectVersionsOutput;

    multipart::create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    multipart::upload_part(UploadPartInput) -> UploadPartOutput;
    multipart::upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
    multipart::complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
    multipart::abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    multipart::list_parts(ListPartsInput) -> ListPartsOutput;
    multipart::list_multipart_uploads(ListMultipartUploadsInput) -> ListMultipartUploadsOutput;

    tagging::get_object_tagging(GetObjectTaggingInput) -> GetObjectTaggingOutput;
    tagging::put_object_tagging(PutObjectTaggingInput) -> PutObjectTaggingOutput;
    tagging::delete_object_tagging(DeleteObjectTaggingInput) -> DeleteObjectTaggingOutput;

    lock::get_object_lock_configuration(GetObjectLockConfigurationInput) -> GetObjectLockConfigurationOutput;
    lock::put_object_lock_configuration(PutObjectLockConfigurationInput) -> PutObjectLockConfigurationOutput;
    lock::get_object_retention(GetObjectRetentionInput) -> GetObjectRetentionOutput;
    lock::put_object_retention(PutObjectRetentionInput) -> PutObjectRetentionOutput;
    lock::get_object_legal_hold(GetObjectLegalHoldInput) -> GetObjectLegalHoldOutput;
    lock::put_object_legal_hold(PutObjectLegalHoldInput) -> PutObjectLegalHoldOutput;

    policy::put_bucket_policy(PutBucketPolicyInput) -> PutBucketPolicyOutput;
    policy::get_bucket_policy(GetBucketPolicyInput) -> GetBucketPolicyOutput;
    policy::delete_bucket_policy(DeleteBucketPolicyInput) -> DeleteBucketPolicyOutput;
    policy::get_bucket_policy_status(GetBucketPolicyStatusInput) -> GetBucketPolicyStatusOutput;
    policy::put_public_access_block(PutPublicAccessBlockInput) -> PutPublicAccessBlockOutput;
    policy::get_public_access_block(GetPublicAccessBlockInput) -> GetPublicAccessBlockOutput;
    policy::delete_public_access_block(DeletePublicAccessBlockInput) -> DeletePublicAccessBlockOutput;
    policy::get_bucket_acl(GetBucketAclInput) -> GetBucketAclOutput;
    policy::put_bucket_acl(PutBucketAclInput) -> PutBucketAclOutput;
    policy::get_object_acl(GetObjectAclInput) -> GetObjectAclOutput;
    policy::put_object_acl(PutObjectAclInput) -> PutObjectAclOutput;

    bucket_config::put_bucket_tagging(PutBucketTaggingInput) -> PutBucketTaggingOutput;
    bucket_config::get_bucket_tagging(GetBucketTaggingInput) -> GetBucketTaggingOutput;
    bucket_config::delete_bucket_tagging(DeleteBucketTaggingInput) -> DeleteBucketTaggingOutput;
    bucket_config::put_bucket_ownership_controls(PutBucketOwnershipControlsInput) -> PutBucketOwnershipControlsOutput;
    bucket_config::get_bucket_ownership_controls(GetBucketOwnershipControlsInput) -> GetBucketOwnershipControlsOutput;
    bucket_config::delete_bucket_ownership_controls(DeleteBucketOwnershipControlsInput) -> DeleteBucketOwnershipControlsOutput;
    bucket_config::get_bucket_encryption(GetBucketEncryptionInput) -> GetBucketEncryptionOutput;
    bucket_config::put_bucket_cors(PutBucketCorsInput) -> PutBucketCorsOutput;
    bucket_config::get_bucket_cors(GetBucketCorsInput) -> GetBucketCorsOutput;
    bucket_config::delete_bucket_cors(DeleteBucketCorsInput) -> DeleteBucketCorsOutput;

    attributes::get_object_attributes(GetObjectAttributesInput) -> GetObjectAttributesOutput;

    lifecycle::put_bucket_lifecycle_configuration(PutBucketLifecycleConfigurationInput) -> PutBucketLifecycleConfigurationOutput;
    lifecycle::get_bucket_lifecycle_configuration(GetBucketLifecycleConfigurationInput) -> GetBucketLifecycleConfigurationOutput;
    lifecycle::delete_bucket_lifecycle(DeleteBucketLifecycleInput) -> DeleteBucketLifecycleOutput;
}
