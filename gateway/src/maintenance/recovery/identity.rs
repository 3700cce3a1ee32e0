//! The cluster's identity, settled before the gateway serves.
//!
//! A cluster has an id, created once by its first gateway, kept in the index and recorded on
//! every node (`floe_node::membership`). At startup the gateway asks every node for its cluster
//! and for the newest metadata record it holds, then:
//! - refuses to start if a node belongs to another cluster than the index, or the nodes to
//!   several, naming them: it never writes to a node of another cluster;
//! - adopts the nodes' cluster when its index is new, or creates one when nobody has any;
//! - joins the nodes that have not joined yet, and signs every request with the cluster id;
//! - rebuilds its index from the nodes before serving when the index is behind them (new,
//!   lost or restored from an old copy: the nodes hold records newer than any it handed out).
//!
//! Rebuilding rather than refusing: a gateway whose volume was lost (a container started without
//! it, a replaced disk) comes back by itself, with progress in the log, instead of needing an
//! operator at 3 a.m.; and it cannot do harm meanwhile, because a rebuild that could not read
//! every node leaves the view incomplete, and nothing is deleted on an incomplete view
//! (`view`). The rebuild itself only adds what the nodes hold.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::rebuild::{RebuildReport, rebuild_index};
use crate::index::{ClusterId, IndexError};
use crate::maintenance::repair::{RepairError, Repairer};

/// Why the gateway must not start.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0}")]
    Conflict(String),
    #[error("metadata index: {0}")]
    Index(#[from] IndexError),
    #[error("rebuilding the index from the nodes: {0}")]
    Rebuild(#[from] RepairError),
}

/// What startup settled.
#[derive(Debug, Clone)]
pub struct Settled {
    pub cluster: ClusterId,
    /// Whether the cluster was created by this start.
    pub created: bool,
    /// The rebuild run before serving, if one was needed (or asked for).
    pub rebuilt: Option<RebuildReport>,
    /// Whether the index's view of the cluster is complete (deletion allowed).
    pub complete: bool,
}

/// Settles the cluster identity of `repairer`'s index and nodes (see the module docs).
/// `rebuild` forces a rebuild (`floe serve --rebuild-index`).
pub async fn settle(repairer: &Repairer, rebuild: bool) -> Result<Settled, IdentityError> {
    let index = repairer.index().clone();
    let blobs = repairer.blobs();
    let nodes = blobs.nodes();
    let infos = join_all(nodes.iter().map(|n| n.cluster_info())).await;

    let mut clusters: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut unreachable = Vec::new();
    let mut newest = 0;
    for (node, info) in nodes.iter().zip(&infos) {
        match info {
            Ok(info) => {
                newest = newest.max(info.newest_record_version);
                if let Some(id) = &info.cluster {
                    clusters.entry(id.clone()).or_default().push(node.url());
                }
            }
            Err(e) => {
                tracing::warn!(node = node.url(), error = %e, "node did not answer at startup");
                unreachable.push(node.url());
            }
        }
    }
    let described = |clusters: &BTreeMap<String, Vec<&str>>| {
        clusters
            .iter()
            .map(|(id, urls)| format!("cluster {id}: {}", urls.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let known = index.cluster_id()?;
    let (cluster, created) = match known {
        Some(id) => {
            let foreign: BTreeMap<String, Vec<&str>> = clusters
                .iter()
                .filter(|(other, _)| **other != id.to_hex())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !foreign.is_empty() {
                return Err(IdentityError::Conflict(format!(
                    "this gateway's index belongs to cluster {id}, but some nodes belong to \
                     another ({}). Remove them from `nodes`, or start this gateway with the \
                     data directory of their cluster",
                    described(&foreign)
                )));
            }
            (id, false)
        }
        None if clusters.len() > 1 => {
            return Err(IdentityError::Conflict(format!(
                "the configured nodes belong to different clusters ({}); list the nodes of one \
                 cluster only",
                described(&clusters)
            )));
        }
        None => match clusters.keys().next() {
            Some(hex) => {
                let id = ClusterId::parse(hex).ok_or_else(|| {
                    IdentityError::Conflict(format!(
                        "a node reports a malformed cluster id {hex:?}"
                    ))
                })?;
                tracing::info!(cluster = %id, "this gateway joins the nodes' cluster");
                (id, false)
            }
            None => {
                let id = ClusterId::generate();
                tracing::info!(cluster = %id, "creating a new cluster");
                (id, true)
            }
        },
    };
    if known.is_none() {
        index.set_cluster_id(cluster)?;
    }
    let hex = cluster.to_hex();
    for (node, info) in nodes.iter().zip(&infos) {
        node.bind_cluster(&hex);
        if matches!(info, Ok(info) if info.cluster.is_none()) {
            match node.join_cluster(&hex).await {
                Ok(_) => {
                    tracing::info!(node = node.url(), cluster = hex, "node joined the cluster")
                }
                Err(e) => tracing::warn!(node = node.url(), error = %e, "node could not join"),
            }
        }
    }

    let last = index.last_record_version()?;
    let behind = newest > last;
    let mut rebuilt = None;
    if behind || rebuild {
        if behind {
            tracing::warn!(
                index_version = last,
                nodes_version = newest,
                "the index is behind the nodes' metadata records (a new or lost data directory, \
                 or an old copy): rebuilding it from the nodes before serving"
            );
        }
        let report = rebuild_index(repairer).await?;
        let complete = report.nodes_failed.is_empty() && report.records_unreadable == 0;
        if !complete {
            tracing::warn!(
                failed = ?report.nodes_failed,
                unreadable = report.records_unreadable,
                "the rebuild could not read every node: garbage collection and the orphan sweep \
                 stay off until `floe admin rebuild-index` runs with every node up"
            );
        }
        index.set_view_complete(complete)?;
        rebuilt = Some(report);
    } else if index.view_complete()?.is_none() {
        // First start of this index with completeness tracked: one that existed before wrote
        // everything the nodes hold; a new one is complete if no node could hide records.
        index.set_view_complete(known.is_some() || unreachable.is_empty())?;
    }
    Ok(Settled {
        cluster,
        created,
        rebuilt,
        complete: index.view_complete()? == Some(true),
    })
}
