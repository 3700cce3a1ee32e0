//! The publisher: copies every committed bucket and object change to its record on the nodes.
//!
//! The index queues each change in its outbox in the same transaction as the change itself,
//! so nothing is lost to a crash between commit and copy; the publisher drains the outbox in
//! rounds, one batch per node at a time, and retries what failed on its next round. Each record
//! goes to m + 2 nodes and counts as published once m + 1 of them hold it: then losing the
//! gateway's disk and any m nodes together still leaves a copy (one node down must not hold the
//! outbox up; a node holding a newer version counts as holding it).
//!
//! Rounds run every interval, and at once when a request waits to be acknowledged
//! ([`Replication`]): every waiter whose change was committed before a round started is
//! answered by that round, so concurrent requests share one request and one sync per node.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::future::join_all;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use floe_node::RecordItem;

use super::record::{decode, encode, record_id};
use crate::blobs::BlobStore;
use crate::index::{
    Index, IndexError, JournalEntry, JournalState, ObjectRecord, Published, RecordKind,
};
use crate::objects::{Replication, ReplicationError};
use floe_codec::Manifest;

/// How long a round woken by a waiting request lets others join before it starts.
const GATHER: Duration = Duration::from_micros(700);

/// How long a request waits for its change to reach the nodes before it is told to retry.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Outbox entries read per round. Each round costs every node two filesystem syncs and the
/// index a read and a commit, so under a stream of small PUTs larger rounds are cheaper.
const BATCH: usize = 1024;
/// Payload bytes per request: a node's share of a round goes in requests of at most this much
/// (a larger record goes alone), well under the node's body cap (`max_shard_bytes`, 64 MiB by
/// default). The manifest of a huge object makes a record of megabytes.
const REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// Cuts one node's records into requests of at most [`REQUEST_BYTES`] of payload each; a
/// record larger than that goes alone (and may be refused, without holding the others up).
fn split_by_bytes(batch: Vec<(usize, RecordItem)>) -> Vec<Vec<(usize, RecordItem)>> {
    let mut requests: Vec<Vec<(usize, RecordItem)>> = Vec::new();
    let mut bytes = 0;
    for item in batch {
        let len = item.1.payload.len();
        match requests.last_mut() {
            Some(last) if bytes + len <= REQUEST_BYTES => {
                bytes += len;
                last.push(item);
            }
            _ => {
                bytes = len;
                requests.push(vec![item]);
            }
        }
    }
    requests
}

/// Rounds asked for and rounds done, by ticket: a waiter takes the next ticket, and is answered
/// by the first round that starts after it took it.
#[derive(Debug)]
struct Rounds {
    requested: AtomicU64,
    wake: Notify,
    /// (last ticket a round published everything for, last ticket a round failed for).
    outcome: watch::Sender<(u64, u64)>,
}

/// What one batch did.
struct Batch {
    published: usize,
    /// Every entry tried is on enough nodes.
    complete: bool,
    /// The outbox held less than a batch: nothing older is left.
    last: bool,
}

/// An outbox entry: what changed, at which version.
type OutboxKey = Published;

