//! Body digests: the MD5 behind S3 ETags and the `x-amz-checksum-*` algorithms (CRC32, CRC32C,
//! CRC64NVME, SHA-1, SHA-256), plus the multipart forms (ETag `md5-of-md5s-N`, COMPOSITE
//! checksums and FULL_OBJECT CRCs combined from part CRCs).
//!
//! CRC values travel as base64 of their big-endian bytes, as S3 and the SDKs encode them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use crc_fast::CrcAlgorithm;
use md5_simd::Md5;
use sha2::Digest as _;

use crate::index::ChecksumAlgorithm;

/// Streaming state of one checksum algorithm.
enum ChecksumState {
    Crc(crc_fast::Digest, usize),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

fn crc_params(algorithm: ChecksumAlgorithm) -> Option<(CrcAlgorithm, usize)> {
    match algorithm {
        ChecksumAlgorithm::Crc32 => Some((CrcAlgorithm::Crc32IsoHdlc, 4)),
        ChecksumAlgorithm::Crc32c => Some((CrcAlgorithm::Crc32Iscsi, 4)),
        ChecksumAlgorithm::Crc64Nvme => Some((CrcAlgorithm::Crc64Nvme, 8)),
        ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => None,
    }
}

impl ChecksumState {
    fn new(algorithm: ChecksumAlgorithm) -> Self {
        match (algorithm, crc_params(algorithm)) {
            (_, Some((crc, width))) => Self::Crc(crc_fast::Digest::new(crc), width),
            (ChecksumAlgorithm::Sha1, None) => Self::Sha1(sha1::Sha1::new()),
            _ => Self::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Crc(d, _) => d.update(data),
            Self::Sha1(d) => d.update(data),
            Self::Sha256(d) => d.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Self::Crc(d, width) => crc_bytes(d.finalize(), width),
            Self::Sha1(d) => d.finalize().to_vec(),
            Self::Sha256(d) => d.finalize().to_vec(),
        }
    }
}

fn crc_bytes(value: u64, width: usize) -> Vec<u8> {
    value.to_be_bytes()[8 - width..].to_vec()
}

/// MD5 plus an optional checksum over one body, fed frame by frame.
pub struct BodyDigest {
    md5: Md5,
    checksum: Option<(ChecksumAlgorithm, ChecksumState)>,
    len: u64,
}

/// The finished digests of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub md5: [u8; 16],
    /// Raw digest bytes in the requested algorithm.
    pub checksum: Option<(ChecksumAlgorithm, Vec<u8>)>,
    pub len: u64,
}

impl BodyDigest {
    pub fn new(algorithm: Option<ChecksumAlgorithm>) -> Self {
        Self {
            md5: Md5::new(),
            checksum: algorithm.map(|a| (a, ChecksumState::new(a))),
            len: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        if let Some((_, state)) = &mut self.checksum {
            state.update(data);
        }
        self.len += data.len() as u64;
    }

    pub fn finish(self) -> Digests {
        Digests {
            md5: self.md5.finalize(),
            checksum: self.checksum.map(|(a, s)| (a, s.finish())),
            len: self.len,
        }
    }
}

impl Digests {
    /// The checksum, base64-encoded as S3 reports it.
    pub fn checksum_b64(&self) -> Option<String> {
        self.checksum.as_ref().map(|(_, raw)| B64.encode(raw))
    }
}

pub fn b64(raw: &[u8]) -> String {
    B64.encode(raw)
}

/// Decodes a base64 digest; None if it is not valid base64.
pub fn unb64(value: &str) -> Option<Vec<u8>> {
    B64.decode(value.trim()).ok()
}

/// Expected digest length of an algorithm, to reject malformed claims as InvalidDigest-like errors.
pub fn digest_len(algorithm: ChecksumAlgorithm) -> usize {
    match algorithm {
        ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
        ChecksumAlgorithm::Crc64Nvme => 8,
        ChecksumAlgorithm::Sha1 => 20,
        ChecksumAlgorithm::Sha256 => 32,
    }
}

/// `md5(concat(binary part md5s))-N`, unquoted.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut md5 = Md5::new();
    for part in part_md5s {
        md5.update(part);
    }
    format!("{}-{}", hex::encode(md5.finalize()), part_md5s.len())
}

