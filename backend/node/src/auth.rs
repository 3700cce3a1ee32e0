//! Request signing with the cluster secret: what is signed, how, and how a node checks it.
//!
//! Every request except `/v1/health` carries `x-floe-date` (unix seconds) and
//! `x-floe-signature = hex(HMAC-SHA256(secret, METHOD \n path_and_query \n date \n shard_hash))`.
//! A gateway's requests also name their cluster (`x-floe-cluster`) and, when they change
//! something, carry a nonce (`x-floe-nonce`); both are then signed too, appended as
//! `\n cluster \n nonce`. The node serves only its own cluster's requests (`membership`) and
//! each nonce once (`replay`), so a captured request cannot be replayed within the window.
//! The body is not in the MAC: a PUT body is bound to the signed `x-floe-shard-hash` header and
//! the node checks that hash against the bytes, so signing the body would only cost a second pass.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, StatusCode};
use sha2::Sha256;

use crate::protocol::{
    HEADER_CLUSTER, HEADER_DATE, HEADER_NONCE, HEADER_SHARD_HASH, HEADER_SIGNATURE,
};

/// How far a request's date may be from the node's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// The shared secret that gateway and nodes sign requests with. Cheap to clone; never printed.
/// Holds the keyed HMAC state rather than the raw key: the key schedule is computed once, and
/// there is nothing left that a stray `{:?}` could leak.
#[derive(Clone)]
pub struct ClusterSecret(Arc<HmacSha256>);

/// Why a secret or a request's credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("cluster secret must not be empty")]
    EmptySecret,
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("malformed {0} header")]
    Malformed(&'static str),
    #[error("request date is more than {MAX_CLOCK_SKEW_SECS} s away from the node's clock")]
    Stale,
    #[error("signature does not match")]
    BadSignature,
}

impl AuthError {
    /// 401 when the caller must (re)authenticate, 403 when it did and was wrong.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::BadSignature => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl ClusterSecret {
    pub fn from_bytes(bytes: impl AsRef<[u8]>) -> Result<Self, AuthError> {
        let bytes = bytes.as_ref();
        if bytes.is_empty() {
            return Err(AuthError::EmptySecret);
        }
        let mac = HmacSha256::new_from_slice(bytes).map_err(|_| AuthError::EmptySecret)?;
        Ok(Self(Arc::new(mac)))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::clone(&self.0)
    }
}

impl FromStr for ClusterSecret {
    type Err = AuthError;
    fn from_str(secret: &str) -> Result<Self, AuthError> {
        Self::from_bytes(secret)
    }
}

impl fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterSecret(<redacted>)")
    }
}

/// The cluster and nonce a request is signed with, when it names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope<'a> {
    pub cluster: Option<&'a str>,
    pub nonce: Option<&'a str>,
}

fn message(
    mac: &mut HmacSha256,
    method: &str,
    path_and_query: &str,
    date: &str,
    shard_hash: Option<&str>,
    scope: Scope<'_>,
) {
    for (i, part) in [method, path_and_query, date, shard_hash.unwrap_or("")]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            mac.update(b"\n");
        }
        mac.update(part.as_bytes());
    }
    // Absent for a bare node's requests, so their signatures stay what they were.
    if scope != Scope::default() {
        for part in [scope.cluster.unwrap_or(""), scope.nonce.unwrap_or("")] {
            mac.update(b"\n");
            mac.update(part.as_bytes());
        }
    }
}

/// Signs a request that names no cluster: returns the value of `x-floe-signature`.
pub fn sign(
    secret: &ClusterSecret,
    method: &str,
    path_and_query: &str,
    date: u64,
    shard_hash: Option<&str>,
) -> String {
    sign_scoped(
        secret,
        method,
        path_and_query,
        date,
        shard_hash,
        Scope::default(),
    )
}

/// Signs a request with its cluster and nonce.
pub fn sign_scoped(
    secret: &ClusterSecret,
    method: &str,
    path_and_query: &str,
    date: u64,
    shard_hash: Option<&str>,
    scope: Scope<'_>,
) -> String {
    let mut mac = secret.mac();
    message(
        &mut mac,
        method,
        path_and_query,
        &date.to_string(),
        shard_hash,
        scope,
    );
    hex::encode(mac.finalize().into_bytes())
}

/// What a verified request was signed for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    pub date: u64,
    pub cluster: Option<String>,
    pub nonce: Option<String>,
}

