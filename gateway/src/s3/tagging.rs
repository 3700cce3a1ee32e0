//! Object tagging: GetObjectTagging, PutObjectTagging, DeleteObjectTagging.
//!
//! Tag limits (count, lengths, duplicate keys) are the service's to enforce.

use s3s::dto::{
    DeleteObjectTaggingInput, DeleteObjectTaggingOutput, GetObjectTaggingInput,
    GetObjectTaggingOutput, PutObjectTaggingInput, PutObjectTaggingOutput,
};
use s3s::{S3Request, S3Response, S3Result};

use crate::objects::ObjectService;

use super::convert::{tags_in, tags_out, version_id};

pub(super) async fn get_object_tagging(
    svc: &ObjectService,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    let (tags, version) = svc.get_tags(&input.bucket, &input.key, version).await?;
    Ok(S3Response::new(GetObjectTaggingOutput {
        tag_set: tags_out(tags),
        version_id: version,
    }))
}

pub(super) async fn put_object_tagging(
    svc: &ObjectService,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    let tags = tags_in(input.tagging.tag_set);
    svc.put_tags(&input.bucket, &input.key, version, tags)
        .await?;
    Ok(S3Response::new(PutObjectTaggingOutput {
        version_id: input.version_id,
    }))
}

pub(super) async fn delete_object_tagging(
    svc: &ObjectService,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    svc.delete_tags(&input.bucket, &input.key, version).await?;
    Ok(S3Response::new(DeleteObjectTaggingOutput {
        version_id: input.version_id,
    }))
}
