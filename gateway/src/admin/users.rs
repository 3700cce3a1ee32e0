//! The admin API's users, access keys and stored policies:
//!
//! | route | answer |
//! |---|---|
//! | `GET /admin/users` | [`UserLine`]s |
//! | `PUT /admin/users?name=N&policies=a,b` | [`UserLine`] (created or updated) |
//! | `DELETE /admin/users?name=N` | the name; its keys go with it |
//! | `POST /admin/keys?user=N` | [`NewKey`]: the only time the secret is shown |
//! | `GET /admin/keys?user=N` | [`KeyLine`]s (all users' without `user`) |
//! | `POST /admin/keys/state?key=K&enabled=B` | [`KeyLine`] |
//! | `DELETE /admin/keys?key=K` | the key id |
//! | `GET /admin/policies` | [`PolicyLine`]s, canned and stored |
//! | `PUT /admin/policies?name=N` (body: JSON) | [`PolicyLine`] |
//! | `DELETE /admin/policies?name=N` | the name |

use std::collections::HashMap;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::api::{AdminState, Failure, Reply, json};
use crate::access::{CANNED, PolicyKind, validate};
use crate::identity::{DirectoryError, NewKey};
use crate::index::{IndexError, UnixMillis};
use crate::objects::now_millis;

/// A user as `GET /admin/users` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLine {
    pub name: String,
    pub policies: Vec<String>,
    pub created: UnixMillis,
    pub keys: Vec<KeyLine>,
}

/// An access key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLine {
    pub access_key: String,
    pub user: String,
    pub enabled: bool,
    pub created: UnixMillis,
    pub expires: Option<UnixMillis>,
}

/// A policy by name: canned (built in) or stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyLine {
    pub name: String,
    pub canned: bool,
    /// The stored JSON (canned policies: none).
    pub document: Option<String>,
}

impl From<DirectoryError> for Failure {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Invalid(why) => Failure(StatusCode::BAD_REQUEST, why),
            DirectoryError::Index(e) => e.into(),
            e @ DirectoryError::NotReplicated(_) => {
                Failure(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
        }
    }
}

fn required<'a>(query: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Failure> {
    query
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Failure(StatusCode::BAD_REQUEST, format!("{name} is required")))
}

fn not_found(e: IndexError) -> Failure {
    match e {
        IndexError::NoSuchUser => Failure(StatusCode::NOT_FOUND, "no such user".into()),
        IndexError::NoSuchAccessKey => Failure(StatusCode::NOT_FOUND, "no such access key".into()),
        IndexError::AccessKeyExists => Failure(StatusCode::CONFLICT, e.to_string()),
        other => other.into(),
    }
}

