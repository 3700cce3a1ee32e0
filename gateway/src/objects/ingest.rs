//! Body ingest: one pass over a request body that hashes it (MD5 for the ETag, plus any requested
//! checksum) on a blocking thread while the blob layer cuts, encodes and fans it out.
//!
//! MD5 is the most expensive step of a PUT (~0.5 GiB/s), so it never runs in series with the
//! encode: frames are handed to the hashing thread through a bounded channel, which also bounds
//! memory. Bodies up to the inline threshold never reach the blob layer: they become an inline
//! manifest stored in the index.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use floe_codec::Manifest;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::blobs::{BlobStore, BlobWriter, PinGuard};
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
    let (tx, mut rx) = mpsc::channel::<Bytes>(HASH_QUEUE);
    let hasher = tokio::task::spawn_blocking(move || {
        let mut digest = BodyDigest::new(algorithm);
        while let Some(frame) = rx.blocking_recv() {
            digest.update(&frame);
        }
        digest.finish()
    });

    let mut head = BytesMut::new();
    let mut writer: Option<BlobWriter> = None;
    let mut size: u64 = 0;
    while let Some(frame) = body.next().await {
        let frame = frame.map_err(|e| ObjectError::BodyRead(e.to_string()))?;
        size += frame.len() as u64;
        if size > limits.max_size {
            return Err(ObjectError::EntityTooLarge);
        }
        if limits.expected_len.is_some_and(|n| size > n) {
            return Err(ObjectError::InvalidRequest(
                "the body is longer than its declared Content-Length".into(),
            ));
        }
        tx.send(frame.clone())
            .await
            .map_err(|_| ObjectError::Internal("hashing thread stopped".into()))?;
        match &mut writer {
            Some(w) => w.write(&frame).await?,
            None => {
                head.extend_from_slice(&frame);
                if head.len() > limits.inline_threshold {
                    let mut w = BlobWriter::new(blobs.clone());
                    w.write(&head).await?;
                    head = BytesMut::new();
                    writer = Some(w);
                }
            }
        }
    }
    drop(tx);
    if limits.expected_len.is_some_and(|n| size != n) {
        return Err(ObjectError::IncompleteBody);
    }
    let chunk_size = blobs.config().chunk_size as u32;
    let (manifest, pins) = match writer {
        Some(w) => {
            let (chunks, pins) = w.finish_pinned().await?;
            (Manifest::chunked(chunks, chunk_size), pins)
        }
        None => (Manifest::inline(head.to_vec(), chunk_size), None),
    };
    let digests = hasher
        .await
        .map_err(|e| ObjectError::Internal(format!("hashing thread: {e}")))?;
    Ok(Ingested {
        manifest,
        digests,
        pins,
    })
}
