//! Repairing an object entry whose stored bytes failed their check, from a verified copy of its
//! record (the nodes keep one). Only inline objects are repaired this way: their manifest holds
//! no chunk references, so writing it back changes no reference count, and the copy is of the
//! same object at the same version (see `recovery::publish`).

use floe_codec::Manifest;

use super::object_entry::{EncodedObject, split_stamp, store_object};
use super::versioning::VersionStamp;
use super::{Index, IndexError, ObjectRecord};

impl Index {
    /// Writes `record` and its inline `manifest` over the current entry of `bucket/key`, the
    /// version `stamp` (the copy's: the stamp may be what was damaged).
    pub fn repair_inline_object(
        &self,
        bucket: &str,
        key: &str,
        stamp: VersionStamp,
        record: &ObjectRecord,
        manifest: Manifest,
    ) -> Result<(), IndexError> {
        if manifest.inline_data().is_none() {
            return Err(IndexError::Corrupt(format!(
                "object {bucket}/{key}: only inline entries are repaired from a copy"
            )));
        }
        let object = EncodedObject::new(record, manifest);
        let value = object.stamped(stamp);
        self.write(|t| {
            // Only a copy of the very version stored there may replace it: the copy is of the
            // key's null version, and a newer version may have taken its place since.
            let stored = t.objects.get((bucket, key))?.ok_or(IndexError::NoSuchKey)?;
            let what = format_args!("object {bucket}/{key}");
            if split_stamp(what, stored.value())?.1 != stamp {
                return Err(IndexError::NoSuchVersion);
            }
            drop(stored);
            store_object(
                &mut t.objects,
                &mut t.manifests,
                bucket,
                key,
                &value,
                None,
                true,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::*;

    #[test]
    fn a_damaged_inline_entry_is_rewritten_from_its_copy() {
        let (_dir, index) = index_with_bucket();
        let record = object_record("e");
        let manifest = Manifest::inline(b"payload".to_vec(), 4096);
        index
            .put_object("b", "k", &record, &manifest, always)
            .unwrap();
        let (found, _) = current_version(&index, "b", "k");
        let stamp = found.stamp();
        // A copy of another version is not a stand-in for the entry.
        let other = VersionStamp::new(stamp.seq + 1, true);
        assert!(matches!(
            index.repair_inline_object("b", "k", other, &record, manifest.clone()),
            Err(IndexError::NoSuchVersion)
        ));
        index
            .repair_inline_object("b", "k", stamp, &record, manifest.clone())
            .unwrap();
        let (_, back) = index.object_with_manifest("b", "k").unwrap().unwrap();
        assert_eq!(back, manifest);
        let chunked = Manifest::chunked(Vec::new(), 4096);
        assert!(
            index
                .repair_inline_object("b", "k", stamp, &record, chunked)
                .is_err()
        );
    }
}
