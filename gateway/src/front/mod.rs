//! The front: the HTTP service in front of s3s ([`S3Front`]), which knows HTTP and S3's error
//! format but nothing of objects or storage. For every request it:
//! 1. mints the request id (`request_id`) and opens the tracing span that carries it;
//! 2. answers what the head alone refuses (`door`, with `unsupported` feature headers and
//!    `xml_limit`), without admission;
//! 3. admits the request by count and by the memory it may hold, or answers 503 SlowDown
//!    (`admission`);
//! 4. hands it to s3s with its body watched (`unread_body`);
//! 5. releases the admission before reading out what the handler left of the body, within a
//!    total deadline, so the client still sees the answer without holding anyone else back;
//! 6. stamps `x-amz-request-id`, and gives ranged HEAD responses their 206, which s3s cannot
//!    express (it ignores `S3Response::status`);
//! 7. answers CORS preflights and adds CORS headers to cross-origin answers (`cors`).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::header::CONTENT_RANGE;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use hyper::body::Incoming;
use s3s::service::S3Service;
use s3s::{HttpError, HttpResponse};
use tracing::Instrument;

mod admission;
mod cors;
mod door;
mod request_id;
mod unread_body;
mod unsupported;
mod xml_limit;

pub use admission::MemoryModel;
pub use cors::{Cors, CorsAsk, CorsGrant};
pub use door::FrontDoor;
pub use request_id::RequestId;

use admission::{Admission, hold_until_sent, refusal, slow_down};
use request_id::IdSource;
use unread_body::{Leftover, watch};
use xml_limit::carries_xml;

const X_AMZ_REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");

/// The most of an unread request body read out before an answer: a part of the usual
/// multipart sizes (5-16 MiB) and a typical single PUT. Larger remainders close the connection.
const LINGER_MAX_BYTES: u64 = 64 << 20;
/// How long the read-out waits for the next piece of the body.
const LINGER_IDLE: Duration = Duration::from_secs(5);
/// How long the read-out may take in all: a client trickling its body cannot keep its
/// connection (and its task) past this; it gets the answer and the connection closes.
const LINGER_TOTAL: Duration = Duration::from_secs(10);

/// How the front behaves; see [`S3Front`].
#[derive(Debug, Clone)]
pub struct FrontSettings {
    pub door: FrontDoor,
    pub max_concurrent_requests: usize,
    pub max_inflight_bytes: u64,
    pub memory: MemoryModel,
    /// No request body byte for this long fails the body (`unread_body`).
    pub body_idle_timeout: Duration,
}

/// The s3s service with request ids, the front door, admission and read-out; what
/// `s3::run` serves.
#[derive(Clone)]
pub struct S3Front {
    inner: S3Service,
    ids: Arc<IdSource>,
    admission: Admission,
    settings: Arc<FrontSettings>,
    cors: Option<Arc<dyn Cors>>,
}

impl std::fmt::Debug for S3Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Front")
            .field("settings", &self.settings)
            .field("cors", &self.cors.is_some())
            .finish_non_exhaustive()
    }
}

impl S3Front {
    pub fn new(inner: S3Service, settings: FrontSettings) -> Self {
        Self {
            inner,
            ids: Arc::new(IdSource::new()),
            admission: Admission::new(
                settings.max_concurrent_requests,
                settings.max_inflight_bytes,
            ),
            settings: Arc::new(settings),
            cors: None,
        }
    }

    /// Answers CORS preflights and adds CORS headers as `cors` decides.
    pub fn with_cors(mut self, cors: Arc<dyn Cors>) -> Self {
        self.cors = Some(cors);
        self
    }
}

/// What the answer needs to know of the request.
struct Shape {
    is_head: bool,
    expects_continue: bool,
    declared_length: Option<u64>,
}

impl Shape {
    /// Whether the connection can carry another request once `resp` is sent, reading out what
    /// is left of the body if that is what it takes.
    async fn settle(&self, resp: &HttpResponse, leftover: Leftover, read_body: bool) -> bool {
        if self.expects_continue {
            // A client that sent `Expect: 100-continue` and got its answer without a
            // `100 Continue` (empty body, or refused before the body was read) may leave the
            // connection in a state it cannot reuse: botocore then stalls its next request on it
            // until the read timeout. Closing such connections costs one reconnect. (Reading
            // its body would ask for the body it never sent.)
            return self.declared_length != Some(0) && resp.status().is_success();
        }
        if !read_body {
            let mut leftover = leftover;
            return leftover.is_empty();
        }
        // Read out what the handler left of the body, so that the client, still sending, reads
        // the answer instead of a broken pipe (see `unread_body`).
        let read_out = leftover.read_out(self.declared_length, LINGER_MAX_BYTES, LINGER_IDLE);
        tokio::time::timeout(LINGER_TOTAL, read_out)
            .await
            .unwrap_or(false)
    }

