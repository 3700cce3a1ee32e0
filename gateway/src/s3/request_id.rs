//! `x-amz-request-id`: one id per request, on every response, in every log line of the request
//! and in the `<RequestId>` of error bodies.
//!
//! s3s 0.14 assigns no request id, so [`RequestIdService`] wraps the s3s service: it mints the
//! id, puts it in the request extensions (where handlers find it, see [`RequestId::of`]), runs
//! the request inside a tracing span carrying it, and stamps the response header. It also
//! gives ranged HEAD responses their 206, which s3s cannot express (it ignores
//! `S3Response::status`).

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use http::header::CONTENT_RANGE;
use http::{Extensions, HeaderName, HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use s3s::service::S3Service;
use s3s::{HttpError, HttpResponse, S3Error};
use tracing::Instrument;

use super::admission::{Admission, hold_until_sent, refusal, slow_down};
use super::unread_body::watch;
use super::xml_limit::carries_xml;

const X_AMZ_REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");

/// The most of an unread request body read out before an answer: a part of the usual
/// multipart sizes (5-16 MiB) and a typical single PUT. Larger remainders close the connection.
const LINGER_MAX_BYTES: u64 = 64 << 20;
/// How long the read-out waits for the next piece of the body; a sender that stopped loses
/// its connection instead. (The byte cap bounds the total.)
const LINGER_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

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
struct IdSource {
    seed: u64,
    counter: AtomicU64,
}

impl IdSource {
    fn new() -> Self {
        Self {
            seed: RandomState::new().hash_one(std::process::id()),
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self) -> RequestId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mixed = self
            .seed
            .wrapping_add(n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        RequestId(format!("{mixed:016X}").into())
    }
}

/// The s3s service with request ids and admission; what [`super::run`] serves.
#[derive(Debug, Clone)]
pub struct RequestIdService {
    inner: S3Service,
    ids: Arc<IdSource>,
    admission: Admission,
    max_xml_body_bytes: usize,
}

impl RequestIdService {
    pub fn new(inner: S3Service, admission: Admission, max_xml_body_bytes: usize) -> Self {
        Self {
            inner,
            ids: Arc::new(IdSource::new()),
            admission,
            max_xml_body_bytes,
        }
    }

    /// A refusal for an XML body announced (`length`, its Content-Length) larger than the
    /// limit (see `xml_limit`).
    fn xml_too_large(
        &self,
        req: &http::Request<Incoming>,
        length: Option<u64>,
        id: &RequestId,
    ) -> Option<HttpResponse> {
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        (length? > self.max_xml_body_bytes as u64
            && carries_xml(req.method(), req.uri(), content_type))
        .then(|| {
            refusal(
                StatusCode::BAD_REQUEST,
                "MaxMessageLengthExceeded",
                "Your request was too big.",
                id.as_str(),
            )
        })
    }
}

impl hyper::service::Service<http::Request<Incoming>> for RequestIdService {
    type Response = HttpResponse;
    type Error = HttpError;
    type Future = BoxFuture<'static, Result<HttpResponse, HttpError>>;

    fn call(&self, mut req: http::Request<Incoming>) -> Self::Future {
        let id = self.ids.next();
        let span = tracing::info_span!(
            "s3",
            request_id = id.as_str(),
            method = %req.method(),
            path = req.uri().path(),
        );
        let is_head = req.method() == Method::HEAD;
        let expects_continue = req
            .headers()
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let declared_length = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let Some(permit) = self.admission.try_admit() else {
            let _entered = span.enter();
            tracing::warn!("too many requests in flight: 503 SlowDown");
            // Not yet routed, so the operation is unknown; counted so a dashboard shows the refusals.
            crate::metrics::metrics().observe_request("Refused", 503, std::time::Duration::ZERO);
            return Box::pin(std::future::ready(Ok(slow_down(id.as_str()))));
        };
        if let Some(resp) = self.xml_too_large(&req, declared_length, &id) {
            return Box::pin(std::future::ready(Ok(resp)));
        }
        req.extensions_mut().insert(id.clone());
        let (parts, body) = req.into_parts();
        let (body, leftover) = watch(body);
        let req = http::Request::from_parts(parts, s3s::Body::http_body(body));
        let inner = self.inner.clone();
        Box::pin(
            async move {
                let resp = inner.call(req).await?;
                let reusable = if expects_continue {
                    // A client that sent `Expect: 100-continue` and got its answer without a
                    // `100 Continue` (empty body, or refused before the body was read) may leave
                    // the connection in a state it cannot reuse: botocore then stalls its next
                    // request on it until the read timeout. Closing such connections costs one
                    // reconnect. (Reading its body would ask for the body it never sent.)
                    declared_length != Some(0) && resp.status().is_success()
                } else {
                    // Read out what the handler left of the body, so that the client, still
                    // sending, reads the answer instead of a broken pipe (see `unread_body`).
                    leftover
                        .read_out(declared_length, LINGER_MAX_BYTES, LINGER_IDLE)
                        .await
                };
                let mut resp = hold_until_sent(resp, permit);
                if !reusable {
                    resp.headers_mut()
                        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
                }
                if let Ok(v) = HeaderValue::from_str(id.as_str()) {
                    resp.headers_mut().insert(X_AMZ_REQUEST_ID, v);
                }
                if is_head
                    && resp.status() == StatusCode::OK
                    && resp.headers().contains_key(CONTENT_RANGE)
                {
                    *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
                }
                tracing::debug!(status = resp.status().as_u16(), "response");
                Ok(resp)
            }
            .instrument(span),
        )
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
