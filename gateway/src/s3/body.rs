//! Body streams across the s3s boundary.
//!
//! s3s hands request bodies over as [`StreamingBlob`]s and wants one back for GetObject; the
//! service speaks [`ByteStream`]. The one wrinkle: s3s requires `Sync` response streams and
//! reads their exact remaining length to send `Content-Length` instead of chunked encoding.

use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use s3s::StdError;
use s3s::dto::StreamingBlob;
use s3s::stream::{ByteStream as S3ByteStream, RemainingLength};

use crate::metrics::metrics;
use crate::objects::ByteStream;

/// A request body for the service; a missing body is an empty one.
pub(super) fn request_body(body: Option<StreamingBlob>) -> ByteStream {
    match body {
        Some(blob) => Box::pin(blob.inspect(|frame| {
            if let Ok(bytes) = frame {
                metrics().add_bytes_in(bytes.len() as u64);
            }
        })),
        None => Box::pin(futures::stream::empty()),
    }
}

/// An object body for s3s, announcing `length` bytes.
pub(super) fn response_body(body: ByteStream, length: u64) -> StreamingBlob {
    StreamingBlob::new(ObjectStream {
        inner: Mutex::new(body),
        remaining: length,
    })
}

/// The service's body made `Sync` and length-aware.
struct ObjectStream {
    /// Never locked: `poll_next` has `&mut self` and uses `get_mut`. The mutex only lends its
    /// `Sync` to a stream that is merely `Send`.
    inner: Mutex<ByteStream>,
    remaining: u64,
}

impl Stream for ObjectStream {
    type Item = Result<Bytes, StdError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let inner = this.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        let item = inner.as_mut().poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(chunk))) => {
                let n = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
                this.remaining = this.remaining.saturating_sub(n);
                metrics().add_bytes_out(n);
            }
            // hyper will cut the connection; say why, since the client only sees a short body.
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(error = %e, "object body failed mid-stream")
            }
            _ => {}
        }
        item
    }
}

impl S3ByteStream for ObjectStream {
    fn remaining_length(&self) -> RemainingLength {
        match usize::try_from(self.remaining) {
            Ok(n) => RemainingLength::new_exact(n),
            Err(_) => RemainingLength::unknown(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn response_body_reports_length_and_streams() {
        let chunks: Vec<Result<Bytes, StdError>> = vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"de")),
        ];
        let mut blob = response_body(Box::pin(futures::stream::iter(chunks)), 5);
        assert_eq!(blob.remaining_length().exact(), Some(5));
        let first = blob.next().await.and_then(Result::ok);
        assert_eq!(first.as_deref(), Some(&b"abc"[..]));
        assert_eq!(blob.remaining_length().exact(), Some(2));
        let _ = blob.next().await;
        assert_eq!(blob.remaining_length().exact(), Some(0));
        assert!(blob.next().await.is_none());
    }

    #[tokio::test]
    async fn missing_request_body_is_empty() {
        let mut body = request_body(None);
        assert!(body.next().await.is_none());
    }
}
