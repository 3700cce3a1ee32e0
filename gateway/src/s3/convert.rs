//! Pure conversions between s3s DTO values and the object service's types: ETags, timestamps,
//! representation headers, metadata, tagging headers, listing tokens and URL encoding.
//!
//! Nothing here does I/O; the handlers call these and stay short.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http::header::EXPIRES;
use s3s::dto::{
    self, CopySource, ETag, ETagCondition, EncodingType, Metadata, Owner, Timestamp,
    TimestampFormat,
};

use crate::objects::{ContentHeaders, UnixMillis};
use crate::objects::{
    EtagMatch, ObjectError, RangeSpec, ReadConditions, VersionId, WriteConditions,
};

/// Owner reported in listings: Floe has a single tenant.
pub(super) const OWNER: &str = "floe";

/// Largest page S3 returns for listings, whatever the client asks.
pub(super) const MAX_PAGE: usize = 1000;

/// The service's unquoted ETag as a DTO (s3s adds the quotes on the wire).
pub(super) fn etag(unquoted: String) -> ETag {
    ETag::Strong(unquoted)
}

/// `If-Match`-style condition from s3s (which already stripped quotes) in service terms.
pub(super) fn etag_match(cond: Option<ETagCondition>) -> Option<EtagMatch> {
    cond.map(|c| match c {
        ETagCondition::Any => EtagMatch::Any,
        ETagCondition::ETag(tag) => EtagMatch::Tags(vec![tag.into_value()]),
    })
}

pub(super) fn write_conditions(
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
) -> WriteConditions {
    WriteConditions {
        if_match: etag_match(if_match),
        if_none_match: etag_match(if_none_match),
    }
}

pub(super) fn read_conditions(
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
    if_modified_since: Option<Timestamp>,
    if_unmodified_since: Option<Timestamp>,
) -> ReadConditions {
    ReadConditions {
        if_match: etag_match(if_match),
        if_none_match: etag_match(if_none_match),
        if_modified_since: if_modified_since.map(millis),
        if_unmodified_since: if_unmodified_since.map(millis),
    }
}

pub(super) fn timestamp(ms: UnixMillis) -> Timestamp {
    let nanos = i128::from(ms) * 1_000_000;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Timestamp::from(at)
}

pub(super) fn millis(ts: Timestamp) -> UnixMillis {
    let nanos = time::OffsetDateTime::from(ts).unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

/// `Last-Modified`-style HTTP date of a stored time.
pub(super) fn http_date(ms: UnixMillis) -> Option<String> {
    let mut buf = Vec::with_capacity(32);
    timestamp(ms)
        .format(TimestampFormat::HttpDate, &mut buf)
        .ok()?;
    String::from_utf8(buf).ok()
}

/// `Content-Encoding` without the `aws-chunked` transfer token, which describes how this one
/// request was framed, not the object.
pub(super) fn strip_aws_chunked(encoding: Option<String>) -> Option<String> {
    let encoding = encoding?;
    let is_chunked = |t: &str| t.trim().eq_ignore_ascii_case("aws-chunked");
    if !encoding.split(',').any(is_chunked) {
        return (!encoding.trim().is_empty()).then_some(encoding);
    }
    let kept: Vec<&str> = encoding
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !is_chunked(t))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// Representation headers to store. `Expires` is taken raw from the request, since S3 echoes
/// whatever the client sent and s3s would only give a parsed timestamp.
pub(super) fn content_headers(
    content_type: Option<String>,
    content_encoding: Option<String>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    request_headers: &HeaderMap,
) -> ContentHeaders {
    let expires = request_headers
        .get(EXPIRES)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ContentHeaders {
        content_type,
        content_encoding: strip_aws_chunked(content_encoding),
        cache_control,
        content_disposition,
        content_language,
        expires,
    }
}

/// Response headers s3s cannot express from a raw string (`Expires`).
pub(super) fn extra_headers(headers: &ContentHeaders) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Some(v) = headers.expires.as_deref().and_then(|e| e.parse().ok()) {
        map.insert(EXPIRES, v);
    }
    map
}

/// User metadata as stored: lower-case names, sorted. s3s has already decoded RFC 2047 values.
pub(super) fn metadata_in(metadata: Option<Metadata>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = metadata
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    out.sort();
    out
}

/// User metadata for a response; s3s RFC 2047-encodes non-ASCII values on the way out.
pub(super) fn metadata_out(metadata: Vec<(String, String)>) -> Option<Metadata> {
    (!metadata.is_empty()).then(|| metadata.into_iter().collect())
}

