//! Runs N operations at concurrency c (c tasks pulling the next index from a shared counter) and
//! collects each operation's latency, bytes and outcome, per operation kind.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::results::CellStats;
use super::stats;
use super::units::mib;

/// How one operation ended.
#[derive(Debug)]
pub enum Outcome {
    /// Done; moved this many body bytes.
    Ok(u64),
    /// The key was not there, and that was allowed (mixed workload).
    Miss,
    Error(String),
}

/// One finished operation: its kind (an index into the run's kinds) and outcome.
pub struct Done {
    pub kind: usize,
    pub outcome: Outcome,
}

impl Done {
    pub fn one(outcome: Outcome) -> Self {
        Self { kind: 0, outcome }
    }
}

#[derive(Default)]
struct Samples {
    latencies_ms: Vec<f64>,
    ok: u64,
    misses: u64,
    errors: u64,
    bytes: u64,
    first_error: Option<String>,
}

impl Samples {
    fn record(&mut self, outcome: Outcome, latency: Duration) {
        match outcome {
            Outcome::Ok(bytes) => {
                self.ok += 1;
                self.bytes += bytes;
                self.latencies_ms.push(latency.as_secs_f64() * 1000.0);
            }
            Outcome::Miss => {
                self.misses += 1;
                self.latencies_ms.push(latency.as_secs_f64() * 1000.0);
            }
            Outcome::Error(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn merge(&mut self, other: Samples) {
        self.latencies_ms.extend(other.latencies_ms);
        self.ok += other.ok;
        self.misses += other.misses;
        self.errors += other.errors;
        self.bytes += other.bytes;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// The samples of one run, per kind, and its wall time.
pub struct Run {
    pub elapsed: Duration,
    kinds: Vec<Samples>,
}

impl Run {
    /// Figures for kind `kind`, rates over the whole run's wall time.
    pub fn stats(&mut self, kind: usize) -> CellStats {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let s = &mut self.kinds[kind];
        let (p50_ms, p99_ms) = stats::p50_p99(&mut s.latencies_ms);
        CellStats {
            ops: s.ok + s.misses + s.errors,
            ok: s.ok,
            misses: s.misses,
            errors: s.errors,
            bytes: s.bytes,
            secs,
            mib_per_s: mib(s.bytes) / secs,
            ops_per_s: (s.ok + s.misses) as f64 / secs,
            p50_ms,
            p99_ms,
            server_cpu_us_per_op: None,
            server_cpu_s_per_gib: None,
            first_error: s.first_error.clone(),
        }
    }

    /// Figures over every kind together.
    pub fn total(&mut self) -> CellStats {
        let mut all = Samples::default();
        for s in std::mem::take(&mut self.kinds) {
            all.merge(s);
        }
        self.kinds = vec![all];
        self.stats(0)
    }
}

/// Runs operations `0..n`, at most `c` at a time; `op(i)` performs operation `i`. The latency of
/// an operation is from its start to the end of its future (bodies fully consumed inside).
pub async fn run<F, Fut>(n: usize, c: usize, kinds: usize, op: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Done> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..c.clamp(1, n.max(1)))
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut local: Vec<Samples> = (0..kinds).map(|_| Samples::default()).collect();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break local;
                    }
                    let t = Instant::now();
                    let done = op(i).await;
                    local[done.kind].record(done.outcome, t.elapsed());
                }
            })
        })
        .collect();
    let mut merged: Vec<Samples> = (0..kinds).map(|_| Samples::default()).collect();
    for w in workers {
        match w.await {
            Ok(local) => {
                for (m, l) in merged.iter_mut().zip(local) {
                    m.merge(l);
                }
            }
            Err(e) => merged[0].record(
                Outcome::Error(format!("worker panicked: {e}")),
                Duration::ZERO,
            ),
        }
    }
    Run {
        elapsed: started.elapsed(),
        kinds: merged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_every_op_once_and_sorts_outcomes_by_kind() {
        let mut run = run(100, 8, 2, |i| async move {
            let outcome = match i % 10 {
                0 => Outcome::Error(format!("op {i}")),
                1 => Outcome::Miss,
                _ => Outcome::Ok(10),
            };
            Done {
                kind: i % 2,
                outcome,
            }
        })
        .await;
        let even = run.stats(0);
        let odd = run.stats(1);
        assert_eq!(
            (even.ok, even.misses, even.errors, even.bytes),
            (40, 0, 10, 400)
        );
        assert_eq!(
            (odd.ok, odd.misses, odd.errors, odd.bytes),
            (40, 10, 0, 400)
        );
        assert_eq!(
            even.first_error.as_deref().map(|e| e.starts_with("op ")),
            Some(true)
        );
        let total = run.total();
        assert_eq!(
            (total.ops, total.ok, total.misses, total.errors),
            (100, 80, 10, 10)
        );
    }
}
