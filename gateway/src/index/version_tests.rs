//! Versioning in the index, against a model of S3's rules: random sequences of PUT, DELETE (with
//! and without a version id), versioning changes and batches of deletes on a few keys. After
//! each step every key's versions, every read by version id, every listing page size, the
//! chunk reference counts and the bucket's object count must match the model; at the end, an
//! index rebuilt from the journal's node copies must list the same versions.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::testkit::*;

/// One version in the model: its id, and its ETag (objects) or `None` (delete markers).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelVersion {
    id: VersionId,
    etag: Option<String>,
    /// The chunk seed of an object version's manifest.
    seed: Option<u8>,
}

/// S3 versioning as the documentation states it: each key's versions, newest first.
#[derive(Debug, Default)]
struct Model {
    versioning: Versioning,
    keys: BTreeMap<String, Vec<ModelVersion>>,
}

impl Model {
    fn remove_null(&mut self, key: &str) {
        if let Some(versions) = self.keys.get_mut(key) {
            versions.retain(|v| v.id != VersionId::Null);
        }
    }

    fn put(&mut self, key: &str, written: VersionId, etag: &str, seed: u8) {
        if self.versioning != Versioning::Enabled {
            self.remove_null(key);
        }
        let version = ModelVersion {
            id: written,
            etag: Some(etag.into()),
            seed: Some(seed),
        };
        self.keys.entry(key.into()).or_default().insert(0, version);
    }

    fn delete(&mut self, key: &str, removed: &Removed) {
        match self.versioning {
            Versioning::Unversioned => {
                self.keys.remove(key);
            }
            versioning => {
                if versioning == Versioning::Suspended {
                    self.remove_null(key);
                }
                let marker = ModelVersion {
                    id: removed.version.expect("a marker's id"),
                    etag: None,
                    seed: None,
                };
                self.keys.entry(key.into()).or_default().insert(0, marker);
            }
        }
        self.keys.retain(|_, v| !v.is_empty());
    }

    fn delete_version(&mut self, key: &str, id: VersionId) {
        if let Some(versions) = self.keys.get_mut(key) {
            versions.retain(|v| v.id != id);
        }
        self.keys.retain(|_, v| !v.is_empty());
    }

