//! Phase 1, PUT then GET cells (object size × concurrency), and the GET reruns of the cache-off
//! and degraded phases over the objects phase 1 wrote. One random base body per size; every PUT
//! stamps its own copy (`stamped`), so no two objects share content a store could dedup.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::Client;
use bytes::Bytes;

use super::cpu::per_op_micros;
use super::ops::{self, Expect};
use super::report::progress;
use super::results::{CellStats, ObjectCell};
use super::rng::{random_bytes, stamped};
use super::rss::CpuSplit;
use super::rss::RssMonitor;
use super::units::KIB;
use super::workload::{self, Done};

/// How big a cell is: it moves about `bytes_per_cell`, in at most `max_ops` operations (small
/// objects would otherwise need millions) and at least one per concurrent worker.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub bytes_per_cell: u64,
    pub max_ops: usize,
}

impl Budget {
    /// Operations in the cell of `size`-byte objects at concurrency `concurrency`.
    pub fn ops(&self, size: u64, concurrency: usize) -> usize {
        let by_bytes = (self.bytes_per_cell / size.max(1)).min(self.max_ops as u64) as usize;
        by_bytes.max(concurrency).max(1)
    }
}

/// Small objects are read "hot": after an untimed warm-up pass over the same keys.
pub fn reads_hot(size: u64) -> bool {
    size <= 4 * KIB
}

/// The objects written so far on one endpoint: per (size, concurrency) cell, how many keys.
pub struct Written {
    pub bucket: Arc<str>,
    cells: BTreeMap<(u64, usize), usize>,
    bodies: BTreeMap<u64, Bytes>,
}

impl Written {
    pub fn new(bucket: &str) -> Self {
        Self {
            bucket: bucket.into(),
            cells: BTreeMap::new(),
            bodies: BTreeMap::new(),
        }
    }

    /// The base body of objects of `size` (generated on first use); see [`object_body`].
    pub fn body(&mut self, size: u64) -> Bytes {
        self.bodies
            .entry(size)
            .or_insert_with(|| random_bytes(size, size as usize))
            .clone()
    }

    /// The keys of cell (size, c), else of the biggest cell of that size.
    fn keys_for(&self, size: u64, c: usize) -> Option<(usize, usize)> {
        if let Some(&n) = self.cells.get(&(size, c)) {
            return Some((c, n));
        }
        self.cells
            .iter()
            .filter(|((s, _), _)| *s == size)
            .max_by_key(|(_, n)| **n)
            .map(|(&(_, cell_c), &n)| (cell_c, n))
    }
}

fn key(size: u64, c: usize, i: usize) -> String {
    format!("obj/{size}/c{c}/{i:05}")
}

/// The content of object `i` of cell (size, c): the base body stamped with the cell and index.
/// Large copies run on the blocking pool so stamping never stalls the client's I/O threads.
async fn object_body(base: Bytes, c: usize, i: usize) -> Bytes {
    let tag = ((c as u64) << 32) | i as u64;
    if base.len() <= 1 << 20 {
        return stamped(&base, tag);
    }
    tokio::task::spawn_blocking(move || stamped(&base, tag))
        .await
        .expect("stamping a body does not panic")
}

/// Every PUT then GET cell, in order of size then concurrency; `servers` watches the processes
/// whose CPU each cell reports.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &Client,
    servers: &RssMonitor,
    written: &mut Written,
    sizes: &[u64],
    concurrencies: &[usize],
    budget: Budget,
    label: &str,
    out: &mut Vec<ObjectCell>,
) {
    for &size in sizes {
        for &c in concurrencies {
            let n = budget.ops(size, c);
            let put = put_cell(client, servers, written, size, c, n).await;
            progress(label, &put);
            out.push(put);
            let get = get_cell(client, servers, written, size, c, n).await;
            progress(label, &get);
            out.push(get);
        }
    }
}

/// Writes `n` objects of `size` at concurrency `c` (keys of cell (size, c)), timed.
async fn put_cell(
    client: &Client,
    servers: &RssMonitor,
    written: &mut Written,
    size: u64,
    c: usize,
    n: usize,
) -> ObjectCell {
    let body = written.body(size);
    let (client, bucket) = (client.clone(), written.bucket.clone());
    let cpu = servers.cpu_split();
    let mut run = workload::run(n, c, 1, move |i| {
        let (client, bucket, body) = (client.clone(), bucket.clone(), body.clone());
        async move {
            let body = object_body(body, c, i).await;
            Done::one(ops::put(&client, &bucket, &key(size, c, i), body).await)
        }
    })
    .await;
    let cpu = servers.cpu_split().since(cpu);
    let prev = written.cells.get(&(size, c)).copied().unwrap_or(0);
    written.cells.insert((size, c), prev.max(n));
    ObjectCell {
        op: "PUT".into(),
        size_bytes: size,
        concurrency: c,
        stats: with_cpu(run.stats(0), cpu),
    }
}

