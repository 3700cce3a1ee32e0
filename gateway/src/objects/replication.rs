//! When a change may be acknowledged: not before the nodes hold its metadata record.
//!
//! The index lives on the gateway's disk. If that disk is lost, the index is rebuilt from the
//! metadata records on the nodes, so a change acknowledged before its record reached the nodes
//! would be lost with the disk (an inline object with its bytes; a sharded one with its
//! manifest, after which its shards look orphaned). So every change a client is told succeeded
//! waits for [`Replication::replicated`] first. The wait is shared: the publisher copies every
//! change committed so far in one round (one request and one sync per node), however many
//! requests are waiting on it.

use std::time::Duration;

use floe_codec::Manifest;

use crate::index::ObjectRecord;

/// Why a change could not be confirmed on enough nodes (it stays committed and queued).
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error("too few storage nodes took the metadata record")]
    TooFewNodes,
    #[error("the gateway is stopping")]
    Stopping,
    #[error("no copy on enough nodes within {0:?}")]
    TimedOut(Duration),
}

/// The nodes' copies of the metadata: made before a change is acknowledged, and read back when
/// the index's own entry turns out damaged.
#[async_trait::async_trait]
pub trait Replication: Send + Sync {
    /// Returns once every change committed to the index before the call is held by enough
    /// nodes that losing the gateway's disk and any m nodes together loses none of them. An
    /// error means that could not be done now: the change stays committed and will be copied
    /// later, but the client must not be told it succeeded.
    async fn replicated(&self) -> Result<(), ReplicationError>;

    /// `bucket/key` as the nodes' newest verified copy of its record has it, written back over
    /// the index's entry, which failed its check; `None` if no node has a usable copy.
    async fn recover_object(&self, bucket: &str, key: &str) -> Option<(ObjectRecord, Manifest)>;
}

/// For an object service without nodes to copy to (unit tests of the object layer).
#[derive(Debug, Default, Clone, Copy)]
pub struct NotReplicated;

#[async_trait::async_trait]
impl Replication for NotReplicated {
    async fn replicated(&self) -> Result<(), ReplicationError> {
        Ok(())
    }

    async fn recover_object(&self, _bucket: &str, _key: &str) -> Option<(ObjectRecord, Manifest)> {
        None
    }
}
