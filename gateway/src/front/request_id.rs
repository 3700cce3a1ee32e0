//! `x-amz-request-id`: one id per request, on every response, in every log line of the request
//! and in the `<RequestId>` of error bodies.
//!
//! s3s 0.14 assigns no request id, so the service in front of it ([`super::S3Front`]) mints one
//! ([`IdSource`]), puts it in the request extensions (where handlers find it, see
//! [`RequestId::of`]), runs the request inside a tracing span carrying it, and stamps the
//! response header.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::Extensions;
use s3s::S3Error;

/// The id of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The id the wrapper put in the request, if the request came through it.
    pub(crate) fn of(extensions: &Extensions) -> Option<Self> {
        extensions.get::<Self>().cloned()
    }

    pub(crate) fn stamp(id: Option<&Self>, mut err: S3Error) -> S3Error {
        if let Some(id) = id {
            err.set_request_id(id.as_str());
        }
        err
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Mints unique ids: a per-process random start plus a counter, passed through an odd
/// multiplier (a bijection on u64) so consecutive ids do not look sequential.
#[derive(Debug)]
pub(super) struct IdSource {
    seed: u64,
    counter: AtomicU64,
}

impl IdSource {
    pub(super) fn new() -> Self {
        Self {
            seed: RandomState::new().hash_one(std::process::id()),
            counter: AtomicU64::new(0),
        }
    }

    pub(super) fn next(&self) -> RequestId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mixed = self
            .seed
            .wrapping_add(n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        RequestId(format!("{mixed:016X}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_fixed_width() {
        let source = IdSource::new();
        let ids: HashSet<String> = (0..10_000)
            .map(|_| source.next().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.len() == 16));
    }

    #[test]
    fn ids_travel_in_extensions() {
        let mut ext = Extensions::new();
        assert_eq!(RequestId::of(&ext), None);
        let id = IdSource::new().next();
        ext.insert(id.clone());
        assert_eq!(RequestId::of(&ext), Some(id.clone()));
        let err = RequestId::stamp(Some(&id), S3Error::new(s3s::S3ErrorCode::NoSuchKey));
        assert_eq!(err.request_id(), Some(id.as_str()));
    }
}
