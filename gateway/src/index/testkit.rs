//! Fixtures shared by the index's unit tests: a fresh index in a temporary directory, and real
//! (id-consistent) chunk references and manifests, since `Manifest::decode` checks chunk ids.

use floe_codec::{ChunkRef, CodecParams, Manifest, encode_chunk};
use tempfile::TempDir;

pub use super::*;

/// A new index in its own directory; keep the `TempDir` alive as long as the index.
///
/// The store is `FLOE_TEST_INDEX`'s: `redb` (the default), `memory`, or `postgres` (a fresh
/// table on `floe_testkit::postgres`'s server). `.ci/run` runs the index's tests once per store:
/// one suite for every implementation.
pub fn temp_index() -> (TempDir, Index) {
    match std::env::var("FLOE_TEST_INDEX").as_deref() {
        Ok("memory") => {
            let kv = std::sync::Arc::new(super::kv::MemoryKv::new());
            (tempfile::tempdir().unwrap(), Index::on(kv).unwrap())
        }
        Ok("postgres") => {
            let table = floe_testkit::postgres::fresh_table("index_test");
            let url = floe_testkit::postgres::url();
            let kv = super::kv::PostgresKv::connect_table(&url, &table).unwrap();
            (
                tempfile::tempdir().unwrap(),
                Index::on(std::sync::Arc::new(kv)).unwrap(),
            )
        }
        Ok("redb") | Err(_) => file_index(),
        Ok(other) => panic!("FLOE_TEST_INDEX={other:?}: use redb, memory or postgres"),
    }
}

/// A fresh index in a redb file, whatever `FLOE_TEST_INDEX` says (for tests of the file itself
/// or of its writer thread).
pub fn file_index() -> (TempDir, Index) {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(&dir.path().join("index.redb")).unwrap();
    (dir, index)
}

/// [`file_index`] holding bucket `b`.
pub fn file_index_with_bucket() -> (TempDir, Index) {
    let (dir, index) = file_index();
    index.create_bucket("b", &bucket_record()).unwrap();
    (dir, index)
}

/// A real chunk of `len` bytes derived from `seed`: equal seeds give equal ids (dedup).
pub fn chunk(seed: u8, len: usize) -> ChunkRef {
    let data = (0..len).map(|i| seed.wrapping_add(i as u8)).collect();
    encode_chunk(CodecParams::new(2, 1).unwrap(), data)
        .unwrap()
        .chunk
}

/// A chunked manifest over the chunks of the given seeds.
pub fn manifest(seeds: &[u8]) -> Manifest {
    Manifest::chunked(seeds.iter().map(|&s| chunk(s, 32)).collect(), 32)
}

/// A chunked manifest too long to sit beside its object's record: 160 chunks from `first`.
pub fn large_manifest(first: u8) -> Manifest {
    let seeds: Vec<u8> = (0..160).map(|i| first.wrapping_add(i)).collect();
    let manifest = manifest(&seeds);
    assert!(manifest.encode().len() > super::object_entry::MAX_MANIFEST_BESIDE_RECORD);
    manifest
}

pub fn bucket_record() -> BucketRecord {
    BucketRecord {
        created: 1_700_000_000_000,
        region: String::new(),
    }
}

pub fn object_record(etag: &str) -> ObjectRecord {
    ObjectRecord {
        size: 64,
        etag: etag.to_owned(),
        modified: 1_700_000_000_000,
        headers: ContentHeaders::default(),
        metadata: vec![("color".into(), "blue".into())],
        checksum: None,
        parts: Vec::new(),
        tags: Vec::new(),
    }
}

pub fn upload_record(bucket: &str, key: &str, initiated: UnixMillis) -> UploadRecord {
    UploadRecord {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        initiated,
        headers: ContentHeaders::default(),
        metadata: Vec::new(),
        tags: Vec::new(),
        checksum_algorithm: None,
        checksum_type: None,
    }
}

pub fn part_record(etag: &str, manifest: Manifest) -> PartRecord {
    PartRecord {
        size: manifest.size,
        etag: etag.to_owned(),
        modified: 1_700_000_000_000,
        checksum: None,
        manifest,
    }
}

/// A condition that always holds: an unconditional write.
pub fn always(_: Option<&ObjectRecord>) -> bool {
    true
}

/// Refcount of the chunk made from `seed` by [`manifest`].
pub fn refs(index: &Index, seed: u8) -> u64 {
    index.chunk_refs(&chunk(seed, 32).id).unwrap()
}

/// Ids currently in the garbage queue, in its order.
pub fn garbage_ids(index: &Index) -> Vec<floe_codec::ChunkId> {
    index
        .garbage(1000)
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect()
}

/// An index holding bucket `b`.
pub fn index_with_bucket() -> (TempDir, Index) {
    let (dir, index) = temp_index();
    index.create_bucket("b", &bucket_record()).unwrap();
    (dir, index)
}

/// Holds the index file's write lock until dropped: writes queue up behind it.
pub fn hold_writes(index: &Index) -> redb::WriteTransaction {
    index
        .file
        .as_ref()
        .expect("an index file")
        .database()
        .begin_write()
        .unwrap()
}

/// The newest version of `bucket/key` and its manifest; panics if there is none.
pub fn current_version(index: &Index, bucket: &str, key: &str) -> (Version, Option<Manifest>) {
    let found = index
        .object_version(bucket, key, None, true)
        .unwrap()
        .expect("a version");
    (found.version, found.manifest)
}
