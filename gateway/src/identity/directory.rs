//! The directory of who may sign: the root key from the config, and the users and access keys
//! in the index, whose secrets it opens for signature checks and seals when keys are made.
//!
//! Nothing here is cached: every request reads its key from the index, so a key disabled or
//! deleted through any gateway is refused by every gateway on its next request.

use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};
use s3s_policy::model::Policy;

use super::seal::Sealer;
use crate::access::canned;
use crate::index::{Index, IndexError, KeyRecord, SessionKey, UnixMillis, UserRecord};
use crate::objects::Replication;

pub use crate::index::ROOT_USER;

/// Who signed with an access key, and the secret to check the signature with.
#[derive(Clone)]
pub struct Signer {
    /// `None`: the root key (or a session of it).
    pub user: Option<String>,
    pub secret: String,
    /// Set for an STS session's key: its token must come with each request.
    pub session: Option<SessionKey>,
}

/// Why a user or key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the change is saved but not yet on the storage nodes: {0}")]
    NotReplicated(String),
}

/// The root key, and the index's users and keys.
pub struct Directory {
    index: Arc<Index>,
    /// Changes wait until the nodes hold them (a rebuilt index keeps them).
    replication: Arc<dyn Replication>,
    root_key: String,
    root_secret: String,
    sealer: Sealer,
    /// Derives STS session tokens from key ids.
    token_key: [u8; 32],
    rng: SystemRandom,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("root_key", &self.root_key)
            .finish_non_exhaustive()
    }
}

/// A user name: 1 to 64 characters of letters, digits and `+=,.@_-` (as IAM allows), not
/// `root`.
pub fn check_user_name(name: &str) -> Result<(), DirectoryError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        && name != ROOT_USER;
    match ok {
        true => Ok(()),
        false => Err(DirectoryError::Invalid(format!(
            "user name {name:?}: 1 to 64 letters, digits or +=,.@_- and not {ROOT_USER:?}"
        ))),
    }
}

/// An access key id: 3 to 128 letters and digits.
pub fn check_access_key_id(id: &str) -> Result<(), DirectoryError> {
    match (3..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        true => Ok(()),
        false => Err(DirectoryError::Invalid(format!(
            "access key id {id:?}: 3 to 128 letters and digits"
        ))),
    }
}

/// A new key pair as `floe admin key create` hands it out.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NewKey {
    pub user: String,
    pub access_key: String,
    pub secret_key: String,
    pub expires: Option<UnixMillis>,
}

impl Directory {
    pub fn new(
        index: Arc<Index>,
        replication: Arc<dyn Replication>,
        root_key: &str,
        root_secret: &str,
        seal_secret: &str,
    ) -> Self {
        Self {
            index,
            replication,
            root_key: root_key.to_owned(),
            root_secret: root_secret.to_owned(),
            sealer: Sealer::new(seal_secret),
            token_key: blake3::derive_key(
                "floe 2026-12 sts session tokens v1",
                seal_secret.as_bytes(),
            ),
            rng: SystemRandom::new(),
        }
    }

    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// Returns once every change made so far is held by the nodes' records.
    pub async fn replicated(&self) -> Result<(), DirectoryError> {
        self.replication
            .replicated()
            .await
            .map_err(|e| DirectoryError::NotReplicated(e.to_string()))
    }

    pub fn is_root_key(&self, access_key: &str) -> bool {
        access_key == self.root_key
    }

