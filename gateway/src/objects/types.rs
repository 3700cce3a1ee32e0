//! Requests and answers of the object service, in Floe's own terms (no S3 DTOs).
//!
//! The S3 adapter fills these from s3s DTOs and turns the answers back into DTOs; the service never
//! sees HTTP or XML.

use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;

use crate::index::{
    ChecksumAlgorithm, ChecksumType, ContentHeaders, ObjectLock, ObjectRecord, StoredChecksum,
    UnixMillis, UploadRecord, VersionId,
};

/// Why a body stream broke off (the transport's error, or the blob layer's on a read).
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A request or response body: a stream of byte frames.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send>>;

/// A checksum value that may only be known once the body has been read (aws-chunked trailer).
pub enum ClaimedValue {
    None,
    /// Sent in a header before the body.
    Known(String),
    /// Sent in a trailer: call after the body stream ended.
    Deferred(Box<dyn FnOnce() -> Option<String> + Send + Sync>),
}

/// The checksum a client asked for, and the value it claims (base64).
pub struct ChecksumClaim {
    /// The algorithm to compute and store (from `x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`
    /// or `x-amz-trailer`).
    pub algorithm: Option<ChecksumAlgorithm>,
    pub value: ClaimedValue,
}

impl ChecksumClaim {
    pub fn none() -> Self {
        Self {
            algorithm: None,
            value: ClaimedValue::None,
        }
    }
}

/// `If-Match` / `If-None-Match` value: `*` or a list of (unquoted) ETags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtagMatch {
    Any,
    Tags(Vec<String>),
}

/// Conditions of a GET/HEAD (or of a copy source), evaluated with S3's precedence.
#[derive(Debug, Clone, Default)]
pub struct ReadConditions {
    pub if_match: Option<EtagMatch>,
    pub if_none_match: Option<EtagMatch>,
    pub if_modified_since: Option<UnixMillis>,
    pub if_unmodified_since: Option<UnixMillis>,
}

/// Conditions of a write (PutObject, CompleteMultipartUpload): checked atomically with the commit.
#[derive(Debug, Clone, Default)]
pub struct WriteConditions {
    /// `If-None-Match: *`: fail if the key exists.
    pub if_none_match: Option<EtagMatch>,
    /// `If-Match: etag`: fail unless the current object has this ETag.
    pub if_match: Option<EtagMatch>,
}

/// An HTTP byte range as the client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=first-last` (inclusive) or `bytes=first-`.
    FromTo { first: u64, last: Option<u64> },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

/// What a new object (or upload) looks like, apart from its bytes.
#[derive(Debug, Clone, Default)]
pub struct ObjectAttributes {
    pub headers: ContentHeaders,
    pub metadata: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// The retention and legal hold the request asked for; `None` without lock headers (the
    /// bucket's default retention then applies). Copies take it whatever their directive.
    pub lock: Option<ObjectLock>,
}

pub struct PutRequest {
    pub bucket: String,
    pub key: String,
    pub attributes: ObjectAttributes,
    /// Base64 Content-MD5, verified when present.
    pub content_md5: Option<String>,
    pub checksum: ChecksumClaim,
    pub conditions: WriteConditions,
    /// Declared length, when known (checked against what arrives).
    pub content_length: Option<u64>,
    pub body: ByteStream,
}

#[derive(Debug, Clone)]
pub struct PutOutcome {
    /// Unquoted.
    pub etag: String,
    pub size: u64,
    pub modified: UnixMillis,
    pub checksum: Option<StoredChecksum>,
    /// `x-amz-version-id` (none for an unversioned bucket).
    pub version: Option<String>,
    /// When a lifecycle rule expires the new version, and the rule's id (`x-amz-expiration`).
    pub expiration: Option<(UnixMillis, String)>,
}

pub struct GetRequest {
    pub bucket: String,
    pub key: String,
    /// `versionId`; none reads the newest version.
    pub version: Option<VersionId>,
    pub range: Option<RangeSpec>,
    pub part_number: Option<u32>,
    pub conditions: ReadConditions,
}