/// Current time in unix seconds (0 if the clock is before 1970, which then fails as stale).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Checks a request's date and signature against `secret` at time `now` (unix seconds), and
/// returns what it was signed for.
pub fn verify(
    secret: &ClusterSecret,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    now: u64,
) -> Result<Verified, AuthError> {
    let header = |name: &'static str| -> Result<Option<&str>, AuthError> {
        headers
            .get(name)
            .map(|v| v.to_str().map_err(|_| AuthError::Malformed(name)))
            .transpose()
    };
    let date_str = header(HEADER_DATE)?.ok_or(AuthError::Missing(HEADER_DATE))?;
    let signature = header(HEADER_SIGNATURE)?.ok_or(AuthError::Missing(HEADER_SIGNATURE))?;
    let shard_hash = header(HEADER_SHARD_HASH)?;
    let cluster = header(HEADER_CLUSTER)?;
    let nonce = header(HEADER_NONCE)?;

    if date_str.is_empty() || !date_str.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::Malformed(HEADER_DATE));
    }
    let date: u64 = date_str
        .parse()
        .map_err(|_| AuthError::Malformed(HEADER_DATE))?;
    if date.abs_diff(now) > MAX_CLOCK_SKEW_SECS {
        return Err(AuthError::Stale);
    }
    let tag = hex::decode(signature).map_err(|_| AuthError::BadSignature)?;
    let mut mac = secret.mac();
    // The date is MACed exactly as received, so no re-formatting can make two spellings equal.
    let scope = Scope { cluster, nonce };
    message(
        &mut mac,
        method,
        path_and_query,
        date_str,
        shard_hash,
        scope,
    );
    mac.verify_slice(&tag)
        .map_err(|_| AuthError::BadSignature)?;
    Ok(Verified {
        date,
        cluster: cluster.map(str::to_owned),
        nonce: nonce.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(date: u64, sig: &str, hash: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER_DATE, HeaderValue::from(date));
        h.insert(HEADER_SIGNATURE, HeaderValue::from_str(sig).unwrap());
        if let Some(hash) = hash {
            h.insert(HEADER_SHARD_HASH, HeaderValue::from_str(hash).unwrap());
        }
        h
    }

    #[test]
    fn signed_request_verifies() {
        let secret = ClusterSecret::from_str("s3cret").unwrap();
        let now = 1_700_000_000;
        let sig = sign(&secret, "PUT", "/v1/shards/a/1", now, Some("abc"));
        let h = headers(now, &sig, Some("abc"));
        assert_eq!(
            verify(&secret, "PUT", "/v1/shards/a/1", &h, now + 10).map(|v| v.date),
            Ok(now)
        );
        // Any signed part changed breaks it.
        assert_eq!(
            verify(&secret, "GET", "/v1/shards/a/1", &h, now),
            Err(AuthError::BadSignature)
        );
        let h2 = headers(now, &sig, Some("abd"));
        assert_eq!(
            verify(&secret, "PUT", "/v1/shards/a/1", &h2, now),
            Err(AuthError::BadSignature)
        );
        let other = ClusterSecret::from_str("other").unwrap();
        let err = verify(&other, "PUT", "/v1/shards/a/1", &h, now).unwrap_err();
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn stale_missing_and_malformed_are_401() {
        let secret = ClusterSecret::from_str("k").unwrap();
        let now = 1_700_000_000;
        let sig = sign(&secret, "GET", "/v1/stats", now - 600, None);
        let err = verify(
            &secret,
            "GET",
            "/v1/stats",
            &headers(now - 600, &sig, None),
            now,
        );
        assert_eq!(err, Err(AuthError::Stale));
        assert_eq!(
            verify(&secret, "GET", "/v1/stats", &HeaderMap::new(), now)
                .unwrap_err()
                .status(),
            StatusCode::UNAUTHORIZED
        );
        let mut h = headers(now, &sig, None);
        h.insert(HEADER_DATE, HeaderValue::from_static("+1700000000"));
        assert_eq!(
            verify(&secret, "GET", "/v1/stats", &h, now),
            Err(AuthError::Malformed(HEADER_DATE))
        );
    }

    #[test]
    fn secret_is_never_printed_and_never_empty() {
        let secret = ClusterSecret::from_str("hunter2").unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(
            ClusterSecret::from_bytes(b"").unwrap_err(),
            AuthError::EmptySecret
        );
    }
}