    /// Who signs with `access_key`, if it is the root key or an enabled, unexpired key whose
    /// secret opens. `now` decides expiry.
    pub async fn signer(
        &self,
        access_key: &str,
        now: UnixMillis,
    ) -> Result<Option<Signer>, IndexError> {
        if self.is_root_key(access_key) {
            return Ok(Some(Signer {
                user: None,
                secret: self.root_secret.clone(),
                session: None,
            }));
        }
        let id = access_key.to_owned();
        let Some(record) = self.index.call(move |ix| ix.key(&id)).await? else {
            return Ok(None);
        };
        if record.expires.is_some_and(|end| end <= now) {
            // An expired key never signs again: clear it out on the way (best effort).
            let id = access_key.to_owned();
            let _ = self.index.call(move |ix| ix.delete_key(&id)).await;
            return Ok(None);
        }
        if !record.enabled {
            return Ok(None);
        }
        // A session lives only as long as the key that asked for it stays usable.
        if let Some(parent) = record.session.as_ref().and_then(|s| s.parent.clone()) {
            let usable = self
                .index
                .call(move |ix| ix.key(&parent))
                .await?
                .is_some_and(|p| p.enabled && p.expires.is_none_or(|end| end > now));
            if !usable {
                return Ok(None);
            }
        }
        let Some(secret) = self.sealer.open(access_key, &record.sealed_secret) else {
            // Sealed under another seal_secret, or damaged: the key cannot be checked.
            tracing::warn!(
                access_key,
                "access key secret does not open: check seal_secret"
            );
            return Ok(None);
        };
        let user = (record.user != ROOT_USER).then_some(record.user);
        Ok(Some(Signer {
            user,
            secret,
            session: record.session,
        }))
    }

    /// The session token of STS key `access_key`: derived from the id under the sealing
    /// secret, so any gateway of the cluster can check it without storing it.
    pub fn session_token(&self, access_key: &str) -> String {
        let mut token = String::from("FST1");
        token.push_str(&blake3::keyed_hash(&self.token_key, access_key.as_bytes()).to_hex());
        token
    }

    /// Temporary credentials for the signer of `parent` (the root key, or an enabled permanent
    /// key) for `seconds`, never past the parent's own expiry, narrowed by `policy`, as STS
    /// AssumeRole hands them out: the key, its secret and its session token.
    pub async fn assume_role(
        &self,
        parent: &str,
        seconds: i64,
        policy: Option<String>,
        now: UnixMillis,
    ) -> Result<(NewKey, String), DirectoryError> {
        let mut expires = now + seconds * 1000;
        let (user, parent) = if self.is_root_key(parent) {
            (ROOT_USER.to_owned(), None)
        } else {
            let id = parent.to_owned();
            let record = self
                .index
                .call(move |ix| ix.key(&id))
                .await?
                .filter(|k| k.enabled && k.expires.is_none_or(|end| end > now))
                .ok_or_else(|| DirectoryError::Invalid("the calling key is not usable".into()))?;
            if record.session.is_some() {
                return Err(DirectoryError::Invalid(
                    "temporary credentials cannot assume a role".into(),
                ));
            }
            if let Some(end) = record.expires {
                expires = expires.min(end);
            }
            (record.user, Some(parent.to_owned()))
        };
        let session = SessionKey { policy, parent };
        let key = self
            .make_key(&user, None, now, Some(expires), Some(session))
            .await?;
        let token = self.session_token(&key.access_key);
        Ok((key, token))
    }

    /// User `name`'s identity policies, parsed: canned ones by name, else stored ones. A name
    /// that is neither grants nothing (and is logged).
    pub async fn policies_of(&self, name: &str) -> Result<Vec<Policy>, IndexError> {
        let owned = name.to_owned();
        let names = match self.index.call(move |ix| ix.user(&owned)).await? {
            Some(user) => user.policies,
            None => return Ok(Vec::new()),
        };
        self.resolve_policies(&names).await
    }

    /// The policies `names` name, parsed.
    pub async fn resolve_policies(&self, names: &[String]) -> Result<Vec<Policy>, IndexError> {
        let mut out = Vec::with_capacity(names.len());
        for policy in names {
            if let Some(p) = canned(policy) {
                out.push(p);
                continue;
            }
            let owned = policy.clone();
            let stored = self.index.call(move |ix| ix.policy(&owned)).await?;
            match stored.as_deref().map(serde_json::from_str::<Policy>) {
                Some(Ok(p)) => out.push(p),
                _ => tracing::warn!(policy, "unknown or unreadable policy grants nothing"),
            }
        }
        Ok(out)
    }

