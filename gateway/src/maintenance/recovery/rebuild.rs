//! Rebuilding the index from the records on the nodes, after the gateway's disk was lost.
//!
//! 1. List the records of every node and keep, per record id, the newest version seen and the
//!    nodes holding it (a node that is down costs nothing as long as another copy exists).
//! 2. Fetch each newest record from one of those nodes, trying the next on failure, and check
//!    that it really is the record of its id at that version.
//! 3. Restore them into the index in batches: buckets, objects with manifests, refcounts and
//!    the chunk catalog; tombstones delete, and nothing older than the index's own state wins.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use floe_node::RecordId;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::record::decode;
use crate::index::{Index, JournalEntry, RestoreCounts};
use crate::maintenance::repair::{RepairError, Repairer};

/// Records listed per page.
const LIST_PAGE: u32 = 1000;
/// Records fetched concurrently.
const PARALLEL: usize = 8;
/// Records restored per index transaction.
const RESTORE_BATCH: usize = 500;

/// What a rebuild found and restored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildReport {
    pub nodes_listed: u64,
    /// Nodes that could not be listed, with the reason.
    pub nodes_failed: Vec<String>,
    /// Distinct records (buckets and keys) found.
    pub records_found: u64,
    /// Records no node could serve intact at their newest version.
    pub records_unreadable: u64,
    pub restored: RestoreCounts,
    pub elapsed_ms: u64,
}

/// Newest version of one record and the nodes that hold it.
type Newest = BTreeMap<RecordId, (u64, Vec<usize>)>;

/// Rebuilds the index of `repairer` from the records on its nodes (see the module docs).
pub async fn rebuild_index(repairer: &Repairer) -> Result<RebuildReport, RepairError> {
    let _exclusive = repairer.exclusive().await;
    let progress = repairer.progress();
    let _progress = progress.begin("rebuild-index");
    let started = Instant::now();
    let blobs = repairer.blobs();
    let mut report = RebuildReport::default();

    progress.phase("listing records", None);
    let mut newest: Newest = BTreeMap::new();
    for (n, node) in blobs.nodes().iter().enumerate() {
        let mut after = None;
        let listed = loop {
            match node.list_records(after.as_ref(), LIST_PAGE).await {
                Ok(page) => {
                    progress.advance(page.records.len() as u64);
                    for entry in page.records {
                        let slot = newest
                            .entry(entry.id)
                            .or_insert((entry.version, Vec::new()));
                        if entry.version > slot.0 {
                            *slot = (entry.version, Vec::new());
                        }
                        if entry.version == slot.0 {
                            slot.1.push(n);
                        }
                    }
                    match page.next_after {
                        Some(next) => after = Some(next),
                        None => break Ok(()),
                    }
                }
                Err(e) => break Err(e),
            }
        };
        match listed {
            Ok(()) => {
                report.nodes_listed += 1;
                tracing::info!(
                    node = node.url(),
                    records_so_far = newest.len(),
                    "rebuild: node's records listed"
                );
            }
            Err(e) => {
                tracing::warn!(node = node.url(), error = %e, "cannot list records");
                report.nodes_failed.push(format!("{}: {e}", node.url()));
            }
        }
    }
    report.records_found = newest.len() as u64;

    progress.phase("restoring records", Some(newest.len() as u64));
    let mut fetches = futures::stream::iter(newest)
        .map(|(id, (version, holders))| async move { fetch(repairer, id, version, &holders).await })
        .buffer_unordered(PARALLEL);
    let mut batch = Vec::new();
    while let Some(fetched) = fetches.next().await {
        progress.advance(1);
        let done = report.records_unreadable + report.restored.objects + report.restored.buckets;
        if done > 0 && done % 10_000 == 0 {
            tracing::info!(
                done,
                of = report.records_found,
                "rebuild: restoring records"
            );
        }
        match fetched {
            Some(entry) => batch.push(entry),
            None => report.records_unreadable += 1,
        }
        if batch.len() >= RESTORE_BATCH {
            add(
                &mut report.restored,
                restore(repairer.index(), std::mem::take(&mut batch)).await?,
            );
        }
    }
    add(
        &mut report.restored,
        restore(repairer.index(), batch).await?,
    );
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    // Read from every node: the index now knows everything the cluster does, and may delete on
    // its word again (a partial rebuild changes nothing: it only added what it found).
    if report.nodes_failed.is_empty() && report.records_unreadable == 0 {
        repairer
            .index()
            .call(|ix| ix.set_view_complete(true))
            .await?;
    }
    tracing::info!(
        found = report.records_found,
        objects = report.restored.objects,
        buckets = report.restored.buckets,
        unreadable = report.records_unreadable,
        "index rebuilt from node records"
    );
    Ok(report)
}

/// The record `id` at `version` from the first holder that serves it intact.
async fn fetch(
    repairer: &Repairer,
    id: RecordId,
    version: u64,
    holders: &[usize],
) -> Option<JournalEntry> {
    for &node in holders {
        let client = repairer.blobs().node(node);
        match client.get_record(&id).await {
            Ok((got, bytes)) if got == version => match decode(&id, &bytes) {
                Ok(entry) if entry.version == version => return Some(entry),
                Ok(_) => {
                    tracing::warn!(record = %id, node = client.url(), "record version mismatch")
                }
                Err(e) => {
                    tracing::warn!(record = %id, node = client.url(), error = %e, "unusable record")
                }
            },
            // Replaced by a newer version since the listing: another rebuild will see it.
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(record = %id, node = client.url(), error = %e, "record fetch failed")
            }
        }
    }
    None
}

async fn restore(
    index: &Arc<Index>,
    batch: Vec<JournalEntry>,
) -> Result<RestoreCounts, RepairError> {
    if batch.is_empty() {
        return Ok(RestoreCounts::default());
    }
    Ok(index.call(move |ix| ix.restore(&batch)).await?)
}

fn add(total: &mut RestoreCounts, more: RestoreCounts) {
    total.buckets += more.buckets;
    total.objects += more.objects;
    total.deleted += more.deleted;
    total.skipped += more.skipped;
}
