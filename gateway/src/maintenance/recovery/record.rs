//! The records the gateway keeps on the storage nodes: one per bucket, one per object key (its
//! null version) and one per other version of a key, carrying the current state (or a
//! tombstone) at a journal version, in a versioned binary encoding.
//!
//! To a node a record is opaque bytes under an id; the id is a blake3 hash of what it
//! describes, so the same bucket or key always lands on the same record (and a newer version
//! replaces an older one), while no bucket or key name reaches a node's file names.

use floe_codec::Manifest;
use floe_node::RecordId;
use serde::{Deserialize, Serialize};

use crate::index::{
    BucketAccess, BucketConfig, BucketLock, BucketRecord, BucketSettings, JournalEntry,
    JournalState, KeyRecord, LegacyBucketConfig, MarkerRecord, ObjectLock, ObjectRecord,
    RecordError, RecordKind, UserRecord, VersionStamp, decode_record, encode_record,
};

/// Domain separation for record ids.
const RECORD_ID_TAG: &[u8] = b"floe.record.v1";

/// The wire form. Manifests travel in their own versioned encoding and are fully validated
/// (chunk ids included) when read back. Variants are only ever added at the end: records
/// written by older builds (`Bucket`, `Object`, without settings or stamps) stay readable.
#[derive(Debug, Serialize, Deserialize)]
enum Wire {
    Bucket {
        name: String,
        version: u64,
        record: BucketRecord,
    },
    BucketDeleted {
        name: String,
        version: u64,
    },
    Object {
        bucket: String,
        key: String,
        version: u64,
        record: Box<ObjectRecord>,
        /// In one piece (see `Body::Inline`): the same bytes as a sequence, without a call per byte.
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
    },
    ObjectDeleted {
        bucket: String,
        key: String,
        version: u64,
    },
    BucketWithSettings {
        name: String,
        version: u64,
        record: BucketRecord,
        settings: BucketSettings,
    },
    /// An object version: the null one (`stamp.null`, the key's record) or another.
    Stamped {
        bucket: String,
        key: String,
        version: u64,
        stamp: VersionStamp,
        record: Box<ObjectRecord>,
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
    },
    Marker {
        bucket: String,
        key: String,
        version: u64,
        stamp: VersionStamp,
        marker: MarkerRecord,
    },
    /// A version other than null, removed.
    VersionDeleted {
        bucket: String,
        key: String,
        version: u64,
        seq: u64,
    },
    /// A bucket with object lock enabled, and its default retention.
    LockedBucket {
        name: String,
        version: u64,
        record: BucketRecord,
        settings: BucketSettings,
        lock: BucketLock,
    },
    /// An object version under retention or legal hold: a rebuilt index gets its lock back.
    Locked {
        bucket: String,
        key: String,
        version: u64,
        stamp: VersionStamp,
        lock: ObjectLock,
        record: Box<ObjectRecord>,
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
    },
    /// A bucket with an owner, policy, ACL, public access block, tags, ownership setting or
    /// CORS rules (and its lock, if any), written before lifecycle rules carried expirations:
    /// read, never written (see `GuardedBucketV2`).
    GuardedBucket {
        name: String,
        version: u64,
        record: BucketRecord,
        settings: BucketSettings,
        lock: Option<BucketLock>,
        access: BucketAccess,
        config: LegacyBucketConfig,
    },
    /// A user (journal key `user/NAME`).
    User {
        key: String,
        version: u64,
        record: UserRecord,
    },
    /// An access key, its secret sealed as in the index (journal key `key/ID`).
    AccessKey {
        key: String,
        version: u64,
        record: KeyRecord,
    },
    /// A stored policy (journal key `policy/NAME`).
    Policy {
        key: String,
        version: u64,
        document: String,
    },
    IdentityDeleted {
        key: String,
        version: u64,
    },
    /// As `GuardedBucket`, with the configuration as lifecycle expirations store it.
    GuardedBucketV2 {
        name: String,
        version: u64,
        record: BucketRecord,
        settings: BucketSettings,
        lock: Option<BucketLock>,
        access: BucketAccess,
        config: BucketConfig,
    },
}

