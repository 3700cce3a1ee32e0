//! The blob layer hands its callers manifests, not chunk lists: what a stored body is made of
//! (inline bytes, or chunks of this cluster's chunk size) is decided here, next to the code that
//! stored it, so the object service never assembles one.

use floe_codec::Manifest;

use super::cluster::BlobStore;

impl BlobStore {
    /// The manifest of a body small enough to live in the index itself (no chunks stored).
    pub fn inline_manifest(&self, data: Vec<u8>) -> Manifest {
        Manifest::inline(data, self.chunk_size_u32())
    }

    /// One manifest for the bodies of `parts` in order (a completed multipart upload): their
    /// chunks, none stored again.
    pub fn joined_manifest<'a>(&self, parts: impl IntoIterator<Item = &'a Manifest>) -> Manifest {
        let chunks = parts
            .into_iter()
            .flat_map(|part| part.chunks().iter().cloned())
            .collect();
        Manifest::chunked(chunks, self.chunk_size_u32())
    }

    pub(super) fn chunk_size_u32(&self) -> u32 {
        // The configuration caps the chunk size far below 4 GiB.
        u32::try_from(self.config().chunk_size).unwrap_or(u32::MAX)
    }
}
