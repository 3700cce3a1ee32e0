//! Request bodies a handler left unread are read out before the answer goes back.
//!
//! A handler may answer before it reads the body: a PUT refused by `If-None-Match: *`, a
//! missing bucket, an invalid key, a failed signature. hyper then closes the connection while
//! the client is still sending, and a client that is blocked writing (the AWS SDKs without
//! `Expect: 100-continue`) fails on a broken pipe before it reads the answer. The user sees
//! "dispatch failure" instead of `412 PreconditionFailed`, and the SDK may retry the whole
//! upload. So the body is watched ([`watch`]): if it is dropped unfinished, it comes back to
//! the request wrapper, which reads and discards what is left when that is small
//! ([`Leftover::read_out`]). The client then reads the error, and the connection stays usable.
//! A large remainder is not read (that would cost the whole upload): the connection closes.
//!
//! The watched body also bounds how long a client may leave it waiting: no byte for `idle` ends
//! it with an error (the handler answers `IncompleteBody`), so a stalled or trickling sender
//! cannot hold an upload's buffers and admission forever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

/// The request body as the handlers see it; if dropped before its end, it goes back to the
/// [`Leftover`] made with it.
#[derive(Debug)]
pub struct WatchedBody {
    inner: Option<Incoming>,
    /// Gets the unfinished body, or `None` when it stalled (nothing worth reading out).
    back: Option<oneshot::Sender<Option<Incoming>>>,
    idle: Duration,
    /// Armed while the body waits for the client; reset by every frame.
    stall: Option<Pin<Box<Sleep>>>,
}

/// The client sent nothing for the body's idle limit.
#[derive(Debug, thiserror::Error)]
#[error("the client sent no request body bytes for {0:?}")]
pub struct BodyStalled(Duration);

/// Where an unfinished body comes back to.
#[derive(Debug)]
pub struct Leftover(oneshot::Receiver<Option<Incoming>>);

/// Wraps a request body so that what a handler leaves unread can be read out later, and a
/// sender silent for `idle` fails the body.
pub fn watch(body: Incoming, idle: Duration) -> (WatchedBody, Leftover) {
    let (tx, rx) = oneshot::channel();
    let watched = WatchedBody {
        inner: Some(body),
        back: Some(tx),
        idle,
        stall: None,
    };
    (watched, Leftover(rx))
}

impl Body for WatchedBody {
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, s3s::StdError>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some(stall) = this.stall.as_mut() {
                    stall.as_mut().reset(Instant::now() + this.idle);
                }
                Poll::Ready(frame.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let stall = this
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        // The client is gone or stuck: the answer closes the connection.
                        this.inner = None;
                        if let Some(back) = this.back.take() {
                            let _ = back.send(None);
                        }
                        Poll::Ready(Some(Err(BodyStalled(idle).into())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for WatchedBody {
    fn drop(&mut self) {
        // A body read to its end reports so (a chunked one that does not costs the read-out
        // one empty poll).
        if let (Some(inner), Some(back)) = (self.inner.take(), self.back.take())
            && !inner.is_end_stream()
        {
            // The receiver may be gone (the request was cancelled): then hyper closes as before.
            let _ = back.send(Some(inner));
        }
    }
}

impl Leftover {
    /// Whether the handler read the whole body (nothing came back to read out).
    pub fn is_empty(&mut self) -> bool {
        matches!(
            self.0.try_recv(),
            Err(oneshot::error::TryRecvError::Closed | oneshot::error::TryRecvError::Empty)
        )
    }

    /// Reads and discards what the handler left of the body, if anything, up to `max_bytes`,
    /// giving up when the client sends nothing for `idle` (a loaded client or network may be
    /// slow, but keeps sending; one that stopped is not waited for). `declared` is the
    /// request's Content-Length, when it has one: a body announced larger than `max_bytes` is
    /// not read at all. Returns whether the connection can carry another request: false when
    /// a remainder was left unread (too large, too slow, or failed).
    pub async fn read_out(self, declared: Option<u64>, max_bytes: u64, idle: Duration) -> bool {
        let mut rx = self.0;
        // Nothing came back: the body was read to its end (or is still held elsewhere).
        let mut body = match rx.try_recv() {
            Ok(Some(body)) => body,
            // It stalled: the connection cannot carry another request.
            Ok(None) => return false,
            Err(_) => return true,
        };
        if declared.is_some_and(|n| n > max_bytes) {
            return false;
        }
        let mut read = 0u64;
        loop {
            match tokio::time::timeout(idle, body.frame()).await {
                Ok(None) => return true,
                Ok(Some(Ok(frame))) => {
                    read += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if read > max_bytes {
                        return false;
                    }
                }
                Ok(Some(Err(_))) | Err(_) => return false,
            }
        }
    }
}
