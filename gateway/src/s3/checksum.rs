//! Flexible checksums (`x-amz-checksum-*`) between s3s and the object service.
//!
//! In: a [`ChecksumClaim`] from whichever of the header value, `x-amz-sdk-checksum-algorithm` or
//! an `x-amz-trailer` (aws-chunked bodies, the 2025+ SDK default) the client used. s3s decodes
//! the chunks and keeps the trailer but verifies nothing, so a trailer value is read only after
//! the service has drained the body.
//! Out: a [`StoredChecksum`] spread over the DTOs' five `checksum_*` fields plus its type.

use http::HeaderMap;
use s3s::TrailingHeaders;
use s3s::dto;

use crate::objects::{ChecksumAlgorithm, ChecksumType, StoredChecksum};
use crate::objects::{ChecksumClaim, ClaimedValue, ObjectError};

/// The five `x-amz-checksum-*` values an input may carry.
#[derive(Default)]
pub(super) struct ChecksumValues {
    pub crc32: Option<String>,
    pub crc32c: Option<String>,
    pub crc64nvme: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
}

/// Collects the `checksum_*` fields of any input or part DTO.
macro_rules! checksum_values {
    ($dto:expr) => {
        $crate::s3::checksum::ChecksumValues {
            crc32: $dto.checksum_crc32,
            crc32c: $dto.checksum_crc32c,
            crc64nvme: $dto.checksum_crc64nvme,
            sha1: $dto.checksum_sha1,
            sha256: $dto.checksum_sha256,
        }
    };
}
pub(super) use checksum_values;

/// Fills the `checksum_*` fields of any output DTO from [`ChecksumValues`].
macro_rules! set_checksum_values {
    ($dto:expr, $values:expr) => {{
        let v: $crate::s3::checksum::ChecksumValues = $values;
        $dto.checksum_crc32 = v.crc32;
        $dto.checksum_crc32c = v.crc32c;
        $dto.checksum_crc64nvme = v.crc64nvme;
        $dto.checksum_sha1 = v.sha1;
        $dto.checksum_sha256 = v.sha256;
    }};
}
pub(super) use set_checksum_values;

impl ChecksumValues {
    /// The one value present, if any. Several at once is a client error, as on S3.
    fn single(self) -> Result<Option<(ChecksumAlgorithm, String)>, ObjectError> {
        let all = [
            (ChecksumAlgorithm::Crc32, self.crc32),
            (ChecksumAlgorithm::Crc32c, self.crc32c),
            (ChecksumAlgorithm::Crc64Nvme, self.crc64nvme),
            (ChecksumAlgorithm::Sha1, self.sha1),
            (ChecksumAlgorithm::Sha256, self.sha256),
        ];
        let mut present = all.into_iter().filter_map(|(a, v)| Some((a, v?)));
        let first = present.next();
        if present.next().is_some() {
            return Err(ObjectError::InvalidRequest(
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
                    .into(),
            ));
        }
        Ok(first)
    }

    /// The first value present, for a part entry of CompleteMultipartUpload.
    pub(super) fn any(self) -> Option<String> {
        self.crc32
            .or(self.crc32c)
            .or(self.crc64nvme)
            .or(self.sha1)
            .or(self.sha256)
    }

    /// `value` placed in the field of `algorithm`.
    pub(super) fn of(algorithm: ChecksumAlgorithm, value: String) -> Self {
        let mut v = Self::default();
        let slot = match algorithm {
            ChecksumAlgorithm::Crc32 => &mut v.crc32,
            ChecksumAlgorithm::Crc32c => &mut v.crc32c,
            ChecksumAlgorithm::Crc64Nvme => &mut v.crc64nvme,
            ChecksumAlgorithm::Sha1 => &mut v.sha1,
            ChecksumAlgorithm::Sha256 => &mut v.sha256,
        };
        *slot = Some(value);
        v
    }

    pub(super) fn stored(checksum: Option<StoredChecksum>) -> Self {
        checksum.map_or_else(Self::default, |c| Self::of(c.algorithm, c.value))
    }
}

/// The claim of a PutObject or UploadPart.
pub(super) fn claim(
    values: ChecksumValues,
    sdk_algorithm: Option<&dto::ChecksumAlgorithm>,
    headers: &HeaderMap,
    trailers: Option<TrailingHeaders>,
) -> Result<ChecksumClaim, ObjectError> {
    if let Some((algorithm, value)) = values.single()? {
        return Ok(ChecksumClaim {
            algorithm: Some(algorithm),
            value: ClaimedValue::Known(value),
        });
    }
    let declared = sdk_algorithm.map(algorithm_in).transpose()?;
    let Some((trailer, trailed)) = trailer_checksum(headers) else {
        return Ok(ChecksumClaim {
            algorithm: declared,
            value: ClaimedValue::None,
        });
    };
    if declared.is_some_and(|d| d != trailed) {
        return Err(ObjectError::InvalidRequest(
            "x-amz-sdk-checksum-algorithm does not match the checksum named in x-amz-trailer"
                .into(),
        ));
    }
    let value = ClaimedValue::Deferred(Box::new(move || {
        let trailers = trailers?;
        trailers.read(|h| h.get(&trailer)?.to_str().ok().map(str::to_owned))?
    }));
    Ok(ChecksumClaim {
        algorithm: Some(trailed),
        value,
    })
}

/// The full-object checksum a CompleteMultipartUpload may claim (headers only, no body).
pub(super) fn known_claim(values: ChecksumValues) -> Result<ChecksumClaim, ObjectError> {
    Ok(match values.single()? {
        Some((algorithm, value)) => ChecksumClaim {
            algorithm: Some(algorithm),
            value: ClaimedValue::Known(value),
        },
        None => ChecksumClaim::none(),
    })
}

