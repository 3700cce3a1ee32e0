//! Whether this gateway may delete data now: only on a complete view of the cluster.
//!
//! Garbage collection and the orphan sweep delete a chunk because nothing references it. That
//! is only true if the index has seen every reference the cluster holds:
//! - its view is complete: it was built by this gateway from the cluster's first write, or
//!   rebuilt from the records of every node (a partial rebuild leaves it incomplete);
//! - every node answers, and none holds a metadata record newer than the newest the index
//!   knows (which a second gateway, or an index restored from an old backup, would show).
//!
//! When any of this fails, deletion waits, and the reason is logged and reported.

use crate::blobs::BlobStore;
use crate::index::Index;

/// `Ok` when deleting on the index's word is safe now; otherwise why not.
pub async fn check_deletable(index: &Index, blobs: &BlobStore) -> Result<(), String> {
    let (complete, last) = match (index.view_complete(), index.last_record_version()) {
        (Ok(complete), Ok(last)) => (complete, last),
        (Err(e), _) | (_, Err(e)) => return Err(format!("index: {e}")),
    };
    if complete != Some(true) {
        return Err(
            "the index's view of the cluster is incomplete (a rebuild could not read \
                    every node): run `floe admin rebuild-index` with every node up"
                .into(),
        );
    }
    let infos = futures::future::join_all(blobs.nodes().iter().map(|n| n.cluster_info())).await;
    for (node, info) in blobs.nodes().iter().zip(infos) {
        match info {
            Ok(info) if info.newest_record_version <= last => {}
            Ok(info) => {
                return Err(format!(
                    "node {} holds metadata records newer than this index (version {} > {last}): \
                     another gateway writes to this cluster, or the index is an old copy; run \
                     `floe admin rebuild-index`",
                    node.url(),
                    info.newest_record_version
                ));
            }
            Err(e) => {
                return Err(format!(
                    "node {} did not answer ({e}): deletion waits until every node can be asked",
                    node.url()
                ));
            }
        }
    }
    Ok(())
}
