//! Recovery plans: every lost data shard as a fixed GF(2^16) linear combination of the k shards
//! a read fetched.
//!
//! reed-solomon-simd decodes with an erasure-locator polynomial, an IFFT and an FFT over a work
//! buffer of `(m.next_power_of_two() + k)` shards. For Floe's small codes that is several full
//! passes over a multi-MiB buffer, about 4.6x the cost of encoding. But the code is linear and
//! acts on each 16-bit symbol position alike, so once the erasure pattern is known each lost
//! shard is `sum(c_i * input_i)` with k constants. A plan finds those constants once per
//! pattern, by decoding unit vectors through the library itself, and caches them; a read then
//! costs k multiply-and-add passes per lost shard, done in cache-sized segments.
//!
//! Every rebuilt shard is still checked against its hash by the caller, so a wrong plan could
//! only ever produce an error, never wrong bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use reed_solomon_simd::ReedSolomonDecoder;
use reed_solomon_simd::engine::{DefaultEngine, Engine, tables, utils};

use crate::CodecError;

/// reed-solomon-simd's unit of work: 32 symbols, their 32 low bytes then their 32 high bytes.
const BLOCK: usize = 64;
const SYMBOLS_PER_BLOCK: usize = BLOCK / 2;
/// Bytes of each shard handled per pass. The k input segments, the scratch segment and the
/// outputs then stay in L2 while every term is applied, instead of streaming from memory.
const SEGMENT: usize = 16 * 1024;
/// Plans kept before the cache starts over. A cluster sees at most C(k + m, k) patterns per code
/// (15 for 4+2), so this only bounds memory against pathological mixes of codes.
const MAX_CACHED_PLANS: usize = 4096;

/// Which shards were fetched: the decode inputs, in ascending index order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PlanKey {
    k: usize,
    m: usize,
    inputs: Vec<usize>,
}

/// One lost data shard: its index and the terms `(position in inputs, coefficient)` whose sum
/// rebuilds it. Zero coefficients are left out.
#[derive(Debug)]
struct Row {
    index: usize,
    terms: Vec<Term>,
}

#[derive(Debug, Clone, Copy)]
struct Term {
    input: usize,
    /// The coefficient itself, so multiplication by one can be skipped.
    value: u16,
    /// Its discrete log, the form `Engine::mul` takes.
    log: u16,
}

/// The recovery of every lost data shard for one erasure pattern.
#[derive(Debug)]
pub(super) struct Plan {
    k: usize,
    m: usize,
    /// The shards the plan reads, ascending; `Term::input` indexes this.
    inputs: Vec<usize>,
    rows: Vec<Row>,
}