/// Object metadata plus the slice of it being returned.
#[derive(Debug, Clone)]
pub struct ObjectView {
    pub record: ObjectRecord,
    /// Inclusive byte range served, when a Range or partNumber narrowed it.
    pub range: Option<(u64, u64)>,
    /// Bytes in the body.
    pub content_length: u64,
    /// `x-amz-mp-parts-count` for multipart objects.
    pub parts_count: Option<u32>,
    /// `x-amz-version-id` (none for an unversioned bucket).
    pub version: Option<String>,
    /// The version's retention and legal hold, echoed in the lock headers.
    pub lock: ObjectLock,
    /// When a lifecycle rule expires the current version, and the rule's id.
    pub expiration: Option<(UnixMillis, String)>,
}

pub struct ObjectBody {
    pub view: ObjectView,
    pub body: ByteStream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataDirective {
    #[default]
    Copy,
    Replace,
}

pub struct CopyRequest {
    pub source_bucket: String,
    pub source_key: String,
    pub source_version: Option<VersionId>,
    pub source_conditions: ReadConditions,
    pub bucket: String,
    pub key: String,
    pub metadata_directive: MetadataDirective,
    /// Used when the directive is Replace.
    pub attributes: ObjectAttributes,
    /// Tags to set (`x-amz-tagging-directive: REPLACE`); None copies the source's tags.
    pub replace_tags: Option<Vec<(String, String)>>,
    /// Checksum algorithm requested for the copy, if any.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// What a copy made, and of which source version.
#[derive(Debug, Clone)]
pub struct CopyOutcome {
    pub written: PutOutcome,
    /// `x-amz-copy-source-version-id`.
    pub source_version: Option<String>,
}

/// A DeleteObject, or one key of a DeleteObjects.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub key: String,
    pub version: Option<VersionId>,
    /// `If-Match` on the version that would go.
    pub if_match: Option<EtagMatch>,
    /// `x-amz-bypass-governance-retention: true`.
    pub bypass_governance: bool,
}

/// What a delete did, as S3 reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// `x-amz-version-id`: the version removed, or the delete marker made.
    pub version: Option<String>,
    /// `x-amz-delete-marker`: whether that version is a delete marker.
    pub marker: bool,
}

/// ListObjects (V1 and V2) in one shape: the adapter maps marker / start-after / continuation
/// token onto `after`.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Exclusive lower bound on keys (and on common prefixes).
    pub after: Option<String>,
    pub max_keys: usize,
}

#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub objects: Vec<(String, ObjectRecord)>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned: where the next page starts (exclusive).
    pub next_after: Option<String>,
}

pub struct CreateUploadRequest {
    pub bucket: String,
    pub key: String,
    pub attributes: ObjectAttributes,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub checksum_type: Option<ChecksumType>,
}

pub struct UploadPartRequest {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub part_number: u32,
    pub content_md5: Option<String>,
    pub checksum: ChecksumClaim,
    pub content_length: Option<u64>,
    pub body: ByteStream,
}

pub struct UploadPartCopyRequest {
    pub source_bucket: String,
    pub source_key: String,
    pub source_version: Option<VersionId>,
    pub source_conditions: ReadConditions,
    /// Inclusive byte range of the source (`x-amz-copy-source-range`).
    pub source_range: Option<(u64, u64)>,
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub part_number: u32,
}

#[derive(Debug, Clone)]
pub struct PartOutcome {
    pub etag: String,
    pub modified: UnixMillis,
    pub checksum: Option<StoredChecksum>,
}

#[derive(Debug, Clone)]
pub struct CompletedPart {
    pub part_number: u32,
    /// Quoted or unquoted, as the client sent it.
    pub etag: String,
    /// The part's checksum in the upload's algorithm, as the client sent it.
    pub checksum: Option<String>,
}

pub struct CompleteRequest {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub parts: Vec<CompletedPart>,
    pub conditions: WriteConditions,
    /// A full-object checksum the client claims for the whole object, if sent.
    pub checksum: ChecksumClaim,
}

#[derive(Debug, Clone)]
pub struct PartInfo {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
    pub modified: UnixMillis,
    pub checksum: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PartsPage {
    pub upload: UploadRecord,
    pub parts: Vec<PartInfo>,
    pub is_truncated: bool,
    pub next_marker: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct UploadsRequest {
    pub bucket: String,
    pub prefix: String,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub max_uploads: usize,
}

#[derive(Debug, Clone, Default)]
pub struct UploadsPage {
    /// (upload id, record)
    pub uploads: Vec<(String, UploadRecord)>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_upload_id_marker: Option<String>,
}
