//! Small shards bound for one node travel together. Each node has a lane: a task that takes
//! every small shard queued for its node while its earlier requests were out, and sends them
//! in one batch put (one request, and one group commit on the node).
//!
//! Nothing waits for a batch to fill. A shard that finds a free slot goes at once, alone, on
//! the single-shard path. Batches form only when puts overlap, which is when the cost per
//! request adds up: a 64 KiB object is six shards of 16 KiB, one per node, and without
//! batches 8 writers cost every node 8 requests where a few now do.
//!
//! A lane keeps [`IN_FLIGHT`] requests out at most, so one slow request does not hold back the
//! next batch. Larger shards never queue here: their cost is their bytes, and they go on their
//! own requests (see `writer.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use floe_node::{ClientError, NodeClient, ShardItem};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Shards up to this many bytes are batched (the shards of chunks up to 256 KiB at 4+2).
/// Larger ones gain nothing: a batch copies its shards into one body, and at 256 KiB shards
/// that copy cost what the saved requests did (1 MiB PUTs measured the same either way).
pub(super) const BATCH_SHARD_MAX: usize = 64 * 1024;
/// A batch stops growing past this many payload bytes.
const BATCH_BYTES: usize = 2 << 20;
/// Nor past this many shards.
const BATCH_SHARDS: usize = 256;
/// Requests one lane keeps out at once.
const IN_FLIGHT: usize = 2;
/// Payload bytes a lane holds waiting; past this a shard for its node fails at once. A node
/// that stopped answering then costs the writes its shards (they still reach quorum on the
/// others, and the misses go to repair) instead of gateway memory until its requests time out.
/// A data shard is a slice of its chunk, so what the waiting shards keep alive is at most k
/// times this (the chunks are 256 KiB or less).
const QUEUED_BYTES: usize = 16 << 20;
/// A shard that waited this long in its lane fails instead of going out: its writer has had
/// its quorum from the other nodes, or given up, long before.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// A shard waiting in its node's lane, and who waits for its outcome.
struct Queued {
    item: ShardItem,
    done: oneshot::Sender<Result<(), ClientError>>,
    since: Instant,
}

/// One lane per node, each started at its first shard (a lane is a task, so it needs the
/// runtime, which a store built outside one does not have yet).
#[derive(Debug)]
pub(super) struct ShardBatches {
    lanes: Vec<OnceLock<Lane>>,
}

/// The way into one node's lane, and the payload bytes waiting in it.
#[derive(Debug)]
struct Lane {
    queue: mpsc::UnboundedSender<Queued>,
    queued: Arc<AtomicUsize>,
}