/// The `x-amz-checksum-*` header named by `x-amz-trailer`, if it names one.
fn trailer_checksum(headers: &HeaderMap) -> Option<(String, ChecksumAlgorithm)> {
    let names = headers.get("x-amz-trailer")?.to_str().ok()?;
    names.split(',').find_map(|name| {
        let name = name.trim().to_ascii_lowercase();
        let algorithm = algorithm_named(name.strip_prefix("x-amz-checksum-")?)?;
        Some((name, algorithm))
    })
}

fn algorithm_named(name: &str) -> Option<ChecksumAlgorithm> {
    Some(match name.to_ascii_uppercase().as_str() {
        dto::ChecksumAlgorithm::CRC32 => ChecksumAlgorithm::Crc32,
        dto::ChecksumAlgorithm::CRC32C => ChecksumAlgorithm::Crc32c,
        dto::ChecksumAlgorithm::CRC64NVME => ChecksumAlgorithm::Crc64Nvme,
        dto::ChecksumAlgorithm::SHA1 => ChecksumAlgorithm::Sha1,
        dto::ChecksumAlgorithm::SHA256 => ChecksumAlgorithm::Sha256,
        _ => return None,
    })
}

pub(super) fn algorithm_in(a: &dto::ChecksumAlgorithm) -> Result<ChecksumAlgorithm, ObjectError> {
    algorithm_named(a.as_str()).ok_or_else(|| {
        ObjectError::InvalidRequest("Value for x-amz-checksum-algorithm header is invalid.".into())
    })
}

pub(super) fn algorithm_out(a: ChecksumAlgorithm) -> dto::ChecksumAlgorithm {
    dto::ChecksumAlgorithm::from_static(match a {
        ChecksumAlgorithm::Crc32 => dto::ChecksumAlgorithm::CRC32,
        ChecksumAlgorithm::Crc32c => dto::ChecksumAlgorithm::CRC32C,
        ChecksumAlgorithm::Crc64Nvme => dto::ChecksumAlgorithm::CRC64NVME,
        ChecksumAlgorithm::Sha1 => dto::ChecksumAlgorithm::SHA1,
        ChecksumAlgorithm::Sha256 => dto::ChecksumAlgorithm::SHA256,
    })
}

pub(super) fn type_in(t: &dto::ChecksumType) -> Result<ChecksumType, ObjectError> {
    match t.as_str().to_ascii_uppercase().as_str() {
        dto::ChecksumType::FULL_OBJECT => Ok(ChecksumType::FullObject),
        dto::ChecksumType::COMPOSITE => Ok(ChecksumType::Composite),
        _ => Err(ObjectError::InvalidRequest(
            "Value for x-amz-checksum-type header is invalid.".into(),
        )),
    }
}

pub(super) fn type_out(t: ChecksumType) -> dto::ChecksumType {
    dto::ChecksumType::from_static(match t {
        ChecksumType::FullObject => dto::ChecksumType::FULL_OBJECT,
        ChecksumType::Composite => dto::ChecksumType::COMPOSITE,
    })
}

/// The `x-amz-checksum-type` to report next to a stored checksum.
pub(super) fn stored_type(checksum: Option<&StoredChecksum>) -> Option<dto::ChecksumType> {
    checksum.map(|c| type_out(c.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn header_value_wins() {
        let values = ChecksumValues {
            crc32: Some("AAAAAA==".into()),
            ..Default::default()
        };
        let c = claim(values, None, &HeaderMap::new(), None).unwrap();
        assert_eq!(c.algorithm, Some(ChecksumAlgorithm::Crc32));
        assert!(matches!(c.value, ClaimedValue::Known(v) if v == "AAAAAA=="));
    }

    #[test]
    fn two_values_are_refused() {
        let values = ChecksumValues {
            crc32: Some("a".into()),
            sha1: Some("b".into()),
            ..Default::default()
        };
        assert!(claim(values, None, &HeaderMap::new(), None).is_err());
    }

    #[test]
    fn sdk_algorithm_without_value() {
        let algo = dto::ChecksumAlgorithm::from_static("CRC64NVME");
        let c = claim(
            ChecksumValues::default(),
            Some(&algo),
            &HeaderMap::new(),
            None,
        )
        .unwrap();
        assert_eq!(c.algorithm, Some(ChecksumAlgorithm::Crc64Nvme));
        assert!(matches!(c.value, ClaimedValue::None));
    }

    #[test]
    fn trailer_is_deferred() {
        let h = headers(&[("x-amz-trailer", "X-Amz-Checksum-Crc32C")]);
        let c = claim(ChecksumValues::default(), None, &h, None).unwrap();
        assert_eq!(c.algorithm, Some(ChecksumAlgorithm::Crc32c));
        // No trailers were received: the deferred read yields nothing.
        let ClaimedValue::Deferred(read) = c.value else {
            panic!("expected a deferred value");
        };
        assert_eq!(read(), None);
    }

    #[test]
    fn mismatched_trailer_is_refused() {
        let h = headers(&[("x-amz-trailer", "x-amz-checksum-sha256")]);
        let algo = dto::ChecksumAlgorithm::from_static("CRC32");
        assert!(claim(ChecksumValues::default(), Some(&algo), &h, None).is_err());
    }

    #[test]
    fn values_by_algorithm() {
        let v = ChecksumValues::of(ChecksumAlgorithm::Sha256, "x".into());
        assert_eq!(v.sha256.as_deref(), Some("x"));
        assert!(v.crc32.is_none());
    }
}