    fn finish(&self, mut resp: HttpResponse, id: &RequestId, reusable: bool) -> HttpResponse {
        if !reusable {
            resp.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Ok(v) = HeaderValue::from_str(id.as_str()) {
            resp.headers_mut().insert(X_AMZ_REQUEST_ID, v);
        }
        if self.is_head
            && resp.status() == StatusCode::OK
            && resp.headers().contains_key(CONTENT_RANGE)
        {
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
        tracing::debug!(status = resp.status().as_u16(), "response");
        resp
    }
}

impl hyper::service::Service<http::Request<Incoming>> for S3Front {
    type Response = HttpResponse;
    type Error = HttpError;
    type Future = BoxFuture<'static, Result<HttpResponse, HttpError>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let id = self.ids.next();
        let span = tracing::info_span!(
            "s3",
            request_id = id.as_str(),
            method = %req.method(),
            path = req.uri().path(),
        );
        let shape = Shape {
            is_head: req.method() == Method::HEAD,
            expects_continue: req
                .headers()
                .get(http::header::EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue")),
            declared_length: req
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok()),
        };
        let (mut head, body) = req.into_parts();
        let (body, leftover) = watch(body, self.settings.body_idle_timeout);

        if let Some(refused) = self.settings.door.check(&head, shape.declared_length) {
            drop(body);
            return Box::pin(
                async move {
                    tracing::info!(code = refused.code, "refused at the front door");
                    crate::metrics::metrics().observe_request(
                        "Refused",
                        refused.status.as_u16(),
                        Duration::ZERO,
                    );
                    let resp = refusal(refused.status, refused.code, &refused.message, id.as_str());
                    let reusable = shape.settle(&resp, leftover, refused.read_body).await;
                    Ok(shape.finish(resp, &id, reusable))
                }
                .instrument(span),
            );
        }

        let content_type = head
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let xml = carries_xml(&head.method, &head.uri, content_type);
        let cost = self.settings.memory.cost(&head, shape.declared_length, xml);
        let Some(admitted) = self.admission.try_admit(cost) else {
            let _entered = span.enter();
            tracing::warn!(
                cost,
                inflight_bytes = self.admission.inflight_bytes(),
                "gateway full (requests or memory): 503 SlowDown"
            );
            // Not yet routed, so the operation is unknown; counted so a dashboard shows the refusals.
            crate::metrics::metrics().observe_request("Refused", 503, Duration::ZERO);
            return Box::pin(std::future::ready(Ok(slow_down(id.as_str()))));
        };
        head.extensions.insert(id.clone());
        let cors = self.cors.clone();
        let ask = cors::origin(&head).and_then(|origin| cors::ask_of(&head, origin));
        if head.method == Method::OPTIONS && cors::origin(&head).is_some() {
            // A browser's preflight: unsigned, answered from the bucket's rules alone.
            drop(body);
            return Box::pin(
                async move {
                    let grant = match (&cors, &ask) {
                        (Some(cors), Some(ask)) => cors.grant(ask).await,
                        _ => None,
                    };
                    let resp = match grant {
                        Some(grant) => {
                            let mut resp = HttpResponse::new(s3s::Body::empty());
                            cors::apply(resp.headers_mut(), &grant, true);
                            resp
                        }
                        None => refusal(
                            StatusCode::FORBIDDEN,
                            "AccessForbidden",
                            "CORSResponse: This CORS request is not allowed. This is usually \
                             because the evaluation of Origin, request method / \
                             Access-Control-Request-Method or Access-Control-Request-Headers \
                             are not whitelisted by the resource's CORS spec.",
                            id.as_str(),
                        ),
                    };
                    drop(admitted);
                    let reusable = shape.settle(&resp, leftover, true).await;
                    Ok(shape.finish(resp, &id, reusable))
                }
                .instrument(span),
            );
        }
        let req = http::Request::from_parts(head, s3s::Body::http_body(body));
        let inner = self.inner.clone();
        Box::pin(
            async move {
                let mut resp = inner.call(req).await?;
                // A cross-origin request's answer (an error too) says what its origin may see.
                if let (Some(cors), Some(ask)) = (&cors, &ask)
                    && let Some(grant) = cors.grant(ask).await
                {
                    cors::apply(resp.headers_mut(), &grant, false);
                }
                // The admission goes now for an answer already in memory (an error, a PUT's
                // result), and with the last byte of a streamed one: never with the read-out.
                let resp = hold_until_sent(resp, admitted);
                let reusable = shape.settle(&resp, leftover, true).await;
                Ok(shape.finish(resp, &id, reusable))
            }
            .instrument(span),
        )
    }
}