/// `x-amz-tagging: k=v&k2=v2` (URL query encoding) as tag pairs.
pub(super) fn parse_tagging(header: Option<&str>) -> Result<Vec<(String, String)>, ObjectError> {
    let Some(header) = header else {
        return Ok(Vec::new());
    };
    let bad = || {
        ObjectError::InvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.".into())
    };
    header
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                percent_decode(k).ok_or_else(bad)?,
                percent_decode(v).ok_or_else(bad)?,
            ))
        })
        .collect()
}

/// Form-style percent decoding (`+` is a space); None on bad escapes or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// S3's `encoding-type=url`: percent-encode all but unreserved characters and `/`.
pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether the response must URL-encode names; only `url` is a valid encoding type.
pub(super) fn wants_url_encoding(encoding: Option<&EncodingType>) -> Result<bool, ObjectError> {
    match encoding {
        None => Ok(false),
        Some(e) if e.as_str().eq_ignore_ascii_case(EncodingType::URL) => Ok(true),
        Some(_) => Err(ObjectError::InvalidArgument(
            "Invalid Encoding Method specified in Request".into(),
        )),
    }
}

/// Opaque ListObjectsV2 continuation token for "resume after this key".
pub(super) fn encode_token(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(after.as_bytes())
}

pub(super) fn decode_token(token: &str) -> Result<String, ObjectError> {
    URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ObjectError::InvalidArgument("The continuation token provided is incorrect".into())
        })
}

/// `max-keys` / `max-parts` / `max-uploads`: default and ceiling 1000, negatives refused.
pub(super) fn page_limit(requested: Option<i32>, name: &str) -> Result<usize, ObjectError> {
    match requested {
        None => Ok(MAX_PAGE),
        Some(n) if n < 0 => Err(ObjectError::InvalidArgument(format!(
            "Argument {name} must be an integer between 0 and 2147483647"
        ))),
        Some(n) => Ok(usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE)),
    }
}

pub(super) fn owner() -> Owner {
    Owner {
        display_name: Some(OWNER.to_owned()),
        id: Some(OWNER.to_owned()),
    }
}

/// A `versionId` parameter: `null` or an id Floe handed out; anything else is 400, as in S3.
pub(super) fn version_id(version_id: Option<&str>) -> Result<Option<VersionId>, ObjectError> {
    version_id
        .map(|v| {
            v.parse()
                .map_err(|_| ObjectError::InvalidArgument("Invalid version id specified".into()))
        })
        .transpose()
}

/// `x-amz-copy-source` as (bucket, key, version); access point and outpost ARNs are not served
/// here.
pub(super) fn copy_source(
    source: &CopySource,
) -> Result<(String, String, Option<VersionId>), ObjectError> {
    match source {
        CopySource::Bucket {
            bucket,
            key,
            version_id: version,
        } => Ok((
            bucket.to_string(),
            key.to_string(),
            version_id(version.as_deref())?,
        )),
        _ => Err(ObjectError::InvalidArgument(
            "Copy source must be of the form bucket/key".into(),
        )),
    }
}

/// `x-amz-copy-source-range: bytes=first-last` (both bounds required, inclusive).
pub(super) fn copy_range(header: Option<&str>) -> Result<Option<(u64, u64)>, ObjectError> {
    let Some(header) = header else {
        return Ok(None);
    };
    let bad = || {
        ObjectError::InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy".into(),
        )
    };
    let (first, last) = header
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let first: u64 = first.trim().parse().map_err(|_| bad())?;
    let last: u64 = last.trim().parse().map_err(|_| bad())?;
    if first > last {
        return Err(bad());
    }
    Ok(Some((first, last)))
}

pub(super) fn range_spec(range: dto::Range) -> RangeSpec {
    match range {
        dto::Range::Int { first, last } => RangeSpec::FromTo { first, last },
        dto::Range::Suffix { length } => RangeSpec::Suffix(length),
    }
}

/// A part number from the query string; the service checks the 1..=10000 window.
pub(super) fn part_number(n: i32) -> Result<u32, ObjectError> {
    u32::try_from(n).map_err(|_| {
        ObjectError::InvalidArgument("Part number must be an integer between 1 and 10000".into())
    })
}

/// `Content-Length`-style values are i64 in s3s; negative means "not given".
pub(super) fn length(n: Option<i64>) -> Option<u64> {
    n.and_then(|n| u64::try_from(n).ok())
}