/// Drains the index's outbox to the nodes.
#[derive(Debug, Clone)]
pub struct Publisher {
    index: Arc<Index>,
    blobs: Arc<BlobStore>,
    rounds: Arc<Rounds>,
    /// Entries the nodes hold whose removal from the outbox is still being committed, and that
    /// commit: the next round starts without waiting for it, and skips those entries.
    cleaning: Arc<std::sync::Mutex<std::collections::HashSet<OutboxKey>>>,
    cleanup: Arc<tokio::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Publisher {
    pub fn new(index: Arc<Index>, blobs: Arc<BlobStore>) -> Self {
        Self {
            index,
            blobs,
            rounds: Arc::new(Rounds {
                requested: AtomicU64::new(0),
                wake: Notify::new(),
                outcome: watch::channel((0, 0)).0,
            }),
            cleaning: Arc::default(),
            cleanup: Arc::default(),
        }
    }

    async fn with_index<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Index) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        self.index.call(f).await
    }

    /// One round: publishes up to a batch of queued changes; returns how many succeeded.
    pub async fn publish_once(&self) -> Result<usize, IndexError> {
        Ok(self.publish_batch(None).await?.published)
    }

    /// [`publish_once`](Self::publish_once); when the batch is the last of a backlog (not
    /// full), `settles` is answered as soon as the nodes have answered, before the outbox is
    /// cleaned up: that is bookkeeping, and a waiting request need not wait for it.
    async fn publish_batch(&self, settles: Option<u64>) -> Result<Batch, IndexError> {
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
        let listed = pending.len();
        let pending: Vec<JournalEntry> = {
            let cleaning = self.cleaning.lock().unwrap_or_else(|e| e.into_inner());
            pending
                .into_iter()
                .filter(|e| !cleaning.contains(&outbox_key(e)))
                .collect()
        };
        if listed == BATCH && pending.is_empty() {
            // A full page of entries already published: let their cleanup land, then go on.
            self.await_cleanup().await;
            return Ok(Batch {
                published: 0,
                complete: true,
                last: false,
            });
        }
        let last = listed < BATCH;
        let tried = pending.len();
        let done = if pending.is_empty() {
            Vec::new()
        } else {
            self.publish(pending).await
        };
        let count = done.len();
        if let Some(ticket) = settles
            && (count < tried || last)
        {
            self.settle(ticket, count == tried);
        }
        if count > 0 {
            // One cleanup in flight at a time; this round's goes on in the background.
            self.await_cleanup().await;
            {
                let mut cleaning = self.cleaning.lock().unwrap_or_else(|e| e.into_inner());
                cleaning.extend(done.iter().cloned());
            }
            let this = self.clone();
            let task = tokio::spawn(async move {
                let keys = done.clone();
                if let Err(e) = this.with_index(move |ix| ix.records_published(&done)).await {
                    tracing::warn!(error = %e, "outbox cleanup failed; the entries are sent again");
                }
                let mut cleaning = this.cleaning.lock().unwrap_or_else(|e| e.into_inner());
                for key in &keys {
                    cleaning.remove(key);
                }
            });
            *self.cleanup.lock().await = Some(task);
            if settles.is_none() {
                self.await_cleanup().await;
            }
        }
        Ok(Batch {
            published: count,
            complete: count == tried,
            last,
        })
    }

    async fn await_cleanup(&self) {
        let task = self.cleanup.lock().await.take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Sends the records of `entries` to their nodes, one batch per node (one request and one
    /// sync there, however many records); returns the outbox keys of those enough nodes hold.
    async fn publish(&self, entries: Vec<JournalEntry>) -> Vec<OutboxKey> {
        let nodes = self.blobs.nodes();
        let mut batches: Vec<Vec<(usize, RecordItem)>> = vec![Vec::new(); nodes.len()];
        let mut wanted_copies = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let (id, bytes) = encode(entry);
            let payload = Bytes::from(bytes);
            let targets = self.blobs.record_placement(&id.0);
            wanted_copies.push(targets.len().clamp(1, self.blobs.record_quorum()));
            for node in targets {
                batches[node].push((
                    i,
                    RecordItem {
                        id,
                        version: entry.version,
                        payload: payload.clone(),
                    },
                ));
            }
        }
        let sends = batches
            .into_iter()
            .enumerate()
            .flat_map(|(node, batch)| split_by_bytes(batch).into_iter().map(move |b| (node, b)))
            .map(|(node, batch)| {
                let client = nodes[node].clone();
                async move {
                    let items: Vec<RecordItem> = batch.iter().map(|(_, r)| r.clone()).collect();
                    let outcome = client.put_records(&items).await;
                    if let Err(e) = &outcome {
                        tracing::debug!(node = %client.url(), error = %e, records = items.len(), "record batch not stored");
                    }
                    (batch, outcome.is_ok())
                }
            });
        // Versions under retention: their chunks' nodes hold them too (see `blobs/holds.rs`).
        let now = crate::objects::now_millis();
        let holds: Vec<_> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| match &entry.state {
                JournalState::Object(stamp, _, manifest) => stamp
                    .lock
                    .retention
                    .filter(|r| r.active(now))
                    .map(|r| (i, manifest, r.until)),
                _ => None,
            })
            .flat_map(|(i, manifest, until)| manifest.chunks().iter().map(move |c| (i, c, until)))
            .collect();
        let (sent, hold_failures) = futures::join!(
            join_all(sends),
            self.blobs.raise_holds(&holds, entries.len())
        );
        // A version's holds count as placed when none of its chunks missed more nodes than a
        // write may miss shards. The nodes that missed them hold no hold for that chunk until
        // the version's record is published again (a lock change): the index still protects
        // it, and the other nodes' holds still keep enough shards to read it.
        let config = self.blobs.config();
        let slack = config.params.total().saturating_sub(config.write_quorum);
        // An entry whose holds fell short is not published this round: the outbox keeps it.
        let holds_short: Vec<bool> = hold_failures.into_iter().map(|f| f > slack).collect();
        let mut stored = vec![0usize; entries.len()];
        for (batch, ok) in sent {
            if ok {
                // Stored or kept as a newer version: either way the node holds this change.
                for (i, _) in batch {
                    stored[i] += 1;
                }
            }
        }
        entries
            .into_iter()
            .zip(stored.into_iter().zip(wanted_copies).zip(holds_short))
            .filter(|(_, ((stored, wanted), short))| stored >= wanted && !short)
            .map(|(e, _)| (e.kind, e.bucket, e.key, e.seq, e.version))
            .collect()
    }

    /// Answers the requests that took tickets up to `ticket`.
    fn settle(&self, ticket: u64, complete: bool) {
        self.rounds.outcome.send_modify(|(done, failed)| {
            if complete {
                *done = (*done).max(ticket);
            } else {
                *failed = (*failed).max(ticket);
            }
        });
    }

    /// Publishes rounds while they come back full; a partial round means the outbox is (about)
    /// empty. Returns how many were published, and whether everything tried was. The requests
    /// holding tickets up to `ticket` are answered by the last round (or the first failure).
    async fn publish_backlog(&self, ticket: u64) -> Result<(usize, bool), IndexError> {
        let mut total = 0;
        loop {
            let batch = self.publish_batch(Some(ticket)).await?;
            total += batch.published;
            if !batch.complete {
                return Ok((total, false));
            }
            if batch.last {
                return Ok((total, true));
            }
        }
    }

    /// Publishes every `interval`, and at once for waiting requests, until `shutdown`
    /// resolves.
    pub fn spawn(
        self,
        interval: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut shutdown = std::pin::pin!(shutdown);
            loop {
                tokio::select! {
                    () = &mut shutdown => {
                        // The last cleanup holds the index: let it land before the gateway
                        // reports stopped (a restart in the same process reopens the file).
                        self.await_cleanup().await;
                        return;
                    }
                    () = self.rounds.wake.notified() => {
                        // A moment for the requests committing alongside to join this round:
                        // every round costs each node a request and a sync.
                        tokio::time::sleep(GATHER).await;
                    }
                    () = tokio::time::sleep(interval) => {}
                }
                // Every waiter up to here committed before this round reads the outbox.
                let ticket = self.rounds.requested.load(Ordering::SeqCst);
                if let Err(e) = self.publish_backlog(ticket).await {
                    tracing::warn!(error = %e, "publishing metadata records failed");
                    self.settle(ticket, false);
                }
            }
        })
    }
}