/// The answer to an identity route, or `None` if `path` is not one.
pub(super) async fn route(
    state: &AdminState,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Option<Result<Reply, Failure>> {
    let answer = match (method.clone(), path) {
        (Method::GET, "/admin/users") => users(state).await.and_then(|u| json(&u)),
        (Method::PUT, "/admin/users") => put_user(state, query).await,
        (Method::DELETE, "/admin/users") => delete_user(state, query).await,
        (Method::POST, "/admin/keys") => create_key(state, query).await,
        (Method::GET, "/admin/keys") => keys(state, query.get("user")).await.and_then(|k| json(&k)),
        (Method::POST, "/admin/keys/state") => set_key_state(state, query).await,
        (Method::DELETE, "/admin/keys") => delete_key(state, query).await,
        (Method::GET, "/admin/policies") => policies(state).await,
        (Method::PUT, "/admin/policies") => put_policy(state, query, body).await,
        (Method::DELETE, "/admin/policies") => delete_policy(state, query).await,
        (_, "/admin/users" | "/admin/keys" | "/admin/keys/state" | "/admin/policies") => Err(
            Failure(StatusCode::METHOD_NOT_ALLOWED, "method not allowed".into()),
        ),
        _ => return None,
    };
    Some(answer)
}

async fn users(state: &AdminState) -> Result<Vec<UserLine>, Failure> {
    let index = state.directory.index().clone();
    let listed = index.call(|ix| ix.users()).await?;
    let mut out = Vec::with_capacity(listed.len());
    for (name, record) in listed {
        let keys = keys(state, Some(&name)).await?;
        out.push(UserLine {
            name,
            policies: record.policies,
            created: record.created,
            keys,
        });
    }
    Ok(out)
}

async fn put_user(state: &AdminState, query: &HashMap<String, String>) -> Result<Reply, Failure> {
    let name = required(query, "name")?.to_owned();
    let policies: Vec<String> = query
        .get("policies")
        .map(|p| {
            p.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    state
        .directory
        .put_user(&name, policies, now_millis())
        .await?;
    tracing::info!(user = name, "admin: user created or updated");
    let line = users(state)
        .await?
        .into_iter()
        .find(|u| u.name == name)
        .ok_or_else(|| Failure(StatusCode::CONFLICT, "user vanished".into()))?;
    json(&line)
}

async fn delete_user(
    state: &AdminState,
    query: &HashMap<String, String>,
) -> Result<Reply, Failure> {
    let name = required(query, "name")?.to_owned();
    let owned = name.clone();
    let index = state.directory.index().clone();
    index
        .call(move |ix| ix.delete_user(&owned))
        .await
        .map_err(not_found)?;
    state.directory.replicated().await?;
    tracing::info!(user = name, "admin: user deleted with its keys");
    json(&name)
}

async fn create_key(state: &AdminState, query: &HashMap<String, String>) -> Result<Reply, Failure> {
    let user = required(query, "user")?.to_owned();
    let expires = match query.get("expires_secs") {
        Some(v) => {
            let secs: i64 = v.parse().map_err(|_| {
                Failure(
                    StatusCode::BAD_REQUEST,
                    "expires_secs is not a number".into(),
                )
            })?;
            Some(now_millis() + secs.saturating_mul(1000))
        }
        None => None,
    };
    let key: NewKey = match state
        .directory
        .add_key(&user, None, now_millis(), expires)
        .await
    {
        Err(DirectoryError::Index(e)) => return Err(not_found(e)),
        other => other?,
    };
    tracing::info!(
        user,
        access_key = key.access_key,
        "admin: access key created"
    );
    json(&key)
}

async fn keys(state: &AdminState, user: Option<&String>) -> Result<Vec<KeyLine>, Failure> {
    let index = state.directory.index().clone();
    let user = user.cloned();
    let listed = index
        .call(move |ix| match user {
            Some(name) => ix.keys_of(&name),
            None => {
                let mut all = Vec::new();
                for (name, _) in ix.users()? {
                    all.extend(ix.keys_of(&name)?);
                }
                Ok(all)
            }
        })
        .await?;
    Ok(listed
        .into_iter()
        .map(|(access_key, k)| KeyLine {
            access_key,
            user: k.user,
            enabled: k.enabled,
            created: k.created,
            expires: k.expires,
        })
        .collect())
}

async fn set_key_state(
    state: &AdminState,
    query: &HashMap<String, String>,
) -> Result<Reply, Failure> {
    let key = required(query, "key")?.to_owned();
    let enabled = match required(query, "enabled")? {
        "true" => true,
        "false" => false,
        other => {
            return Err(Failure(
                StatusCode::BAD_REQUEST,
                format!("enabled must be true or false, not {other:?}"),
            ));
        }
    };
    let index = state.directory.index().clone();
    let id = key.clone();
    let record = index
        .call(move |ix| {
            ix.set_key_enabled(&id, enabled)?;
            ix.key(&id)?.ok_or(IndexError::NoSuchAccessKey)
        })
        .await
        .map_err(not_found)?;
    state.directory.replicated().await?;
    tracing::info!(access_key = key, enabled, "admin: access key state set");
    json(&KeyLine {
        access_key: key,
        user: record.user,
        enabled: record.enabled,
        created: record.created,
        expires: record.expires,
    })
}

async fn delete_key(state: &AdminState, query: &HashMap<String, String>) -> Result<Reply, Failure> {
    let key = required(query, "key")?.to_owned();
    let id = key.clone();
    let index = state.directory.index().clone();
    index
        .call(move |ix| ix.delete_key(&id))
        .await
        .map_err(not_found)?;
    state.directory.replicated().await?;
    tracing::info!(access_key = key, "admin: access key deleted");
    json(&key)
}

async fn policies(state: &AdminState) -> Result<Reply, Failure> {
    let index = state.directory.index().clone();
    let stored = index
        .call(|ix| {
            let mut out = Vec::new();
            for name in ix.policy_names()? {
                let document = ix.policy(&name)?;
                out.push((name, document));
            }
            Ok(out)
        })
        .await?;
    let mut lines: Vec<PolicyLine> = CANNED
        .iter()
        .map(|name| PolicyLine {
            name: (*name).to_owned(),
            canned: true,
            document: None,
        })
        .collect();
    lines.extend(stored.into_iter().map(|(name, document)| PolicyLine {
        name,
        canned: false,
        document,
    }));
    json(&lines)
}

async fn put_policy(
    state: &AdminState,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<Reply, Failure> {
    let name = required(query, "name")?.to_owned();
    let bad = |why: String| Failure(StatusCode::BAD_REQUEST, why);
    if CANNED.contains(&name.as_str()) {
        return Err(bad(format!("{name} is a canned policy")));
    }
    let text = std::str::from_utf8(body).map_err(|_| bad("the policy is not UTF-8".into()))?;
    let policy = serde_json::from_str(text).map_err(|e| bad(format!("malformed policy: {e}")))?;
    validate(&policy, PolicyKind::Identity).map_err(bad)?;
    let (owned, document) = (name.clone(), text.to_owned());
    let index = state.directory.index().clone();
    index
        .call(move |ix| ix.put_policy(&owned, &document))
        .await?;
    state.directory.replicated().await?;
    tracing::info!(policy = name, "admin: policy stored");
    json(&PolicyLine {
        name,
        canned: false,
        document: Some(text.to_owned()),
    })
}

async fn delete_policy(
    state: &AdminState,
    query: &HashMap<String, String>,
) -> Result<Reply, Failure> {
    let name = required(query, "name")?.to_owned();
    let owned = name.clone();
    let index = state.directory.index().clone();
    if !index.call(move |ix| ix.delete_policy(&owned)).await? {
        return Err(Failure(StatusCode::NOT_FOUND, "no such policy".into()));
    }
    state.directory.replicated().await?;
    tracing::info!(policy = name, "admin: policy deleted");
    json(&name)
}
