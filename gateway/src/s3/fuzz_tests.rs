//! Random-input tests for what the S3 front parses from clients: the XML request bodies s3s
//! deserializes for the operations Floe serves (CompleteMultipartUpload, DeleteObjects,
//! PutObjectTagging, CreateBucket), the headers s3s parses for us (Range, x-amz-copy-source,
//! ETags, dates), and the adapter's own parsing (x-amz-tagging, continuation tokens,
//! x-amz-copy-source-range, checksum headers and trailers, Content-MD5 base64, bucket names),
//! plus the conversions of stored values (any time a decoded record can hold) on the way out.
//!
//! Each must give a value or an error, never a panic. XML strategies start from valid documents
//! and damage them with edits that matter to an XML reader (tags, entities, CDATA, comments,
//! truncation), which reaches far deeper than random bytes.

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use s3s::dto::{
    self, CompletedMultipartUpload, CopySource, CreateBucketConfiguration, Delete, ETag,
    ETagCondition, Range, Tagging, Timestamp, TimestampFormat,
};
use s3s::xml;

use super::checksum::{self, ChecksumValues, checksum_values};
use super::convert;
use crate::objects::checksum::unb64;
use crate::objects::{normalize_etag, validate_bucket_name};
use floe_testkit::mutation::{apply, edits};

// ---- damaging text ----

/// Fragments an XML reader treats specially.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "<",
            ">",
            "</",
            "/>",
            "&",
            "&amp;",
            "&#0;",
            "&#x110000;",
            "&#xFFFFFFFFFF;",
            "&bogus;",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "<?xml version=\"1.0\"?>",
            "<!DOCTYPE x [<!ENTITY a \"b\">]>",
            "<Part>",
            "</Part>",
            "<PartNumber>",
            "</PartNumber>",
            "<ETag>",
            "</ETag>",
            "<Object>",
            "<Key>",
            "</Key>",
            "<Tag>",
            "<Value>",
            "<Quiet>",
            "<LocationConstraint>",
            " xmlns=\"x\"",
            "\"",
            "'",
            "=",
            "\u{0}",
            "\u{feff}",
            "é",
            "-1",
            "99999999999999999999",
            "true",
        ])
        .prop_map(str::to_owned),
        ".{1,4}",
    ]
}

fn damaged(valid: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<u8>> {
    let tokens = token().prop_map(String::into_bytes).boxed();
    (valid, edits(tokens)).prop_map(|(s, edits)| {
        let mut bytes = s.into_bytes();
        apply(&mut bytes, &edits);
        bytes
    })
}

/// Text that may need escaping inside an element.
fn content() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9/._-]{0,16}", ".{0,8}"].prop_map(|s| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    })
}

// ---- valid documents ----

fn complete_xml() -> impl Strategy<Value = String> {
    let part = (
        prop_oneof![any::<i32>(), 1..=10_000i32],
        // ETags are visible ASCII only (RFC 9110); s3s refuses anything else.
        "[a-f0-9-]{0,34}",
        proptest::option::of(("(CRC32|CRC32C|CRC64NVME|SHA1|SHA256)", content())),
    )
        .prop_map(|(n, etag, checksum)| {
            let checksum = checksum.map_or(String::new(), |(name, v)| {
                format!("<Checksum{name}>{v}</Checksum{name}>")
            });
            format!("<Part><PartNumber>{n}</PartNumber><ETag>\"{etag}\"</ETag>{checksum}</Part>")
        });
    prop::collection::vec(part, 0..5).prop_map(|parts| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{}</CompleteMultipartUpload>",
            parts.concat()
        )
    })
}

fn delete_xml() -> impl Strategy<Value = String> {
    let object = (content(), proptest::option::of(content())).prop_map(|(key, version)| {
        let version = version.map_or(String::new(), |v| format!("<VersionId>{v}</VersionId>"));
        format!("<Object><Key>{key}</Key>{version}</Object>")
    });
    // s3s requires at least one <Object>.
    (
        prop::collection::vec(object, 1..5),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(objects, quiet)| {
            let quiet = quiet.map_or(String::new(), |q| format!("<Quiet>{q}</Quiet>"));
            format!("<Delete>{quiet}{}</Delete>", objects.concat())
        })
}

fn tagging_xml() -> impl Strategy<Value = String> {
    let tag = (content(), content())
        .prop_map(|(k, v)| format!("<Tag><Key>{k}</Key><Value>{v}</Value></Tag>"));
    prop::collection::vec(tag, 0..5)
        .prop_map(|tags| format!("<Tagging><TagSet>{}</TagSet></Tagging>", tags.concat()))
}