impl ShardBatches {
    pub fn new(nodes: usize) -> Self {
        Self {
            lanes: (0..nodes).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Puts `item` on node `node` (whose client is `client`), in a batch with whatever else is
    /// queued for that node; returns once the node answered for it.
    pub async fn put(
        &self,
        node: usize,
        client: &NodeClient,
        item: ShardItem,
    ) -> Result<(), ClientError> {
        let stopped = || ClientError::Unavailable("the gateway's shard lane stopped".into());
        let lane = self
            .lanes
            .get(node)
            .ok_or_else(|| ClientError::Protocol(format!("no node {node}")))?
            .get_or_init(|| start_lane(client.clone()));
        let len = item.payload.len();
        if lane.queued.fetch_add(len, Ordering::Relaxed) + len > QUEUED_BYTES {
            lane.queued.fetch_sub(len, Ordering::Relaxed);
            return Err(ClientError::Unavailable(
                "the node has fallen behind: too many of its shards are waiting".into(),
            ));
        }
        let (done, outcome) = oneshot::channel();
        let queued = Queued {
            item,
            done,
            since: Instant::now(),
        };
        if lane.queue.send(queued).is_err() {
            lane.queued.fetch_sub(len, Ordering::Relaxed);
            return Err(stopped());
        }
        outcome.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn start_lane(client: NodeClient) -> Lane {
    let (queue, waiting) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    tokio::spawn(run_lane(client, waiting, queued.clone()));
    Lane { queue, queued }
}

/// Takes a slot, then whatever is queued (waiting for the first shard if nothing is), and
/// sends it; ends when the store, and so every sender, is gone.
async fn run_lane(
    client: NodeClient,
    mut waiting: mpsc::UnboundedReceiver<Queued>,
    queued: Arc<AtomicUsize>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = waiting.recv().await else {
            return;
        };
        let mut bytes = first.item.payload.len();
        let mut batch = vec![first];
        while bytes < BATCH_BYTES && batch.len() < BATCH_SHARDS {
            let Ok(next) = waiting.try_recv() else { break };
            bytes += next.item.payload.len();
            batch.push(next);
        }
        // Out of the queue: what is in flight is bounded by the slots instead.
        queued.fetch_sub(bytes, Ordering::Relaxed);
        let (batch, stale): (Vec<Queued>, Vec<Queued>) = batch
            .into_iter()
            .partition(|q| q.since.elapsed() < MAX_WAIT);
        for late in stale {
            let _ = late.done.send(Err(ClientError::Timeout));
        }
        if batch.is_empty() {
            continue;
        }
        let client = client.clone();
        tokio::spawn(async move {
            send(&client, batch).await;
            drop(slot);
        });
    }
}

/// Sends `batch` (a lone shard on the single-shard path) and hands every shard its outcome.
async fn send(client: &NodeClient, mut batch: Vec<Queued>) {
    if batch.len() == 1 {
        let Queued { item, done, .. } = batch.remove(0);
        let result = client
            .put_shard(&item.key.chunk, item.key.index, &item.hash, item.payload)
            .await;
        let _ = done.send(result);
        return;
    }
    let (items, dones): (Vec<ShardItem>, Vec<_>) =
        batch.into_iter().map(|q| (q.item, q.done)).unzip();
    match client.put_shards(&items).await {
        Ok(outcomes) => {
            for (done, outcome) in dones.into_iter().zip(outcomes) {
                let _ = done.send(outcome);
            }
        }
        Err(e) => {
            for done in dones {
                let _ = done.send(Err(e.for_another()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use floe_codec::{ChunkId, ShardHash};
    use floe_node::{ClientOptions, ClusterSecret, ShardKey};

    /// A node that takes connections and requests but never answers.
    async fn silent_node() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        (url, task)
    }

    fn item(n: u32) -> ShardItem {
        let payload = Bytes::from(vec![n as u8; 64 * 1024]);
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&n.to_be_bytes());
        ShardItem {
            key: ShardKey::new(ChunkId::from_bytes(id), 0),
            hash: ShardHash::of(&payload),
            payload,
        }
    }

    #[tokio::test]
    async fn a_shard_that_waited_too_long_fails_without_going_out() {
        let (url, _node) = silent_node().await;
        let secret = ClusterSecret::from_bytes("a test secret of enough length!!").unwrap();
        let client = NodeClient::new(&url, secret, ClientOptions::default()).unwrap();
        let lane = start_lane(client);
        let (done, outcome) = oneshot::channel();
        let since = Instant::now()
            .checked_sub(MAX_WAIT + Duration::from_secs(1))
            .expect("the clock is past MAX_WAIT");
        lane.queued.fetch_add(64 * 1024, Ordering::Relaxed);
        lane.queue
            .send(Queued {
                item: item(1),
                done,
                since,
            })
            .ok()
            .unwrap();
        // The node never answers: only the lane's own check can end this in time.
        let result = tokio::time::timeout(Duration::from_secs(5), outcome)
            .await
            .expect("answered at once")
            .expect("an outcome");
        assert!(matches!(result, Err(ClientError::Timeout)), "{result:?}");
        assert_eq!(lane.queued.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_node_that_stopped_answering_holds_a_bounded_queue() {
        let (url, _node) = silent_node().await;
        let options = ClientOptions {
            timeout: Duration::from_secs(60),
            retries: 0,
            ..ClientOptions::default()
        };
        let secret = ClusterSecret::from_bytes("a test secret of enough length!!").unwrap();
        let client = NodeClient::new(&url, secret, options).unwrap();
        let batches = Arc::new(ShardBatches::new(1));
        let limit = QUEUED_BYTES / (64 * 1024);
        // Two batches go out and hang; the lane then queues up to its bound.
        let mut waiting = Vec::new();
        for n in 0..(limit as u32 + 2 * BATCH_SHARDS as u32) {
            let (batches, client) = (batches.clone(), client.clone());
            waiting.push(tokio::spawn(async move {
                batches.put(0, &client, item(n)).await
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let refused = batches.put(0, &client, item(u32::MAX)).await;
        assert!(
            matches!(&refused, Err(ClientError::Unavailable(why)) if why.contains("fallen behind")),
            "{refused:?}"
        );
        let queued = batches.lanes[0]
            .get()
            .unwrap()
            .queued
            .load(Ordering::Relaxed);
        assert!(queued <= QUEUED_BYTES, "{queued}");
        for task in waiting {
            task.abort();
        }
    }
}
