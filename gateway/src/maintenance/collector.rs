//! The garbage collector: deletes the shards of chunks that no object and no in-progress
//! multipart upload references any more.
//!
//! The index queues a chunk as garbage in the same transaction that drops its last reference.
//! The collector waits a grace period, then deletes it only if nobody pins it (no write in
//! flight, no reader streaming it) and its reference count is still zero, checked after the pin
//! check so that a concurrent identical PUT either re-references it first or waits for the
//! deletion to end and writes the shards again.
//!
//! Each pass first aborts multipart uploads abandoned for longer than `upload_expiry`, so their
//! parts' chunks join the garbage queue like any other unreferenced chunk.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::blobs::BlobStore;
use crate::index::{Index, IndexError};

/// What one collection pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CollectReport {
    /// Chunks whose shards were deleted.
    pub deleted: usize,
    /// Chunks referenced again, dropped from the garbage list without deleting.
    pub revived: usize,
    /// Chunks left for a later pass (pinned, too young, or a node unreachable).
    pub deferred: usize,
    /// Abandoned multipart uploads aborted (their parts' chunks became garbage).
    pub uploads_expired: usize,
    /// Whether deletion was paused: the index's view of the cluster is not complete (see
    /// `recovery::view`; the reason is logged).
    #[serde(default)]
    pub paused: bool,
}

#[derive(Clone)]
pub struct Collector {
    index: Arc<Index>,
    blobs: Arc<BlobStore>,
    /// How long a chunk stays on the garbage list before its shards are deleted.
    pub grace: Duration,
    /// Garbage entries looked at per pass.
    pub batch: usize,
    /// Multipart uploads initiated longer ago than this are aborted; `None` keeps them forever.
    pub upload_expiry: Option<Duration>,
}

impl Collector {
    pub fn new(index: Arc<Index>, blobs: Arc<BlobStore>, grace: Duration) -> Self {
        Self {
            index,
            blobs,
            grace,
            batch: 1000,
            upload_expiry: None,
        }
    }