impl Plan {
    /// The plan for rebuilding data shards from exactly these k `inputs` (ascending shard
    /// indices); cached per pattern.
    pub(super) fn for_inputs(
        k: usize,
        m: usize,
        inputs: &[usize],
    ) -> Result<Arc<Plan>, CodecError> {
        let key = PlanKey {
            k,
            m,
            inputs: inputs.to_vec(),
        };
        static CACHE: OnceLock<Mutex<HashMap<PlanKey, Arc<Plan>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(plan) = lock(cache).get(&key) {
            return Ok(Arc::clone(plan));
        }
        // Built outside the lock: two readers racing on a new pattern both derive the same plan.
        let plan = Arc::new(Plan::derive(&key)?);
        let mut cache = lock(cache);
        if cache.len() >= MAX_CACHED_PLANS {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&plan));
        Ok(plan)
    }

    /// Indices of the data shards this plan rebuilds, ascending.
    pub(super) fn lost(&self) -> impl Iterator<Item = usize> + '_ {
        self.rows.iter().map(|row| row.index)
    }

    /// Rebuilds lost data shard `index` from `inputs` (the plan's k shards, in its order, each
    /// `dst.len()` bytes) into `dst`, which must be zeroed.
    pub(super) fn rebuild<T: AsRef<[u8]>>(
        &self,
        index: usize,
        inputs: &[T],
        dst: &mut [u8],
    ) -> Result<(), CodecError> {
        let row = self
            .rows
            .iter()
            .find(|row| row.index == index)
            .ok_or_else(|| CodecError::ReedSolomon(format!("no recovery row for shard {index}")))?;
        let shard_len = dst.len();
        if inputs.len() != self.inputs.len()
            || inputs.iter().any(|input| input.as_ref().len() != shard_len)
        {
            return Err(CodecError::ReedSolomon(
                "recovery inputs differ in length".into(),
            ));
        }
        let whole = shard_len - shard_len % BLOCK;
        let engine = engine();
        let mut scratch = vec![0u8; SEGMENT.min(whole)];
        for start in (0..whole).step_by(SEGMENT) {
            let end = (start + SEGMENT).min(whole);
            let (out, _) = dst[start..end].as_chunks_mut::<BLOCK>();
            for term in &row.terms {
                let src = &inputs[term.input].as_ref()[start..end];
                if term.value == 1 {
                    utils::xor(out, src.as_chunks::<BLOCK>().0);
                    continue;
                }
                let tmp = &mut scratch[..end - start];
                tmp.copy_from_slice(src);
                let (tmp, _) = tmp.as_chunks_mut::<BLOCK>();
                engine.mul(tmp, term.log);
                utils::xor(out, tmp);
            }
        }
        if whole < shard_len {
            self.rebuild_tail(index, inputs, whole, &mut dst[whole..])?;
        }
        Ok(())
    }

    /// The last partial block (shards whose length is not a multiple of 64) is laid out
    /// differently inside the library, so it goes through the library decoder. Positions are
    /// independent, so the tails of a codeword's shards are themselves a codeword.
    fn rebuild_tail<T: AsRef<[u8]>>(
        &self,
        index: usize,
        inputs: &[T],
        from: usize,
        dst: &mut [u8],
    ) -> Result<(), CodecError> {
        let (k, m) = (self.k, self.m);
        let mut decoder = ReedSolomonDecoder::new(k, m, dst.len())?;
        for (&shard, input) in self.inputs.iter().zip(inputs) {
            let tail = &input.as_ref()[from..];
            if shard < k {
                decoder.add_original_shard(shard, tail)?;
            } else {
                decoder.add_recovery_shard(shard - k, tail)?;
            }
        }
        let result = decoder.decode()?;
        let restored = result.restored_original(index).ok_or_else(|| {
            CodecError::ReedSolomon(format!("decoder did not restore data shard {index}"))
        })?;
        dst.copy_from_slice(restored);
        Ok(())
    }

    /// Finds the coefficients by decoding probes: input p carries the symbol 1 at position p and
    /// zeros elsewhere, so position p of each restored shard is exactly its coefficient for p.
    fn derive(key: &PlanKey) -> Result<Plan, CodecError> {
        let (k, m) = (key.k, key.m);
        if key.inputs.len() != k || key.inputs.iter().any(|&shard| shard >= k + m) {
            return Err(CodecError::ReedSolomon(
                "recovery plan needs k distinct inputs".into(),
            ));
        }
        let probe_len = k.div_ceil(SYMBOLS_PER_BLOCK) * BLOCK;
        let mut decoder = ReedSolomonDecoder::new(k, m, probe_len)?;
        for (position, &shard) in key.inputs.iter().enumerate() {
            let mut probe = vec![0u8; probe_len];
            probe[low_byte(position)] = 1;
            if shard < k {
                decoder.add_original_shard(shard, &probe)?;
            } else {
                decoder.add_recovery_shard(shard - k, &probe)?;
            }
        }
        let result = decoder.decode()?;
        let log = &tables::get_exp_log().log;
        let mut rows = Vec::new();
        for index in (0..k).filter(|index| !key.inputs.contains(index)) {
            let restored = result.restored_original(index).ok_or_else(|| {
                CodecError::ReedSolomon(format!("decoder did not restore data shard {index}"))
            })?;
            let terms = (0..k)
                .filter_map(|position| {
                    let lo = restored[low_byte(position)];
                    let hi = restored[low_byte(position) + SYMBOLS_PER_BLOCK];
                    let value = u16::from_le_bytes([lo, hi]);
                    (value != 0).then(|| Term {
                        input: position,
                        value,
                        log: log[usize::from(value)],
                    })
                })
                .collect();
            rows.push(Row { index, terms });
        }
        // The probe decoder is dropped here; the plan keeps only the constants.
        drop(result);
        Ok(Plan {
            k,
            m,
            inputs: key.inputs.clone(),
            rows,
        })
    }
}

/// Offset of the low byte of symbol `position` in a probe shard.
fn low_byte(position: usize) -> usize {
    position / SYMBOLS_PER_BLOCK * BLOCK + position % SYMBOLS_PER_BLOCK
}

/// One engine for the process: it picks AVX2, SSSE3 or plain code once, and its tables are
/// shared statics anyway.
fn engine() -> &'static DefaultEngine {
    static ENGINE: OnceLock<DefaultEngine> = OnceLock::new();
    ENGINE.get_or_init(DefaultEngine::new)
}

/// A poisoned lock only means another thread panicked while holding it; the caches these locks
/// guard stay valid, so carry on.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
