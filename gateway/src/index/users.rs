//! Users and their access keys: who may sign requests, and with which policies.
//!
//! A user has a name and the names of its identity policies (canned or stored). Each access
//! key belongs to one user and holds its secret sealed (encrypted by the gateway before it gets
//! here: the index never sees a secret in the clear), whether it is enabled, and when it
//! expires (temporary keys). `user_keys` lists a user's keys, so deleting a user deletes them.
//! Every change is journaled for the nodes (`users_journal`).

use std::ops::Bound;

use serde::{Deserialize, Serialize};

use super::kv::bound::{BoundTable, Source};
use super::kv::key::Str;
use super::kv::table::Unit;
use super::store::{ACCESS_KEYS, USER_KEYS, USERS, decode};
use super::users_journal::{Identity, note_identity};
use super::{Index, IndexError, UnixMillis, encode_record};

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub created: UnixMillis,
    /// Names of its identity policies, canned (`readonly`, ...) or stored.
    pub policies: Vec<String>,
}

/// An access key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub user: String,
    /// The secret, sealed by the gateway (see `identity::seal`).
    pub sealed_secret: Vec<u8>,
    pub enabled: bool,
    pub created: UnixMillis,
    /// Temporary keys end here; `None` for a permanent key.
    pub expires: Option<UnixMillis>,
    /// Set on the keys of an STS session (AssumeRole): they need its session token, and its
    /// policy, if any, narrows what the user may do.
    pub session: Option<SessionKey>,
}

/// What an STS session adds to its temporary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionKey {
    /// The session policy's JSON.
    pub policy: Option<String>,
    /// The key that asked for the session (`None`: the root key): disabling or deleting it ends
    /// the session too.
    pub parent: Option<String>,
}

/// The user name the root key's own session keys belong to. It has no user record: the root
/// key comes from the config.
pub const ROOT_USER: &str = "root";

/// The ids of user `name`'s access keys, in order; on a snapshot or in a transaction.
fn key_ids<C: Source + ?Sized>(
    user_keys: &BoundTable<'_, (Str, Str), Unit, C>,
    name: &str,
) -> Result<Vec<String>, IndexError> {
    let mut out = Vec::new();
    for entry in user_keys.range((Bound::Included((name, "")), Bound::Unbounded))? {
        let (k, _) = entry?;
        let (user, key) = k.value();
        if user != name {
            break;
        }
        out.push(key.to_owned());
    }
    Ok(out)
}

