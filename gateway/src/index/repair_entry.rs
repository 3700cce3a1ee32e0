//! Repairing an object entry whose stored bytes failed their check, from a verified copy of its
//! record (the nodes keep one). Only inline objects are repaired this way: their manifest holds
//! no chunk references, so writing it back changes no reference count, and the copy is of the
//! same object at the same version (see `recovery::publish`).

use floe_codec::Manifest;

use super::object_entry::{EncodedObject, store_object};
use super::{Index, IndexError, ObjectRecord};

impl Index {
    /// Writes `record` and its inline `manifest` over the entry of `bucket/key`.
    pub fn repair_inline_object(
        &self,
        bucket: &str,
        key: &str,
        record: &ObjectRecord,
        manifest: Manifest,
    ) -> Result<(), IndexError> {
        if manifest.inline_data().is_none() {
            return Err(IndexError::Corrupt(format!(
                "object {bucket}/{key}: only inline entries are repaired from a copy"
            )));
        }
        let object = EncodedObject::new(record, manifest);
        self.write(|t| store_object(&mut t.objects, &mut t.manifests, bucket, key, &object, true))
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
        index
            .repair_inline_object("b", "k", &record, manifest.clone())
            .unwrap();
        let (_, back) = index.object_with_manifest("b", "k").unwrap().unwrap();
        assert_eq!(back, manifest);
        let chunked = Manifest::chunked(Vec::new(), 4096);
        assert!(
            index
                .repair_inline_object("b", "k", &record, chunked)
                .is_err()
        );
    }
}