/// `n` GETs of `size` at concurrency `c` over the keys of cell (size, c) (or of another cell of
/// that size), timed; `GET hot` after an untimed warm-up pass for small objects. Every body is
/// read to the end and its length checked; the first key's content is compared too.
pub async fn get_cell(
    client: &Client,
    servers: &RssMonitor,
    written: &mut Written,
    size: u64,
    c: usize,
    n: usize,
) -> ObjectCell {
    let hot = reads_hot(size);
    let body = written.body(size);
    let Some((key_c, keys)) = written.keys_for(size, c) else {
        return ObjectCell {
            op: if hot { "GET hot" } else { "GET" }.into(),
            size_bytes: size,
            concurrency: c,
            stats: super::results::CellStats {
                first_error: Some(format!("no objects of {size} bytes were written")),
                ..Default::default()
            },
        };
    };
    let body = object_body(body, key_c, 0).await;
    let reads = |n: usize| {
        let (client, bucket, body) = (client.clone(), written.bucket.clone(), body.clone());
        workload::run(n, c, 1, move |i| {
            let (client, bucket) = (client.clone(), bucket.clone());
            let expect = Expect {
                len: Some(size),
                content: (i == 0).then(|| body.clone()),
                miss_ok: false,
            };
            async move {
                Done::one(ops::get(&client, &bucket, &key(size, key_c, i % keys), &expect).await)
            }
        })
    };
    if hot {
        let _ = reads(keys).await;
    }
    let cpu = servers.cpu_split();
    let mut run = reads(n).await;
    let cpu = servers.cpu_split().since(cpu);
    ObjectCell {
        op: if hot { "GET hot" } else { "GET" }.into(),
        size_bytes: size,
        concurrency: c,
        stats: with_cpu(run.stats(0), cpu),
    }
}

/// `stats` with the servers' CPU per operation and per GiB, from `cpu` over the cell.
fn with_cpu(mut stats: CellStats, cpu: CpuSplit) -> CellStats {
    stats.server_cpu_us_per_op = per_op_micros(cpu.total(), stats.ops);
    stats.server_cpu_s_per_gib = cpu.per_gib(stats.bytes);
    stats
}

/// Makes sure cell (size, c) has objects, writing them untimed if phase 1 did not.
pub async fn ensure(
    client: &Client,
    servers: &RssMonitor,
    written: &mut Written,
    size: u64,
    c: usize,
    budget: Budget,
) {
    if written.keys_for(size, c).is_none() {
        let n = budget.ops(size, c);
        let put = put_cell(client, servers, written, size, c, n).await;
        progress("setup", &put);
    }
}

/// Reruns GET cells (size, c) with the op count phase 1 used; labelled with `label`.
pub async fn rerun_gets(
    client: &Client,
    servers: &RssMonitor,
    written: &mut Written,
    cells: &[(u64, usize)],
    budget: Budget,
    label: &str,
) -> Vec<ObjectCell> {
    let mut out = Vec::new();
    for &(size, c) in cells {
        let n = budget.ops(size, c);
        let cell = get_cell(client, servers, written, size, c, n).await;
        progress(label, &cell);
        out.push(cell);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::MIB;

    #[test]
    fn op_counts_follow_bytes_per_cell_within_bounds() {
        let full = Budget {
            bytes_per_cell: 512 * MIB,
            max_ops: 4000,
        };
        // Small objects: capped.
        assert_eq!(full.ops(4 * KIB, 1), 4000);
        assert_eq!(full.ops(64 * KIB, 32), 4000);
        // 1 MiB: 512 ops move 512 MiB.
        assert_eq!(full.ops(MIB, 8), 512);
        // 64 MiB: max(c, 8).
        assert_eq!(full.ops(64 * MIB, 1), 8);
        assert_eq!(full.ops(64 * MIB, 8), 8);
        assert_eq!(full.ops(64 * MIB, 32), 32);
        // Quick runs: at least one op per worker, a lower cap.
        let quick = Budget {
            bytes_per_cell: 16 * MIB,
            max_ops: 500,
        };
        assert_eq!(quick.ops(4 * KIB, 8), 500);
        assert_eq!(quick.ops(64 * MIB, 1), 1);
        assert_eq!(quick.ops(64 * MIB, 8), 8);
        assert_eq!(quick.ops(MIB, 8), 16);
        assert_eq!(quick.ops(MIB, 32), 32);
    }

    #[test]
    fn only_small_objects_read_hot() {
        assert!(reads_hot(4 * KIB));
        assert!(!reads_hot(64 * KIB));
    }
}
