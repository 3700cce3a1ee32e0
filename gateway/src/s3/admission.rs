//! Admission: at most `max_concurrent_requests` S3 requests are served at once. One more is
//! answered at once with 503 `SlowDown`, the answer every S3 SDK treats as "back off and retry",
//! instead of queueing until memory or the nodes give out.
//!
//! A permit is held for the whole request: while it is handled (for a PUT or an UploadPart that
//! includes reading the body) and, for a streamed response such as a GET of a large object,
//! until the last byte is sent or the client goes away, since the stream's read-ahead buffers
//! are what the limit bounds.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body::{Frame, SizeHint};
use s3s::HttpResponse;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The permits of the S3 endpoint.
#[derive(Debug, Clone)]
pub struct Admission {
    permits: Arc<Semaphore>,
}

impl Admission {
    pub fn new(max_concurrent_requests: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent_requests.max(1))),
        }
    }

    /// A permit if one is free now; `None` means answer [`slow_down`].
    pub fn try_admit(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }
}

/// Keeps `permit` until `resp`'s body is sent (or dropped). A body already in memory releases
/// it at once.
pub fn hold_until_sent(resp: HttpResponse, permit: OwnedSemaphorePermit) -> HttpResponse {
    if resp.body().bytes().is_some() {
        return resp;
    }
    resp.map(|body| {
        s3s::Body::http_body(HeldBody {
            inner: Box::pin(body),
            _permit: permit,
        })
    })
}

/// A response body that carries its request's permit.
struct HeldBody {
    inner: Pin<Box<s3s::Body>>,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for HeldBody {
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, s3s::StdError>>> {
        self.get_mut().inner.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The 503 SlowDown response.
pub fn slow_down(request_id: &str) -> HttpResponse {
    let mut resp = refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "SlowDown",
        "Please reduce your request rate.",
        request_id,
    );
    resp.headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// An S3 error response for a request refused before s3s saw it: the body as S3 sends it, the
/// request id, and `Connection: close` (the request body was not read, so the connection
/// cannot carry another request).
pub fn refusal(status: StatusCode, code: &str, message: &str, request_id: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    );
    let mut resp = HttpResponse::new(s3s::Body::from(Bytes::from(body)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amz-request-id", id);
    }
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_run_out_and_come_back() {
        let admission = Admission::new(2);
        let a = admission.try_admit().unwrap();
        let _b = admission.try_admit().unwrap();
        assert!(admission.try_admit().is_none());
        drop(a);
        assert!(admission.try_admit().is_some());
    }

    #[test]
    fn slow_down_is_a_503_with_an_s3_error_body() {
        let resp = slow_down("ABC123");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            resp.headers()[http::header::CONTENT_TYPE],
            "application/xml"
        );
        let body = resp.body().bytes().unwrap();
        let body = std::str::from_utf8(&body).unwrap();
        assert!(body.contains("<Code>SlowDown</Code>"), "{body}");
        assert!(body.contains("<RequestId>ABC123</RequestId>"), "{body}");
    }
}