/// COMPOSITE checksum: `base64(H(concat of raw part digests))-N`.
pub fn composite(algorithm: ChecksumAlgorithm, part_digests: &[Vec<u8>]) -> String {
    let mut state = ChecksumState::new(algorithm);
    for digest in part_digests {
        state.update(digest);
    }
    format!("{}-{}", B64.encode(state.finish()), part_digests.len())
}

/// FULL_OBJECT CRC of a multipart object from its parts' CRCs and lengths, without re-reading the
/// bytes. None for SHA algorithms, which cannot be combined.
pub fn combine_full_object(
    algorithm: ChecksumAlgorithm,
    parts: &[(Vec<u8>, u64)],
) -> Option<Vec<u8>> {
    let (crc, width) = crc_params(algorithm)?;
    let mut combined: Option<u64> = None;
    for (raw, len) in parts {
        if raw.len() != width {
            return None;
        }
        let mut buf = [0u8; 8];
        buf[8 - width..].copy_from_slice(raw);
        let value = u64::from_be_bytes(buf);
        combined = Some(match combined {
            None => value,
            Some(acc) => crc_fast::checksum_combine(crc, acc, value, *len),
        });
    }
    // An upload of zero parts is refused earlier; the CRC of nothing is the CRC of "".
    let value = combined.unwrap_or_else(|| crc_fast::checksum(crc, b""));
    Some(crc_bytes(value, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(algorithm: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
        let mut d = BodyDigest::new(Some(algorithm));
        d.update(data);
        d.finish().checksum.unwrap().1
    }

    #[test]
    fn known_values() {
        // Check values from the CRC catalogue and the SHA test vectors for "123456789" / "abc".
        assert_eq!(
            hex::encode(digest(ChecksumAlgorithm::Crc32, b"123456789")),
            "cbf43926"
        );
        assert_eq!(
            hex::encode(digest(ChecksumAlgorithm::Crc32c, b"123456789")),
            "e3069283"
        );
        assert_eq!(
            hex::encode(digest(ChecksumAlgorithm::Crc64Nvme, b"123456789")),
            "ae8b14860a799888"
        );
        assert_eq!(
            hex::encode(digest(ChecksumAlgorithm::Sha1, b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let mut d = BodyDigest::new(None);
        d.update(b"");
        assert_eq!(
            hex::encode(d.finish().md5),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }

    proptest::proptest! {
        /// The ETag MD5 agrees with RustCrypto's md-5 over any body fed in any frames, the
        /// RFC 1321 vectors included below.
        #[test]
        fn md5_matches_the_reference(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..5000),
            cuts in proptest::collection::vec(0usize..5000, 0..6),
        ) {
            use md5::Digest as _;
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(body.len())).collect();
            cuts.sort_unstable();
            let mut d = BodyDigest::new(None);
            let mut from = 0;
            for cut in cuts.into_iter().chain([body.len()]) {
                d.update(&body[from..cut]);
                from = cut;
            }
            let expected: [u8; 16] = md5::Md5::digest(&body).into();
            proptest::prop_assert_eq!(d.finish().md5, expected);
        }
    }

    #[test]
    fn md5_rfc_1321_vectors() {
        for (input, md5) in [
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ] {
            let mut d = BodyDigest::new(None);
            d.update(input.as_bytes());
            assert_eq!(hex::encode(d.finish().md5), md5, "{input}");
        }
    }

    #[test]
    fn full_object_crc_combines_parts() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for algorithm in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            let parts: Vec<(Vec<u8>, u64)> = data
                .chunks(3001)
                .map(|p| (digest(algorithm, p), p.len() as u64))
                .collect();
            assert_eq!(
                combine_full_object(algorithm, &parts).unwrap(),
                digest(algorithm, &data)
            );
        }
        assert!(combine_full_object(ChecksumAlgorithm::Sha256, &[]).is_none());
    }

    #[test]
    fn multipart_forms() {
        let etag = multipart_etag(&[[0u8; 16], [1u8; 16]]);
        assert!(etag.ends_with("-2") && etag.len() == 34);
        let c = composite(
            ChecksumAlgorithm::Crc32,
            &[vec![0, 0, 0, 1], vec![0, 0, 0, 2]],
        );
        assert!(c.ends_with("-2"));
        assert_eq!(unb64(&b64(&[1, 2, 3])).unwrap(), vec![1, 2, 3]);
    }
}
