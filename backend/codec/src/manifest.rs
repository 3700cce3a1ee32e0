//! The manifest: the persisted description of one object's bytes, either inline or as a list of
//! chunk references, and its versioned binary encoding.
//!
//! Encoding: one format byte ([`MANIFEST_FORMAT`]) then postcard. Decoding trusts nothing: it is
//! fed bytes from disk (and, when the index is rebuilt, from storage nodes), so it rejects
//! unknown formats, trailing bytes, sizes that do not add up and chunk references whose id does
//! not commit to their contents, and it never panics.

use serde::{Deserialize, Serialize};

use crate::{ChunkRef, ManifestError};

/// Current manifest encoding. Bump it (and keep a reader for the old value) on any change to
/// the types below: postcard is not self-describing, so old bytes would otherwise be misread.
/// Format 2 added [`Body::VerifiedInline`]; format 1 bytes (no such variant) still read.
pub const MANIFEST_FORMAT: u8 = 2;
/// The formats [`Manifest::decode`] reads.
const READABLE_FORMATS: [u8; 2] = [1, MANIFEST_FORMAT];

/// Where an object's bytes live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Small objects: the bytes themselves, saving k + m shard writes. `serde_bytes` writes them
    /// in one piece, in the same bytes postcard gives a sequence of `u8` one element at a time
    /// (a length, then the bytes), which cost a call per byte on every encode and decode.
    Inline(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Everything else, in object order. Chunks may differ in length (multipart objects
    /// concatenate their parts' chunks), so offsets come from `ChunkRef::len`, never chunk_size.
    Chunks(Vec<ChunkRef>),
    /// Small objects since format 2: the bytes and their blake3 hash, checked whenever the
    /// manifest is decoded (every read), as shards are. `Inline` (written before) is not.
    VerifiedInline {
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
        hash: [u8; 32],
    },
}

/// One object's bytes.
///
/// Deserializing validates (through [`ManifestFields`]), so a manifest embedded in another
/// record (a multipart part, say) is checked as strictly as one read by [`Manifest::decode`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ManifestFields")]
pub struct Manifest {
    /// Chunk size the writer used; informational (range math uses per-chunk lengths).
    pub chunk_size: u32,
    /// Object size in bytes.
    pub size: u64,
    pub body: Body,
}

/// The wire shape of [`Manifest`], before validation.
#[derive(Deserialize)]
struct ManifestFields {
    chunk_size: u32,
    size: u64,
    body: Body,
}

impl TryFrom<ManifestFields> for Manifest {
    type Error = ManifestError;

    fn try_from(fields: ManifestFields) -> Result<Self, ManifestError> {
        let manifest = Manifest {
            chunk_size: fields.chunk_size,
            size: fields.size,
            body: fields.body,
        };
        manifest.validate()?;
        Ok(manifest)
    }
}

impl Manifest {
    /// An object stored inside its manifest, with the hash its bytes are checked against.
    pub fn inline(data: Vec<u8>, chunk_size: u32) -> Self {
        let hash = *blake3::hash(&data).as_bytes();
        Self {
            chunk_size,
            size: data.len() as u64,
            body: Body::VerifiedInline { data, hash },
        }
    }

    /// The bytes of an inline object; `None` for a chunked one.
    pub fn inline_data(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Inline(data) | Body::VerifiedInline { data, .. } => Some(data),
            Body::Chunks(_) => None,
        }
    }

    /// The bytes of an inline object, taken; `Err(self)` for a chunked one.
    pub fn into_inline_data(self) -> Result<Vec<u8>, Self> {
        match self.body {
            Body::Inline(data) | Body::VerifiedInline { data, .. } => Ok(data),
            Body::Chunks(_) => Err(self),
        }
    }

    /// An object stored as chunks; its size is the sum of their lengths.
    pub fn chunked(chunks: Vec<ChunkRef>, chunk_size: u32) -> Self {
        Self {
            chunk_size,
            size: chunks.iter().map(|c| u64::from(c.len)).sum(),
            body: Body::Chunks(chunks),
        }
    }

    /// The chunk references, in object order; empty for an inline object.
    pub fn chunks(&self) -> &[ChunkRef] {
        match &self.body {
            Body::Inline(_) | Body::VerifiedInline { .. } => &[],
            Body::Chunks(chunks) => chunks,
        }
    }

    /// The versioned binary form.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain structs, Vecs and fixed arrays into a Vec cannot fail: postcard only
        // errors on sequences of unknown length or a full fixed buffer, neither of which exists
        // here. So this expect is unreachable, whatever the manifest holds.
        postcard::to_extend(self, vec![MANIFEST_FORMAT])
            .expect("postcard serialization into a Vec is infallible")
    }

    /// Parses and validates the binary form.
    pub fn decode(bytes: &[u8]) -> Result<Self, ManifestError> {
        let (&format, rest) = bytes.split_first().ok_or(ManifestError::Empty)?;
        if !READABLE_FORMATS.contains(&format) {
            return Err(ManifestError::UnknownFormat(format));
        }
        let (fields, trailing): (ManifestFields, &[u8]) = postcard::take_from_bytes(rest)?;
        if !trailing.is_empty() {
            return Err(ManifestError::Malformed(format!(
                "{} trailing bytes",
                trailing.len()
            )));
        }
        Manifest::try_from(fields)
    }

    /// Cross-checks what postcard cannot: the size against the body, and each chunk's id against
    /// its parameters, length and shard hashes.
    fn validate(&self) -> Result<(), ManifestError> {
        let actual = match &self.body {
            Body::Inline(data) => data.len() as u64,
            Body::VerifiedInline { data, hash } => {
                if blake3::hash(data).as_bytes() != hash {
                    return Err(ManifestError::InlineCorrupt);
                }
                data.len() as u64
            }
            Body::Chunks(chunks) => {
                if let Some(i) = chunks.iter().position(|c| !c.is_consistent()) {
                    return Err(ManifestError::Inconsistent(format!(
                        "chunk {i} does not match its id"
                    )));
                }
                chunks.iter().map(|c| u64::from(c.len)).sum()
            }
        };
        if actual != self.size {
            return Err(ManifestError::Inconsistent(format!(
                "size {} but body holds {actual} bytes",
                self.size
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CodecParams, encode_chunk};

    fn chunk(len: usize, k: u16, m: u16) -> ChunkRef {
        let data = (0..len).map(|i| (i % 253) as u8).collect();
        encode_chunk(CodecParams::new(k, m).unwrap(), data)
            .unwrap()
            .chunk
    }

    #[test]
    fn round_trips() {
        for m in [
            Manifest::inline(Vec::new(), 4096),
            Manifest::inline(b"small object".to_vec(), 4096),
            Manifest::chunked(Vec::new(), 4096),
            Manifest::chunked(vec![chunk(64, 4, 2), chunk(10, 4, 2), chunk(33, 3, 1)], 64),
        ] {
            let bytes = m.encode();
            assert_eq!(bytes[0], MANIFEST_FORMAT);
            assert_eq!(Manifest::decode(&bytes).unwrap(), m);
        }
    }

    #[test]
    fn inline_bytes_keep_the_format_of_a_byte_sequence() {
        // Index files written before the body was serialized in one piece must still read: the
        // bytes are the format, chunk_size and size as varints, the variant, the length, the body.
        let body: Vec<u8> = (0..300u32).map(|i| (i % 251) as u8).collect();
        let mut expected = vec![1, 0x80, 0x20, 0xac, 0x02, 0, 0xac, 0x02];
        expected.extend_from_slice(&body);
        let manifest = Manifest {
            chunk_size: 4096,
            size: 300,
            body: Body::Inline(body.clone()),
        };
        let mut encoded = manifest.encode();
        encoded[0] = 1;
        assert_eq!(encoded, expected);
        // And the element-by-element encoding of the same fields reads back the same.
        #[derive(Serialize)]
        enum OldBody {
            Inline(Vec<u8>),
        }
        #[derive(Serialize)]
        struct Old {
            chunk_size: u32,
            size: u64,
            body: OldBody,
        }
        let old = Old {
            chunk_size: 4096,
            size: 300,
            body: OldBody::Inline(body),
        };
        let old = postcard::to_extend(&old, vec![1]).unwrap();
        assert_eq!(old, expected);
        assert_eq!(Manifest::decode(&old).unwrap(), manifest);
    }

    #[test]
    fn inline_bytes_are_checked_against_their_hash() {
        let manifest = Manifest::inline(b"sixteen bytes..!".to_vec(), 4096);
        assert_eq!(manifest.inline_data(), Some(&b"sixteen bytes..!"[..]));
        let mut bytes = manifest.encode();
        assert_eq!(Manifest::decode(&bytes).unwrap(), manifest);
        // One bit of the body flipped on disk: the read is refused, not served.
        let at = bytes.len() - 40;
        bytes[at] ^= 1;
        assert_eq!(Manifest::decode(&bytes), Err(ManifestError::InlineCorrupt));
    }

    #[test]
    fn sizes_and_chunks() {
        let m = Manifest::chunked(vec![chunk(64, 4, 2), chunk(10, 4, 2)], 64);
        assert_eq!(m.size, 74);
        assert_eq!(m.chunks().len(), 2);
        assert!(Manifest::inline(vec![1, 2], 64).chunks().is_empty());
    }

    #[test]
    fn rejects_format_and_framing_errors() {
        let bytes = Manifest::chunked(vec![chunk(50, 2, 1)], 64).encode();
        assert_eq!(Manifest::decode(&[]), Err(ManifestError::Empty));
        let mut future = bytes.clone();
        future[0] = 3;
        assert_eq!(
            Manifest::decode(&future),
            Err(ManifestError::UnknownFormat(3))
        );
        for cut in 1..bytes.len() {
            assert!(Manifest::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            Manifest::decode(&long),
            Err(ManifestError::Malformed(_))
        ));
    }

    #[test]
    fn rejects_inconsistent_contents() {
        let mut wrong_size = Manifest::inline(vec![1, 2, 3], 64);
        wrong_size.size = 4;
        assert!(matches!(
            Manifest::decode(&wrong_size.encode()),
            Err(ManifestError::Inconsistent(_))
        ));
        let mut c = chunk(40, 2, 1);
        c.len = 39;
        let tampered = Manifest::chunked(vec![c], 64);
        assert!(matches!(
            Manifest::decode(&tampered.encode()),
            Err(ManifestError::Inconsistent(_))
        ));
    }

    #[test]
    fn embedded_manifests_are_validated_too() {
        // A record that carries a manifest (as a multipart part record does) goes through serde,
        // not `Manifest::decode`: the same checks must apply.
        #[derive(Serialize, Deserialize)]
        struct Part {
            etag: String,
            manifest: Manifest,
        }
        let good = Part {
            etag: "e".into(),
            manifest: Manifest::chunked(vec![chunk(40, 2, 1)], 64),
        };
        let bytes = postcard::to_allocvec(&good).unwrap();
        assert!(postcard::from_bytes::<Part>(&bytes).is_ok());
        let mut c = chunk(40, 2, 1);
        c.len = 39;
        let bad = Part {
            etag: "e".into(),
            manifest: Manifest::chunked(vec![c], 64),
        };
        let bytes = postcard::to_allocvec(&bad).unwrap();
        assert!(postcard::from_bytes::<Part>(&bytes).is_err());
    }
}