fn create_bucket_xml() -> impl Strategy<Value = String> {
    proptest::option::of(prop_oneof![Just("eu-west-1".to_owned()), content()]).prop_map(|region| {
        let region = region.map_or(String::new(), |r| {
            format!("<LocationConstraint>{r}</LocationConstraint>")
        });
        format!("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{region}</CreateBucketConfiguration>")
    })
}

fn any_xml() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![
        complete_xml(),
        delete_xml(),
        tagging_xml(),
        create_bucket_xml()
    ];
    prop_oneof![
        1 => valid.clone().prop_map(String::into_bytes),
        6 => damaged(valid),
        1 => prop::collection::vec(any::<u8>(), 0..4096),
        1 => prop::collection::vec(token(), 0..40).prop_map(|t| t.concat().into_bytes()),
    ]
}

/// What s3s does with a request body (`s3s::http::de::deserialize_xml`): one document, then
/// nothing but whitespace.
fn parse<T: for<'xml> xml::Deserialize<'xml>>(bytes: &[u8]) -> Option<T> {
    let mut d = xml::Deserializer::new(bytes);
    let value = T::deserialize(&mut d).ok()?;
    d.expect_eof().ok()?;
    Some(value)
}

proptest! {
    /// The generators make documents s3s accepts, so the damaged ones start from valid input.
    #[test]
    fn valid_xml_documents_parse(
        complete in complete_xml(), delete in delete_xml(), tagging in tagging_xml(), create in create_bucket_xml(),
    ) {
        let parts = parse::<CompletedMultipartUpload>(complete.as_bytes()).map(|c| c.parts.unwrap_or_default().len());
        prop_assert_eq!(parts, Some(complete.matches("<Part>").count()));
        let objects = parse::<Delete>(delete.as_bytes()).map(|d| d.objects.len());
        prop_assert_eq!(objects, Some(delete.matches("<Object>").count()));
        let tags = parse::<Tagging>(tagging.as_bytes()).map(|t| t.tag_set.len());
        prop_assert_eq!(tags, Some(tagging.matches("<Tag>").count()));
        prop_assert!(parse::<CreateBucketConfiguration>(create.as_bytes()).is_some(), "{create}");
    }

    /// Every body is offered to every parser, and whatever parses goes through the same
    /// translation the operation's handler applies.
    #[test]
    fn xml_bodies_never_panic(bytes in any_xml()) {
        if let Some(upload) = parse::<CompletedMultipartUpload>(&bytes) {
            for p in upload.parts.unwrap_or_default() {
                if let Some(n) = p.part_number {
                    let _ = convert::part_number(n);
                }
                let _ = p.e_tag.as_ref().map(ETag::value);
                let _ = checksum_values!(p).any();
            }
        }
        if let Some(delete) = parse::<Delete>(&bytes) {
            for object in delete.objects {
                let _ = convert::version_id(object.version_id.as_deref());
            }
        }
        if let Some(tagging) = parse::<Tagging>(&bytes) {
            for tag in tagging.tag_set {
                let _ = (tag.key.unwrap_or_default(), tag.value.unwrap_or_default());
            }
        }
        if let Some(config) = parse::<CreateBucketConfiguration>(&bytes) {
            let _ = config.location_constraint.map(|c| c.as_str().to_owned());
        }
    }
}

// ---- headers and query values ----

/// Header-ish values: printable ASCII mostly, sometimes anything.
fn header_text(valid: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop_oneof![
        2 => damaged(valid).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => "[ -~]{0,40}",
        1 => any::<String>(),
    ]
}

