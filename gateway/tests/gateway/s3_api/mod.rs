//! In-process aws-sdk-s3 tests of the Floe gateway, written to what real S3 does (see
//! `docs/s3-behaviours.md`). Each module covers one family of operations, and every test starts
//! its own gateway on port 0 with 6 embedded storage nodes.

mod harness;

mod access;
mod bucket_config;
mod buckets;
mod checksums;
mod conditionals;
mod copy;
mod dedup;
mod early_answers;
mod errors;
mod lifecycle;
mod limits;
mod listing;
mod metadata;
mod multipart;
mod object_lock;
mod objects;
mod presign;
mod ranges;
mod retention;
mod tagging;
mod veeam;
mod versioning;
