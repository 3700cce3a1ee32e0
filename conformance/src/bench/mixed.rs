//! Phase 4: a mixed workload over a pre-populated key space: 45% GET, 30% HEAD, 15% PUT,
//! 10% DELETE, drawn from a seeded generator (the same plan for every endpoint). A GET or HEAD
//! of a key deleted earlier is a "miss", not an error.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::Client;

use super::ops::{self, Expect};
use super::results::MixedResult;
use super::rng::{XorShift64, random_bytes};
use super::units::size_label;
use super::workload::{self, Done};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Get,
    Head,
    Put,
    Delete,
}

pub const KINDS: [Kind; 4] = [Kind::Get, Kind::Head, Kind::Put, Kind::Delete];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Get => "GET",
            Kind::Head => "HEAD",
            Kind::Put => "PUT",
            Kind::Delete => "DELETE",
        }
    }

    fn index(self) -> usize {
        KINDS.iter().position(|k| *k == self).expect("listed kind")
    }

    /// The kind for a draw in `0..100`.
    pub fn for_draw(percent: u64) -> Self {
        match percent {
            0..45 => Kind::Get,
            45..75 => Kind::Head,
            75..90 => Kind::Put,
            _ => Kind::Delete,
        }
    }
}

/// `n` operations (kind, key index in `0..keys`) from `seed`.
pub fn plan(seed: u64, n: usize, keys: usize) -> Vec<(Kind, usize)> {
    let mut rng = XorShift64::new(seed);
    (0..n)
        .map(|_| {
            let kind = Kind::for_draw(rng.below(100));
            (kind, rng.below(keys as u64) as usize)
        })
        .collect()
}

fn key(i: usize) -> String {
    format!("mixed/{i:05}")
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &Client,
    bucket: &str,
    keys: usize,
    object_bytes: u64,
    ops_count: usize,
    concurrency: usize,
    seed: u64,
    label: &str,
) -> MixedResult {
    let body = random_bytes(0x313D, object_bytes as usize);
    let bucket: Arc<str> = bucket.into();
    let (c, b, data) = (client.clone(), bucket.clone(), body.clone());
    let mut setup = workload::run(keys, 32, 1, move |i| {
        let (client, bucket, data) = (c.clone(), b.clone(), data.clone());
        async move { Done::one(ops::put(&client, &bucket, &key(i), data).await) }
    })
    .await;
    let setup = setup.stats(0);
    eprintln!(
        "[{label}] mixed setup: {keys} PUTs of {} at c=32: {:.1} s, {:.0} op/s, {} errors",
        size_label(object_bytes),
        setup.secs,
        setup.ops_per_s,
        setup.errors
    );
    let plan = Arc::new(plan(seed, ops_count, keys));
    let c = client.clone();
    let mut run = workload::run(ops_count, concurrency, KINDS.len(), move |i| {
        let (client, bucket, body) = (c.clone(), bucket.clone(), body.clone());
        let (kind, k) = plan[i];
        async move {
            let key = key(k);
            let outcome = match kind {
                Kind::Get => {
                    let expect = Expect {
                        len: Some(object_bytes),
                        content: None,
                        miss_ok: true,
                    };
                    ops::get(&client, &bucket, &key, &expect).await
                }
                Kind::Head => ops::head(&client, &bucket, &key, true).await,
                Kind::Put => ops::put(&client, &bucket, &key, body).await,
                Kind::Delete => ops::delete(&client, &bucket, &key).await,
            };
            Done {
                kind: kind.index(),
                outcome,
            }
        }
    })
    .await;
    let kinds: BTreeMap<String, _> = KINDS
        .iter()
        .map(|k| (k.name().to_string(), run.stats(k.index())))
        .collect();
    let total = run.total();
    eprintln!(
        "[{label}] mixed {ops_count} ops at c={concurrency}: {:.1} s, {:.0} op/s, {} misses, {} errors",
        total.secs, total.ops_per_s, total.misses, total.errors
    );
    MixedResult {
        keys,
        object_bytes,
        concurrency,
        seed,
        setup,
        total,
        kinds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_plan_matches_the_mix_within_3_percent() {
        let plan = plan(42, 10_000, 1000);
        let share = |kind: Kind| {
            plan.iter().filter(|(k, _)| *k == kind).count() as f64 / plan.len() as f64 * 100.0
        };
        for (kind, want) in [
            (Kind::Get, 45.0),
            (Kind::Head, 30.0),
            (Kind::Put, 15.0),
            (Kind::Delete, 10.0),
        ] {
            let got = share(kind);
            assert!((got - want).abs() <= 3.0, "{kind:?}: {got:.2}% vs {want}%");
        }
        assert!(plan.iter().all(|&(_, key)| key < 1000));
        // Keys spread over the space: most of the 1000 are touched by 10k draws.
        let mut touched = vec![false; 1000];
        for &(_, key) in &plan {
            touched[key] = true;
        }
        assert!(touched.iter().filter(|t| **t).count() > 990);
    }

    #[test]
    fn same_seed_same_plan() {
        assert_eq!(plan(7, 100, 50), plan(7, 100, 50));
        assert_ne!(plan(7, 100, 50), plan(8, 100, 50));
    }

    #[test]
    fn draw_boundaries() {
        assert_eq!(Kind::for_draw(0), Kind::Get);
        assert_eq!(Kind::for_draw(44), Kind::Get);
        assert_eq!(Kind::for_draw(45), Kind::Head);
        assert_eq!(Kind::for_draw(74), Kind::Head);
        assert_eq!(Kind::for_draw(75), Kind::Put);
        assert_eq!(Kind::for_draw(89), Kind::Put);
        assert_eq!(Kind::for_draw(90), Kind::Delete);
        assert_eq!(Kind::for_draw(99), Kind::Delete);
    }
}
