//! Admission: at most `max_concurrent_requests` S3 requests are served at once, and together
//! they may ask for at most `max_inflight_bytes` of the gateway's memory. A request past either
//! bound is answered at once with 503 `SlowDown`, the answer every S3 SDK treats as "back off
//! and retry", instead of queueing until memory or the nodes give out.
//!
//! A request's memory is known from its head ([`MemoryModel::cost`]): an upload holds at most
//! its pipeline's window of chunks (or its whole body when smaller), an XML body its length, a
//! read its read-ahead; anything else a small constant.
//!
//! A permit is held for the whole request: while it is handled (for a PUT or an UploadPart that
//! includes reading the body) and, for a streamed response such as a GET of a large object,
//! until the last byte is sent or the client goes away, since the stream's read-ahead buffers
//! are what the limit bounds.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use http_body::{Frame, SizeHint};
use s3s::HttpResponse;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What any request costs: its head, parsed values, the response headers and XML.
const BASE_COST: u64 = 64 * 1024;
/// The byte semaphore counts KiB, so that a budget of terabytes fits its `u32` acquisitions.
const UNIT: u64 = 1024;

/// How much memory a request can make the gateway hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryModel {
    /// An upload's most: chunks being filled, encoded and sent, with their parity.
    pub upload_window: u64,
    /// A read's most: chunks fetched ahead of the client.
    pub read_window: u64,
    /// An XML body of unknown length may grow to this.
    pub max_xml_body: u64,
}

impl MemoryModel {
    /// The bytes a request with this head may hold at once.
    pub fn cost(&self, head: &Parts, declared_length: Option<u64>, xml: bool) -> u64 {
        let copy = head.headers.contains_key("x-amz-copy-source");
        let body = match (&head.method, declared_length) {
            (_, _) if copy => self.upload_window + self.read_window,
            (&Method::GET, _) => self.read_window,
            (_, Some(n)) if xml => n,
            (_, None) if xml => self.max_xml_body,
            (&Method::PUT | &Method::POST, Some(n)) => n.min(self.upload_window),
            (&Method::PUT | &Method::POST, None) => self.upload_window,
            _ => 0,
        };
        BASE_COST + body
    }
}

/// What an admitted request holds until it is answered (and its streamed body sent).
#[derive(Debug)]
pub struct Admitted {
    _request: OwnedSemaphorePermit,
    _bytes: OwnedSemaphorePermit,
}

/// The permits of the S3 endpoint.
#[derive(Debug, Clone)]
pub struct Admission {
    requests: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    /// The byte budget, in [`UNIT`]s.
    budget_units: u32,
}

impl Admission {
    pub fn new(max_concurrent_requests: usize, max_inflight_bytes: u64) -> Self {
        let budget_units = (max_inflight_bytes / UNIT).clamp(1, u64::from(u32::MAX >> 4)) as u32;
        Self {
            requests: Arc::new(Semaphore::new(max_concurrent_requests.max(1))),
            bytes: Arc::new(Semaphore::new(budget_units as usize)),
            budget_units,
        }
    }

    /// Permits for a request that may hold `cost` bytes, if they are free now; `None` means
    /// answer [`slow_down`]. A request costlier than the whole budget waits for an idle gateway
    /// rather than never running.
    pub fn try_admit(&self, cost: u64) -> Option<Admitted> {
        let units = cost.div_ceil(UNIT).clamp(1, u64::from(self.budget_units)) as u32;
        let bytes = self.bytes.clone().try_acquire_many_owned(units).ok()?;
        let request = self.requests.clone().try_acquire_owned().ok()?;
        Some(Admitted {
            _request: request,
            _bytes: bytes,
        })
    }

    /// Bytes now promised to admitted requests.
    pub fn inflight_bytes(&self) -> u64 {
        u64::from(self.budget_units).saturating_sub(self.bytes.available_permits() as u64) * UNIT
    }
}

/// Keeps `permit` until `resp`'s body is sent (or dropped). A body already in memory releases
/// it at once.
pub fn hold_until_sent(resp: HttpResponse, permit: Admitted) -> HttpResponse {
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
    _permit: Admitted,
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
        let admission = Admission::new(2, 1 << 30);
        let a = admission.try_admit(1).unwrap();
        let _b = admission.try_admit(1).unwrap();
        assert!(admission.try_admit(1).is_none());
        drop(a);
        assert!(admission.try_admit(1).is_some());
    }

    #[test]
    fn bytes_run_out_and_come_back() {
        let admission = Admission::new(100, 10 << 20);
        let a = admission.try_admit(6 << 20).unwrap();
        assert_eq!(admission.inflight_bytes(), 6 << 20);
        assert!(admission.try_admit(6 << 20).is_none());
        let _small = admission.try_admit(4 << 20).unwrap();
        drop(a);
        // Larger than the whole budget: admitted once the gateway is otherwise idle.
        assert!(admission.try_admit(100 << 20).is_none());
        drop(_small);
        assert!(admission.try_admit(100 << 20).is_some());
    }

    #[test]
    fn costs_follow_the_request() {
        let model = MemoryModel {
            upload_window: 24 << 20,
            read_window: 12 << 20,
            max_xml_body: 20 << 20,
        };
        let head = |method: &str, copy: bool| {
            let mut b = http::Request::builder().method(method).uri("/b/k");
            if copy {
                b = b.header("x-amz-copy-source", "/b/src");
            }
            b.body(()).unwrap().into_parts().0
        };
        assert_eq!(
            model.cost(&head("PUT", false), Some(4096), false),
            BASE_COST + 4096
        );
        assert_eq!(
            model.cost(&head("PUT", false), Some(5 << 30), false),
            BASE_COST + (24 << 20)
        );
        assert_eq!(
            model.cost(&head("PUT", false), None, false),
            BASE_COST + (24 << 20)
        );
        assert_eq!(
            model.cost(&head("PUT", true), Some(0), false),
            BASE_COST + (36 << 20)
        );
        assert_eq!(
            model.cost(&head("GET", false), None, false),
            BASE_COST + (12 << 20)
        );
        assert_eq!(
            model.cost(&head("POST", false), None, true),
            BASE_COST + (20 << 20)
        );
        assert_eq!(model.cost(&head("DELETE", false), None, false), BASE_COST);
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