proptest! {
    #[test]
    fn tagging_header_never_panics(h in header_text(
        prop::collection::vec(("[a-z%+0-9]{0,6}", "[a-z%+0-9=]{0,6}"), 0..4)
            .prop_map(|kv| kv.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
    )) {
        if let Ok(tags) = convert::parse_tagging(Some(&h)) {
            prop_assert!(tags.len() <= h.split('&').count());
        }
    }

    #[test]
    fn continuation_tokens_never_panic(
        key in ".{0,40}",
        token in header_text("[A-Za-z0-9_-]{0,40}"),
    ) {
        prop_assert_eq!(convert::decode_token(&convert::encode_token(&key)).unwrap(), key);
        let _ = convert::decode_token(&token);
    }

    #[test]
    fn copy_headers_never_panic(
        source in header_text(("[a-z0-9.-]{0,12}", "[a-zA-Z0-9/%._-]{0,20}", proptest::option::of("[a-z0-9]{0,8}"))
            .prop_map(|(b, k, v)| match v {
                Some(v) => format!("/{b}/{k}?versionId={v}"),
                None => format!("{b}/{k}"),
            })),
        range in header_text((any::<u64>(), any::<u64>()).prop_map(|(a, b)| format!("bytes={a}-{b}"))),
    ) {
        if let Ok(source) = CopySource::parse(&source) {
            let _ = convert::copy_source(&source);
        }
        if let Ok(Some((first, last))) = convert::copy_range(Some(&range)) {
            prop_assert!(first <= last);
        }
    }

    #[test]
    fn range_headers_never_panic(h in header_text(
        prop_oneof![
            (any::<u64>(), proptest::option::of(any::<u64>()))
                .prop_map(|(a, b)| format!("bytes={a}-{}", b.map_or(String::new(), |b| b.to_string()))),
            any::<u64>().prop_map(|n| format!("bytes=-{n}")),
        ]
    )) {
        if let Ok(range) = Range::parse(&h) {
            let _ = convert::range_spec(range);
        }
    }

    #[test]
    fn etags_and_conditions_never_panic(h in header_text(
        prop_oneof!["\"[a-f0-9-]{0,34}\"", "W/\"[a-f0-9]{0,8}\"", Just("*".to_owned())]
    )) {
        if let Ok(tag) = ETag::parse_http_header(h.as_bytes()) {
            let _ = normalize_etag(tag.value());
        }
        let cond = ETagCondition::parse_http_header(h.as_bytes()).ok();
        let _ = convert::write_conditions(cond.clone(), cond);
        let _ = normalize_etag(&h);
    }

    /// Client dates in, and any stored time (a decoded record may hold any i64) out.
    #[test]
    fn timestamps_never_panic(
        h in header_text("(Mon|Tue), [0-9]{2} (Jan|Feb) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"),
        ms in prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(-1i64), any::<i64>()],
    ) {
        for format in [TimestampFormat::HttpDate, TimestampFormat::DateTime, TimestampFormat::EpochSeconds] {
            if let Ok(ts) = Timestamp::parse(format, &h) {
                let _ = convert::read_conditions(None, None, Some(ts.clone()), Some(ts));
            }
        }
        let _ = convert::http_date(ms);
        let back = convert::millis(convert::timestamp(ms));
        // Inside the calendar the conversion is exact; outside it falls back, never panics.
        if (-62_135_596_800_000..=253_402_300_799_000).contains(&ms) {
            prop_assert_eq!(back, ms);
        }
    }

    #[test]
    fn checksum_headers_never_panic(
        trailer in header_text("x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256|md5)(,x-amz-checksum-sha1)?"),
        sdk in proptest::option::of(header_text("(CRC32|CRC32C|CRC64NVME|SHA1|SHA256)")),
        values in prop::collection::vec(proptest::option::of(header_text("[A-Za-z0-9+/]{0,44}={0,2}")), 5),
        md5 in header_text("[A-Za-z0-9+/]{22}=="),
    ) {
        let claimed = || ChecksumValues {
            crc32: values[0].clone(),
            crc32c: values[1].clone(),
            crc64nvme: values[2].clone(),
            sha1: values[3].clone(),
            sha256: values[4].clone(),
        };
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&trailer) {
            headers.insert("x-amz-trailer", v);
        }
        let sdk = sdk.map(dto::ChecksumAlgorithm::from);
        let _ = checksum::claim(claimed(), sdk.as_ref(), &headers, None);
        let _ = checksum::known_claim(claimed());
        if let Some(sdk) = &sdk {
            let _ = checksum::algorithm_in(sdk);
        }
        for v in values.iter().flatten().chain([&md5]) {
            let _ = unb64(v).map(<[u8; 16]>::try_from);
        }
    }

    #[test]
    fn names_and_headers_never_panic(
        bucket in header_text("[a-z0-9.-]{3,63}"),
        encoding in proptest::option::of(header_text("(gzip|aws-chunked)(, ?(aws-chunked|br))*")),
        expires in header_text("(Mon|Tue), [0-9]{2} Jan 2030 00:00:00 GMT"),
        limit in proptest::option::of(any::<i32>()),
    ) {
        let _ = validate_bucket_name(&bucket);
        let stripped = convert::strip_aws_chunked(encoding);
        prop_assert!(stripped.is_none_or(|s| !s.to_ascii_lowercase().split(',').any(|t| t.trim() == "aws-chunked")));
        let headers = crate::objects::ContentHeaders { expires: Some(expires), ..Default::default() };
        let _ = convert::extra_headers(&headers);
        if let Ok(n) = convert::page_limit(limit, "max-keys") {
            prop_assert!(n <= convert::MAX_PAGE);
        }
        let _ = convert::wants_url_encoding(Some(&dto::EncodingType::from(bucket)));
    }
}
