//! The persisted records of the metadata index: buckets, objects, multipart uploads and parts.
//!
//! Every record is stored as one format byte ([`RECORD_FORMAT`]) followed by postcard, so a future
//! layout can be told apart from this one. These are also the object service's domain types:
//! S3 names never appear here (no DTOs), only what Floe must remember.

use floe_codec::Manifest;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Format byte in front of every record.
pub const RECORD_FORMAT: u8 = 1;

/// Milliseconds since the Unix epoch.
pub type UnixMillis = i64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRecord {
    pub created: UnixMillis,
    /// LocationConstraint given at creation ("" for us-east-1).
    pub region: String,
}

/// Representation headers stored and returned as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentHeaders {
    pub content_type: Option<String>,
    /// With `aws-chunked` already stripped.
    pub content_encoding: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    /// Raw header value: S3 echoes whatever the client sent.
    pub expires: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChecksumType {
    /// A checksum of the whole object's bytes.
    FullObject,
    /// `base64(H(concat of part digests))-N` for multipart objects.
    Composite,
}

/// An object's (or part's) checksum as S3 reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredChecksum {
    pub algorithm: ChecksumAlgorithm,
    pub kind: ChecksumType,
    /// Base64 digest; composite values carry the `-N` suffix.
    pub value: String,
}

/// One part of a multipart object, kept for `?partNumber=N` reads and part checksums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartSummary {
    pub size: u64,
    /// Base64 digest of the part in the upload's checksum algorithm, if any.
    pub checksum: Option<String>,
}

/// Everything about an object except its manifest (stored beside it only when the manifest is
/// small, so that listing never loads long chunk lists; see `object_entry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    pub size: u64,
    /// Unquoted: hex MD5, or `hex-N` for multipart.
    pub etag: String,
    pub modified: UnixMillis,
    pub headers: ContentHeaders,
    /// `x-amz-meta-*` with lower-cased names, values as sent (already decoded).
    pub metadata: Vec<(String, String)>,
    pub checksum: Option<StoredChecksum>,
    /// Empty for single-part objects.
    pub parts: Vec<PartSummary>,
    pub tags: Vec<(String, String)>,
}

/// An in-progress multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub bucket: String,
    pub key: String,
    pub initiated: UnixMillis,
    pub headers: ContentHeaders,
    pub metadata: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub checksum_type: Option<ChecksumType>,
}

/// One uploaded part of an in-progress upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub size: u64,
    /// Unquoted hex MD5 of the part.
    pub etag: String,
    pub modified: UnixMillis,
    /// Base64 digest in the upload's checksum algorithm, if any.
    pub checksum: Option<String>,
    pub manifest: Manifest,
}

/// Why a stored record could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("empty record")]
    Empty,
    #[error("unknown record format {0}")]
    UnknownFormat(u8),
    #[error("malformed record: {0}")]
    Malformed(#[from] postcard::Error),
    #[error("malformed record: trailing bytes")]
    TrailingBytes,
}

/// Serializes a record behind its format byte.
pub fn encode_record<T: Serialize>(record: &T) -> Vec<u8> {
    let mut out = vec![RECORD_FORMAT];
    // Serializing plain structs of strings and integers into a Vec cannot fail.
    out.extend(postcard::to_allocvec(record).unwrap_or_default());
    out
}

/// Reads a record written by [`encode_record`]; never panics on arbitrary bytes.
pub fn decode_record<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RecordError> {
    let (record, rest) = decode_record_prefix(bytes)?;
    if !rest.is_empty() {
        return Err(RecordError::TrailingBytes);
    }
    Ok(record)
}

/// Reads a record written by [`encode_record`] at the start of `bytes`, and returns what
/// follows it: for values that store something after a record.
pub fn decode_record_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8]), RecordError> {
    let (&format, body) = bytes.split_first().ok_or(RecordError::Empty)?;
    if format != RECORD_FORMAT {
        return Err(RecordError::UnknownFormat(format));
    }
    Ok(postcard::take_from_bytes(body)?)
}