    /// Aborts uploads older than `upload_expiry`, oldest first, at most `batch` per pass.
    async fn expire_uploads(&self) -> Result<usize, IndexError> {
        let Some(expiry) = self.upload_expiry else {
            return Ok(0);
        };
        let cutoff = crate::objects::now_millis()
            .saturating_sub(i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX));
        let batch = self.batch;
        let stale = self
            .index(move |ix| ix.stale_uploads(cutoff, batch))
            .await?;
        let mut expired = 0;
        for upload in stale {
            let id = upload.clone();
            match self.index(move |ix| ix.abort_upload(&id)).await {
                Ok(()) => expired += 1,
                // Completed or aborted by a client meanwhile: nothing left to expire.
                Err(IndexError::NoSuchUpload) => {}
                Err(e) => return Err(e),
            }
            tracing::info!(upload, "abandoned multipart upload expired");
        }
        Ok(expired)
    }

    async fn index<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Index) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        self.index.call(f).await
    }

    /// One pass over the oldest garbage entries.
    pub async fn collect_once(&self) -> Result<CollectReport, IndexError> {
        let mut report = CollectReport {
            uploads_expired: self.expire_uploads().await?,
            ..CollectReport::default()
        };
        let batch = self.batch;
        let garbage = self.index(move |ix| ix.garbage(batch)).await?;
        let now = crate::objects::now_millis();
        let due = garbage
            .iter()
            .any(|e| now - e.since >= self.grace.as_millis() as i64);
        if due
            && let Err(reason) =
                crate::maintenance::recovery::check_deletable(&self.index, &self.blobs).await
        {
            tracing::warn!(reason, "garbage collection paused");
            report.deferred = garbage.len();
            report.paused = true;
            return Ok(report);
        }
        for entry in garbage {
            if now - entry.since < self.grace.as_millis() as i64 {
                report.deferred += 1;
                continue;
            }
            let pins = self.blobs.pins().clone();
            if !pins.try_begin_delete(entry.id) {
                report.deferred += 1;
                continue;
            }
            let id = entry.id;
            let outcome = async {
                // Claimed in the index (still unreferenced), so that no gateway's write can
                // make it referenced again unnoticed (`index/deletion.rs`).
                let claimed = self
                    .index(move |ix| {
                        let claimed = ix.claim_for_deletion(&id)?;
                        // The release that brought it to zero may not be durable yet: a crash
                        // could bring back an object that needs this chunk. Sync first.
                        if claimed {
                            ix.sync()?;
                        }
                        Ok(claimed)
                    })
                    .await?;
                if !claimed {
                    report.revived += 1;
                    return Ok(());
                }
                match self.blobs.delete_chunk(&id, entry.params).await {
                    Ok(()) => {
                        let now = crate::objects::now_millis();
                        self.index(move |ix| ix.finish_deletion(&id, now)).await?;
                        report.deleted += 1;
                    }
                    Err(e) => {
                        tracing::warn!(chunk = %id, error = %e, "garbage chunk not deleted yet");
                        let now = crate::objects::now_millis();
                        self.index(move |ix| ix.defer_garbage(&id, now)).await?;
                        report.deferred += 1;
                    }
                }
                Ok::<(), IndexError>(())
            }
            .await;
            pins.end_delete(id);
            outcome?;
        }
        let now = crate::objects::now_millis();
        self.index(move |ix| ix.prune_tombstones(now)).await?;
        if report.deleted > 0 {
            tracing::info!(
                deleted = report.deleted,
                deferred = report.deferred,
                "garbage collected"
            );
        }
        Ok(report)
    }

    /// Passes until the garbage queue holds nothing more this collector can delete now, with
    /// `grace` instead of the configured grace period (the admin API's `gc`).
    pub async fn collect_all(&self, grace: Duration) -> Result<CollectReport, IndexError> {
        let pass = Collector {
            grace,
            ..self.clone()
        };
        let mut total = CollectReport::default();
        loop {
            let report = pass.collect_once().await?;
            total.deleted += report.deleted;
            total.revived += report.revived;
            total.deferred = report.deferred;
            total.uploads_expired += report.uploads_expired;
            total.paused |= report.paused;
            if report.deleted + report.revived + report.uploads_expired == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs a pass every `interval` until `shutdown` resolves (a pass cut short by shutdown is
    /// safe: each chunk is forgotten only after its shards are deleted).
    /// Collects every `interval` while this gateway holds the maintenance `lease`.
    pub fn spawn(
        self,
        interval: Duration,
        lease: Arc<crate::maintenance::lease::MaintenanceLease>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        crate::runtime::periodic::every("garbage collection", interval, shutdown, move || {
            let this = self.clone();
            let lease = lease.clone();
            async move {
                if !lease.held() {
                    return Ok(CollectReport::default());
                }
                this.collect_once().await
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use floe_codec::CodecParams;
    use floe_node::{ClientOptions, ClusterSecret, NodeClient};

    use super::*;
    use crate::blobs::ClusterConfig;
    use crate::index::testkit::*;

    fn offline_blobs() -> Arc<BlobStore> {
        let secret = ClusterSecret::from_bytes("s").unwrap();
        let clients = (0..3)
            .map(|i| {
                let url = format!("http://127.0.0.1:{}", 1 + i);
                NodeClient::new(&url, secret.clone(), ClientOptions::default()).unwrap()
            })
            .collect();
        let params = CodecParams::new(2, 1).unwrap();
        Arc::new(BlobStore::new(clients, ClusterConfig::new(params)).unwrap())
    }

    #[tokio::test]
    async fn abandoned_uploads_expire_and_their_chunks_become_garbage() {
        let (_dir, index) = index_with_bucket();
        let index = Arc::new(index);
        let now = crate::objects::now_millis();
        index
            .create_upload("old", &upload_record("b", "k", now - 10_000))
            .unwrap();
        index
            .create_upload("new", &upload_record("b", "k", now))
            .unwrap();
        index
            .put_part("old", 1, &part_record("p", manifest(&[1, 2])))
            .unwrap();
        let mut collector = Collector::new(index.clone(), offline_blobs(), Duration::from_secs(60));
        collector.upload_expiry = Some(Duration::from_secs(5));
        let report = collector.collect_once().await.unwrap();
        assert_eq!(report.uploads_expired, 1);
        // Queued, but younger than the grace period.
        assert_eq!(report.deferred, 2);
        assert_eq!(index.upload("old").unwrap(), None);
        assert!(index.upload("new").unwrap().is_some());
        assert_eq!(index.garbage_count().unwrap(), 2);
    }
}
