//! Veeam's Smart Object Storage API (SOSAPI), version 1.0: two read-only XML files every bucket
//! seems to hold under `.system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/`. `system.xml` says which
//! capabilities the store offers (here: capacity reporting only); `capacity.xml` gives the
//! cluster's usable capacity, free and used bytes, from the nodes' own figures at the time of
//! the read, so Veeam's scale-out repositories place backups by real free space.
//!
//! They are answered by GET and HEAD of those keys in any existing bucket; nothing is stored,
//! and a write to those keys stays an ordinary object that the virtual file hides.

use bytes::Bytes;

use crate::index::{ContentHeaders, ObjectRecord};

use super::error::ObjectError;
use super::service::{ObjectService, now_millis};

/// The folder Veeam reads, with the GUID its specification fixes.
pub const SOSAPI_FOLDER: &str = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/";

/// The two files Floe answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SosFile {
    System,
    Capacity,
}

fn sos_file(key: &str) -> Option<SosFile> {
    match key.strip_prefix(SOSAPI_FOLDER)? {
        "system.xml" => Some(SosFile::System),
        "capacity.xml" => Some(SosFile::Capacity),
        _ => None,
    }
}

/// `system.xml`: protocol 1.0, the model name, and capacity reporting as the only capability.
/// The quoted values are as the specification's examples write them.
fn system_xml() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SystemInfo>\
         <ProtocolVersion>\"1.0\"</ProtocolVersion>\
         <ModelName>\"Floe {}\"</ModelName>\
         <ProtocolCapabilities><CapacityInfo>true</CapacityInfo>\
         <UploadSessions>false</UploadSessions><IAMSTS>false</IAMSTS></ProtocolCapabilities>\
         </SystemInfo>",
        env!("CARGO_PKG_VERSION")
    )
}

/// `capacity.xml`, in bytes.
fn capacity_xml(total: u64, free: u64, used: u64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CapacityInfo>\
         <Capacity>{total}</Capacity><Available>{free}</Available><Used>{used}</Used>\
         </CapacityInfo>"
    )
}

impl ObjectService {
    /// The SOSAPI file at `bucket/key`, if `key` names one: its record (for the usual headers,
    /// conditions and ranges) and its bytes. `NoSuchBucket` if the bucket is absent.
    pub(super) async fn sosapi_file(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(ObjectRecord, Bytes)>, ObjectError> {
        let Some(file) = sos_file(key) else {
            return Ok(None);
        };
        self.head_bucket(bucket).await?;
        let text = match file {
            SosFile::System => system_xml(),
            SosFile::Capacity => {
                let capacity = self.blobs().capacity().await;
                capacity_xml(capacity.total, capacity.free, capacity.used())
            }
        };
        let bytes = Bytes::from(text);
        let record = ObjectRecord {
            size: bytes.len() as u64,
            etag: hex::encode(md5_simd::digest(&bytes)),
            modified: now_millis(),
            headers: ContentHeaders {
                content_type: Some("application/xml".into()),
                ..ContentHeaders::default()
            },
            metadata: Vec::new(),
            checksum: None,
            parts: Vec::new(),
            tags: Vec::new(),
        };
        Ok(Some((record, bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_files_in_the_folder_are_virtual() {
        let folder = SOSAPI_FOLDER;
        assert_eq!(
            sos_file(&format!("{folder}system.xml")),
            Some(SosFile::System)
        );
        assert_eq!(
            sos_file(&format!("{folder}capacity.xml")),
            Some(SosFile::Capacity)
        );
        for key in [
            "system.xml",
            &format!("{folder}other.xml"),
            &format!("x{folder}system.xml"),
        ] {
            assert_eq!(sos_file(key), None, "{key}");
        }
    }

    #[test]
    fn the_documents_carry_their_fields() {
        let system = system_xml();
        assert!(system.contains("<ProtocolVersion>\"1.0\"</ProtocolVersion>"));
        assert!(system.contains("<CapacityInfo>true</CapacityInfo>"));
        let capacity = capacity_xml(300, 100, 200);
        assert!(capacity.contains("<Capacity>300</Capacity>"));
        assert!(capacity.contains("<Available>100</Available>"));
        assert!(capacity.contains("<Used>200</Used>"));
    }
}