fn outbox_key(e: &JournalEntry) -> OutboxKey {
    (e.kind, e.bucket.clone(), e.key.clone(), e.seq, e.version)
}

#[async_trait::async_trait]
impl Replication for Publisher {
    async fn replicated(&self) -> Result<(), ReplicationError> {
        let ticket = self.rounds.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut outcome = self.rounds.outcome.subscribe();
        self.rounds.wake.notify_one();
        let settled = outcome.wait_for(|(done, failed)| *done >= ticket || *failed >= ticket);
        match tokio::time::timeout(ACK_TIMEOUT, settled).await {
            Ok(Ok(state)) if state.0 >= ticket => Ok(()),
            Ok(Ok(_)) => Err(ReplicationError::TooFewNodes),
            Ok(Err(_)) => Err(ReplicationError::Stopping),
            Err(_) => Err(ReplicationError::TimedOut(ACK_TIMEOUT)),
        }
    }

    async fn recover_object(&self, bucket: &str, key: &str) -> Option<(ObjectRecord, Manifest)> {
        let id = record_id(RecordKind::Object, bucket, key, 0);
        let copies = join_all(self.blobs.nodes().iter().map(|n| n.get_record(&id))).await;
        // The newest copy that decodes: decoding checks the manifest, an inline body's hash
        // included, and that the record is the one of this key.
        let newest = copies
            .into_iter()
            .filter_map(|copy| copy.ok())
            .filter_map(|(_, bytes)| decode(&id, &bytes).ok())
            .max_by_key(|entry| entry.version);
        let JournalState::Object(stamp, record, manifest) = newest?.state else {
            return None;
        };
        if manifest.inline_data().is_some() {
            let (b, k, r, m) = (
                bucket.to_owned(),
                key.to_owned(),
                record.clone(),
                manifest.clone(),
            );
            let repaired = self
                .with_index(move |ix| ix.repair_inline_object(&b, &k, stamp, &r, m))
                .await;
            match repaired {
                // The copy is of another version than the damaged entry: not a stand-in.
                Err(IndexError::NoSuchVersion | IndexError::NoSuchKey) => return None,
                Ok(()) => tracing::warn!(
                    bucket,
                    key,
                    "damaged inline object repaired from a node copy"
                ),
                Err(e) => tracing::error!(bucket, key, error = %e, "damaged object not repaired"),
            }
        }
        Some((*record, manifest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_node::RecordId;

    fn item(i: usize, len: usize) -> (usize, RecordItem) {
        let item = RecordItem {
            id: RecordId([i as u8; 32]),
            version: 1,
            payload: Bytes::from(vec![0u8; len]),
        };
        (i, item)
    }

    #[test]
    fn batches_are_cut_by_bytes_and_big_records_go_alone() {
        let mb = 1024 * 1024;
        let batch = vec![
            item(0, 3 * mb),
            item(1, 3 * mb),
            item(2, 3 * mb),
            item(3, 20 * mb),
            item(4, 10),
        ];
        let requests = split_by_bytes(batch);
        let shape: Vec<Vec<usize>> = requests
            .iter()
            .map(|r| r.iter().map(|(i, _)| *i).collect())
            .collect();
        assert_eq!(shape, vec![vec![0, 1], vec![2], vec![3], vec![4]]);
        assert!(split_by_bytes(Vec::new()).is_empty());
    }
}