    /// Whether user `name` is an admin (has the `admin` policy).
    pub async fn is_admin(&self, name: &str) -> Result<bool, IndexError> {
        let owned = name.to_owned();
        let user = self.index.call(move |ix| ix.user(&owned)).await?;
        Ok(user.is_some_and(|u| u.policies.iter().any(|p| p == "admin")))
    }

    /// Checks that every name in `policies` is canned or stored.
    pub async fn check_policy_names(&self, policies: &[String]) -> Result<(), DirectoryError> {
        for name in policies {
            if canned(name).is_some() {
                continue;
            }
            let owned = name.clone();
            if self
                .index
                .call(move |ix| ix.policy(&owned))
                .await?
                .is_none()
            {
                return Err(DirectoryError::Invalid(format!("no policy named {name:?}")));
            }
        }
        Ok(())
    }

    /// Creates or updates user `name` with `policies`; whether it was created.
    pub async fn put_user(
        &self,
        name: &str,
        policies: Vec<String>,
        now: UnixMillis,
    ) -> Result<bool, DirectoryError> {
        check_user_name(name)?;
        self.check_policy_names(&policies).await?;
        let owned = name.to_owned();
        let created = self
            .index
            .call(move |ix| {
                let created = ix.user(&owned)?.map_or(now, |u| u.created);
                ix.put_user(&owned, &UserRecord { created, policies })
            })
            .await?;
        self.replicated().await?;
        Ok(created)
    }

    /// A new key for user `user`: a random id and secret, or `fixed` ones (from the config);
    /// with an expiry for temporary keys.
    pub async fn add_key(
        &self,
        user: &str,
        fixed: Option<(&str, &str)>,
        now: UnixMillis,
        expires: Option<UnixMillis>,
    ) -> Result<NewKey, DirectoryError> {
        if user == ROOT_USER {
            return Err(DirectoryError::Invalid(
                "the root key is set in the config".into(),
            ));
        }
        self.make_key(user, fixed, now, expires, None).await
    }

    async fn make_key(
        &self,
        user: &str,
        fixed: Option<(&str, &str)>,
        now: UnixMillis,
        expires: Option<UnixMillis>,
        session: Option<SessionKey>,
    ) -> Result<NewKey, DirectoryError> {
        let (access_key, secret_key) = match fixed {
            Some((id, secret)) => (id.to_owned(), secret.to_owned()),
            None => (self.random("FK", 18)?, self.random("", 40)?),
        };
        check_access_key_id(&access_key)?;
        if self.is_root_key(&access_key) {
            return Err(DirectoryError::Invalid("that is the root key's id".into()));
        }
        let sealed_secret = self
            .sealer
            .seal(&access_key, &secret_key)
            .map_err(|e| DirectoryError::Invalid(e.to_string()))?;
        let record = KeyRecord {
            user: user.to_owned(),
            sealed_secret,
            enabled: true,
            created: now,
            expires,
            session,
        };
        let id = access_key.clone();
        self.index.call(move |ix| ix.add_key(&id, &record)).await?;
        self.replicated().await?;
        Ok(NewKey {
            user: user.to_owned(),
            access_key,
            secret_key,
            expires,
        })
    }

    /// Creates or updates the users of `[[users]]` with their keys, as declared: a key whose
    /// secret changed is replaced, one that belongs to another user moves.
    pub async fn apply_declared(
        &self,
        users: &[crate::runtime::config::DeclaredUser],
        now: UnixMillis,
    ) -> Result<(), DirectoryError> {
        for user in users {
            self.put_user(&user.name, user.policies.clone(), now)
                .await?;
            let id = user.access_key.clone();
            let existing = self.index.call(move |ix| ix.key(&id)).await?;
            let current = existing.as_ref().is_some_and(|k| {
                k.user == user.name
                    && k.enabled
                    && self
                        .sealer
                        .open(&user.access_key, &k.sealed_secret)
                        .as_deref()
                        == Some(user.secret_key.as_str())
            });
            if current {
                continue;
            }
            if existing.is_some() {
                let id = user.access_key.clone();
                self.index.call(move |ix| ix.delete_key(&id)).await?;
            }
            self.add_key(
                &user.name,
                Some((&user.access_key, &user.secret_key)),
                now,
                None,
            )
            .await?;
            tracing::info!(
                user = user.name,
                access_key = user.access_key,
                "declared user's key set"
            );
        }
        Ok(())
    }

