//! How users, access keys and stored policies reach the storage nodes, so that a rebuilt index
//! gets them back: each is a journal entry of kind `Identity`, keyed `user/NAME`, `key/ID` or
//! `policy/NAME`, published like a bucket's record and restored the same way (newer wins, a
//! tombstone deletes). Key secrets travel sealed, as the index keeps them.

use super::journal::{JournalState, RecordKind, note_change};
use super::kv::bound::ReadCell;
use super::store::{ACCESS_KEYS, POLICIES, Tables, USERS, decode};
use super::{IndexError, KeyRecord, UserRecord, encode_record};

/// What an `Identity` journal entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Identity<'a> {
    User(&'a str),
    Key(&'a str),
    Policy(&'a str),
}

impl<'a> Identity<'a> {
    /// The journal key.
    pub fn key(self) -> String {
        match self {
            Self::User(name) => format!("user/{name}"),
            Self::Key(id) => format!("key/{id}"),
            Self::Policy(name) => format!("policy/{name}"),
        }
    }

    pub fn parse(key: &'a str) -> Result<Self, IndexError> {
        match key.split_once('/') {
            Some(("user", name)) => Ok(Self::User(name)),
            Some(("key", id)) => Ok(Self::Key(id)),
            Some(("policy", name)) => Ok(Self::Policy(name)),
            _ => Err(IndexError::Corrupt(format!("identity journal key {key:?}"))),
        }
    }
}

/// Queues `what` for publication: changed (`live`) or deleted.
pub(super) fn note_identity(
    t: &mut Tables<'_>,
    what: Identity<'_>,
    live: bool,
) -> Result<(), IndexError> {
    note_change(t, RecordKind::Identity, "", &what.key(), live).map(|_| ())
}

/// The current state of identity entry `key`, read from snapshot `txn`.
pub(super) fn identity_state(txn: &ReadCell, key: &str) -> Result<JournalState, IndexError> {
    Ok(match Identity::parse(key)? {
        Identity::User(name) => match txn.open_table(USERS)?.get(name)? {
            Some(v) => JournalState::User(decode(format_args!("user {name}"), v.value())?),
            None => JournalState::Deleted,
        },
        Identity::Key(id) => match txn.open_table(ACCESS_KEYS)?.get(id)? {
            Some(v) => JournalState::Key(decode(format_args!("access key {id}"), v.value())?),
            None => JournalState::Deleted,
        },
        Identity::Policy(name) => match txn.open_table(POLICIES)?.get(name)? {
            Some(v) => JournalState::Policy(String::from_utf8_lossy(v.value()).into_owned()),
            None => JournalState::Deleted,
        },
    })
}

/// Puts restored identity entry `key` in place (or removes it, for a tombstone).
pub(super) fn restore_identity(
    t: &mut Tables<'_>,
    key: &str,
    state: &JournalState,
) -> Result<(), IndexError> {
    match (Identity::parse(key)?, state) {
        (Identity::User(name), JournalState::User(record)) => {
            t.users
                .insert(name, encode_record::<UserRecord>(record).as_slice())?;
        }
        (Identity::User(name), JournalState::Deleted) => {
            t.users.remove(name)?;
        }
        (Identity::Key(id), JournalState::Key(record)) => {
            t.access_keys
                .insert(id, encode_record::<KeyRecord>(record).as_slice())?;
            t.user_keys.insert((record.user.as_str(), id), ())?;
        }
        (Identity::Key(id), JournalState::Deleted) => {
            if let Some(old) = t.access_keys.remove(id)? {
                let record: KeyRecord = decode(format_args!("access key {id}"), old.value())?;
                drop(old);
                t.user_keys.remove((record.user.as_str(), id))?;
            }
        }
        (Identity::Policy(name), JournalState::Policy(json)) => {
            t.policies.insert(name, json.as_bytes())?;
        }
        (Identity::Policy(name), JournalState::Deleted) => {
            t.policies.remove(name)?;
        }
        (_, other) => {
            return Err(IndexError::Corrupt(format!(
                "identity entry {key:?} holds {other:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::index::testkit::*;
    use crate::index::{BucketAccess, CannedAcl, JournalState, KeyRecord, RecordKind, UserRecord};

    fn key(user: &str) -> KeyRecord {
        KeyRecord {
            user: user.into(),
            sealed_secret: vec![9; 40],
            enabled: true,
            created: 2,
            expires: None,
            session: None,
        }
    }

    /// Everything of access control a lost index needs comes back from the journal: users,
    /// keys (disabled ones stay disabled), stored policies, and buckets' owners, policies and
    /// ACLs; deletions come back as deletions.
    #[test]
    fn users_keys_policies_and_bucket_access_survive_a_restore() {
        let (_dir, source) = temp_index();
        source.create_bucket("site", &bucket_record()).unwrap();
        let user = |p: &str| UserRecord {
            created: 1,
            policies: vec![p.into()],
        };
        source.put_user("web", &user("alpha-rw")).unwrap();
        source.put_user("gone", &user("readonly")).unwrap();
        source.add_key("WEBKEY", &key("web")).unwrap();
        source.add_key("WEBKEY2", &key("web")).unwrap();
        source.add_key("GONEKEY", &key("gone")).unwrap();
        source.set_key_enabled("WEBKEY2", false).unwrap();
        source.put_policy("alpha-rw", "{\"Statement\":[]}").unwrap();
        source.put_policy("old", "{}").unwrap();
        source.delete_policy("old").unwrap();
        source
            .update_bucket_access("site", |a| {
                a.owner = Some("web".into());
                a.policy = Some("{\"p\":1}".into());
                a.acl = CannedAcl::PublicRead;
                Ok(())
            })
            .unwrap();
        let entries = source.pending_records(100).unwrap();
        let identities = entries
            .iter()
            .filter(|e| e.kind == RecordKind::Identity)
            .count();
        assert_eq!(
            identities, 7,
            "2 users, 3 keys, a policy, a tombstone: {entries:?}"
        );
        // The deleted user and its key, after the first round was published.
        source.records_published(&published(&entries)).unwrap();
        source.delete_user("gone").unwrap();
        let later = source.pending_records(100).unwrap();
        assert!(later.iter().all(|e| e.state == JournalState::Deleted));
        assert_eq!(later.len(), 2);

        let (_dir2, target) = temp_index();
        let counts = target.restore(&entries).unwrap();
        assert_eq!(counts.identities, 7);
        assert_eq!(target.user("web").unwrap(), Some(user("alpha-rw")));
        assert!(!target.key("WEBKEY2").unwrap().unwrap().enabled);
        let keys: Vec<String> = target
            .keys_of("web")
            .unwrap()
            .into_iter()
            .map(|k| k.0)
            .collect();
        assert_eq!(keys, ["WEBKEY", "WEBKEY2"]);
        assert_eq!(target.policy_names().unwrap(), ["alpha-rw"]);
        assert_eq!(
            target.bucket_access("site").unwrap(),
            BucketAccess {
                owner: Some("web".into()),
                policy: Some("{\"p\":1}".into()),
                acl: CannedAcl::PublicRead,
                public_block: None,
            }
        );
        let counts = target.restore(&later).unwrap();
        assert_eq!(counts.identities, 2);
        assert_eq!(target.user("gone").unwrap(), None);
        assert_eq!(target.key("GONEKEY").unwrap(), None);
        assert!(target.keys_of("gone").unwrap().is_empty());
        assert_eq!(target.pending_record_count().unwrap(), 0);
    }

    fn published(entries: &[crate::index::JournalEntry]) -> Vec<crate::index::Published> {
        entries
            .iter()
            .map(|e| (e.kind, e.bucket.clone(), e.key.clone(), e.seq, e.version))
            .collect()
    }
}