pub(super) fn size(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A tag set in S3's DTO form.
pub(super) fn tags_out(tags: Vec<(String, String)>) -> Vec<s3s::dto::Tag> {
    tags.into_iter()
        .map(|(key, value)| s3s::dto::Tag {
            key: Some(key),
            value: Some(value),
        })
        .collect()
}

/// A tag set from S3's DTO form (a missing key or value reads as empty, which validation
/// refuses).
pub(super) fn tags_in(tags: Vec<s3s::dto::Tag>) -> Vec<(String, String)> {
    tags.into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_is_stripped() {
        let s = |v: &str| strip_aws_chunked(Some(v.to_owned()));
        assert_eq!(s("aws-chunked"), None);
        assert_eq!(s("aws-chunked,gzip"), Some("gzip".into()));
        assert_eq!(s("gzip, AWS-CHUNKED"), Some("gzip".into()));
        assert_eq!(s("gzip, br"), Some("gzip, br".into()));
        assert_eq!(s(" , aws-chunked, "), None);
        assert_eq!(s(""), None);
        assert_eq!(strip_aws_chunked(None), None);
    }

    #[test]
    fn tagging_header() {
        let tags = parse_tagging(Some("a=1&b%20c=d%2Fe&empty=&novalue&x=y+z")).unwrap();
        assert_eq!(
            tags,
            vec![
                ("a".into(), "1".into()),
                ("b c".into(), "d/e".into()),
                ("empty".into(), String::new()),
                ("novalue".into(), String::new()),
                ("x".into(), "y z".into()),
            ]
        );
        assert_eq!(
            parse_tagging(Some("k=%C3%A9")).unwrap(),
            vec![("k".into(), "é".into())]
        );
        assert!(parse_tagging(Some("")).unwrap().is_empty());
        assert!(parse_tagging(None).unwrap().is_empty());
        assert!(parse_tagging(Some("k=%ZZ")).is_err());
        assert!(parse_tagging(Some("k=%FF")).is_err());
        assert!(parse_tagging(Some("k=%4")).is_err());
    }

    #[test]
    fn url_encoding_matches_s3() {
        assert_eq!(url_encode("a/b c+d"), "a/b%20c%2Bd");
        assert_eq!(url_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(url_encode("é"), "%C3%A9");
        assert_eq!(url_encode("a=b&c"), "a%3Db%26c");
        assert_eq!(url_encode("\u{1}"), "%01");
    }

    #[test]
    fn continuation_token_round_trip() {
        for key in ["", "a", "dir/sub/", "ünïcødé key+/=", "x\u{0}y"] {
            let token = encode_token(key);
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(decode_token(&token).unwrap(), key);
        }
        assert!(decode_token("not base64!").is_err());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode([0xff, 0xfe])).is_err());
    }

    #[test]
    fn timestamps_round_trip() {
        for ms in [0, 1, 1_700_000_000_123, -5_000] {
            assert_eq!(millis(timestamp(ms)), ms);
        }
        assert_eq!(
            http_date(1_445_412_480_000).as_deref(),
            Some("Wed, 21 Oct 2015 07:28:00 GMT")
        );
    }

    #[test]
    fn page_limits() {
        assert_eq!(page_limit(None, "max-keys").unwrap(), 1000);
        assert_eq!(page_limit(Some(0), "max-keys").unwrap(), 0);
        assert_eq!(page_limit(Some(5000), "max-keys").unwrap(), 1000);
        assert!(page_limit(Some(-1), "max-keys").is_err());
    }

    #[test]
    fn copy_ranges() {
        assert_eq!(copy_range(Some("bytes=0-9")).unwrap(), Some((0, 9)));
        assert_eq!(copy_range(None).unwrap(), None);
        assert!(copy_range(Some("bytes=9-0")).is_err());
        assert!(copy_range(Some("bytes=5-")).is_err());
        assert!(copy_range(Some("0-5")).is_err());
    }

    #[test]
    fn metadata_is_lowercased_and_sorted() {
        let mut m = Metadata::new();
        m.insert("Zeta".into(), "1".into());
        m.insert("alpha".into(), "é".into());
        assert_eq!(
            metadata_in(Some(m)),
            vec![("alpha".into(), "é".into()), ("zeta".into(), "1".into())]
        );
        assert!(metadata_out(Vec::new()).is_none());
    }

    #[test]
    fn versions() {
        assert_eq!(version_id(None).unwrap(), None);
        assert_eq!(version_id(Some("null")).unwrap(), Some(VersionId::Null));
        assert_eq!(
            version_id(Some("00000000000000ff")).unwrap(),
            Some(VersionId::Seq(255))
        );
        assert!(version_id(Some("3HL4kqtJlcpXroDTDmJ")).is_err());
    }
}
