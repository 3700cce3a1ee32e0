//! Failure scenarios against the cluster this run started (k=4, m=2, 6 node processes, write
//! quorum 5). They run in order on one bucket, each stage building on the last:
//!
//! - `outage`: a read/write workload while two nodes are SIGKILLed (no read may fail; writes
//!   succeed, or answer 503 once quorum is out of reach);
//! - `degraded`: a third kill (writes fail with a clean 503 and leave nothing behind, earlier
//!   objects stay readable or answer 503 cleanly); restart of the killed nodes on their old ports
//!   and data (new writes succeed, nothing was lost);
//! - `corruption`: bytes flipped in shard files on disk (reads still return the right bytes,
//!   and the gateway's log reports each bad shard with `shard needs repair`).
//!
//! Floe-only: env mode skips them.

mod corruption;
mod degraded;
mod outage;

use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::report::{Column, Report, heading};
use crate::target::Target;

/// Objects written before the outage, with their contents (seeded, so reproducible).
pub struct Seeded {
    pub bucket: String,
    pub objects: Vec<(String, Vec<u8>)>,
}

/// Records one stage's verdict; `detail` is printed under a pass too, so the log shows what
/// was exercised.
fn record(report: &mut Report, row: &str, started: Instant, result: anyhow::Result<String>) {
    let took = started.elapsed();
    match result {
        Ok(detail) => {
            report.record(Column::Failure, row, Ok(()), took);
            if !detail.is_empty() {
                println!("          {detail}");
            }
        }
        Err(e) => report.record(Column::Failure, row, Err(format!("{e:#}")), took),
    }
}

/// Bounds a stage that talks to a degraded cluster.
async fn bounded<T>(
    limit: Duration,
    f: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::time::timeout(limit, f).await.unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "did not finish within {}s",
            limit.as_secs()
        ))
    })
}

pub async fn run(cluster: &mut Cluster, target: &Target, report: &mut Report) {
    heading("failure scenarios (6 nodes, 4+2, write quorum 5)");
    let started = Instant::now();
    let seeded = match bounded(Duration::from_secs(60), outage::seed(target)).await {
        Ok(s) => s,
        Err(e) => {
            report.record(
                Column::Failure,
                "seed objects",
                Err(format!("{e:#}")),
                started.elapsed(),
            );
            return;
        }
    };
    outage::run(cluster, target, &seeded, report).await;
    corruption::run(cluster, target, &seeded, report).await;
}
