//! aws-sdk-s3 (Rust) scenarios, black-box against any endpoint. Each scenario creates its own
//! bucket(s) named after the run and reports one matrix row in the `sdk` column.
//!
//! - `objects`: buckets, put/get, head, delete, copy
//! - `listing`: V2 and V1 listings, delimiters, byte order, URL encoding, pagination
//! - `multipart`: uploads, part listings, part reads, abort
//! - `ranges`: the three range forms, chunk boundaries, 416
//! - `conditionals`: If-* on GET/HEAD, PUT and CopyObject
//! - `checksums`: five algorithms × header/trailer × single-part/multipart
//! - `presign`: presigned GET and PUT through a plain HTTP client
//! - `errors`: exact error codes of buckets, objects and multipart uploads
//! - `auth`: authentication errors and the shape of error responses
//! - `keys`: odd keys, byte-exact
//! - `metadata`: ~2 KiB of user metadata, content headers, tagging
//! - `concurrency`: racing PUTs and readers during overwrites
//! - `support`: data, digests, assertions, raw HTTP; `wire`: what the SDK put on the wire

mod auth;
mod checksums;
mod concurrency;
mod conditionals;
mod errors;
mod keys;
mod listing;
mod metadata;
mod multipart;
mod objects;
mod presign;
mod ranges;
pub mod support;
mod wire;

use std::future::Future;
use std::pin::Pin;

use crate::report::{Column, Report, check, heading};
use crate::target::Target;

type Scenario = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

fn boxed<F>(f: F) -> Scenario
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Box::pin(f)
}

/// Every scenario with its matrix row, in the order they run.
fn scenarios(t: &Target) -> Vec<(String, Scenario)> {
    let mut list: Vec<(String, Scenario)> = vec![
        (
            "bucket create/list/delete".into(),
            boxed(objects::buckets(t.clone())),
        ),
        ("put/get object".into(), boxed(objects::put_get(t.clone()))),
        ("head object".into(), boxed(objects::head(t.clone()))),
        ("delete object".into(), boxed(objects::delete(t.clone()))),
        ("copy object".into(), boxed(objects::copy(t.clone()))),
        ("list objects".into(), boxed(listing::list(t.clone()))),
        (
            "list pagination".into(),
            boxed(listing::pagination(t.clone())),
        ),
        (
            "multipart upload".into(),
            boxed(multipart::upload(t.clone())),
        ),
        (
            "multipart list/abort".into(),
            boxed(multipart::list_and_abort(t.clone())),
        ),
        ("range reads".into(), boxed(ranges::ranges(t.clone()))),
        (
            "conditional GET/HEAD".into(),
            boxed(conditionals::reads(t.clone())),
        ),
        (
            "conditional PUT/copy".into(),
            boxed(conditionals::writes(t.clone())),
        ),
    ];
    for algorithm in support::ALGORITHMS {
        let row = format!(
            "checksum {} (header+trailer, single+multipart)",
            algorithm.as_str()
        );
        list.push((row, boxed(checksums::algorithm(t.clone(), algorithm))));
    }
    list.extend([
        (
            "checksum mismatch -> BadDigest".into(),
            boxed(checksums::mismatch(t.clone())),
        ),
        ("presigned GET".into(), boxed(presign::get(t.clone()))),
        ("presigned PUT".into(), boxed(presign::put(t.clone()))),
        (
            "error codes: buckets".into(),
            boxed(errors::buckets(t.clone())),
        ),
        (
            "error codes: objects".into(),
            boxed(errors::objects(t.clone())),
        ),
        (
            "error codes: multipart".into(),
            boxed(errors::multipart(t.clone())),
        ),
        ("error codes: auth".into(), boxed(auth::auth(t.clone()))),
        (
            "error body + request id".into(),
            boxed(auth::shape(t.clone())),
        ),
        ("odd keys".into(), boxed(keys::odd_keys(t.clone()))),
        (
            "large user metadata".into(),
            boxed(metadata::large(t.clone())),
        ),
        (
            "content headers".into(),
            boxed(metadata::content_headers(t.clone())),
        ),
        ("object tagging".into(), boxed(metadata::tagging(t.clone()))),
        (
            "parallel PUTs to one key".into(),
            boxed(concurrency::racing_puts(t.clone())),
        ),
        (
            "reads during overwrites".into(),
            boxed(concurrency::reads_during_overwrites(t.clone())),
        ),
    ]);
    list
}

pub async fn run(target: &Target, report: &mut Report) {
    heading("aws-sdk-s3 scenarios");
    for (row, scenario) in scenarios(target) {
        check(report, Column::Sdk, &row, scenario).await;
    }
}