impl Index {
    /// Creates or updates user `name`; whether it was created.
    pub fn put_user(&self, name: &str, record: &UserRecord) -> Result<bool, IndexError> {
        self.write(|t| {
            let created = t.users.get(name)?.is_none();
            t.users.insert(name, encode_record(record).as_slice())?;
            note_identity(t, Identity::User(name), true)?;
            Ok(created)
        })
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRecord>, IndexError> {
        let txn = self.read()?;
        let users = txn.open_table(USERS)?;
        let stored = users.get(name)?;
        stored
            .map(|v| decode(format_args!("user {name}"), v.value()))
            .transpose()
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<(String, UserRecord)>, IndexError> {
        let txn = self.read()?;
        let users = txn.open_table(USERS)?;
        let mut out = Vec::new();
        for entry in users.range(..)? {
            let (name, value) = entry?;
            let name = name.value().to_owned();
            let record = decode(format_args!("user {name}"), value.value())?;
            out.push((name, record));
        }
        Ok(out)
    }

    /// Deletes user `name` and every key of it; `NoSuchUser` if there is none.
    pub fn delete_user(&self, name: &str) -> Result<(), IndexError> {
        self.write(|t| {
            if t.users.remove(name)?.is_none() {
                return Err(IndexError::NoSuchUser);
            }
            note_identity(t, Identity::User(name), false)?;
            for key in key_ids(&t.user_keys, name)? {
                t.user_keys.remove((name, key.as_str()))?;
                t.access_keys.remove(key.as_str())?;
                note_identity(t, Identity::Key(&key), false)?;
            }
            Ok(())
        })
    }

    /// Adds access key `access_key` to its user; `NoSuchUser` if the user is absent (the root
    /// user, for session keys, is always there), `AccessKeyExists` if the key id is taken.
    pub fn add_key(&self, access_key: &str, record: &KeyRecord) -> Result<(), IndexError> {
        self.write(|t| {
            if record.user != ROOT_USER && t.users.get(record.user.as_str())?.is_none() {
                return Err(IndexError::NoSuchUser);
            }
            if t.access_keys.get(access_key)?.is_some() {
                return Err(IndexError::AccessKeyExists);
            }
            t.access_keys
                .insert(access_key, encode_record(record).as_slice())?;
            t.user_keys.insert((record.user.as_str(), access_key), ())?;
            note_identity(t, Identity::Key(access_key), true)?;
            Ok(())
        })
    }

    pub fn key(&self, access_key: &str) -> Result<Option<KeyRecord>, IndexError> {
        let txn = self.read()?;
        let keys = txn.open_table(ACCESS_KEYS)?;
        let stored = keys.get(access_key)?;
        stored
            .map(|v| decode(format_args!("access key {access_key}"), v.value()))
            .transpose()
    }

    /// The keys of user `name`, by key id.
    pub fn keys_of(&self, name: &str) -> Result<Vec<(String, KeyRecord)>, IndexError> {
        let txn = self.read()?;
        let user_keys = txn.open_table(USER_KEYS)?;
        let keys = txn.open_table(ACCESS_KEYS)?;
        let mut out = Vec::new();
        for key in key_ids(&user_keys, name)? {
            let stored = keys.get(key.as_str())?.ok_or_else(|| {
                IndexError::Corrupt(format!("user {name} lists access key {key}, which is gone"))
            })?;
            let record = decode(format_args!("access key {key}"), stored.value())?;
            out.push((key, record));
        }
        Ok(out)
    }

    /// Enables or disables access key `access_key`; `NoSuchAccessKey` if there is none.
    pub fn set_key_enabled(&self, access_key: &str, enabled: bool) -> Result<(), IndexError> {
        self.write(|t| {
            let stored = t
                .access_keys
                .get(access_key)?
                .ok_or(IndexError::NoSuchAccessKey)?;
            let mut record: KeyRecord =
                decode(format_args!("access key {access_key}"), stored.value())?;
            drop(stored);
            record.enabled = enabled;
            t.access_keys
                .insert(access_key, encode_record(&record).as_slice())?;
            note_identity(t, Identity::Key(access_key), true)?;
            Ok(())
        })
    }

    /// Deletes access key `access_key`; `NoSuchAccessKey` if there is none.
    pub fn delete_key(&self, access_key: &str) -> Result<(), IndexError> {
        self.write(|t| {
            let stored = t
                .access_keys
                .remove(access_key)?
                .ok_or(IndexError::NoSuchAccessKey)?;
            let record: KeyRecord =
                decode(format_args!("access key {access_key}"), stored.value())?;
            drop(stored);
            t.user_keys.remove((record.user.as_str(), access_key))?;
            note_identity(t, Identity::Key(access_key), false)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::temp_index;

    fn user(policies: &[&str]) -> UserRecord {
        UserRecord {
            created: 1,
            policies: policies.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn key(user: &str, sealed: &[u8]) -> KeyRecord {
        KeyRecord {
            user: user.into(),
            sealed_secret: sealed.to_vec(),
            enabled: true,
            created: 2,
            expires: None,
            session: None,
        }
    }

    #[test]
    fn users_and_keys_live_and_die_together() {
        let (_dir, index) = temp_index();
        assert!(index.put_user("backup", &user(&["writeonly"])).unwrap());
        assert!(
            !index
                .put_user("backup", &user(&["writeonly", "readonly"]))
                .unwrap()
        );
        index.put_user("web", &user(&["readwrite"])).unwrap();
        assert_eq!(
            index.user("backup").unwrap().unwrap().policies,
            ["writeonly", "readonly"]
        );
        index.add_key("BACKUPKEY1", &key("backup", b"s1")).unwrap();
        index.add_key("BACKUPKEY2", &key("backup", b"s2")).unwrap();
        index.add_key("WEBKEY", &key("web", b"s3")).unwrap();
        assert!(matches!(
            index.add_key("WEBKEY", &key("backup", b"x")),
            Err(IndexError::AccessKeyExists)
        ));
        assert!(matches!(
            index.add_key("K", &key("nobody", b"x")),
            Err(IndexError::NoSuchUser)
        ));
        let names: Vec<_> = index
            .keys_of("backup")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(names, ["BACKUPKEY1", "BACKUPKEY2"]);

        index.set_key_enabled("BACKUPKEY1", false).unwrap();
        assert!(!index.key("BACKUPKEY1").unwrap().unwrap().enabled);
        index.delete_key("BACKUPKEY2").unwrap();
        assert!(index.key("BACKUPKEY2").unwrap().is_none());
        assert!(matches!(
            index.delete_key("BACKUPKEY2"),
            Err(IndexError::NoSuchAccessKey)
        ));

        index.delete_user("backup").unwrap();
        assert!(index.user("backup").unwrap().is_none());
        assert!(
            index.key("BACKUPKEY1").unwrap().is_none(),
            "its keys went with it"
        );
        assert_eq!(index.key("WEBKEY").unwrap().unwrap().user, "web");
        let users: Vec<_> = index.users().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(users, ["web"]);
        assert!(matches!(
            index.delete_user("backup"),
            Err(IndexError::NoSuchUser)
        ));
    }
}
