//! Which storage nodes hold a chunk's shards: rendezvous (highest-random-weight) hashing.
//!
//! Each shard picks its node on its own: shard i goes to the node with the best score for
//! (chunk id, i) among the nodes earlier shards did not take. Scores differ per chunk and per
//! shard, so data shards (which serve every healthy read) spread evenly over the nodes, and
//! adding a node only moves the shards whose ranking it now wins, instead of shifting every shard
//! ranked after it. No state, no coordination: the gateway and the repair loop compute the same
//! answer from the id and the node list.

use crate::ChunkId;

/// Domain separation, so scores are unrelated to any other blake3 use of the same id.
const PLACEMENT_TAG: &[u8] = b"floe.place.v1";

/// Why a placement could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("placement needs {need} distinct nodes but only {have} are configured")]
    NotEnoughNodes { need: usize, have: usize },
}

/// Returns `count` distinct indices into `nodes`; shard i of the chunk goes to
/// `nodes[result[i]]`.
pub fn place(chunk: &ChunkId, nodes: &[&str], count: usize) -> Result<Vec<usize>, PlacementError> {
    if count > nodes.len() {
        return Err(PlacementError::NotEnoughNodes {
            need: count,
            have: nodes.len(),
        });
    }
    let mut free: Vec<usize> = (0..nodes.len()).collect();
    let mut chosen = Vec::with_capacity(count);
    for shard in 0..count {
        // Highest score wins; equal scores (identical node keys) fall back to list order so the
        // result is still deterministic.
        let best = free
            .iter()
            .enumerate()
            .max_by(|a, b| {
                let (sa, sb) = (
                    score(chunk, shard, nodes[*a.1]),
                    score(chunk, shard, nodes[*b.1]),
                );
                sa.cmp(&sb).then(b.1.cmp(a.1))
            })
            .map(|(pos, _)| pos);
        if let Some(pos) = best {
            chosen.push(free.remove(pos));
        }
    }
    Ok(chosen)
}

/// Every node index in placement order: the first k + m are the placement, the rest are the
/// fallbacks to try (in order) when a placed node is down or a shard must move.
pub fn rank(chunk: &ChunkId, nodes: &[&str]) -> Vec<usize> {
    place(chunk, nodes, nodes.len()).unwrap_or_default()
}

/// The node's weight for one shard of this chunk. The chunk id and shard index have fixed
/// lengths, so tag || id || index || key is an unambiguous encoding without a separator.
fn score(chunk: &ChunkId, shard: usize, node: &str) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(PLACEMENT_TAG);
    hasher.update(chunk.as_bytes());
    hasher.update(&(shard as u32).to_le_bytes());
    hasher.update(node.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> ChunkId {
        ChunkId::from_bytes(*blake3::hash(&n.to_le_bytes()).as_bytes())
    }

    const NODES: [&str; 6] = [
        "n0:9000", "n1:9000", "n2:9000", "n3:9000", "n4:9000", "n5:9000",
    ];

    #[test]
    fn distinct_and_deterministic() {
        for n in 0..200 {
            let p = place(&id(n), &NODES, 6).unwrap();
            let mut sorted = p.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5]);
            assert_eq!(p, place(&id(n), &NODES, 6).unwrap());
            assert_eq!(place(&id(n), &NODES, 4).unwrap(), p[..4]);
            assert_eq!(rank(&id(n), &NODES), p);
        }
        assert!(place(&id(0), &NODES, 0).unwrap().is_empty());
        assert!(rank(&id(0), &[]).is_empty());
    }

    #[test]
    fn too_many_shards_is_an_error() {
        assert_eq!(
            place(&id(1), &NODES, 7),
            Err(PlacementError::NotEnoughNodes { need: 7, have: 6 })
        );
    }

    #[test]
    fn duplicate_keys_still_give_distinct_indices() {
        let p = place(&id(3), &["same", "same", "other"], 3).unwrap();
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2]);
        // The tie between the two identical keys breaks by list order.
        let first = p.iter().position(|&i| i == 0).unwrap();
        let second = p.iter().position(|&i| i == 1).unwrap();
        assert!(first < second);
    }

    #[test]
    fn shard_zero_rotates_evenly() {
        let chunks = 6000;
        let mut holds_shard0 = [0usize; 6];
        for n in 0..chunks {
            holds_shard0[place(&id(n), &NODES, 6).unwrap()[0]] += 1;
        }
        for (node, &count) in holds_shard0.iter().enumerate() {
            let share = count as f64 / chunks as f64;
            assert!((0.13..=0.20).contains(&share), "node {node}: {share}");
        }
    }

    #[test]
    fn adding_a_node_moves_few_shards() {
        let mut seven = NODES.to_vec();
        seven.push("n6:9000");
        let count = 6;
        let chunks = 3000;
        let (mut entered, mut moved) = (0usize, 0usize);
        for n in 0..chunks {
            let before = place(&id(n), &NODES, count).unwrap();
            let after = place(&id(n), &seven, count).unwrap();
            if after.contains(&6) {
                entered += 1;
                moved += before.iter().zip(&after).filter(|(b, a)| b != a).count();
            } else {
                assert_eq!(before, after, "chunk {n} moved without the new node");
            }
        }
        // The newcomer wins one slot of count/7 of the shards; what it displaces cascades
        // only rarely, so a chunk it enters moves little more than one shard.
        let share = entered as f64 / chunks as f64;
        assert!(share > 0.6 && share < 0.95, "entered {share}");
        let per_chunk = moved as f64 / entered as f64;
        assert!(
            per_chunk < 2.0,
            "{per_chunk} shards moved per entered chunk"
        );
    }
}