    /// `prefix` and `len` random characters from A-Z and 2-7 (ids) or base62 (secrets).
    fn random(&self, prefix: &str, len: usize) -> Result<String, DirectoryError> {
        let alphabet: &[u8] = match prefix.is_empty() {
            false => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
            true => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        };
        let mut bytes = vec![0u8; len];
        self.rng
            .fill(&mut bytes)
            .map_err(|_| DirectoryError::Invalid("no randomness".into()))?;
        let mut out = prefix.to_owned();
        // 256 is a multiple of 32; for 62 the bias (under 2%) does not weaken a 238-bit secret.
        out.extend(
            bytes
                .iter()
                .map(|b| alphabet[*b as usize % alphabet.len()] as char),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::temp_index;
    use crate::objects::NotReplicated;

    fn directory(index: Index) -> Directory {
        Directory::new(
            Arc::new(index),
            Arc::new(NotReplicated),
            "ROOTKEY",
            "root-secret",
            "seal",
        )
    }

    /// A session lives within its parent key: refused once the parent is disabled or deleted,
    /// never longer than the parent, never a parent itself; a disabled or expired key never
    /// signs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_are_bound_to_the_key_that_asked() {
        let (_dir, index) = temp_index();
        let dir = directory(index);
        let now = 1_000_000;
        dir.put_user("app", vec!["readonly".into()], now)
            .await
            .unwrap();
        let parent = dir
            .add_key("app", None, now, Some(now + 600_000))
            .await
            .unwrap();
        let (session, token) = dir
            .assume_role(&parent.access_key, 3_600, None, now)
            .await
            .unwrap();
        assert_eq!(session.user, "app");
        assert_eq!(
            session.expires,
            Some(now + 600_000),
            "capped at the parent's expiry"
        );
        assert_eq!(token, dir.session_token(&session.access_key));
        let signer = dir.signer(&session.access_key, now).await.unwrap().unwrap();
        assert_eq!(signer.user.as_deref(), Some("app"));
        assert_eq!(signer.secret, session.secret_key);
        assert!(signer.session.is_some());
        assert!(
            dir.assume_role(&session.access_key, 900, None, now)
                .await
                .is_err(),
            "sessions cannot start sessions"
        );

        let parent_id = parent.access_key.clone();
        let ix = dir.index().clone();
        ix.call(move |ix| ix.set_key_enabled(&parent_id, false))
            .await
            .unwrap();
        assert!(dir.signer(&parent.access_key, now).await.unwrap().is_none());
        assert!(
            dir.signer(&session.access_key, now)
                .await
                .unwrap()
                .is_none(),
            "a disabled parent ends its sessions"
        );
        assert!(
            dir.assume_role(&parent.access_key, 900, None, now)
                .await
                .is_err()
        );
        let parent_id = parent.access_key.clone();
        ix.call(move |ix| ix.set_key_enabled(&parent_id, true))
            .await
            .unwrap();
        assert!(
            dir.signer(&session.access_key, now)
                .await
                .unwrap()
                .is_some()
        );
        // Past its expiry, a key is refused and cleared away.
        let later = now + 600_001;
        assert!(
            dir.signer(&session.access_key, later)
                .await
                .unwrap()
                .is_none()
        );
        let id = session.access_key.clone();
        assert!(ix.call(move |ix| ix.key(&id)).await.unwrap().is_none());

        // The root key's sessions belong to no user and need no parent record.
        let (root_session, _) = dir.assume_role("ROOTKEY", 900, None, now).await.unwrap();
        assert_eq!(root_session.expires, Some(now + 900_000));
        let signer = dir
            .signer(&root_session.access_key, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(signer.user, None);
        assert!(signer.session.is_some());
    }
}
