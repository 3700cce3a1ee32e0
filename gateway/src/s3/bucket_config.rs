//! A bucket's configuration beyond access: tagging (Put/Get/DeleteBucketTagging), object
//! ownership (Put/Get/DeleteBucketOwnershipControls), CORS (Put/Get/DeleteBucketCors; the
//! front answers preflights and adds the headers), and GetBucketEncryption, which answers that
//! there is none (Floe has no server-side encryption).

use s3s::dto::{
    CORSRule, DeleteBucketCorsInput, DeleteBucketCorsOutput, DeleteBucketOwnershipControlsInput,
    DeleteBucketOwnershipControlsOutput, DeleteBucketTaggingInput, DeleteBucketTaggingOutput,
    GetBucketCorsInput, GetBucketCorsOutput, GetBucketEncryptionInput, GetBucketEncryptionOutput,
    GetBucketOwnershipControlsInput, GetBucketOwnershipControlsOutput, GetBucketTaggingInput,
    GetBucketTaggingOutput, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PutBucketCorsInput, PutBucketCorsOutput, PutBucketOwnershipControlsInput,
    PutBucketOwnershipControlsOutput, PutBucketTaggingInput, PutBucketTaggingOutput,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use crate::index::CorsRule;
use crate::objects::ObjectService;

use super::convert::{tags_in, tags_out};

/// An error code s3s does not know, with its status.
fn custom(code: &str, status: http::StatusCode, message: &str) -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom(code.to_owned().into()),
        message.to_owned(),
    );
    e.set_status_code(status);
    e
}

pub(super) async fn put_bucket_tagging(
    svc: &ObjectService,
    req: S3Request<PutBucketTaggingInput>,
) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let input = req.input;
    let tags = tags_in(input.tagging.tag_set);
    svc.set_bucket_tags(&input.bucket, Some(tags)).await?;
    Ok(S3Response::new(PutBucketTaggingOutput::default()))
}

pub(super) async fn get_bucket_tagging(
    svc: &ObjectService,
    req: S3Request<GetBucketTaggingInput>,
) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let config = svc.bucket_config(&req.input.bucket).await?;
    let tags = config.tags.ok_or_else(|| {
        S3Error::with_message(S3ErrorCode::NoSuchTagSet, "The TagSet does not exist")
    })?;
    Ok(S3Response::new(GetBucketTaggingOutput {
        tag_set: tags_out(tags),
    }))
}

pub(super) async fn delete_bucket_tagging(
    svc: &ObjectService,
    req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    svc.set_bucket_tags(&req.input.bucket, None).await?;
    Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
}

pub(super) async fn put_bucket_ownership_controls(
    svc: &ObjectService,
    req: S3Request<PutBucketOwnershipControlsInput>,
) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
    let input = req.input;
    let rules = input.ownership_controls.rules;
    let [rule] = rules.as_slice() else {
        return Err(S3Error::with_message(
            S3ErrorCode::MalformedXML,
            "OwnershipControls takes exactly one rule",
        ));
    };
    let mode = rule.object_ownership.as_str().to_owned();
    svc.set_bucket_ownership(&input.bucket, Some(mode)).await?;
    Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
}

pub(super) async fn get_bucket_ownership_controls(
    svc: &ObjectService,
    req: S3Request<GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    let config = svc.bucket_config(&req.input.bucket).await?;
    let mode = config.ownership.ok_or_else(|| {
        custom(
            "OwnershipControlsNotFoundError",
            http::StatusCode::NOT_FOUND,
            "The bucket ownership controls were not found",
        )
    })?;
    Ok(S3Response::new(GetBucketOwnershipControlsOutput {
        ownership_controls: Some(OwnershipControls {
            rules: vec![OwnershipControlsRule {
                object_ownership: ObjectOwnership::from(mode),
            }],
        }),
    }))
}

pub(super) async fn delete_bucket_ownership_controls(
    svc: &ObjectService,
    req: S3Request<DeleteBucketOwnershipControlsInput>,
) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
    svc.set_bucket_ownership(&req.input.bucket, None).await?;
    Ok(S3Response::new(
        DeleteBucketOwnershipControlsOutput::default(),
    ))
}

/// Floe stores objects unencrypted and refuses SSE headers: say so as S3 does for a bucket
/// without default encryption.
pub(super) async fn get_bucket_encryption(
    svc: &ObjectService,
    req: S3Request<GetBucketEncryptionInput>,
) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    svc.head_bucket(&req.input.bucket).await?;
    Err(custom(
        "ServerSideEncryptionConfigurationNotFoundError",
        http::StatusCode::NOT_FOUND,
        "The server side encryption configuration was not found",
    ))
}

pub(super) async fn put_bucket_cors(
    svc: &ObjectService,
    req: S3Request<PutBucketCorsInput>,
) -> S3Result<S3Response<PutBucketCorsOutput>> {
    let input = req.input;
    let rules = input
        .cors_configuration
        .cors_rules
        .into_iter()
        .map(|r| CorsRule {
            id: r.id,
            allowed_origins: r.allowed_origins,
            allowed_methods: r.allowed_methods,
            allowed_headers: r.allowed_headers.unwrap_or_default(),
            expose_headers: r.expose_headers.unwrap_or_default(),
            max_age_seconds: r.max_age_seconds,
        })
        .collect();
    svc.set_bucket_cors(&input.bucket, Some(rules)).await?;
    Ok(S3Response::new(PutBucketCorsOutput::default()))
}

pub(super) async fn get_bucket_cors(
    svc: &ObjectService,
    req: S3Request<GetBucketCorsInput>,
) -> S3Result<S3Response<GetBucketCorsOutput>> {
    let config = svc.bucket_config(&req.input.bucket).await?;
    let rules = config.cors.ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::NoSuchCORSConfiguration,
            "The CORS configuration does not exist",
        )
    })?;
    let cors_rules = rules
        .into_iter()
        .map(|r| CORSRule {
            id: r.id,
            allowed_origins: r.allowed_origins,
            allowed_methods: r.allowed_methods,
            allowed_headers: (!r.allowed_headers.is_empty()).then_some(r.allowed_headers),
            expose_headers: (!r.expose_headers.is_empty()).then_some(r.expose_headers),
            max_age_seconds: r.max_age_seconds,
        })
        .collect();
    Ok(S3Response::new(GetBucketCorsOutput {
        cors_rules: Some(cors_rules),
    }))
}

pub(super) async fn delete_bucket_cors(
    svc: &ObjectService,
    req: S3Request<DeleteBucketCorsInput>,
) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
    svc.set_bucket_cors(&req.input.bucket, None).await?;
    Ok(S3Response::new(DeleteBucketCorsOutput::default()))
}