    /// Every version in ListObjectVersions order: (key, id, etag, is_latest).
    fn listing(&self) -> Vec<(String, VersionId, Option<String>, bool)> {
        let mut out = Vec::new();
        for (key, versions) in &self.keys {
            for (i, v) in versions.iter().enumerate() {
                out.push((key.clone(), v.id, v.etag.clone(), i == 0));
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put(usize),
    Delete(usize),
    /// Deletes the n-th version of the key (modulo its count), or a made-up id if it has none.
    DeleteVersion(usize, usize),
    DeleteNull(usize),
    SetVersioning(bool),
    /// Several deletes, as DeleteObjects sends them.
    DeleteMany(Vec<(usize, Option<usize>)>),
}

const KEYS: [&str; 4] = ["a", "a/b", "b", "c/"];

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    prop_oneof![
        4 => key.clone().prop_map(Op::Put),
        2 => key.clone().prop_map(Op::Delete),
        2 => (key.clone(), 0usize..4).prop_map(|(k, n)| Op::DeleteVersion(k, n)),
        1 => key.clone().prop_map(Op::DeleteNull),
        1 => any::<bool>().prop_map(Op::SetVersioning),
        1 => prop::collection::vec((key, prop::option::of(0usize..4)), 1..4)
            .prop_map(Op::DeleteMany),
    ]
}

fn record(etag: &str) -> ObjectRecord {
    object_record(etag)
}

fn listed(index: &Index, page: usize) -> Vec<(String, VersionId, Option<String>, bool)> {
    let mut out = Vec::new();
    let mut cursor = VersionCursor::Start;
    loop {
        let batch = index.list_versions("b", "", &cursor, page).unwrap();
        let Some(last) = batch.last() else { break };
        cursor = VersionCursor::AfterSeq(last.key.clone(), last.version.stamp().seq);
        let full = batch.len() == page;
        for v in batch {
            let etag = match &v.version {
                Version::Object(_, r) => Some(r.etag.clone()),
                Version::Marker(..) => None,
            };
            out.push((v.key, v.version.stamp().id(), etag, v.is_latest));
        }
        if !full {
            break;
        }
    }
    out
}

/// Pages resumed the way S3 clients resume them: by key and version id.
fn listed_by_markers(index: &Index, page: usize) -> Vec<(String, VersionId)> {
    let mut out: Vec<(String, VersionId)> = Vec::new();
    let mut cursor = VersionCursor::Start;
    loop {
        let batch = index.list_versions("b", "", &cursor, page).unwrap();
        let Some(last) = batch.last() else { break };
        cursor = VersionCursor::AfterVersion(last.key.clone(), last.version.stamp().id());
        let full = batch.len() == page;
        out.extend(batch.into_iter().map(|v| (v.key, v.version.stamp().id())));
        if !full {
            break;
        }
    }
    out
}

fn check(index: &Index, model: &Model) -> Result<(), TestCaseError> {
    let expected = model.listing();
    for page in [1, 2, 3, 1000] {
        prop_assert_eq!(&listed(index, page), &expected, "page size {}", page);
    }
    let by_markers: Vec<_> = expected
        .iter()
        .map(|(k, id, ..)| (k.clone(), *id))
        .collect();
    prop_assert_eq!(listed_by_markers(index, 2), by_markers);
    let mut current = 0;
    for key in KEYS {
        let versions = model.keys.get(key).cloned().unwrap_or_default();
        let latest = index.object_version("b", key, None, false).unwrap();
        let expected_latest = versions.first().map(|v| (v.id, v.etag.clone()));
        let got = latest.map(|f| match f.version {
            Version::Object(s, r) => (s.id(), Some(r.etag)),
            Version::Marker(s, _) => (s.id(), None),
        });
        prop_assert_eq!(got, expected_latest, "latest of {}", key);
        let current_object = index.object("b", key).unwrap().map(|r| r.etag);
        let model_current = versions.first().and_then(|v| v.etag.clone());
        prop_assert_eq!(&current_object, &model_current, "current of {}", key);
        current += u64::from(model_current.is_some());
        for v in &versions {
            let found = index.object_version("b", key, Some(v.id), true).unwrap();
            let found = found.expect("every listed version reads back");
            match (&found.version, &v.etag) {
                (Version::Object(_, r), Some(etag)) => {
                    prop_assert_eq!(&r.etag, etag);
                    let seed = v.seed.expect("object seed");
                    prop_assert_eq!(found.manifest, Some(manifest(&[seed])));
                }
                (Version::Marker(..), None) => {}
                other => prop_assert!(false, "{key} {:?}: {other:?}", v.id),
            }
        }
    }
    prop_assert_eq!(index.object_count("b").unwrap(), current);
    // Every object version holds its chunk; nothing else holds one.
    let live: Vec<u8> = model
        .keys
        .values()
        .flatten()
        .filter_map(|v| v.seed)
        .collect();
    for seed in 0..=u8::MAX {
        let expected = live.iter().filter(|&&s| s == seed).count() as u64;
        if expected > 0 || seed < 64 {
            let refs = index.chunk_refs(&chunk(seed, 32).id).unwrap();
            prop_assert_eq!(refs, expected, "refs of chunk {}", seed);
        }
    }
    Ok(())
}

fn pick(model: &Model, key: &str, n: usize) -> VersionId {
    match model.keys.get(key) {
        Some(versions) => versions[n % versions.len()].id,
        None => VersionId::Seq(7),
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (_dir, index) = index_with_bucket();
    let mut model = Model::default();
    let mut seed = 0u8;
    for op in ops {
        match op {
            Op::Put(k) => {
                seed = seed.wrapping_add(1) % 64;
                let etag = format!("e{seed}");
                let written = index
                    .put_object("b", KEYS[k], &record(&etag), &manifest(&[seed]), always)
                    .unwrap();
                if model.versioning == Versioning::Enabled {
                    prop_assert!(matches!(written.version, VersionId::Seq(_)));
                } else {
                    prop_assert_eq!(written.version, VersionId::Null);
                }
                model.put(KEYS[k], written.version, &etag, seed);
            }
            Op::Delete(k) => {
                let removed = index.delete_object("b", KEYS[k]).unwrap();
                prop_assert_eq!(removed.marker, model.versioning != Versioning::Unversioned);
                model.delete(KEYS[k], &removed);
            }
            Op::DeleteVersion(k, n) => {
                let id = pick(&model, KEYS[k], n);
                delete_version(&index, KEYS[k], id);
                model.delete_version(KEYS[k], id);
            }
            Op::DeleteNull(k) => {
                delete_version(&index, KEYS[k], VersionId::Null);
                model.delete_version(KEYS[k], VersionId::Null);
            }
            Op::SetVersioning(enable) => {
                let versioning = match enable {
                    true => Versioning::Enabled,
                    false => Versioning::Suspended,
                };
                index.set_versioning("b", versioning).unwrap();
                model.versioning = versioning;
                prop_assert_eq!(index.bucket_settings("b").unwrap().versioning, versioning);
            }
            Op::DeleteMany(list) => {
                for (k, n) in list {
                    match n {
                        Some(n) => {
                            let id = pick(&model, KEYS[k], n);
                            delete_version(&index, KEYS[k], id);
                            model.delete_version(KEYS[k], id);
                        }
                        None => {
                            let removed = index.delete_object("b", KEYS[k]).unwrap();
                            model.delete(KEYS[k], &removed);
                        }
                    }
                }
            }
        }
        check(&index, &model)?;
    }
    // The node copies of the journal rebuild the same versions in an empty index.
    let entries = index.pending_records(usize::MAX).unwrap();
    let (_dir2, rebuilt) = temp_index();
    rebuilt.restore(&entries).unwrap();
    prop_assert_eq!(listed(&rebuilt, 1000), model.listing());
    prop_assert_eq!(
        rebuilt.bucket_settings("b").unwrap().versioning,
        model.versioning
    );
    Ok(())
}

fn delete_version(index: &Index, key: &str, id: VersionId) {
    let removed = futures::executor::block_on(index.delete_object_async(
        "b".into(),
        key.into(),
        Some(id),
        None,
        false,
    ))
    .unwrap();
    assert_eq!(removed.version, Some(id));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn versioning_matches_the_model(ops in prop::collection::vec(op(), 1..24)) {
        run(ops)?;
    }
}

#[test]
fn a_key_overwritten_while_enabled_keeps_every_version_and_markers_stack() {
    let (_dir, index) = index_with_bucket();
    index
        .put_object("b", "k", &record("old"), &manifest(&[1]), always)
        .unwrap();
    index.set_versioning("b", Versioning::Enabled).unwrap();
    let v2 = index
        .put_object("b", "k", &record("v2"), &large_manifest(10), always)
        .unwrap();
    assert_eq!(v2.previous, Some(record("old")));
    assert_eq!(v2.reported_version(), Some(v2.version.to_string()));
    let v3 = index
        .put_object("b", "k", &record("v3"), &manifest(&[3]), always)
        .unwrap();
    let m1 = index.delete_object("b", "k").unwrap();
    let m2 = index.delete_object("b", "k").unwrap();
    assert!(m1.marker && m2.marker && m1.version != m2.version);
    assert_eq!(index.object("b", "k").unwrap(), None);
    // The large manifest moved with its version and back.
    let found = index
        .object_version("b", "k", Some(v2.version), true)
        .unwrap()
        .unwrap();
    assert_eq!(found.manifest, Some(large_manifest(10)));
    let ids: Vec<_> = index
        .list_versions("b", "", &VersionCursor::Start, 10)
        .unwrap()
        .into_iter()
        .map(|v| (v.version.stamp().id(), v.is_latest))
        .collect();
    assert_eq!(
        ids,
        [
            (m2.version.unwrap(), true),
            (m1.version.unwrap(), false),
            (v3.version, false),
            (v2.version, false),
            (VersionId::Null, false),
        ]
    );
    // The bucket is not empty while any version or marker remains.
    assert!(matches!(
        index.delete_bucket("b"),
        Err(IndexError::BucketNotEmpty)
    ));
    // Removing both markers and v3 makes v2 current again, manifest and all.
    for id in [m2.version.unwrap(), m1.version.unwrap(), v3.version] {
        delete_version(&index, "k", id);
    }
    let (current, manifest_back) = current_version(&index, "b", "k");
    assert_eq!(current.stamp().id(), v2.version);
    assert_eq!(manifest_back, Some(large_manifest(10)));
    assert_eq!(index.object("b", "k").unwrap(), Some(record("v2")));
    // A GET of a marker's id, and tags on it, say what it is.
    let m3 = index.delete_object("b", "k").unwrap().version.unwrap();
    assert!(matches!(
        index.set_tags("b", "k", Some(m3), Vec::new()),
        Err(IndexError::IsDeleteMarker)
    ));
    assert!(matches!(
        index.set_tags("b", "k", Some(VersionId::Seq(1)), Vec::new()),
        Err(IndexError::NoSuchVersion)
    ));
    // Tags of a noncurrent version change that version only.
    let tags = vec![("t".to_owned(), "v".to_owned())];
    index
        .set_tags("b", "k", Some(VersionId::Null), tags.clone())
        .unwrap();
    let Version::Object(_, null) = index
        .object_version("b", "k", Some(VersionId::Null), false)
        .unwrap()
        .unwrap()
        .version
    else {
        panic!("null is an object");
    };
    assert_eq!(null.tags, tags);
}

#[test]
fn suspended_writes_replace_only_the_null_version() {
    let (_dir, index) = index_with_bucket();
    index.set_versioning("b", Versioning::Enabled).unwrap();
    let v1 = index
        .put_object("b", "k", &record("v1"), &manifest(&[1]), always)
        .unwrap();
    index.set_versioning("b", Versioning::Suspended).unwrap();
    let n1 = index
        .put_object("b", "k", &record("n1"), &manifest(&[2]), always)
        .unwrap();
    assert_eq!(n1.version, VersionId::Null);
    assert_eq!(n1.reported_version().as_deref(), Some("null"));
    index
        .put_object("b", "k", &record("n2"), &manifest(&[3]), always)
        .unwrap();
    // n1's chunk was released when n2 replaced it; v1 kept its own.
    assert_eq!(index.chunk_refs(&chunk(2, 32).id).unwrap(), 0);
    assert_eq!(index.chunk_refs(&chunk(1, 32).id).unwrap(), 1);
    // A suspended DELETE replaces the null version with a null marker.
    let removed = index.delete_object("b", "k").unwrap();
    assert_eq!(
        (removed.version, removed.marker),
        (Some(VersionId::Null), true)
    );
    assert_eq!(removed.record, Some(record("n2")));
    let ids: Vec<_> = index
        .list_versions("b", "", &VersionCursor::Start, 10)
        .unwrap()
        .into_iter()
        .map(|v| v.version.stamp().id())
        .collect();
    assert_eq!(ids, [VersionId::Null, v1.version]);
    assert!(matches!(
        index.set_versioning("b", Versioning::Unversioned),
        Err(IndexError::InvalidBucketState(_))
    ));
}

#[test]
fn a_deep_page_of_one_key_starts_at_its_marker() {
    let (_dir, index) = index_with_bucket();
    index.set_versioning("b", Versioning::Enabled).unwrap();
    let mut ids = Vec::new();
    for i in 0..50u8 {
        let w = index
            .put_object("b", "k", &record(&format!("{i}")), &manifest(&[i]), always)
            .unwrap();
        ids.push(w.version);
    }
    ids.reverse();
    let after = VersionCursor::AfterVersion("k".into(), ids[19]);
    let page = index.list_versions("b", "", &after, 5).unwrap();
    let got: Vec<_> = page.iter().map(|v| v.version.stamp().id()).collect();
    assert_eq!(got, ids[20..25]);
    assert!(page.iter().all(|v| !v.is_latest));
    // key-marker alone skips every version of the key.
    let after = VersionCursor::AfterKey("k".into());
    assert!(index.list_versions("b", "", &after, 5).unwrap().is_empty());
}
