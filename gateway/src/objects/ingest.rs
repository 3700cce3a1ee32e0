//! Body ingest: one pass over a request body that hashes it (MD5 for the ETag, plus any requested
//! checksum), on a hashing thread for large bodies, while the blob layer cuts, encodes and fans
//! it out.
//!
//! MD5 is the most expensive step of a PUT (~0.75 GiB/s), so for large bodies it never runs in
//! series with the encode: frames are handed to a hashing thread through a bounded channel,
//! which also bounds memory. Bodies up to the inline threshold are hashed in place and never
//! reach the blob layer: they become an inline manifest stored in the index. Bodies declared at
//! most 256 KiB long are hashed in place too: handing their few frames to a thread cost more in
//! wake-ups than the hashing (A/B in `docs/performance-log.md`).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use floe_codec::Manifest;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::blobs::{BlobStore, BlobWriter, IN_PLACE_MAX, PinGuard};
use crate::index::ChecksumAlgorithm;

use super::checksum::{BodyDigest, Digests};
use super::error::ObjectError;
use super::types::ByteStream;

/// Frames queued for the hashing thread; at most this many are buffered.
const HASH_QUEUE: usize = 16;

/// A stored body: its manifest and digests.
pub struct Ingested {
    pub manifest: Manifest,
    pub digests: Digests,
    /// Keeps the new chunks from the garbage collector: hold it until the manifest is committed.
    pub pins: Option<PinGuard>,
}

/// Limits for one ingest.
pub struct IngestLimits {
    /// Bodies up to this many bytes are kept inline (0: never).
    pub inline_threshold: usize,
    pub max_size: u64,
    /// Declared Content-Length: a body of another length is refused.
    pub expected_len: Option<u64>,
}

/// Reads the whole body, storing it and computing its digests.
pub async fn ingest(
    blobs: &Arc<BlobStore>,
    mut body: ByteStream,
    algorithm: Option<ChecksumAlgorithm>,
    limits: IngestLimits,
) -> Result<Ingested, ObjectError> {
    // Small bodies are hashed right here: a few KiB of MD5 costs less than handing frames to
    // another thread. Once the body outgrows the inline threshold, the digest so far moves to a
    // hashing thread and the rest of the frames follow it there.
    let mut digest = Some(BodyDigest::new(algorithm));
    let mut hashing: Option<HashingThread> = None;
    let mut head = BytesMut::new();
    let mut writer: Option<BlobWriter> = None;
    let mut size: u64 = 0;
    while let Some(frame) = body.next().await {
        let frame = frame.map_err(ObjectError::BodyRead)?;
        size += frame.len() as u64;
        if size > limits.max_size {
            return Err(ObjectError::EntityTooLarge);
        }
        if limits.expected_len.is_some_and(|n| size > n) {
            return Err(ObjectError::InvalidRequest(
                "the body is longer than its declared Content-Length".into(),
            ));
        }
        match (&hashing, &mut digest) {
            (Some(thread), _) => thread.feed(frame.clone()).await?,
            (None, Some(d)) => d.update(&frame),
            (None, None) => return Err(ObjectError::Internal("body digest lost".into())),
        }
        match &mut writer {
            Some(w) => w.write(&frame).await?,
            None => {
                head.extend_from_slice(&frame);
                if head.len() > limits.inline_threshold {
                    if let Some(d) = digest.take_if(|_| !hash_in_place(&limits)) {
                        hashing = Some(HashingThread::start(d));
                    }
                    let mut w = match limits.expected_len {
                        Some(len) => BlobWriter::expecting(blobs.clone(), len),
                        None => BlobWriter::new(blobs.clone()),
                    };
                    w.write(&head).await?;
                    head = BytesMut::new();
                    writer = Some(w);
                }
            }
        }
    }
    if limits.expected_len.is_some_and(|n| size != n) {
        return Err(ObjectError::IncompleteBody);
    }
    let (manifest, pins) = match writer {
        Some(w) => w.finish_pinned().await?,
        None => (blobs.inline_manifest(head.to_vec()), None),
    };
    let digests = match (hashing, digest) {
        (Some(thread), _) => thread.finish().await?,
        (None, Some(d)) => d.finish(),
        (None, None) => return Err(ObjectError::Internal("body digest lost".into())),
    };
    Ok(Ingested {
        manifest,
        digests,
        pins,
    })
}

/// Whether the whole body is hashed on the request's task: a body declared at most
/// [`IN_PLACE_MAX`] bytes long costs less to hash there than to hand, frame by frame, to a
/// hashing thread and wait for it (the wake-ups of that thread cost more than the MD5 of
/// 64 KiB).
fn hash_in_place(limits: &IngestLimits) -> bool {
    limits
        .expected_len
        .is_some_and(|len| len <= IN_PLACE_MAX as u64)
}

/// The digest of a large body, computed on a blocking thread fed through a bounded channel (so
/// hashing runs beside the encode and a slow hash holds the body back instead of buffering it).
struct HashingThread {
    frames: mpsc::Sender<Bytes>,
    done: tokio::task::JoinHandle<Digests>,
}

impl HashingThread {
    fn start(mut digest: BodyDigest) -> Self {
        let (frames, mut rx) = mpsc::channel::<Bytes>(HASH_QUEUE);
        let done = tokio::task::spawn_blocking(move || {
            while let Some(frame) = rx.blocking_recv() {
                digest.update(&frame);
            }
            digest.finish()
        });
        Self { frames, done }
    }

    async fn feed(&self, frame: Bytes) -> Result<(), ObjectError> {
        self.frames
            .send(frame)
            .await
            .map_err(|_| ObjectError::Internal("hashing thread stopped".into()))
    }

    async fn finish(self) -> Result<Digests, ObjectError> {
        drop(self.frames);
        self.done.await.map_err(ObjectError::from)
    }
}
