//! Assembling `GET /admin/status`: every node's health and figures (asked in parallel, each
//! with a short deadline so one hung node cannot stall the report), the index's counts, the
//! repair counters and the cache statistics.

use std::time::Duration;

use floe_node::NodeClient;
use futures::future::join_all;

use super::api::AdminState;
use super::{GatewayStatus, LeaseStatus, LifecycleStatus, NodeStatus, StatusReport};
use crate::maintenance::lease::LEASE_TTL;
use crate::maintenance::repair::RepairError;

/// Due keys counted at most, so that status stays cheap behind a large backlog.
const BACKLOG_CAP: usize = 100_000;

/// How long one node may take to answer the health and stats probes.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

async fn probe(key: String, client: NodeClient, draining: bool) -> NodeStatus {
    let url = client.url().to_string();
    let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
        client.health().await?;
        client.stats().await
    })
    .await;
    let (stats, error) = match answer {
        Ok(Ok(stats)) => (Some(stats), None),
        Ok(Err(e)) => (None, Some(e.to_string())),
        Err(_) => (None, Some("no answer within 3 s".to_string())),
    };
    NodeStatus {
        key,
        url,
        up: stats.is_some(),
        draining,
        stats,
        error,
    }
}

pub(super) async fn status(state: &AdminState) -> Result<StatusReport, RepairError> {
    let blobs = state.cache.blobs();
    let probes = blobs.nodes().iter().enumerate().map(|(i, client)| {
        probe(
            blobs.keys()[i].clone(),
            client.clone(),
            blobs.is_draining(i),
        )
    });
    let nodes = join_all(probes).await;
    let (buckets, objects, chunks, garbage, records_pending) = state
        .repairer
        .index()
        .call(|index| {
            let (buckets, objects) = index.totals()?;
            Ok((
                buckets,
                objects,
                index.chunk_count()?,
                index.garbage_count()?,
                index.pending_record_count()?,
            ))
        })
        .await?;
    let now = crate::objects::now_millis();
    let since = now - i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX);
    let (gateways, leases) = state
        .repairer
        .index()
        .call(move |index| Ok((index.gateways(since)?, index.leases()?)))
        .await?;
    let (lifecycle_state, backlog) = state
        .repairer
        .index()
        .call(move |index| {
            Ok((
                index.lifecycle_state()?,
                index.lifecycle_backlog(now, BACKLOG_CAP)?,
            ))
        })
        .await?;
    let last = state.lifecycle.last_run();
    let lifecycle = LifecycleStatus {
        buckets: lifecycle_state.rules.len() as u64,
        upload_cursor: lifecycle_state.cursor,
        backlog,
        last_run_at: last.map(|(at, _)| at),
        last_run: last.map(|(_, report)| report),
    };
    let config = blobs.config();
    Ok(StatusReport {
        lifecycle,
        erasure_code: config.params.to_string(),
        write_quorum: config.write_quorum,
        nodes,
        buckets,
        objects,
        chunks,
        garbage,
        records_pending,
        repair: state.repairer.counters(),
        cache: state.cache.stats(),
        running: state.repairer.progress().snapshot(),
        index: state.index_location.clone(),
        gateway: state.lease.id().to_string(),
        gateways: gateways
            .into_iter()
            .map(|(id, g)| GatewayStatus {
                id,
                s3: g.s3,
                admin: g.admin,
                seen_ms_ago: now - g.seen,
            })
            .collect(),
        leases: leases
            .into_iter()
            .map(|(name, l)| LeaseStatus {
                name,
                holder: l.holder,
                expires_in_ms: l.expires - now,
            })
            .collect(),
    })
}