/// Why bytes from a node are not a usable record.
#[derive(Debug, thiserror::Error)]
pub enum RecordDecodeError {
    #[error(transparent)]
    Format(#[from] RecordError),
    #[error("manifest: {0}")]
    Manifest(#[from] floe_codec::ManifestError),
    #[error("record stored under another id")]
    WrongId,
}

/// The id of the record of a bucket (`key` empty), a key's null version or (kind `Version`)
/// its version `seq`.
pub fn record_id(kind: RecordKind, bucket: &str, key: &str, seq: u64) -> RecordId {
    let mut hasher = blake3::Hasher::new();
    hasher.update(RECORD_ID_TAG);
    hasher.update(&[kind as u8]);
    hasher.update(&(bucket.len() as u64).to_le_bytes());
    hasher.update(bucket.as_bytes());
    if kind == RecordKind::Version {
        hasher.update(&(key.len() as u64).to_le_bytes());
        hasher.update(&seq.to_le_bytes());
    }
    hasher.update(key.as_bytes());
    RecordId(*hasher.finalize().as_bytes())
}

/// The id and bytes of the record of `entry`.
pub fn encode(entry: &JournalEntry) -> (RecordId, Vec<u8>) {
    let (bucket, key, version) = (entry.bucket.clone(), entry.key.clone(), entry.version);
    let wire = match (&entry.state, entry.kind) {
        (JournalState::Bucket(record, settings), _)
            if settings.access.is_some() || settings.config.is_some() =>
        {
            Wire::GuardedBucketV2 {
                name: bucket,
                version,
                record: record.clone(),
                settings: settings.clone(),
                lock: settings.lock,
                access: settings.access.clone().unwrap_or_default(),
                config: settings.config.clone().unwrap_or_default(),
            }
        }
        (JournalState::User(record), _) => Wire::User {
            key,
            version,
            record: record.clone(),
        },
        (JournalState::Key(record), _) => Wire::AccessKey {
            key,
            version,
            record: record.clone(),
        },
        (JournalState::Policy(document), _) => Wire::Policy {
            key,
            version,
            document: document.clone(),
        },
        (JournalState::Deleted, RecordKind::Identity) => Wire::IdentityDeleted { key, version },
        (JournalState::Bucket(record, settings), _) => match settings.lock {
            Some(lock) => Wire::LockedBucket {
                name: bucket,
                version,
                record: record.clone(),
                settings: settings.clone(),
                lock,
            },
            None => Wire::BucketWithSettings {
                name: bucket,
                version,
                record: record.clone(),
                settings: settings.clone(),
            },
        },
        (JournalState::Object(stamp, record, manifest), _) if !stamp.lock.is_none() => {
            Wire::Locked {
                bucket,
                key,
                version,
                stamp: *stamp,
                lock: stamp.lock,
                record: record.clone(),
                manifest: manifest.encode(),
            }
        }
        (JournalState::Object(stamp, record, manifest), _) => Wire::Stamped {
            bucket,
            key,
            version,
            stamp: *stamp,
            record: record.clone(),
            manifest: manifest.encode(),
        },
        (JournalState::Marker(stamp, marker), _) => Wire::Marker {
            bucket,
            key,
            version,
            stamp: *stamp,
            marker: marker.clone(),
        },
        (JournalState::Deleted, RecordKind::Bucket) => Wire::BucketDeleted {
            name: bucket,
            version,
        },
        (JournalState::Deleted, RecordKind::Object) => Wire::ObjectDeleted {
            bucket,
            key,
            version,
        },
        (JournalState::Deleted, RecordKind::Version) => Wire::VersionDeleted {
            bucket,
            key,
            version,
            seq: entry.seq,
        },
    };
    (
        record_id(entry.kind, &entry.bucket, &entry.key, entry.seq),
        encode_record(&wire),
    )
}

/// The kind and seq of the record of version `stamp` of a key.
fn version_kind(stamp: &VersionStamp) -> (RecordKind, u64) {
    match stamp.null {
        true => (RecordKind::Object, 0),
        false => (RecordKind::Version, stamp.seq),
    }
}

/// Reads a record fetched from a node under `id`, checking that it is the record of that id.
pub fn decode(id: &RecordId, bytes: &[u8]) -> Result<JournalEntry, RecordDecodeError> {
    let wire: Wire = decode_record(bytes)?;
    let entry = match wire {
        Wire::Bucket {
            name,
            version,
            record,
        } => entry(
            (RecordKind::Bucket, 0),
            name,
            String::new(),
            version,
            JournalState::Bucket(record, BucketSettings::default()),
        ),
        Wire::BucketWithSettings {
            name,
            version,
            record,
            settings,
        } => entry(
            (RecordKind::Bucket, 0),
            name,
            String::new(),
            version,
            JournalState::Bucket(record, settings),
        ),
        Wire::LockedBucket {
            name,
            version,
            record,
            mut settings,
            lock,
        } => {
            settings.lock = Some(lock);
            let state = JournalState::Bucket(record, settings);
            entry((RecordKind::Bucket, 0), name, String::new(), version, state)
        }
        Wire::GuardedBucket {
            name,
            version,
            record,
            settings,
            lock,
            access,
            config,
        } => guarded_bucket(name, version, record, settings, lock, access, config.into()),
        Wire::GuardedBucketV2 {
            name,
            version,
            record,
            settings,
            lock,
            access,
            config,
        } => guarded_bucket(name, version, record, settings, lock, access, config),
        Wire::User {
            key,
            version,
            record,
        } => identity(key, version, JournalState::User(record)),
        Wire::AccessKey {
            key,
            version,
            record,
        } => identity(key, version, JournalState::Key(record)),
        Wire::Policy {
            key,
            version,
            document,
        } => identity(key, version, JournalState::Policy(document)),
        Wire::IdentityDeleted { key, version } => identity(key, version, JournalState::Deleted),
        Wire::Locked {
            bucket,
            key,
            version,
            mut stamp,
            lock,
            record,
            manifest,
        } => {
            stamp.lock = lock;
            let manifest = Manifest::decode(&manifest)?;
            let state = JournalState::Object(stamp, record, manifest);
            entry(version_kind(&stamp), bucket, key, version, state)
        }
        Wire::BucketDeleted { name, version } => entry(
            (RecordKind::Bucket, 0),
            name,
            String::new(),
            version,
            JournalState::Deleted,
        ),
        Wire::Object {
            bucket,
            key,
            version,
            record,
            manifest,
        } => {
            // Written before versioning: the null version, as old as its journal version.
            let stamp = VersionStamp::new(version, true);
            let manifest = Manifest::decode(&manifest)?;
            let state = JournalState::Object(stamp, record, manifest);
            entry((RecordKind::Object, 0), bucket, key, version, state)
        }
        Wire::Stamped {
            bucket,
            key,
            version,
            stamp,
            record,
            manifest,
        } => {
            let manifest = Manifest::decode(&manifest)?;
            let state = JournalState::Object(stamp, record, manifest);
            entry(version_kind(&stamp), bucket, key, version, state)
        }
        Wire::Marker {
            bucket,
            key,
            version,
            stamp,
            marker,
        } => {
            let state = JournalState::Marker(stamp, marker);
            entry(version_kind(&stamp), bucket, key, version, state)
        }
        Wire::ObjectDeleted {
            bucket,
            key,
            version,
        } => entry(
            (RecordKind::Object, 0),
            bucket,
            key,
            version,
            JournalState::Deleted,
        ),
        Wire::VersionDeleted {
            bucket,
            key,
            version,
            seq,
        } => entry(
            (RecordKind::Version, seq),
            bucket,
            key,
            version,
            JournalState::Deleted,
        ),
    };
    if record_id(entry.kind, &entry.bucket, &entry.key, entry.seq) != *id {
        return Err(RecordDecodeError::WrongId);
    }
    Ok(entry)
}

fn entry(
    (kind, seq): (RecordKind, u64),
    bucket: String,
    key: String,
    version: u64,
    state: JournalState,
) -> JournalEntry {
    JournalEntry {
        kind,
        bucket,
        key,
        seq,
        version,
        state,
    }
}

/// The journal entry of a bucket record carrying access settings or configuration.
fn guarded_bucket(
    name: String,
    version: u64,
    record: BucketRecord,
    mut settings: BucketSettings,
    lock: Option<BucketLock>,
    access: BucketAccess,
    config: BucketConfig,
) -> JournalEntry {
    settings.lock = lock;
    settings.access = (access != BucketAccess::default()).then_some(access);
    settings.config = (config != BucketConfig::default()).then_some(config);
    let state = JournalState::Bucket(record, settings);
    entry((RecordKind::Bucket, 0), name, String::new(), version, state)
}

/// An entry of kind `Identity` (no bucket, no seq).
fn identity(key: String, version: u64, state: JournalState) -> JournalEntry {
    entry(
        (RecordKind::Identity, 0),
        String::new(),
        key,
        version,
        state,
    )
}

#[cfg(test)]
mod tests {
    use floe_codec::{CodecParams, encode_chunk};

    use super::*;
    use crate::index::{ContentHeaders, Versioning};

    fn record() -> ObjectRecord {
        ObjectRecord {
            size: 99,
            etag: "e".into(),
            modified: 5,
            headers: ContentHeaders {
                content_type: Some("text/plain".into()),
                ..ContentHeaders::default()
            },
            metadata: vec![("k".into(), "v".into())],
            checksum: None,
            parts: Vec::new(),
            tags: Vec::new(),
        }
    }

    fn object(stamp: VersionStamp) -> JournalEntry {
        let chunk = encode_chunk(CodecParams::new(2, 1).unwrap(), (0..99).collect())
            .unwrap()
            .chunk;
        let state = JournalState::Object(
            stamp,
            Box::new(record()),
            Manifest::chunked(vec![chunk], 99),
        );
        entry(
            version_kind(&stamp),
            "b".into(),
            "dir/key".into(),
            77,
            state,
        )
    }

    #[test]
    fn records_round_trip_and_ids_separate_kinds() {
        let settings = BucketSettings {
            versioning: Versioning::Enabled,
            lock: None,
            access: None,
            config: None,
        };
        let locked_settings = BucketSettings {
            lock: Some(BucketLock {
                default_retention: Some(crate::index::DefaultRetention {
                    mode: crate::index::RetentionMode::Governance,
                    period: crate::index::RetentionPeriod::Years(7),
                }),
            }),
            ..settings.clone()
        };
        let locked = VersionStamp {
            lock: ObjectLock {
                retention: Some(crate::index::Retention {
                    mode: crate::index::RetentionMode::Compliance,
                    until: 1_800_000_000_000,
                }),
                legal_hold: true,
            },
            ..VersionStamp::new(75, false)
        };
        let entries = [
            object(VersionStamp::new(70, true)),
            object(VersionStamp::new(71, false)),
            object(locked),
            entry(
                (RecordKind::Bucket, 0),
                "locked".into(),
                String::new(),
                2,
                JournalState::Bucket(
                    BucketRecord {
                        created: 1,
                        region: String::new(),
                    },
                    locked_settings.clone(),
                ),
            ),
            entry(
                (RecordKind::Version, 72),
                "b".into(),
                "dir/key".into(),
                73,
                JournalState::Marker(VersionStamp::new(72, false), MarkerRecord { modified: 9 }),
            ),
            entry(
                (RecordKind::Version, 71),
                "b".into(),
                "dir/key".into(),
                74,
                JournalState::Deleted,
            ),
            entry(
                (RecordKind::Object, 0),
                "b".into(),
                "x".into(),
                3,
                JournalState::Deleted,
            ),
            entry(
                (RecordKind::Bucket, 0),
                "b".into(),
                String::new(),
                1,
                JournalState::Bucket(
                    BucketRecord {
                        created: 1,
                        region: String::new(),
                    },
                    settings,
                ),
            ),
            entry(
                (RecordKind::Bucket, 0),
                "c".into(),
                String::new(),
                9,
                JournalState::Deleted,
            ),
            entry(
                (RecordKind::Bucket, 0),
                "site".into(),
                String::new(),
                10,
                JournalState::Bucket(
                    BucketRecord {
                        created: 1,
                        region: String::new(),
                    },
                    BucketSettings {
                        access: Some(BucketAccess {
                            owner: Some("web".into()),
                            policy: Some("{}".into()),
                            acl: crate::index::CannedAcl::PublicRead,
                            public_block: Some(crate::index::PublicAccessBlock {
                                restrict_public_buckets: true,
                                ..Default::default()
                            }),
                        }),
                        ..locked_settings.clone()
                    },
                ),
            ),
            identity(
                "user/web".into(),
                11,
                JournalState::User(UserRecord {
                    created: 4,
                    policies: vec!["readwrite".into()],
                }),
            ),
            identity(
                "key/WEBKEY".into(),
                12,
                JournalState::Key(KeyRecord {
                    user: "web".into(),
                    sealed_secret: vec![1, 2, 3],
                    enabled: false,
                    created: 5,
                    expires: Some(6),
                    session: Some(crate::index::SessionKey {
                        policy: Some("{}".into()),
                        parent: Some("PARENT".into()),
                    }),
                }),
            ),
            identity(
                "policy/p".into(),
                13,
                JournalState::Policy("{\"a\":1}".into()),
            ),
            identity("user/gone".into(), 14, JournalState::Deleted),
        ];
        for e in &entries {
            let (id, bytes) = encode(e);
            assert_eq!(&decode(&id, &bytes).unwrap(), e);
        }
        // "b" + "ucket/k" and "bucket" + "/k" must not collide, nor buckets with objects, nor
        // a key's versions with each other or with its null version.
        assert_ne!(
            record_id(RecordKind::Object, "b", "ucket/k", 0),
            record_id(RecordKind::Object, "bucket", "/k", 0)
        );
        assert_ne!(
            record_id(RecordKind::Bucket, "b", "", 0),
            record_id(RecordKind::Object, "b", "", 0)
        );
        assert_ne!(
            record_id(RecordKind::Version, "b", "k", 1),
            record_id(RecordKind::Version, "b", "k", 2)
        );
        assert_ne!(
            record_id(RecordKind::Version, "b", "k", 0),
            record_id(RecordKind::Object, "b", "k", 0)
        );
        assert_ne!(
            record_id(RecordKind::Identity, "", "user/k", 0),
            record_id(RecordKind::Object, "", "user/k", 0)
        );
    }

    #[test]
    fn records_written_before_versioning_read_as_null_versions() {
        let wire = Wire::Object {
            bucket: "b".into(),
            key: "k".into(),
            version: 42,
            record: Box::new(record()),
            manifest: Manifest::inline(b"hi".to_vec(), 4096).encode(),
        };
        let id = record_id(RecordKind::Object, "b", "k", 0);
        let entry = decode(&id, &encode_record(&wire)).unwrap();
        let JournalState::Object(stamp, ..) = entry.state else {
            panic!("{:?}", entry.state);
        };
        assert_eq!(stamp, VersionStamp::new(42, true));
        let wire = Wire::Bucket {
            name: "b".into(),
            version: 1,
            record: BucketRecord {
                created: 1,
                region: String::new(),
            },
        };
        let id = record_id(RecordKind::Bucket, "b", "", 0);
        let entry = decode(&id, &encode_record(&wire)).unwrap();
        assert!(
            matches!(entry.state, JournalState::Bucket(_, s) if s == BucketSettings::default())
        );
    }

    /// A node's copy of a bucket record written before lifecycle rules carried expirations
    /// reads back with its abort rule; a record written now carries the new rules.
    #[test]
    fn bucket_configurations_of_both_layouts_read_back() {
        let old_rule = crate::index::LegacyLifecycleRule {
            id: "abort".into(),
            enabled: true,
            abort_upload_days: Some(3),
            ..Default::default()
        };
        let wire = Wire::GuardedBucket {
            name: "b".into(),
            version: 7,
            record: BucketRecord {
                created: 1,
                region: String::new(),
            },
            settings: BucketSettings::default(),
            lock: None,
            access: BucketAccess::default(),
            config: LegacyBucketConfig {
                lifecycle: Some(vec![old_rule]),
                ..Default::default()
            },
        };
        let id = record_id(RecordKind::Bucket, "b", "", 0);
        let entry = decode(&id, &encode_record(&wire)).unwrap();
        let JournalState::Bucket(_, settings) = &entry.state else {
            panic!("{:?}", entry.state);
        };
        let rules = settings.config.clone().unwrap().lifecycle.unwrap();
        assert_eq!(rules[0].abort_upload_days, Some(3));
        assert_eq!(rules[0].expiration, None);

        let mut config = settings.config.clone().unwrap();
        config.lifecycle = Some(vec![crate::index::LifecycleRule {
            id: "expire".into(),
            enabled: true,
            expiration: Some(crate::index::Expiration::Days(5)),
            ..Default::default()
        }]);
        let mut new = entry.clone();
        new.state = JournalState::Bucket(
            BucketRecord {
                created: 1,
                region: String::new(),
            },
            BucketSettings {
                config: Some(config.clone()),
                ..BucketSettings::default()
            },
        );
        let (id, bytes) = encode(&new);
        let back = decode(&id, &bytes).unwrap();
        assert!(
            matches!(&back.state, JournalState::Bucket(_, s) if s.config == Some(config.clone()))
        );
    }

    #[test]
    fn foreign_or_damaged_bytes_are_refused() {
        let (id, bytes) = encode(&object(VersionStamp::new(1, true)));
        let other = record_id(RecordKind::Object, "b", "elsewhere", 0);
        assert!(matches!(
            decode(&other, &bytes),
            Err(RecordDecodeError::WrongId)
        ));
        for cut in 0..bytes.len() {
            assert!(decode(&id, &bytes[..cut]).is_err());
        }
    }
}
