//! The publisher: copies every committed bucket and object change to its record on the nodes.
//!
//! The index queues each change in its outbox in the same transaction as the change itself,
//! so nothing is lost to a crash between commit and copy; the publisher drains the outbox in
//! the background, a few records in parallel, and retries what failed on its next round. Each
//! record goes to [`RECORD_COPIES`](crate::blobs::RECORD_COPIES) nodes and counts as published
//! once two of them hold it (the third copy is best effort: one node down must not hold the
//! outbox up; a node holding a newer version counts as holding it).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::join_all;
use tokio::task::JoinHandle;

use super::record::encode;
use crate::blobs::BlobStore;
use crate::index::{Index, IndexError, JournalEntry, RecordKind};

/// Outbox entries read per round.
const BATCH: usize = 256;
/// Records sent concurrently.
const PARALLEL: usize = 8;

/// Drains the index's outbox to the nodes.
#[derive(Debug, Clone)]
pub struct Publisher {
    index: Arc<Index>,
    blobs: Arc<BlobStore>,
}

impl Publisher {
    pub fn new(index: Arc<Index>, blobs: Arc<BlobStore>) -> Self {
        Self { index, blobs }
    }

    async fn with_index<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Index) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || f(&index))
            .await
            .map_err(|e| IndexError::Storage(format!("index task: {e}")))?
    }

    /// One round: publishes up to a batch of queued changes; returns how many succeeded.
    pub async fn publish_once(&self) -> Result<usize, IndexError> {
        let pending = self
            .with_index(|ix| {
                let pending = ix.pending_records(BATCH)?;
                // Only durable changes go to the nodes: a commit a crash could still undo must
                // not come back from the nodes' copies in an index rebuild.
                if !pending.is_empty() {
                    ix.sync()?;
                }
                Ok(pending)
            })
            .await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let results: Vec<Option<(RecordKind, String, String, u64)>> =
            futures::stream::iter(pending)
                .map(|entry| async move { self.publish(entry).await })
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
        let done: Vec<_> = results.into_iter().flatten().collect();
        let count = done.len();
        if count > 0 {
            self.with_index(move |ix| ix.records_published(&done))
                .await?;
        }
        Ok(count)
    }

    /// Sends one record to its nodes; its outbox key when enough of them hold it.
    async fn publish(&self, entry: JournalEntry) -> Option<(RecordKind, String, String, u64)> {
        let (id, bytes) = encode(&entry);
        let body = Bytes::from(bytes);
        let targets = self.blobs.record_placement(&id.0);
        let puts = targets.iter().map(|&node| {
            let client = self.blobs.nodes()[node].clone();
            let body = body.clone();
            async move { client.put_record(&id, entry.version, body).await }
        });
        let results = join_all(puts).await;
        let stored = results.iter().filter(|r| r.is_ok()).count();
        if stored >= targets.len().clamp(1, 2) {
            Some((entry.kind, entry.bucket, entry.key, entry.version))
        } else {
            let errors: Vec<String> = results
                .iter()
                .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
                .collect();
            tracing::debug!(record = %id, ?errors, "record not published yet");
            None
        }
    }

    /// Publishes until the outbox is empty or a round makes no progress; returns the count.
    pub async fn flush(&self) -> Result<usize, IndexError> {
        let mut total = 0;
        loop {
            let done = self.publish_once().await?;
            total += done;
            if done == 0 {
                return Ok(total);
            }
        }
    }

    /// Publishes every `interval` until `shutdown` resolves.
    pub fn spawn(
        self,
        interval: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            tokio::pin!(shutdown);
            loop {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(interval) => {}
                }
                let round = self.flush();
                tokio::select! {
                    () = &mut shutdown => return,
                    result = round => if let Err(e) = result {
                        tracing::error!(error = %e, "publishing metadata records failed");
                    },
                }
            }
        })
    }
}
